"""Writing an option value (a time format, a role name) into the text of a SQL macro.

Source data never goes through here: it always travels as a parameter. A few load
options (``--time-format``, ``--role-map``) must become part of a temporary macro,
and a macro cannot take a parameter, so they are written as standard SQL string
literals: the value is checked for a NUL byte and its quotes are doubled, which is
the whole of quoting in DuckDB's standard strings (a backslash is not special).
"""

from __future__ import annotations

from convolab.errors import InvalidArgument

__all__ = ["literal"]


def literal(value: str) -> str:
    """``value`` as a SQL string literal (``'it''s'``)."""
    if not isinstance(value, str):
        raise InvalidArgument(f"expected a string, got {type(value).__name__}")
    if "\x00" in value:
        raise InvalidArgument(f"{value!r} contains a NUL character")
    return "'" + value.replace("'", "''") + "'"
