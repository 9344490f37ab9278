"""Mapping the role values of an export onto convolab's roles, before validation.

Real exports name their speakers in their own words: ``action`` for a tool turn,
``bot``, ``USER``/``SYSTEM``, ``inbound``/``outbound``, ``True``/``False``. A role
map (``--role-map action=system,bot=agent`` or ``ingest(..., role_map={...})``)
renames them, in every format, before roles are checked. Keys are matched without
regard to case or surrounding spaces; a value not in the map is left as it is
(and must then be a role convolab knows). Targets are convolab's roles.
"""

from __future__ import annotations

from collections.abc import Mapping

from convolab.conversations import ROLES
from convolab.errors import InvalidArgument
from convolab.ingest._sql import literal

__all__ = ["macro", "normalise_role_map", "parse_role_map"]


def parse_role_map(items: list[str] | str) -> dict[str, str]:
    """``["action=system", "bot=agent"]`` or ``"action=system,bot=agent"`` -> a dict.

    Raises
    ------
    InvalidArgument
        An item is not ``FROM=TO`` or ``TO`` is not a role.
    """
    if isinstance(items, str):
        items = [items]
    out: dict[str, str] = {}
    for item in items:
        for pair in item.split(","):
            if not pair.strip():
                continue
            source, sep, target = pair.partition("=")
            if not sep or not source.strip() or not target.strip():
                raise InvalidArgument(f"--role-map expects FROM=TO pairs, got {pair!r}")
            out[source] = target
    return normalise_role_map(out)


def normalise_role_map(role_map: Mapping[str, str] | None) -> dict[str, str]:
    """Check a role map and return it with lower-case, trimmed keys and targets."""
    if role_map is None:
        return {}
    if not isinstance(role_map, Mapping):
        raise InvalidArgument(f"role_map must be a dict of role -> role, got {type(role_map).__name__}")
    out: dict[str, str] = {}
    for source, target in role_map.items():
        if not isinstance(source, str) or not isinstance(target, str):
            raise InvalidArgument(f"role_map entries must be strings, got {source!r}: {target!r}")
        key, value = source.strip().lower(), target.strip().lower()
        if not key:
            raise InvalidArgument("role_map has an empty role to map from")
        if value not in ROLES:
            raise InvalidArgument(f"role_map maps {source!r} to {target!r}; map to one of {', '.join(ROLES)}")
        if key in out and out[key] != value:
            raise InvalidArgument(f"role_map maps {key!r} twice ({out[key]!r} and {value!r})")
        out[key] = value
    return out


def macro(role_map: Mapping[str, str]) -> str:
    """``cl_role(r)``: the mapped role (identity, at no cost, without a map)."""
    if not role_map:
        return "CREATE OR REPLACE TEMP MACRO cl_role(r) AS r"
    cases = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in sorted(role_map.items()))
    return f"CREATE OR REPLACE TEMP MACRO cl_role(r) AS CASE lower(trim(r)) {cases} ELSE r END"
