"""Review criteria as data, compiled to set-based DuckDB SQL.

A criterion's ``condition`` is a small expression language: whitelisted
feature names (:data:`convolab.flags.features.FEATURES`), ``:param``
placeholders, numbers, quoted string literals, comparison and arithmetic
operators, ``and``/``or``/``not``, ``is [not] null``, and the functions
``abs(x)``, ``customer_matches(:p)``, ``agent_matches(:p)`` (a regular
expression or keyword list over the customer's / agent's text) and
``customer_means(:p)`` (the best similarity, by meaning, of a customer sentence
to the ``like`` exemplar phrases in ``p`` rather than its ``unlike`` ones; see
:mod:`convolab.flags.meaning`). Every token is translated to a fixed SQL
fragment or a ``?`` placeholder, so text from a criteria file (thresholds,
keyword patterns, exemplar phrases, string literals) only ever reaches DuckDB
as a bound parameter.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from convolab.errors import CriteriaError, InvalidArgument
from convolab.flags.features import FEATURES, FEATURES_TABLE, ensure_features
from convolab.flags.meaning import MEANING_TABLE, Exemplars, ensure_meaning, parse_exemplars
from convolab.store import DatabaseError

if TYPE_CHECKING:
    from convolab.store import Workbench


__all__ = ["DEFAULT_CRITERIA", "NAME_PATTERN", "Criterion", "criteria_version", "load_criteria", "run_flags"]

DEFAULT_CRITERIA = Path(__file__).with_name("default.yml")
SEVERITIES = ("low", "medium", "high")
#: What a criterion or param name may be (matched whole: "xx\n" is not a name).
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]*")
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+(?:\.\d+)?)
      | (?P<string>'(?:[^']|'')*')
      | (?P<param>:[a-z_][a-z0-9_]*)
      | (?P<ident>[a-z_][a-z0-9_]*)
      | (?P<op>>=|<=|!=|<>|=|<|>|\+|-|\*|/|\(|\)|,)
    )""",
    re.VERBOSE | re.IGNORECASE,
)
_KEYWORDS = {"and": "AND", "or": "OR", "not": "NOT", "is": "IS", "null": "NULL", "true": "TRUE", "false": "FALSE"}
_MATCH_FUNCTIONS = {"customer_matches": "customer_text", "agent_matches": "agent_text"}
_MEANS_FUNCTION = "customer_means"
# One exemplar set's per-conversation score (0 without a scored customer sentence);
# DuckDB decorrelates the subquery into one join over the whole features table.
_MEANS_SQL = (f"coalesce((SELECT mm.score FROM {MEANING_TABLE} mm"  # noqa: S608 (a fixed table name)
              " WHERE mm.key = ? AND mm.conversation_id = f.conversation_id), 0)")
_MEANS_EVIDENCE_SQL = (
    f"(SELECT struct_pack(seq := mm.seq, excerpt := mm.excerpt, exemplar := mm.exemplar,"  # noqa: S608 (fixed)
    f" similarity := round(mm.similarity, 3), keyword := mm.cued, score := round(mm.score, 3))"
    f" FROM {MEANING_TABLE} mm"
    " WHERE mm.key = ? AND mm.conversation_id = f.conversation_id AND mm.score > 0)"
)
_FEATURES_TABLE = FEATURES_TABLE


@dataclass(frozen=True)
class Criterion:
    """One review criterion.

    Parameters
    ----------
    name
        Identifier stored in ``flags.criterion`` (lower-case, digits, underscores).
    condition
        Expression over features and ``:params`` (see the module docstring).
    severity
        ``low``, ``medium`` or ``high``.
    description
        One sentence for people.
    params
        Default parameter values: numbers for thresholds, a string (RE2 regular
        expression) or list of keywords for ``*_matches``, a mapping of
        ``like`` / ``unlike`` phrases for ``customer_means``.
    flow_params
        Per-flow overrides: ``{flow: {param: value}}``.
    reason
        Template for the flag's reason; ``{feature}`` and ``{param}`` are filled in.
    tune
        Candidate values per numeric param, ``{param: [values]}``: the grid
        ``convolab calibrate`` searches (see :mod:`convolab.flags.calibrate`).
        Not part of the definition's version: it changes no flag.
    """

    name: str
    condition: str
    severity: str = "medium"
    description: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    flow_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    reason: str = ""
    tune: dict[str, list[float]] = field(default_factory=dict)

    def with_params(self, **params: Any) -> Criterion:
        """A copy with some default params replaced (used by tuning)."""
        return Criterion(self.name, self.condition, self.severity, self.description,
                         {**self.params, **params}, self.flow_params, self.reason, self.tune)

    def definition(self) -> dict[str, Any]:
        """The criterion as a plain dict (what the version hash covers)."""
        return {"name": self.name, "condition": self.condition, "severity": self.severity,
                "params": self.params, "flow_params": self.flow_params, "reason": self.reason}


