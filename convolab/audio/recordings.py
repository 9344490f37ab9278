"""Call recordings on disk: where they may be read from, what is in them, and loading.

Recording paths come from conversations, which are untrusted input. A path is only
ever opened after :func:`resolve_recording` has confined it to the recordings root,
and a file is only decoded after its header says it is a plausible call recording.
Every problem is a :class:`~convolab.errors.RecordingNotReadable` with a one-line
reason, so a batch run can record it and go on.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convolab.errors import RecordingNotReadable

__all__ = ["MAX_DURATION_S", "Recording", "content_hash", "load_recording", "quiet_decoders", "resolve_recording"]

#: Longer files are refused before decoding: no call lasts 4 hours, and decoding one
#: would hold ~460 MB of float32 samples at 8 kHz stereo.
MAX_DURATION_S = 4 * 3600.0
#: Recordings above this rate are resampled to it: speech needs nothing above 8 kHz.
ANALYSIS_MAX_RATE = 16_000


@dataclass
class Recording:
    """Decoded samples, ``(channels, n)`` float32, at ``sample_rate``."""

    samples: np.ndarray
    sample_rate: int
    path: Path
    format: str
    subtype: str
    native_rate: int

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / self.sample_rate


def resolve_recording(root: str | os.PathLike[str], relative: str | os.PathLike[str]) -> Path:
    """The real path of recording ``relative`` inside ``root``, or an error if it leaves it.

    ``relative`` is resolved against ``root`` (never the working directory); ``..``
    components, absolute paths and symbolic links are followed first and the result
    must still lie inside the real ``root``. The file need not exist.

    Raises
    ------
    RecordingNotReadable
        The root does not exist, the path is empty or a URL, or it leaves the root.

    Examples
    --------
    >>> resolve_recording("/data/audio", "2026/c-1.wav")       # doctest: +SKIP
    PosixPath('/data/audio/2026/c-1.wav')
    >>> resolve_recording("/data/audio", "../secrets.txt")      # doctest: +SKIP
    RecordingNotReadable: ../secrets.txt: path leaves the recordings root
    """
    text = os.fspath(relative)
    if not text or not text.strip():
        raise RecordingNotReadable("empty recording path")
    if "\x00" in text:
        raise RecordingNotReadable("recording path contains a NUL byte", path=repr(text))
    if "://" in text:
        raise RecordingNotReadable("not a local path (URLs are not fetched)", path=text)
    try:
        real_root = Path(root).resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        raise RecordingNotReadable("recordings root does not exist", path=os.fspath(root)) from exc
    if not real_root.is_dir():
        raise RecordingNotReadable("recordings root is not a folder", path=os.fspath(root))
    # Path(root) / absolute gives the absolute path, which must then be inside the root.
    candidate = real_root / Path(text)
    try:
        real = candidate.resolve(strict=False)  # follows every symlink that exists
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise RecordingNotReadable(f"cannot resolve ({exc.__class__.__name__})", path=text) from exc
    if not real.is_relative_to(real_root):
        raise RecordingNotReadable("path leaves the recordings root", path=text)
    return real


def content_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 of the file's bytes (hex): analyses are keyed by it, so a replaced
    recording is analysed again and an unchanged one never is."""
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError as exc:
        raise RecordingNotReadable(_os_reason(exc), path=os.fspath(path)) from exc


def _os_reason(exc: OSError) -> str:
    return {2: "no such file", 13: "permission denied", 21: "is a folder"}.get(
        exc.errno or 0, exc.strerror or str(exc))


