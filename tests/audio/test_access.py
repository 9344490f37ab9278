"""The store's audio tables (schema 8), its recordings root, and confinement of a conversation's recording."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import convolab
from convolab.audio import (
    read_recording,
    recording_path,
    recordings_root,
    set_recordings_root,
    stored_recordings_root,
)
from convolab.audio.tables import ANALYSIS_COLUMNS
from convolab.errors import ConversationNotFound, InvalidArgument, RecordingNotReadable
from convolab.store import schema


def _conversation(cid: str, recording: str | None) -> dict:
    return {"id": cid, "flow": "Utilities Inbound", "platform": "phone", "status": "completed",
            "started_at": "2026-11-01T10:00:00Z", "ended_at": "2026-11-01T10:01:00Z", "recording": recording,
            "messages": [{"role": "customer", "text": "Hello.", "at": "2026-11-01T10:00:01Z"}]}


def test_migration_9_creates_the_audio_tables_with_the_column_names_reports_read(lab):
    assert lab.schema_version == schema.SCHEMA_VERSION >= 8
    assert [m.version for m in schema.MIGRATIONS if m.description.startswith("call-recording")] == [9]
    columns = lab.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'audio_analyses'"
                          " AND table_catalog = current_database()"
                          " ORDER BY ordinal_position").fetchall()
    assert tuple(c for (c,) in columns) == ANALYSIS_COLUMNS
    for table in ("audio_segments", "store_settings"):
        assert lab.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]).scalar() == 1


def test_a_version_7_store_is_migrated_to_8(tmp_path):
    import duckdb  # tests may build an old store file directly, as test_store.py does

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    assert schema.migrate(con, target=7) == 7
    con.close()
    with convolab.open(path) as lab:
        assert lab.schema_version >= 8
        assert lab.execute("SELECT count(*) FROM audio_analyses").scalar() == 0


def test_the_root_is_stored_absolute_audited_and_given_way_to_explicit_and_env(lab, tmp_path, monkeypatch):
    monkeypatch.delenv("CONVOLAB_RECORDINGS", raising=False)
    (tmp_path / "rec").mkdir()
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path)
    assert recordings_root(lab) is None and stored_recordings_root(lab) is None
    stored = set_recordings_root(lab, "rec", actor="tester")
    assert stored == (tmp_path / "rec").resolve() and stored.is_absolute()
    assert stored_recordings_root(lab) == stored == recordings_root(lab)
    audit = lab.list_audit().filter(action="set_recordings_root").to_dicts()
    assert len(audit) == 1 and audit[0]["actor"] == "tester"
    monkeypatch.setenv("CONVOLAB_RECORDINGS", str(tmp_path / "other"))
    assert recordings_root(lab) == tmp_path / "other"
    assert recordings_root(lab, tmp_path / "x") == tmp_path / "x"
    for bad in (tmp_path / "missing", tmp_path / "rec" / ".." / "nope"):
        with pytest.raises(InvalidArgument, match="does not exist"):
            set_recordings_root(lab, bad)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InvalidArgument, match="not a folder"):
        set_recordings_root(lab, tmp_path / "file")
    assert stored_recordings_root(lab) == stored  # a refused root changes nothing


@pytest.fixture
def confined(lab, tmp_path, write_jsonl, monkeypatch):
    """A store whose conversations point inside, outside and through links out of the root."""
    monkeypatch.delenv("CONVOLAB_RECORDINGS", raising=False)
    root = tmp_path / "root"
    (root / "calls").mkdir(parents=True)
    (root / "calls" / "in.wav").write_bytes(b"RIFF-inside")
    secret = tmp_path / "secret.wav"
    secret.write_bytes(b"RIFF-secret")
    os.symlink(secret, root / "calls" / "link-out.wav")
    os.symlink(root / "calls" / "in.wav", root / "calls" / "link-in.wav")
    lab.ingest(write_jsonl([
        _conversation("c-in", "calls/in.wav"), _conversation("c-up", "../secret.wav"),
        _conversation("c-abs", str(secret)), _conversation("c-link-out", "calls/link-out.wav"),
        _conversation("c-link-in", "calls/link-in.wav"), _conversation("c-abs-in", str(root / "calls" / "in.wav")),
        _conversation("c-missing", "calls/none.wav"), _conversation("c-chat", None),
    ]))
    return lab, root, secret


def test_a_conversations_recording_resolves_only_inside_the_root(confined, tmp_path, monkeypatch):
    lab, root, _secret = confined
    # no root yet: nothing resolves, not even against the working directory
    monkeypatch.chdir(root)
    with pytest.raises(RecordingNotReadable, match="no recordings root"):
        recording_path(lab, "c-in")
    set_recordings_root(lab, root)
    inside = (root / "calls" / "in.wav").resolve()
    assert recording_path(lab, "c-in") == recording_path(lab, "c-link-in") == recording_path(lab, "c-abs-in") == inside
    for cid in ("c-up", "c-abs", "c-link-out"):
        with pytest.raises(RecordingNotReadable, match="leaves the recordings root"):
            recording_path(lab, cid)
    with pytest.raises(RecordingNotReadable, match="no such file"):
        recording_path(lab, "c-missing")
    with pytest.raises(RecordingNotReadable, match="no recording"):
        recording_path(lab, "c-chat")
    with pytest.raises(ConversationNotFound):
        recording_path(lab, "c-nope")


def test_read_recording_never_opens_a_file_outside_the_root(confined, monkeypatch):
    lab, root, secret = confined
    set_recordings_root(lab, root)
    opened: list[Path] = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: opened.append(self.resolve()) or real(self))
    assert read_recording(lab, "c-in").data == b"RIFF-inside"
    for cid in ("c-up", "c-abs", "c-link-out"):
        with pytest.raises(RecordingNotReadable, match="leaves"):
            read_recording(lab, cid)
    assert opened == [(root / "calls" / "in.wav").resolve()]
    assert secret.resolve() not in opened


def test_read_recording_converts_what_browsers_cannot_play_and_keeps_the_original_for_download(lab, tmp_path,
                                                                                               write_jsonl):
    import numpy as np
    import soundfile as sf

    root = tmp_path / "root"
    root.mkdir()
    tone = (0.3 * np.sin(np.arange(8000) / 8000 * 2 * np.pi * 440)).astype(np.float32)
    sf.write(root / "ulaw.wav", np.stack([tone, tone], axis=1), 8000, subtype="ULAW")
    sf.write(root / "pcm.wav", tone, 8000, subtype="PCM_16")
    lab.ingest(write_jsonl([_conversation("c-ulaw", "ulaw.wav"), _conversation("c-pcm", "pcm.wav")]))
    set_recordings_root(lab, root)
    original = read_recording(lab, "c-ulaw")
    assert original.data == (root / "ulaw.wav").read_bytes() and original.mime == "audio/wav"
    playable = read_recording(lab, "c-ulaw", playable=True)
    import io

    info = sf.info(io.BytesIO(playable.data))
    assert info.subtype == "PCM_16" and info.channels == 2 and info.frames == 8000
    assert read_recording(lab, "c-pcm", playable=True).data == (root / "pcm.wav").read_bytes()
    shutil.copy(root / "pcm.wav", root / "big.wav")
    lab.execute("UPDATE conversations SET recording = 'big.wav' WHERE id = 'c-pcm'")
    with pytest.raises(RecordingNotReadable, match="too large"):
        read_recording(lab, "c-pcm", max_bytes=100)
