"""Which recording of which conversation may be read, and from where.

A conversation names its recording with a path (``recording``) that is untrusted: it
comes from the source data. Relative paths are resolved in the store's *recordings
root*, never in the working directory, and a path that leaves the root (``..``, an
absolute path elsewhere, a symbolic link out) is refused before anything is opened.
Everything that reads a recording for a conversation (the batch analysis, the
dashboard's player and download) goes through :func:`recording_path`.

The root is, in order: the one given explicitly, ``$CONVOLAB_RECORDINGS``, or the one
stored with the store (``convolab audio --db DB --recordings DIR`` and ``convolab demo``
store it; :func:`set_recordings_root`).

>>> from convolab.audio import recording_path, set_recordings_root
>>> set_recordings_root(lab, "data/audio")                   # doctest: +SKIP
>>> recording_path(lab, "c-0000001")                         # doctest: +SKIP
PosixPath('/home/me/convolab/data/audio/c-0000001.wav')
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from convolab import settings
from convolab.audio.recordings import resolve_recording
from convolab.errors import InvalidArgument, RecordingNotReadable

if TYPE_CHECKING:
    from convolab.store import Workbench

__all__ = [
    "MAX_SERVED_BYTES",
    "RECORDINGS_ROOT_KEY",
    "RecordingFile",
    "read_recording",
    "recording_path",
    "recordings_root",
    "set_recordings_root",
    "stored_recordings_root",
]

#: The ``store_settings`` key of the recordings root.
RECORDINGS_ROOT_KEY = "recordings_root"
#: Larger files are not sent to a browser (4 h of 8 kHz stereo PCM16 is 230 MB; calls are minutes).
MAX_SERVED_BYTES = 256 * 1024 * 1024

#: WAV encodings every browser decodes; others (mu-law, A-law, ADPCM...) are converted to PCM16 to be played.
_BROWSER_WAV = frozenset({"PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"})
_MIME = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".flac": "audio/flac", ".ogg": "audio/ogg",
         ".oga": "audio/ogg", ".opus": "audio/ogg", ".m4a": "audio/mp4", ".webm": "audio/webm"}


def stored_recordings_root(lab: Workbench) -> Path | None:
    """The recordings root stored with the store, or None."""
    value = lab.execute("SELECT value FROM store_settings WHERE key = ?", [RECORDINGS_ROOT_KEY]).scalar()
    return Path(value) if value else None


def set_recordings_root(lab: Workbench, root: str | os.PathLike[str], *, actor: str | None = None) -> Path:
    """Store the folder this store's relative recording paths are resolved in.

    The folder must exist; it is stored as an absolute path (a relative ``root`` is
    taken relative to the working directory *now*, once, as any command-line path is).
    The change is written to the audit log, as it decides which files may be served.

    Raises
    ------
    convolab.errors.InvalidArgument
        The folder does not exist or is not a folder.
    """
    try:
        real = Path(root).expanduser().resolve(strict=True)
    except (OSError, RuntimeError):
        raise InvalidArgument(f"{os.fspath(root)}: recordings folder does not exist") from None
    if not real.is_dir():
        raise InvalidArgument(f"{os.fspath(root)}: recordings root is not a folder")
    previous = stored_recordings_root(lab)
    if previous == real:
        return real
    with lab.transaction():
        lab.execute("DELETE FROM store_settings WHERE key = ?", [RECORDINGS_ROOT_KEY])
        lab.execute("INSERT INTO store_settings (key, value, updated_at, updated_by)"
                    " VALUES (?, ?, now()::TIMESTAMP, ?)", [RECORDINGS_ROOT_KEY, str(real), actor])
        lab.audit("set_recordings_root", details={"root": str(real), "previous": str(previous or "")},
                  actor=actor, result="set")
    return real


def recordings_root(lab: Workbench, root: str | os.PathLike[str] | None = None) -> Path | None:
    """The recordings root in force: ``root`` if given, else ``$CONVOLAB_RECORDINGS``, else the stored one."""
    if root is not None:
        return Path(root)
    env = settings.current().recordings
    if env:
        return Path(env)
    return stored_recordings_root(lab)


def recording_path(lab: Workbench, conversation_id: str, *, root: str | os.PathLike[str] | None = None) -> Path:
    """The real path of a conversation's recording, confined to the recordings root.

    Nothing is opened: the path is resolved (symbolic links followed) and must lie
    inside the root; the file must exist.

    Raises
    ------
    convolab.errors.ConversationNotFound
        No such conversation.
    convolab.errors.RecordingNotReadable
        The conversation has no recording, no root is known, the path leaves the root,
        or the file is missing (``reason`` says which).
    """
    row = lab.execute("SELECT recording FROM conversations WHERE id = ?", [conversation_id]).fetchone()
    if row is None:
        from convolab.errors import ConversationNotFound

        raise ConversationNotFound(conversation_id)
    recording = row[0]
    if recording is None or not str(recording).strip():
        raise RecordingNotReadable("the conversation has no recording")
    base = recordings_root(lab, root)
    if base is None:
        raise RecordingNotReadable("no recordings root is set for this store (give one with"
                                   " `convolab audio --db DB --recordings DIR`)", path=str(recording))
    path = resolve_recording(base, str(recording))
    if not path.is_file():
        raise RecordingNotReadable("no such file" if not path.exists() else "not a regular file", path=str(recording))
    return path


@dataclass(frozen=True)
class RecordingFile:
    """A recording's bytes ready to send: ``data``, its ``mime`` type and a ``filename``."""

    data: bytes
    mime: str
    filename: str


