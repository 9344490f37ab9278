"""The exceptions and warnings convolab raises.

Every error derives from :class:`ConvolabError`; specific ones also mix in the
matching built-in so callers can catch either (``except KeyError`` works for a
missing conversation).
"""

from __future__ import annotations

__all__ = [
    "ActionNotAllowed",
    "ConversationNotFound",
    "ConvolabError",
    "ConvolabWarning",
    "CriteriaError",
    "DamagedSource",
    "FlagNotFound",
    "InvalidArgument",
    "InvalidRecord",
    "LiveBackendError",
    "MissingExtra",
    "RecordingNotReadable",
    "SourceNotReadable",
    "StoreInUse",
]


class ConvolabError(Exception):
    """Base class of every convolab error."""


class ConversationNotFound(KeyError, ConvolabError):
    """No conversation with this id is in the store."""

    def __init__(self, conversation_id: str) -> None:
        super().__init__(conversation_id)
        self.conversation_id = conversation_id

    def __str__(self) -> str:
        return f"no conversation with id {self.conversation_id!r} in the store"


class FlagNotFound(KeyError, ConvolabError):
    """No review flag with this id is in the store."""

    def __init__(self, flag_id: object) -> None:
        super().__init__(flag_id)
        self.flag_id = flag_id

    def __str__(self) -> str:
        return f"no flag with id {self.flag_id!r}; list flags with `convolab flags`"


class InvalidRecord(ValueError, ConvolabError):
    """A record in a source file cannot be loaded (it is quarantined, not dropped)."""

    def __init__(self, reason: str, *, file: str | None = None, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.file, self.line = reason, file, line

    def __str__(self) -> str:
        if self.file and self.line is not None:
            return f"{self.file}:{self.line}: {self.reason}"
        return f"{self.file}: {self.reason}" if self.file else self.reason


class InvalidArgument(ValueError, ConvolabError):
    """A function was called with a value of the wrong type or out of range (says which and why)."""


class SourceNotReadable(OSError, ConvolabError):
    """A file given to ingest is missing or cannot be read."""


class DamagedSource(SourceNotReadable):
    """A compressed input file failed its integrity check (CRC, length, truncation); nothing was loaded.

    Carries how far reading got before the damage showed: ``compressed_bytes`` of
    ``compressed_size`` read, ``lines`` complete lines (``bytes_out`` bytes) decompressed.
    """

    def __init__(self, message: str, *, file: str, compressed_bytes: int = 0, compressed_size: int = 0,
                 lines: int = 0, bytes_out: int = 0) -> None:
        super().__init__(message)
        self.file, self.compressed_bytes, self.compressed_size = file, compressed_bytes, compressed_size
        self.lines, self.bytes_out = lines, bytes_out

    def __str__(self) -> str:
        return self.args[0]


class StoreInUse(ConvolabError):
    """A store file is open for writing in another process (a DuckDB file has one writer)."""

    def __init__(self, path: object, *, pid: int | None = None) -> None:
        super().__init__(str(path))
        self.path, self.pid = path, pid

    def __str__(self) -> str:
        holder = f"process {self.pid}" if self.pid is not None else "another process"
        return (f"the store {self.path} is in use by {holder}; close it or use a team store"
                " (ducklake:sqlite:PATH or ducklake:postgres:CONNINFO)")


class RecordingNotReadable(ValueError, ConvolabError):
    """A call recording cannot be analysed: missing, empty, corrupt, truncated, too long,
    not audio, or outside its recordings root. ``reason`` is one line."""

    def __init__(self, reason: str, *, path: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.path = reason, path

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


class CriteriaError(ValueError, ConvolabError):
    """A review-flag criteria file or criterion is invalid."""

    def __init__(self, message: str, *, criterion: str | None = None) -> None:
        super().__init__(message)
        self.criterion = criterion

    def __str__(self) -> str:
        prefix = f"criterion {self.criterion!r}: " if self.criterion else ""
        return prefix + self.args[0]


class ActionNotAllowed(ConvolabError):
    """A live-call action was asked for on a call whose state does not allow it."""

    def __init__(self, message: str, *, call_id: str | None = None, action: str | None = None) -> None:
        super().__init__(message)
        self.call_id, self.action = call_id, action


class LiveBackendError(ConvolabError):
    """The live-call backend (e.g. Twilio) refused or failed a request."""

    def __init__(self, message: str, *, call_id: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.call_id, self.status = call_id, status


class MissingExtra(ImportError, ConvolabError):
    """An optional dependency is not installed; the message names the pip extra."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"{module} is needed for this; install it with: pip install 'convolab[{extra}]'"
        )
        self.extra = extra


class ConvolabWarning(UserWarning):
    """A recoverable problem convolab worked around (never silenced)."""