#: A criteria file is a few kilobytes; these bound what a hostile or broken one can cost.
MAX_CRITERIA_BYTES = 1 << 20
MAX_YAML_ALIASES = 100
MAX_YAML_NODES = 100_000


def _expanded_nodes(value: Any, seen: dict[int, int]) -> int:
    """How many values ``value`` holds once every alias is written out (shared ones counted once each)."""
    if isinstance(value, dict):
        key = id(value)
        if key not in seen:
            seen[key] = 1 + sum(_expanded_nodes(k, seen) + _expanded_nodes(v, seen) for k, v in value.items())
        return seen[key]
    if isinstance(value, list):
        key = id(value)
        if key not in seen:
            seen[key] = 1 + sum(_expanded_nodes(v, seen) for v in value)
        return seen[key]
    return 1


class _CriteriaLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses more than :data:`MAX_YAML_ALIASES` aliases.

    Aliases let a few lines of YAML stand for an exponentially large document (the
    "billion laughs"); a criteria file has no need for more than a handful.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise CriteriaError(f"{self.name} uses more than {MAX_YAML_ALIASES} YAML aliases"
                                    " (*name references); write the values out instead")
        return super().compose_node(parent, index)


def load_criteria(path: str | Path | None = None) -> list[Criterion]:
    """Read and validate criteria from a YAML file (default: the built-in library).

    Parameters
    ----------
    path
        A YAML file with a top-level ``criteria`` list; ``None`` for ``default.yml``.

    Raises
    ------
    CriteriaError
        The file is unreadable or a criterion is malformed (names the criterion).
    """
    path = Path(path) if path is not None else DEFAULT_CRITERIA
    try:
        size = path.stat().st_size
        if size > MAX_CRITERIA_BYTES:
            raise CriteriaError(f"{path} is {size:,} bytes; a criteria file may have at most {MAX_CRITERIA_BYTES:,}")
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_CriteriaLoader)  # noqa: S506 - a SafeLoader
    except OSError as exc:
        raise CriteriaError(f"cannot read criteria file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise CriteriaError(f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    except yaml.YAMLError as exc:
        raise CriteriaError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    except RecursionError:
        raise CriteriaError(f"{path} nests too deeply to be a criteria file") from None
    try:
        nodes = _expanded_nodes(document, {})
    except RecursionError:
        raise CriteriaError(f"{path} nests too deeply to be a criteria file") from None
    if nodes > MAX_YAML_NODES:
        raise CriteriaError(f"{path} expands to over {MAX_YAML_NODES:,} values (through YAML aliases, a"
                            " 'billion laughs'); a criteria file is far smaller")
    if not isinstance(document, dict) or not isinstance(document.get("criteria"), list):
        raise CriteriaError(f"{path} must have a top-level 'criteria' list")
    criteria = []
    for i, item in enumerate(document["criteria"]):
        if not isinstance(item, dict):
            raise CriteriaError(f"entry {i} of {path} is not a mapping")
        name = item.get("name")
        unknown = set(item) - {"name", "condition", "severity", "description", "params", "flow_params", "reason",
                               "tune"}
        if unknown:
            raise CriteriaError(f"unknown key(s) {sorted(unknown)}", criterion=str(name))
        for key in ("params", "flow_params", "tune"):
            if not isinstance(item.get(key) or {}, dict):
                raise CriteriaError(f"{key} must be a mapping", criterion=str(name))
        criteria.append(Criterion(
            name=str(name), condition=str(item.get("condition") or ""),
            severity=str(item.get("severity", "medium")), description=str(item.get("description", "")),
            params=dict(item.get("params") or {}), flow_params=dict(item.get("flow_params") or {}),
            reason=str(item.get("reason") or ""), tune=dict(item.get("tune") or {}),
        ))
    for c in criteria:
        _compile(c)
    names = [c.name for c in criteria]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise CriteriaError("defined more than once", criterion=dupes[0])
    return criteria


def criteria_version(criteria: list[Criterion]) -> str:
    """A short hash of the criteria definitions and params (stored on each flag)."""
    blob = json.dumps([c.definition() for c in sorted(criteria, key=lambda c: c.name)], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


@dataclass
class _Compiled:
    where: str
    where_params: list[Any]
    reason: str
    reason_params: list[Any]
    evidence: str
    evidence_params: list[Any]
    patterns: list[str]
    features: list[str]  # every feature the condition, reason and evidence read
    meanings: list[Exemplars] = field(default_factory=list)  # exemplar sets customer_means reads


def _check_param(c: Criterion, name: str, value: Any, *, text: bool) -> Any:
    """Validate one param value; keyword lists become one case-insensitive regex."""
    if text:
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            # Keywords are escaped: they are literal words, not regexes.
            return r"(?i)\b(" + "|".join(re.escape(v) for v in value) + r")\b"
        if isinstance(value, str) and value:
            return value
        raise CriteriaError(f"param {name!r} must be a regex string or a list of keywords, got {value!r}",
                            criterion=c.name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CriteriaError(f"param {name!r} must be a number, got {value!r}", criterion=c.name)
    return value


def _param_sql(c: Criterion, name: str, *, text: bool) -> tuple[str, list[Any]]:
    if name not in c.params:
        raise CriteriaError(f"param ':{name}' is used but not defined in params", criterion=c.name)
    default = _check_param(c, name, c.params[name], text=text)
    overrides = [(flow, _check_param(c, name, p[name], text=text))
                 for flow, p in c.flow_params.items() if isinstance(p, dict) and name in p]
    if not overrides:
        return "?", [default]
    sql = "(CASE " + " ".join("WHEN f.flow = ? THEN ?" for _ in overrides) + " ELSE ? END)"
    bound: list[Any] = []
    for flow, value in overrides:
        bound += [str(flow), value]
    return sql, [*bound, default]


def _compile(c: Criterion) -> _Compiled:
    """Validate a criterion and translate it to SQL fragments plus bound params."""
    if not isinstance(c.name, str) or not NAME_PATTERN.fullmatch(c.name):
        raise CriteriaError("name must be lower-case letters, digits and underscores", criterion=c.name)
    if c.severity not in SEVERITIES:
        raise CriteriaError(f"severity must be one of {', '.join(SEVERITIES)}, got {c.severity!r}", criterion=c.name)
    if not c.condition.strip():
        raise CriteriaError("condition is empty", criterion=c.name)
    for flow, p in c.flow_params.items():
        if not isinstance(p, dict) or set(p) - set(c.params):
            raise CriteriaError(f"flow_params for {flow!r} may only override params defined in params",
                                criterion=c.name)
    for name in c.params:
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            raise CriteriaError(f"bad param name {name!r}", criterion=c.name)
    for name, values in c.tune.items():
        if name not in c.params or isinstance(c.params[name], bool) or not isinstance(c.params[name], int | float):
            raise CriteriaError(f"tune names {name!r}, which is not a numeric param", criterion=c.name)
        if (not isinstance(values, list) or not values
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)):
            raise CriteriaError(f"tune values for {name!r} must be a non-empty list of numbers", criterion=c.name)

    meaning_params = _meaning_params(c)
    sql: list[str] = []
    params: list[Any] = []
    patterns: list[str] = []
    used: list[str] = []
    meanings: dict[str, Exemplars] = {}
    cues: list[str] = []  # customer_means cue patterns (validated like keyword patterns)
    pos, text = 0, c.condition
    expect_match_param = False
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise CriteriaError(f"cannot parse condition at {text[pos:pos + 20]!r}", criterion=c.name)
        pos = m.end()
        kind = m.lastgroup
        tok = m.group(kind)
        if expect_match_param and kind != "param" and tok != "(":
            raise CriteriaError("customer_matches/agent_matches take one :param", criterion=c.name)
        if kind == "number":
            sql.append(tok)
        elif kind == "string":
            sql.append("?")
            params.append(tok[1:-1].replace("''", "'"))
        elif kind == "param":
            if tok[1:] in meaning_params:
                raise CriteriaError(f"param '{tok}' holds exemplar phrases: use it as customer_means({tok})",
                                    criterion=c.name)
            frag, bound = _param_sql(c, tok[1:], text=expect_match_param)
            if expect_match_param:
                patterns += [b for b in bound if isinstance(b, str)]
                sql.append(frag + "), FALSE)")
                expect_match_param = False
                # The closing paren in the source is consumed below.
                m2 = re.compile(r"\s*\)").match(text, pos)
                if not m2:
                    raise CriteriaError("customer_matches/agent_matches take one :param", criterion=c.name)
                pos = m2.end()
            else:
                sql.append(frag)
            params += bound
        elif kind == "ident":
            low = tok.lower()
            if low in _KEYWORDS:
                sql.append(_KEYWORDS[low])
            elif low == "abs":
                sql.append("abs")
            elif low == _MEANS_FUNCTION:
                m2 = re.compile(r"\s*\(\s*:([a-z_][a-z0-9_]*)\s*\)", re.IGNORECASE).match(text, pos)
                if not m2:
                    raise CriteriaError("customer_means takes one :param of exemplars", criterion=c.name)
                pos = m2.end()
                name = m2.group(1)
                if name not in c.params:
                    raise CriteriaError(f"param ':{name}' is used but not defined in params", criterion=c.name)
                if name not in meaning_params:
                    parse_exemplars(c.params[name], criterion=c.name, param=name)  # raises: not a mapping
                exemplars = meaning_params[name]
                meanings[exemplars.key] = exemplars
                if exemplars.cue:
                    cues.append(exemplars.cue)
                sql.append(_MEANS_SQL)
                params.append(exemplars.key)
            elif low in _MATCH_FUNCTIONS:
                m2 = re.compile(r"\s*\(").match(text, pos)
                if not m2:
                    raise CriteriaError(f"{low} must be followed by '('", criterion=c.name)
                pos = m2.end()
                sql.append(f"coalesce(regexp_matches(f.{_MATCH_FUNCTIONS[low]}, ")
                # coalesce closes after the param: no text means no match, not NULL.
                expect_match_param = True
                used.append(_MATCH_FUNCTIONS[low])
            elif tok in FEATURES:
                sql.append(f"f.{tok}")
                used.append(tok)
            else:
                raise CriteriaError(f"unknown feature {tok!r} in condition", criterion=c.name)
        else:
            sql.append("<>" if tok == "!=" else tok)
    if expect_match_param:
        raise CriteriaError("customer_matches/agent_matches take one :param", criterion=c.name)
    where = " ".join(s for s in sql if s)

    # Reason template: literal pieces are bound; {names} must be features or params.
    pieces: list[str] = []
    rparams: list[Any] = []
    template = c.reason or c.description or c.name
    for i, part in enumerate(re.split(r"\{([a-z_][a-z0-9_]*)\}", template)):
        if i % 2 == 0:
            if part:
                pieces.append("?")
                rparams.append(part)
        elif part in FEATURES:
            pieces.append(f"coalesce(CAST(f.{part} AS VARCHAR), 'n/a')")
            if part not in used:
                used.append(part)
        elif part in meaning_params:
            raise CriteriaError(f"{{{part}}} holds exemplar phrases and cannot be shown in a reason",
                                criterion=c.name)
        elif part in c.params:
            frag, bound = _param_sql(c, part, text=not isinstance(c.params[part], int | float))
            pieces.append(f"CAST({frag} AS VARCHAR)")
            rparams += bound
        else:
            raise CriteriaError(f"unknown name {{{part}}} in reason", criterion=c.name)
    ev_fields = [f'"{u}" := f.{u}' for u in dict.fromkeys(used) if u not in ("customer_text", "agent_text")]
    ev_params: list[Any] = []
    for name, value in c.params.items():
        if name in meaning_params:
            continue  # the phrases are in the criteria file; the evidence names the one matched
        frag, bound = _param_sql(c, name, text=not isinstance(value, int | float) or isinstance(value, bool))
        ev_fields.append(f'"{name}" := {frag}')
        ev_params += bound
    # The first message matching a keyword pattern is the evidence a reviewer wants to see.
    match_sql = ""
    if "customer_text" in used or "agent_text" in used:
        role = "customer" if "customer_text" in used else "agent"
        match_sql = (
            "(SELECT struct_pack(seq := m.seq, excerpt := left(m.text, 120)) FROM messages m"  # noqa: S608
            f" WHERE m.conversation_id = f.conversation_id AND m.role = '{role}'"
            " AND regexp_matches(m.text, ?) ORDER BY m.seq LIMIT 1)"  # role is one of two literals
        )
        ev_fields.append(f'"message" := {match_sql}')
        ev_params.append(patterns[0])
    # The customer sentence that means what the criterion looks for, and the exemplar it is nearest.
    means_key = next(iter(meanings), None)
    if means_key is not None:
        ev_fields.append(f'"meaning" := {_MEANS_EVIDENCE_SQL}')
        ev_params.append(means_key)
    evidence = "to_json(struct_pack(" + ", ".join(ev_fields) + "))" if ev_fields else "NULL"
    reason = "concat(" + ", ".join(pieces or ["''"]) + ")"
    if means_key is not None:
        reason = (f"concat({reason}, coalesce(concat(' in message ', CAST(({_MEANS_EVIDENCE_SQL}).seq AS VARCHAR),"
                  f" ': \"', ({_MEANS_EVIDENCE_SQL}).excerpt, '\" (nearest example \"',"
                  f" ({_MEANS_EVIDENCE_SQL}).exemplar, '\", similarity ',"
                  f" CAST(({_MEANS_EVIDENCE_SQL}).similarity AS VARCHAR),"
                  f" CASE WHEN ({_MEANS_EVIDENCE_SQL}).keyword THEN ', with a keyword' ELSE '' END, ')'), ''))")
        rparams += [means_key] * 5
    if match_sql:
        reason = (f"concat({reason}, coalesce(concat(' in message ', CAST(({match_sql}).seq AS VARCHAR),"
                  f" ': \"', ({match_sql}).excerpt, '\"'), ''))")
        rparams += [patterns[0], patterns[0]]
    return _Compiled(where, params, reason, rparams, evidence, ev_params, [*patterns, *cues],
                     list(dict.fromkeys(used)), list(meanings.values()))


def reads_meaning(criteria: list[Criterion]) -> bool:
    """Whether any of these criteria uses ``customer_means`` (and so needs sentence embeddings)."""
    return any(_compile(c).meanings for c in criteria)


def _meaning_params(c: Criterion) -> dict[str, Exemplars]:
    """Params holding exemplar phrases (mappings), validated; they cannot vary per flow."""
    found = {name: parse_exemplars(value, criterion=c.name, param=name)
             for name, value in c.params.items() if isinstance(value, dict)}
    for flow, p in c.flow_params.items():
        if isinstance(p, dict) and set(p) & set(found):
            raise CriteriaError(f"flow_params for {flow!r} cannot override exemplar phrases", criterion=c.name)
    return found


def _validate_sql(store: Workbench, c: Criterion, comp: _Compiled) -> None:
    for pattern in comp.patterns:
        try:
            store.execute("SELECT regexp_matches('', ?)", [pattern]).fetchall()
        except DatabaseError as exc:
            raise CriteriaError(f"bad regular expression {pattern!r}: {str(exc).splitlines()[0]}",
                                criterion=c.name) from exc
    try:
        store.execute(
            f"SELECT {comp.reason}, {comp.evidence} FROM {_FEATURES_TABLE} f WHERE {comp.where} LIMIT 0",  # noqa: S608
            [*comp.reason_params, *comp.evidence_params, *comp.where_params],
        ).fetchall()
    except DatabaseError as exc:
        raise CriteriaError(f"condition does not compile: {str(exc).splitlines()[0]}", criterion=c.name) from exc


def compile_criteria(
    store: Workbench, criteria: list[Criterion], *, refresh: bool = False, embed: bool = True,
) -> list[tuple[Criterion, _Compiled]]:
    """Validate every criterion (syntax, names, types, SQL) against the store's features.

    Also brings the cached features table up to date with the features these
    criteria read (only those; see :func:`convolab.flags.features.ensure_features`),
    and, for ``customer_means``, embeds the customer sentences not embedded yet
    (unless ``embed`` is False) and scores each exemplar set
    (:func:`convolab.flags.meaning.ensure_meaning`).
    """
    compiled = [(c, _compile(c)) for c in criteria]
    ensure_features(store, {f for _, comp in compiled for f in comp.features}, refresh=refresh)
    ensure_meaning(store, [m for _, comp in compiled for m in comp.meanings], refresh=refresh, embed=embed)
    for c, comp in compiled:
        _validate_sql(store, c, comp)
    return compiled


def run_flags(
    store: Workbench,
    criteria: list[Criterion] | None = None,
    *,
    criteria_version: str | None = None,
    refresh: bool = False,
) -> dict[str, int]:
    """Evaluate criteria over the whole store and write their flags.

    Every criterion is validated before any flag is touched. Then, in one
    transaction, criteria flags (``source='criteria'``) of the criteria being
    run are replaced; manual flags and QA decisions are kept (decisions are
    keyed by conversation and criterion, so they follow a re-raised flag).
    Flags of criteria not being run are left alone, so re-running one
    criterion after a threshold change replaces only its flags.

    Features are computed once per connection and cached (see
    :mod:`convolab.flags.features`): a re-run over unchanged data only
    evaluates the conditions, and a criterion needing features not yet
    computed adds just those.

    Parameters
    ----------
    store
        The store (what :func:`convolab.open` returns).
    criteria
        Criteria to run; default the built-in library.
    criteria_version
        Version label stored on the flags; default a hash of the definitions.
    refresh
        Recompute the features even if the cache looks current.

    Returns
    -------
    dict
        Number of flags raised per criterion.

    Examples
    --------
    >>> lab = convolab.open("data/convolab.duckdb")   # doctest: +SKIP
    >>> run_flags(lab)                          # doctest: +SKIP
    {'frustrated_customer': 12, ...}
    """
    if criteria is not None and (isinstance(criteria, (str, bytes, Criterion))
                                 or not all(isinstance(c, Criterion) for c in criteria)):
        raise InvalidArgument("criteria must be a list of Criterion (load_criteria(path) reads a file),"
                              f" got {type(criteria).__name__} {criteria!r:.60}")
    criteria = load_criteria() if criteria is None else list(criteria)
    version = criteria_version or globals()["criteria_version"](criteria)
    compiled = compile_criteria(store, criteria, refresh=refresh)
    new_id = store.new_id_sql("flags")  # a sequence, or time-ordered ids in a team store

    def write() -> dict[str, int]:
        counts: dict[str, int] = {}
        with store.transaction():
            store.claim("flags")  # two runs at once on a team store: the later one runs again
            for c, comp in compiled:
                store.execute("DELETE FROM flags WHERE source = 'criteria' AND criterion = ?", [c.name])
                n = store.execute(
                    f"""
                    INSERT INTO flags (flag_id, conversation_id, criterion, severity, reason, evidence,
                                       criteria_version, source, created_at)
                    SELECT {new_id}, f.conversation_id, ?, ?, {comp.reason}, {comp.evidence}, ?, 'criteria',
                           now()::TIMESTAMP
                    FROM {_FEATURES_TABLE} f WHERE {comp.where}
                    """,  # noqa: S608 (fragments come from _compile and the store: whitelisted names and ? only)
                    [c.name, c.severity, *comp.reason_params, *comp.evidence_params, version, *comp.where_params],
                ).fetchone()[0]
                counts[c.name] = int(n)
        return counts

    return store.retrying(write)