def _wav_truncated(path: Path, size: int) -> str | None:
    """For RIFF/WAVE files: the reason the data chunk is cut short, if it is."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    pos = 12
    while pos + 8 <= len(head):
        cid, length = head[pos:pos + 4], int.from_bytes(head[pos + 4:pos + 8], "little")
        if cid == b"data":
            have = size - (pos + 8)
            # 0 and 0xFFFFFFFF mark a stream whose writer never came back to fill in the size
            if length not in (0, 0xFFFFFFFF) and have < length:
                return f"truncated WAV: {have:,} of {length:,} data bytes present"
            return None
        pos += 8 + length + (length & 1)
    return None


def load_recording(path: str | os.PathLike[str], *, max_duration_s: float = MAX_DURATION_S) -> Recording:
    """Decode a call recording (WAV PCM/mu-law/A-law, MP3, FLAC, OGG...) with librosa.

    The header is checked first (readable, 1 or 2 channels, a plausible rate, not
    empty, not truncated, at most ``max_duration_s``); only then are the samples
    decoded, at their own rate, or at 16 kHz when higher.

    Raises
    ------
    RecordingNotReadable
        With a one-line reason.
    """
    p = Path(path)
    where = os.fspath(path)
    try:
        st = p.stat()
    except OSError as exc:
        raise RecordingNotReadable(_os_reason(exc), path=where) from exc
    if not p.is_file():
        raise RecordingNotReadable("not a regular file", path=where)
    if st.st_size == 0:
        raise RecordingNotReadable("empty file", path=where)
    try:
        import soundfile as sf

        info = sf.info(where)
    except ImportError as exc:
        from convolab.errors import MissingExtra

        raise MissingExtra("soundfile", "audio") from exc
    except Exception as exc:  # libsndfile's error types vary by version; all mean "not audio"
        raise RecordingNotReadable(f"not a readable audio file ({_first_line(exc)})", path=where) from exc
    if info.channels not in (1, 2):
        raise RecordingNotReadable(f"{info.channels} channels; expected mono or stereo (customer left, agent right)",
                                   path=where)
    if not 4000 <= info.samplerate <= 384_000:
        raise RecordingNotReadable(f"implausible sample rate {info.samplerate} Hz", path=where)
    if info.frames <= 0:
        raise RecordingNotReadable("no audio samples", path=where)
    if info.duration > max_duration_s:
        raise RecordingNotReadable(f"{info.duration / 3600:.1f} h long; the limit is {max_duration_s / 3600:g} h",
                                   path=where)
    truncated = _wav_truncated(p, st.st_size)
    if truncated:
        raise RecordingNotReadable(truncated, path=where)
    try:
        import librosa
    except ImportError as exc:
        from convolab.errors import MissingExtra

        raise MissingExtra("librosa", "audio") from exc
    target = None if info.samplerate <= ANALYSIS_MAX_RATE else ANALYSIS_MAX_RATE
    try:
        with warnings.catch_warnings():
            # librosa warns and falls back to audioread when soundfile fails; the header
            # check above makes that path a corrupt body, which is an error here.
            warnings.simplefilter("ignore")
            y, sr = librosa.load(where, sr=target, mono=False, res_type="soxr_hq")
    except Exception as exc:
        raise RecordingNotReadable(f"cannot decode audio ({_first_line(exc)})", path=where) from exc
    y = np.atleast_2d(np.asarray(y, dtype=np.float32))
    if y.shape[1] == 0:
        raise RecordingNotReadable("no audio samples", path=where)
    decoded_s = y.shape[1] / sr
    if decoded_s < 0.97 * info.duration - 0.05:
        # an MP3 whose header (Xing/LAME) announces more than the file holds
        raise RecordingNotReadable(f"truncated: {decoded_s:.1f} s of the {info.duration:.1f} s its header announces"
                                   " could be decoded", path=where)
    if not np.isfinite(y).all():
        raise RecordingNotReadable("audio contains NaN or infinite samples", path=where)
    return Recording(y, int(sr), p, info.format, info.subtype, int(info.samplerate))


@contextlib.contextmanager
def quiet_decoders() -> Iterator[None]:
    """Silence what native decoders print on file descriptor 2 (mpg123 warns about
    damaged MP3 headers there), so a command line prints one line per problem.

    It swaps the process's stderr descriptor, so use it in command-line tools, not in
    a multi-threaded server where other threads may be writing to stderr.
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (captured): nothing to silence
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    line = text[0] if text else exc.__class__.__name__
    if line.startswith("Error opening ") and "': " in line:  # libsndfile repeats the path
        line = line.split("': ", 1)[1]
    return line.rstrip(".")[:200]
