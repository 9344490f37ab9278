"""The reviewers file of ``convolab serve --users``: one token per reviewer, each mapped to a name.

A small team shares one server; each reviewer opens the dashboard with their
own token, and every decision their page records carries their name. The file
is YAML, one line per reviewer::

    # convolab users add NAME --users reviewers.yml appends a line and prints the token once
    alice: sha256:3c9ac9b1...   # the SHA-256 digest of alice's token (what `convolab users add` writes)
    bob: 7Qm2v...               # or the token itself, at least 16 characters

Digests keep the file harmless to read; a plain token in the file is as secret
as the token. Names are what the audit log shows: letters, digits and ``. _ @ -``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from convolab.errors import ConvolabError

__all__ = ["NAME_PATTERN", "MIN_TOKEN_LENGTH", "Reviewers", "ReviewersFileError", "add_reviewer", "new_token"]

#: What a reviewer's name may look like (it is shown in the audit log and the page).
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
#: Shorter tokens are refused: a token is the only thing between a page and the store.
MIN_TOKEN_LENGTH = 16
_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")


class ReviewersFileError(ValueError, ConvolabError):
    """The reviewers file is missing, unreadable or malformed (says which line and why)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A fresh random token (32 URL-safe characters, 192 bits)."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class Reviewers:
    """Who each token belongs to. Tokens are kept only as SHA-256 digests.

    Examples
    --------
    >>> team = Reviewers.from_tokens({"alice": "a" * 20})
    >>> team.who("a" * 20)
    'alice'
    """

    digests: Mapping[str, str]  # hex digest -> name

    @classmethod
    def from_tokens(cls, tokens: Mapping[str, str]) -> Reviewers:
        """Reviewers from ``{name: token or "sha256:<hex>"}`` (what the file holds)."""
        digests: dict[str, str] = {}
        for name, value in tokens.items():
            if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
                raise ReviewersFileError(
                    f"reviewer name {name!r} must be letters, digits and . _ @ - (at most 64 characters)")
            if not isinstance(value, str) or not value.strip():
                raise ReviewersFileError(f"reviewer {name!r} has no token")
            value = value.strip()
            match = _DIGEST.fullmatch(value)
            if match:
                digest = match[1]
            elif value.startswith("sha256:"):
                raise ReviewersFileError(f"reviewer {name!r}: a sha256: digest is 64 lower-case hex digits")
            elif len(value) < MIN_TOKEN_LENGTH:
                raise ReviewersFileError(
                    f"reviewer {name!r}: a token needs at least {MIN_TOKEN_LENGTH} characters"
                    " (`convolab users add NAME` makes one)")
            else:
                digest = _digest(value)
            if digest in digests:
                raise ReviewersFileError(f"reviewers {digests[digest]!r} and {name!r} have the same token")
            digests[digest] = name
        if not digests:
            raise ReviewersFileError("the reviewers file names nobody; add one with `convolab users add NAME`")
        return cls(digests)

    @classmethod
    def load(cls, path: str | Path) -> Reviewers:
        """Read a reviewers file (see the module docstring).

        Raises
        ------
        ReviewersFileError
            The file is missing, is not YAML, or an entry is malformed.
        """
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ReviewersFileError(f"{path}: no such reviewers file; create it with "
                                     f"`convolab users add NAME --users {path}`") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ReviewersFileError(f"{path}: cannot read the reviewers file ({exc})") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise ReviewersFileError(f"{path}:{where} is not valid YAML") from None
        if not isinstance(data, dict):
            raise ReviewersFileError(f"{path}: expected lines of `name: token`")
        try:
            return cls.from_tokens(data)
        except ReviewersFileError as exc:
            raise ReviewersFileError(f"{path}: {exc}") from None

    @property
    def names(self) -> list[str]:
        """The reviewers' names, sorted."""
        return sorted(self.digests.values())

    def who(self, token: str | None) -> str | None:
        """The reviewer a token belongs to, or ``None``.

        Every digest is compared in constant time, so timing does not tell how
        close a guess came.
        """
        if not token:
            return None
        given = _digest(token)
        found = None
        for digest, name in self.digests.items():
            if hmac.compare_digest(digest, given):
                found = name
        return found

    def fingerprint(self) -> bytes:
        """Changes whenever a token is added, removed or replaced (login cookies then expire)."""
        return hashlib.sha256("\n".join(sorted(f"{d}:{n}" for d, n in self.digests.items())).encode()).digest()


def add_reviewer(path: str | Path, name: str) -> str:
    """Give ``name`` a new token in the reviewers file (created if missing); returns the token.

    The file keeps only the token's digest, so the token is shown this once.
    A reviewer who already has a token gets a new one (the old one stops working).
    """
    path = Path(path)
    current: dict[str, str] = {}
    if path.exists():
        reviewers = Reviewers.load(path)
        current = {n: f"sha256:{d}" for d, n in reviewers.digests.items()}
    token = new_token()
    current[name] = f"sha256:{_digest(token)}"
    Reviewers.from_tokens(current)  # validates the name before anything is written
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(f"{n}: {v}\n" for n, v in sorted(current.items()))
    header = "# convolab serve --users: reviewer name -> SHA-256 digest of their token\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(header + body, encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
    return token