def read_recording(lab: Workbench, conversation_id: str, *, playable: bool = False,
                   root: str | os.PathLike[str] | None = None,
                   max_bytes: int = MAX_SERVED_BYTES) -> RecordingFile:
    """A conversation's recording as bytes, read only through :func:`recording_path`.

    Parameters
    ----------
    playable
        Convert WAV encodings browsers do not play (mu-law, A-law, ADPCM) to PCM16 WAV;
        other files are returned as they are. Without it the file's own bytes come back
        (a download is the recording itself).
    max_bytes
        Larger files are refused.

    Raises
    ------
    convolab.errors.RecordingNotReadable
        As :func:`recording_path`, or the file is too large or cannot be read.
    """
    path = recording_path(lab, conversation_id, root=root)
    size = path.stat().st_size
    if size > max_bytes:
        raise RecordingNotReadable(f"{size / 2**20:.0f} MB is too large to send (limit {max_bytes / 2**20:.0f} MB)",
                                   path=path.name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RecordingNotReadable(exc.strerror or "cannot read the file", path=path.name) from exc
    mime = _MIME.get(path.suffix.lower(), "application/octet-stream")
    if playable and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        converted = _pcm16_wav(data)
        if converted is not None:
            return RecordingFile(converted, "audio/wav", path.stem + ".wav")
    return RecordingFile(data, mime, path.name)


def _pcm16_wav(data: bytes) -> bytes | None:
    """The WAV re-encoded as PCM16 when browsers cannot decode its encoding, else None."""
    try:
        import soundfile as sf
    except ImportError:  # without the audio extra the file is sent as it is
        return None
    try:
        info = sf.info(io.BytesIO(data))
        if info.subtype in _BROWSER_WAV:
            return None
        samples, rate = sf.read(io.BytesIO(data), dtype="int16", always_2d=True)
    except Exception as exc:  # libsndfile's error types vary by version; all mean "not decodable"
        raise RecordingNotReadable(f"cannot decode the WAV file to play it ({exc.__class__.__name__})") from exc
    out = io.BytesIO()
    sf.write(out, samples, rate, format="WAV", subtype="PCM_16")
    return out.getvalue()
