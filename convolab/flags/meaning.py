"""Matching customer sentences by meaning: ``customer_means(:exemplars)`` in a criterion.

A criterion's exemplars are phrases in the criteria file, in two lists::

    params:
      exemplars:
        like:   ["I want to speak to a real person", "put me through to a manager", ...]
        unlike: ["a representative tried to help me yesterday", ...]
      similarity: 0.55
    condition: customer_means(:exemplars) >= :similarity

Every customer sentence (see :data:`convolab.flags.embeddings.SEGMENTS_SQL`)
is compared with every exemplar by cosine similarity of MiniLM sentence
embeddings. A sentence *means* what the criterion looks for when its nearest
exemplar is a ``like`` one: its score is its best ``like`` similarity if that
beats its best ``unlike`` similarity by more than ``margin`` (default 0), and 0
otherwise; a sentence that also contains one of the ``cue`` keywords (a
regular expression, or a list of words) scores ``boost`` more, so an explicit
word ("lawyer", "supervisor") needs less similarity than a paraphrase without
one, while an ``unlike`` neighbour still vetoes it. ``unlike`` phrases are the near misses a keyword cannot tell apart:
past events ("a rep already called me yesterday"), third parties ("my wife wants
to cancel her gym"), questions about a policy ("what happens if I cancel?").
``customer_means`` is the best sentence score of the conversation's customer
messages (0 when none); agent text is never embedded, so it never counts.

The per-conversation scores of one exemplar set live in the temporary table
``_flag_meaning`` (key, conversation_id, score, and the best sentence as
evidence: seq, excerpt, exemplar, similarity, unlike_similarity, cued), built once
per connection and exemplar set and rebuilt when the store's data changes, like
the features cache (:mod:`convolab.flags.features`). The key is a hash of the
exemplar lists and margin; it reaches SQL as a bound parameter, as do the
phrases.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from convolab.errors import CriteriaError, MissingExtra
from convolab.flags.embeddings import (
    SEGMENTS_SQL,
    embed_store,
    embed_texts,
    load_encoder,
    model_id_of,
    text_hash,
)

if TYPE_CHECKING:
    from convolab.store import Workbench

__all__ = ["MEANING_TABLE", "Exemplars", "ensure_meaning", "invalidate_meaning", "parse_exemplars"]

MEANING_TABLE = "_flag_meaning"
_STATE_TABLE = "_flag_meaning_state"
_EXEMPLAR_TABLE = "_flag_exemplars"
#: Longest excerpt of the matching sentence kept as evidence.
EXCERPT_CHARS = 160
_MAX_PHRASES = 500


@dataclass(frozen=True)
class Exemplars:
    """The ``like`` and ``unlike`` phrases of one ``customer_means`` param."""

    like: tuple[str, ...]
    unlike: tuple[str, ...] = ()
    margin: float = 0.0
    cue: str | None = None  # RE2 pattern; a sentence matching it scores ``boost`` more
    boost: float = 0.0

    @property
    def key(self) -> str:
        """A short hash of the phrases, cue and numbers (names the set in ``_flag_meaning``)."""
        blob = json.dumps([list(self.like), list(self.unlike), self.margin, self.cue, self.boost],
                          ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def parse_exemplars(value: Any, *, criterion: str, param: str) -> Exemplars:
    """Validate a ``customer_means`` param: ``{like: [...], unlike: [...], margin: x}``.

    Raises
    ------
    CriteriaError
        Not a mapping, no ``like`` phrase, a phrase that is not a non-empty
        string, an unknown key, or more than 500 phrases.
    """
    where = f"param {param!r}"
    if not isinstance(value, dict):
        raise CriteriaError(f"{where} of customer_means must be a mapping with a 'like' list of phrases",
                            criterion=criterion)
    unknown = set(value) - {"like", "unlike", "margin", "cue", "boost"}
    if unknown:
        raise CriteriaError(f"{where}: unknown key(s) {sorted(unknown)} (use like, unlike, margin, cue, boost)",
                            criterion=criterion)

    def phrases(key: str, *, required: bool) -> tuple[str, ...]:
        items = value.get(key)
        if items is None and not required:
            return ()
        if not isinstance(items, list) or (required and not items):
            raise CriteriaError(f"{where}: '{key}' must be a list of phrases", criterion=criterion)
        if not all(isinstance(p, str) and p.strip() for p in items):
            raise CriteriaError(f"{where}: every '{key}' phrase must be non-empty text", criterion=criterion)
        return tuple(p.strip() for p in items)

    like, unlike = phrases("like", required=True), phrases("unlike", required=False)
    if len(like) + len(unlike) > _MAX_PHRASES:
        raise CriteriaError(f"{where}: at most {_MAX_PHRASES} phrases", criterion=criterion)
    numbers = {}
    for key in ("margin", "boost"):
        number = value.get(key, 0.0)
        if isinstance(number, bool) or not isinstance(number, int | float) or not -1 <= number <= 1:
            raise CriteriaError(f"{where}: {key} must be a number in [-1, 1]", criterion=criterion)
        numbers[key] = float(number)
    cue = value.get("cue")
    if isinstance(cue, list) and cue and all(isinstance(w, str) and w.strip() for w in cue):
        # Keywords are literal words, as for customer_matches: one case-insensitive pattern.
        cue = r"(?i)\b(" + "|".join(re.escape(w.strip()) for w in cue) + r")\b"
    elif cue is not None and not (isinstance(cue, str) and cue):
        raise CriteriaError(f"{where}: cue must be a regular expression or a list of keywords",
                            criterion=criterion)
    return Exemplars(like, unlike, numbers["margin"], cue, numbers["boost"])


def _fingerprint(store: Workbench, model_id: str) -> str:
    from convolab.flags.features import _fingerprints

    return f"{_fingerprints(store)[0]}|{model_id}"


def _state(store: Workbench) -> dict[str, str]:
    if not store.has_temp_tables(MEANING_TABLE, _STATE_TABLE):
        store.execute(f"CREATE OR REPLACE TEMP TABLE {MEANING_TABLE} (key VARCHAR, conversation_id VARCHAR,"
                      " score DOUBLE, seq INTEGER, excerpt VARCHAR, exemplar VARCHAR, similarity DOUBLE,"
                      " unlike_similarity DOUBLE, cued BOOLEAN)")
        store.execute(f"CREATE OR REPLACE TEMP TABLE {_STATE_TABLE} (key VARCHAR, fingerprint VARCHAR)")
        return {}
    return dict(store.execute(f"SELECT key, fingerprint FROM {_STATE_TABLE}").fetchall())  # noqa: S608


def invalidate_meaning(store: Workbench) -> None:
    """Drop the cached meaning scores, so the next evaluation recomputes them."""
    for table in (MEANING_TABLE, _STATE_TABLE, _EXEMPLAR_TABLE):
        store.execute(f"DROP TABLE IF EXISTS {table}")


# The best sentence per conversation for one exemplar set (key bound as a parameter).
# Similarities are computed once per distinct sentence, not per message.
_SCORE_SQL = f"""
    INSERT INTO {MEANING_TABLE}
    WITH seg AS ({SEGMENTS_SQL}),
    x AS (
        SELECT x.kind, x.phrase, e.embedding
        FROM {_EXEMPLAR_TABLE} x JOIN text_embeddings e ON e.model_id = ? AND e.text_hash = x.text_hash
        WHERE x.key = ?
    ),
    sims AS (
        SELECT t.text_hash, x.kind, x.phrase, list_inner_product(t.embedding, x.embedding) AS sim
        FROM (SELECT DISTINCT text_hash FROM seg) d
        JOIN text_embeddings t ON t.model_id = ? AND t.text_hash = d.text_hash
        CROSS JOIN x
    ),
    best AS (
        SELECT text_hash,
               max(sim) FILTER (WHERE kind = 'like') AS pos,
               arg_max(phrase, sim) FILTER (WHERE kind = 'like') AS phrase,
               max(sim) FILTER (WHERE kind = 'unlike') AS neg
        FROM sims GROUP BY 1
    ),
    matched AS (
        SELECT seg.conversation_id, seg.seq, seg.segment, b.pos, b.phrase, b.neg,
               coalesce(regexp_matches(seg.segment, ?), FALSE) AS cued
        FROM seg JOIN best b ON b.text_hash = seg.text_hash
    ),
    scored AS (
        SELECT *, CASE WHEN pos > coalesce(neg, -1) + ? THEN pos + CASE WHEN cued THEN ? ELSE 0 END
                       ELSE 0 END AS score
        FROM matched
    )
    SELECT ? AS key, conversation_id, max(score) AS score,
           first(seq ORDER BY score DESC, pos DESC, seq),
           first(left(segment, {EXCERPT_CHARS}) ORDER BY score DESC, pos DESC, seq),
           first(phrase ORDER BY score DESC, pos DESC, seq),
           first(pos ORDER BY score DESC, pos DESC, seq),
           first(neg ORDER BY score DESC, pos DESC, seq),
           first(cued ORDER BY score DESC, pos DESC, seq)
    FROM scored GROUP BY conversation_id
