"""Recordings on disk: root confinement of untrusted paths, and one-line errors for bad files."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from convolab.audio import analyse_file, content_hash, load_recording, resolve_recording
from convolab.errors import ConvolabError, RecordingNotReadable


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "recordings"
    (r / "2026").mkdir(parents=True)
    (r / "2026" / "c-1.wav").write_bytes(b"x")
    (tmp_path / "secret.txt").write_text("not yours")
    return r


def test_relative_paths_resolve_inside_the_root_never_against_the_working_directory(root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a same-named file here must not be picked
    (tmp_path / "2026").mkdir()
    (tmp_path / "2026" / "c-1.wav").write_bytes(b"y")
    assert resolve_recording(root, "2026/c-1.wav") == (root / "2026" / "c-1.wav").resolve()
    assert resolve_recording(str(root), Path("2026") / "c-1.wav") == (root / "2026" / "c-1.wav").resolve()
    # a missing file inside the root resolves (the loader reports it)
    assert resolve_recording(root, "2027/none.wav") == (root / "2027" / "none.wav").resolve()
    # .. that stays inside is fine
    assert resolve_recording(root, "2026/../2026/c-1.wav") == (root / "2026" / "c-1.wav").resolve()


@pytest.mark.parametrize("bad", ["../secret.txt", "2026/../../secret.txt", "../../../../etc/passwd",
                                 "..", "/etc/passwd"])
def test_paths_leaving_the_root_are_refused(root, bad):
    with pytest.raises(RecordingNotReadable, match="leaves the recordings root"):
        resolve_recording(root, bad)


def test_absolute_paths_are_allowed_only_inside_the_root(root, tmp_path):
    inside = (root / "2026" / "c-1.wav").resolve()
    assert resolve_recording(root, str(inside)) == inside
    with pytest.raises(RecordingNotReadable, match="leaves"):
        resolve_recording(root, str(tmp_path / "secret.txt"))


def test_symlinks_out_of_the_root_are_refused_and_inside_it_followed(root, tmp_path):
    os.symlink(tmp_path / "secret.txt", root / "escape.wav")
    os.symlink(tmp_path, root / "up")  # a folder link out
    os.symlink(root / "2026" / "c-1.wav", root / "alias.wav")
    with pytest.raises(RecordingNotReadable, match="leaves"):
        resolve_recording(root, "escape.wav")
    with pytest.raises(RecordingNotReadable, match="leaves"):
        resolve_recording(root, "up/secret.txt")
    assert resolve_recording(root, "alias.wav") == (root / "2026" / "c-1.wav").resolve()


def test_a_root_that_is_itself_a_symlink_is_its_target(root, tmp_path):
    link = tmp_path / "rec-link"
    os.symlink(root, link)
    assert resolve_recording(link, "2026/c-1.wav") == (root / "2026" / "c-1.wav").resolve()


@pytest.mark.parametrize("bad, reason", [("", "empty"), ("   ", "empty"), ("a\x00b.wav", "NUL"),
                                         ("https://api.example.com/rec.wav", "URL")])
def test_odd_paths_are_refused(root, bad, reason):
    with pytest.raises(RecordingNotReadable, match=reason):
        resolve_recording(root, bad)


def test_a_missing_root_is_refused(tmp_path):
    with pytest.raises(RecordingNotReadable, match="root does not exist"):
        resolve_recording(tmp_path / "nope", "c-1.wav")


def _wav(path: Path, frames: int = 8000, channels: int = 2, sr: int = 8000, subtype: str = "PCM_16") -> Path:
    rng = np.random.default_rng(0)
    sf.write(path, (0.1 * rng.standard_normal((frames, channels))).astype(np.float32), sr, subtype=subtype)
    return path


def _reason(path: Path, **kw) -> str:
    with pytest.raises(RecordingNotReadable) as info:
        analyse_file(path, **kw)
    err = info.value
    assert isinstance(err, ConvolabError) and isinstance(err, ValueError)
    text = str(err)
    assert "\n" not in text and str(path) in text  # one line, naming the file
    return err.reason


def test_bad_files_raise_one_error_class_with_a_one_line_reason(tmp_path):
    assert _reason(tmp_path / "missing.wav") == "no such file"
    (tmp_path / "empty.wav").write_bytes(b"")
    assert _reason(tmp_path / "empty.wav") == "empty file"
    (tmp_path / "text.wav").write_text("this is not audio at all\n" * 50)
    assert "not a readable audio file" in _reason(tmp_path / "text.wav")
    (tmp_path / "random.mp3").write_bytes(np.random.default_rng(1).bytes(20_000))
    assert "not a readable audio file" in _reason(tmp_path / "random.mp3") or "decode" in _reason(tmp_path / "random.mp3")
    assert _reason(tmp_path) == "not a regular file"


def test_truncated_and_header_only_wavs_are_refused(tmp_path):
    whole = _wav(tmp_path / "whole.wav", frames=16_000).read_bytes()
    (tmp_path / "cut.wav").write_bytes(whole[: len(whole) // 2])
    assert "truncated" in _reason(tmp_path / "cut.wav")
    (tmp_path / "header.wav").write_bytes(whole[:44])
    reason = _reason(tmp_path / "header.wav")
    assert "truncated" in reason or "no audio samples" in reason


def test_a_truncated_mp3_is_refused(tmp_path):
    # libsndfile writes a Xing header with the length; a cut file decodes to less than it says
    full = tmp_path / "full.mp3"
    sf.write(full, (0.1 * np.random.default_rng(2).standard_normal((40_000, 2))).astype(np.float32), 8000,
             format="MP3")
    assert analyse_file(full)["duration_s"] == pytest.approx(5.0, abs=0.05)
    data = full.read_bytes()
    (tmp_path / "cut.mp3").write_bytes(data[: len(data) // 2])
    assert "truncated" in _reason(tmp_path / "cut.mp3")


def test_too_long_too_many_channels_and_non_finite_samples_are_refused(tmp_path):
    long = _wav(tmp_path / "long.wav", frames=8000 * 30)
    assert "limit is" in _reason(long, options=__import__("convolab.audio").audio.AudioOptions(max_duration_s=10))
    assert "3 channels" in _reason(_wav(tmp_path / "three.wav", channels=3))
    nan = np.zeros((8000, 2), dtype=np.float32)
    nan[100, 0] = np.nan
    sf.write(tmp_path / "nan.wav", nan, 8000, subtype="FLOAT")
    assert "NaN" in _reason(tmp_path / "nan.wav")


def test_a_stream_header_with_unknown_length_still_loads(tmp_path):
    # writers that stream (espeak-ng --stdout, some recorders) leave 0xFFFFFFFF sizes
    path = _wav(tmp_path / "stream.wav", frames=8000, channels=1)
    data = bytearray(path.read_bytes())
    pos = data.find(b"data")
    data[pos + 4: pos + 8] = struct.pack("<I", 0xFFFFFFFF)
    data[4:8] = struct.pack("<I", 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    assert load_recording(path).samples.shape == (1, 8000)


def test_high_rates_are_resampled_for_analysis(tmp_path):
    rec = load_recording(_wav(tmp_path / "hi.wav", frames=48_000, sr=48_000))
    assert rec.sample_rate == 16_000 and rec.native_rate == 48_000 and rec.samples.shape == (2, 16_000)


def test_content_hash_follows_the_bytes(tmp_path):
    a = _wav(tmp_path / "a.wav")
    h = content_hash(a)
    assert len(h) == 64 and h == content_hash(a)
    a.write_bytes(a.read_bytes() + b"\0\0")
    assert content_hash(a) != h
    with pytest.raises(RecordingNotReadable, match="no such file"):
        content_hash(tmp_path / "none.wav")
