"""The detail view's call player and audio download, against a real store and generated recordings (no browser).

The browser's side of the comm channel is played by calling the widget's message
handler with what the front end sends, and recording what the widget sends back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import convolab
from convolab.widgets import ConversationDetail
from convolab.widgets.audio_player import CHUNK_BYTES, AudioPlayer
from tests.conftest import recorded_store

#: What the issue allows a conversation to send before the reviewer presses play.
MAX_BEFORE_PLAY = 100_000


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """A store with 12 generated conversations, 3 phone calls spoken with espeak-ng and analysed."""
    folder = tmp_path_factory.mktemp("player")
    db = recorded_store(folder, 12, seed=5, calls=3)
    with convolab.open(db) as lab:
        ids = lab.sql("SELECT id FROM conversations WHERE recording IS NOT NULL ORDER BY id")["id"].to_list()
    return db, folder, ids


@pytest.fixture
def lab(recorded, tmp_path):
    """A copy of the recorded store for each test (tests change recordings and analyses)."""
    import shutil

    db = shutil.copy(recorded[0], tmp_path / "store.duckdb")
    with convolab.open(db) as workbench:
        yield workbench


class Browser:
    """Stands in for the front end: sends what it sends, keeps what the widget answers."""

    def __init__(self, widget: Any) -> None:
        self.widget = widget
        self.received: list[tuple[dict[str, Any], list[bytes]]] = []
        widget.send = lambda content, buffers=None: self.received.append((content, [bytes(b) for b in buffers or []]))

    def ask(self, **content: Any) -> dict[str, Any]:
        self.widget._handle_custom_msg({"type": "fetch", **content}, [])
        return self.received[-1][0]

    def fetch(self, purpose: str) -> tuple[bytes, dict[str, Any]]:
        """Every chunk, as the front end asks for them, until done."""
        cid, parts, offset = self.widget.conversation_id, [], 0
        while True:
            reply = self.ask(purpose=purpose, cid=cid, offset=offset)
            assert reply["type"] == "chunk", reply
            data = self.received[-1][1][0]
            assert len(data) <= CHUNK_BYTES and reply["offset"] == offset
            parts.append(data)
            offset += len(data)
            if reply["done"]:
                return b"".join(parts), reply


def state_bytes(widget: Any) -> int:
    """Bytes of the widget's synced state (what opening a conversation sends for it)."""
    state = widget.get_state()
    return len(json.dumps({k: v for k, v in state.items() if not isinstance(v, bytes | memoryview)},
                          default=str).encode())


def test_opening_a_call_sends_its_timeline_and_no_audio(lab, recorded):
    _db, folder, ids = recorded
    player = AudioPlayer(lab)
    browser = Browser(player)
    for cid in ids:
        player.show(cid)
        tl = player.timeline
        assert tl["available"] and tl["analysis"] == "ok" and tl["problem"] is None
        assert set(tl["lanes"]) == {"customer", "agent"} and tl["lanes"]["customer"] and tl["lanes"]["agent"]
        assert all(0 <= s < e <= tl["duration_s"] + 0.01 for lane in tl["lanes"].values() for s, e in lane)
        # transcript lines sit at their times in the call (the generator spoke each at its time)
        assert tl["transcript"] and all(0 <= m["t"] <= tl["duration_s"] for m in tl["transcript"])
        starts = sorted(s for s, _e in tl["lanes"]["customer"] + tl["lanes"]["agent"])
        assert all(min(abs(m["t"] - s) for s in starts) < 0.3 for m in tl["transcript"]
                   if m["role"] in ("customer", "agent"))
        assert state_bytes(player) + state_bytes(player.download) < MAX_BEFORE_PLAY
        audio_size = (folder / "audio" / lab.conversation(cid)["recording"]).stat().st_size
        assert state_bytes(player) < audio_size / 4  # the state is a sketch of the call, not the call
    assert browser.received == []  # nothing was sent: no audio before play