"""  # noqa: S608 (fixed SQL; key, model and phrases are bound)


def ensure_meaning(store: Workbench, sets: Iterable[Exemplars], *, refresh: bool = False,
                   embed: bool = True) -> dict[str, Any]:
    """Make ``_flag_meaning`` hold current scores for each exemplar set.

    Embeds the customer sentences and exemplar phrases not embedded yet
    (:func:`convolab.flags.embeddings.embed_store`), then scores each set whose
    cached rows are missing or stale. Without the ``emotions`` extra (torch,
    transformers, the MiniLM package) nothing can be embedded: the sets score
    from whatever embeddings the store already holds, usually none, so their
    criteria do not fire (``embedded`` is then ``None``).

    Returns
    -------
    dict
        ``embedded`` (customer sentences embedded now, or None), ``scored``
        (exemplar sets scored now), ``seconds`` spent embedding.
    """
    sets = {s.key: s for s in sets}
    stats: dict[str, Any] = {"embedded": 0, "scored": 0, "seconds": 0.0}
    if not sets:
        return stats
    model_id = model_id_of(load_encoder)
    if embed:
        try:
            done = embed_store(store)
            stats["embedded"], stats["seconds"] = done["embedded"], done["seconds"]
            for s in sets.values():
                embed_texts(store, [*s.like, *s.unlike])
        except MissingExtra:
            stats["embedded"] = None
    state = {} if refresh else _state(store)
    if refresh:
        invalidate_meaning(store)
        _state(store)
    fingerprint = _fingerprint(store, model_id)
    build = [s for key, s in sets.items() if state.get(key) != fingerprint]
    if not build:
        return stats
    store.execute(f"CREATE TEMP TABLE IF NOT EXISTS {_EXEMPLAR_TABLE} (key VARCHAR, kind VARCHAR,"
                  " phrase VARCHAR, text_hash VARCHAR)")
    with store.transaction():
        for s in build:
            store.execute(f"DELETE FROM {MEANING_TABLE} WHERE key = ?", [s.key])  # noqa: S608
            store.execute(f"DELETE FROM {_STATE_TABLE} WHERE key = ?", [s.key])  # noqa: S608
            store.execute(f"DELETE FROM {_EXEMPLAR_TABLE} WHERE key = ?", [s.key])  # noqa: S608
            store.executemany(
                f"INSERT INTO {_EXEMPLAR_TABLE} VALUES (?, ?, ?, ?)",  # noqa: S608
                [(s.key, kind, p, text_hash(p)) for kind, phrases in (("like", s.like), ("unlike", s.unlike))
                 for p in phrases],
            )
            store.execute(_SCORE_SQL, [model_id, s.key, model_id, s.cue, s.margin, s.boost, s.key])
            store.execute(f"INSERT INTO {_STATE_TABLE} VALUES (?, ?)", [s.key, fingerprint])  # noqa: S608
    stats["scored"] = len(build)
    return stats