def test_play_sends_the_recording_in_chunks_and_download_its_own_bytes(lab, recorded):
    _db, folder, ids = recorded
    player = AudioPlayer(lab)
    for cid in ids:
        player.show(cid)
        path = folder / "audio" / lab.conversation(cid)["recording"]
        played, last = Browser(player).fetch("play")
        import io

        import soundfile as sf

        info = sf.info(io.BytesIO(played))
        assert info.subtype in ("PCM_16", "MPEG_LAYER_III") and info.channels == 2
        assert info.duration == pytest.approx(player.timeline["duration_s"], abs=0.1)
        if path.suffix == ".mp3" or sf.info(path).subtype == "PCM_16":
            assert played == path.read_bytes() and last["mime"] in ("audio/wav", "audio/mpeg")
        downloaded, last = Browser(player.download).fetch("download")
        assert downloaded == path.read_bytes() and last["filename"] == path.name
    audit = lab.list_audit().filter(action="download_recording").to_dicts()
    assert len(audit) == len(ids) and audit[0]["target"] in ids


def test_requests_the_widget_refuses(lab, recorded):
    _db, _folder, ids = recorded
    player = AudioPlayer(lab)
    browser = Browser(player)
    player.show(ids[0])
    assert browser.ask(purpose="play", cid=ids[1], offset=0)["message"] == "superseded"  # not the one on screen
    player.conversation_id = ids[1]  # the browser may change its copy of the trait; the kernel does not follow it
    assert browser.ask(purpose="play", cid=ids[1], offset=0)["message"] == "superseded"
    for bad in [{"purpose": "play", "cid": ids[0], "offset": -1}, {"purpose": "play", "cid": ids[0], "offset": "0"},
                {"purpose": "download", "cid": ids[0], "offset": 0},  # the player serves play only
                {"purpose": "play", "cid": ids[0], "offset": True}]:
        assert browser.ask(**bad)["message"] == "bad request"
    player.clear()
    assert browser.ask(purpose="play", cid=ids[0], offset=0)["message"] == "superseded"


def test_a_recording_outside_the_root_is_never_read_or_served(lab, recorded, tmp_path, monkeypatch):
    _db, folder, ids = recorded
    secret = tmp_path / "secret.wav"
    secret.write_bytes((folder / "audio" / lab.conversation(ids[0])["recording"]).read_bytes())
    os.symlink(secret, folder / "audio" / "link-out.wav")
    opened: list[str] = []
    real_read, real_open = Path.read_bytes, Path.open
    monkeypatch.setattr(Path, "read_bytes", lambda self: opened.append(str(self.resolve())) or real_read(self))
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: opened.append(str(self.resolve())) or real_open(self, *a, **k))
    monkeypatch.chdir(tmp_path)  # a relative path must not find the secret here either
    detail = ConversationDetail(lab)
    cid = ids[0]
    for escape in ("../" * 8 + str(secret).lstrip("/"), str(secret), "link-out.wav", "secret.wav"):
        lab.execute("UPDATE conversations SET recording = ? WHERE id = ?", [escape, cid])
        detail.show(cid)
        player = detail.player
        assert player.layout.display != "none" and not player.timeline["available"]
        assert player.timeline["problem"] in ("path leaves the recordings root", "no such file")
        assert not player.download.available and "data:audio" not in detail.downloads.value
        for widget, purpose in ((player, "play"), (player.download, "download")):
            reply = Browser(widget).ask(purpose=purpose, cid=cid, offset=0)
            assert reply["type"] == "error" and reply["message"] in ("path leaves the recordings root", "no such file")
    assert str(secret.resolve()) not in opened


def test_the_detail_view_embeds_no_audio_and_hides_the_player_without_a_recording(lab, recorded):
    _db, _folder, ids = recorded
    detail = ConversationDetail(lab)
    detail.show(ids[0])
    assert detail.player.layout.display != "none" and detail.player.download in detail.menu.children
    assert "data:audio" not in detail.downloads.value and "Download Audio" not in detail.downloads.value
    chat = lab.sql("SELECT id FROM conversations WHERE recording IS NULL LIMIT 1")["id"][0]
    detail.show(chat)
    assert detail.player.layout.display == "none" and detail.player.download.layout.display == "none"


def test_a_call_not_analysed_still_plays_with_its_transcript_on_the_timeline(lab, recorded):
    _db, _folder, ids = recorded
    lab.execute("DELETE FROM audio_analyses WHERE conversation_id = ?", [ids[1]])
    player = AudioPlayer(lab)
    player.show(ids[1])
    tl = player.timeline
    assert tl["available"] and tl["analysis"] is None and tl["lanes"] == {} and tl["transcript"]
    assert tl["duration_s"] == lab.conversation(ids[1])["duration_s"]
    data, _ = Browser(player).fetch("play")
    assert data[:4] in (b"RIFF", b"ID3\x03", b"ID3\x04") or data[:2] == b"\xff\xfb"
