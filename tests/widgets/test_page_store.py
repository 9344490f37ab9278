"""A dashboard page opens a file store per action, so other processes use it between clicks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import convolab
from convolab.errors import StoreInUse
from convolab.flags import add_manual_flag
from convolab.widgets.detail import ConversationDetail
from convolab.widgets.page_store import PageStore, session
from convolab.widgets.table import ConversationTable

HOLD = ("import convolab, sys, time; lab = convolab.open(sys.argv[1]); print('held', flush=True);"
        " time.sleep(float(sys.argv[2]))")


@pytest.fixture
def store_file(sample_lab) -> tuple[Path, str, int]:
    cid = sample_lab.list_conversations(limit=1)["id"][0]
    flag_id = add_manual_flag(sample_lab, cid, "needs_look", reason="planted", reviewer="setup")
    path = sample_lab.path
    sample_lab.close()
    return path, cid, flag_id


def other_process_confirms(path: Path, flag_id: int) -> subprocess.CompletedProcess:
    """A decision from another process with no waiting: it succeeds only if nobody holds the file."""
    code = ("import convolab, sys; from convolab.flags import decide;"
            " lab = convolab.open(sys.argv[1]); decide(lab, int(sys.argv[2]), 'confirmed', reviewer='cli')")
    return subprocess.run([sys.executable, "-c", code, str(path), str(flag_id)], capture_output=True, text=True,
                          timeout=120)


def hold(path: Path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


@pytest.mark.file_only  # a file store's open-per-action behaviour; a team store stays open
def test_a_page_holds_the_file_only_inside_an_action(store_file) -> None:
    path, cid, flag_id = store_file
    page = PageStore(path)
    table = ConversationTable(page, flagged=True)
    detail = ConversationDetail(page)
    detail.show(cid)
    assert table.total >= 1 and cid in detail.title.value
    # Between clicks another process writes to the store at once (no waiting).
    done = other_process_confirms(path, flag_id)
    assert done.returncode == 0, done.stderr
    # Inside an action the page holds the file: the same write now fails.
    with page.session():
        blocked = other_process_confirms(path, flag_id)
    assert blocked.returncode != 0 and f"in use by process {os.getpid()}" in blocked.stderr


@pytest.mark.file_only  # a file store's open-per-action behaviour; a team store stays open
def test_nested_sessions_open_the_file_once(store_file) -> None:
    path, cid, flag_id = store_file
    page = PageStore(path)
    refreshed: list[str] = []
    detail = ConversationDetail(page, on_change=refreshed.append)
    table = ConversationTable(page)
    detail.on_change = lambda c: (table.refresh(), refreshed.append(c))
    detail.show(cid)
    before = page.opened
    detail._decide(flag_id, "dismissed", "one click")  # decide + reload the view + refresh the table
    assert page.opened == before + 1
    assert "Flag dismissed" in detail.message.value and refreshed == [cid]


@pytest.mark.file_only  # a file store's open-per-action behaviour; a team store stays open
def test_a_click_waits_for_a_brief_writer(store_file) -> None:
    path, cid, flag_id = store_file
    page = PageStore(path, wait=20)
    detail = ConversationDetail(page)
    detail.show(cid)
    shown: list[str] = []
    detail.message.observe(lambda change: shown.append(change["new"]), "value")
    holder = hold(path, 1.5)  # a small ingest, a live call being saved
    try:
        detail._decide(flag_id, "confirmed", "after the other writer")
    finally:
        holder.wait(timeout=30)
    # While it waited the page said so, naming the holder; then the click went through.
    assert any("Waiting to confirm flag" in m and f"process {holder.pid}" in m for m in shown), shown
    assert "Flag confirmed" in detail.message.value
    with convolab.open(path, read_only=True) as lab:
        assert lab.list_flags().filter(flag_id=flag_id)["decision"][0] == "confirmed"


@pytest.mark.file_only  # a file store's open-per-action behaviour; a team store stays open
def test_a_click_the_store_cannot_take_says_not_saved_naming_the_holder(store_file) -> None:
    path, cid, flag_id = store_file
    page = PageStore(path, wait=0.3)
    detail = ConversationDetail(page)
    detail.show(cid)
    table = ConversationTable(page)
    holder = hold(path, 60)  # a long ingest
    try:
        detail._decide(flag_id, "confirmed", "")
        table.refresh()
        with pytest.raises(StoreInUse, match=f"process {holder.pid}"), page.session():
            pass
    finally:
        holder.kill()
        holder.wait()
    assert "Not saved" in detail.message.value and f"process {holder.pid}" in detail.message.value
    assert f"process {holder.pid}" in table.notice.value
    with convolab.open(path, read_only=True) as lab:
        assert lab.list_flags().filter(flag_id=flag_id)["decision"][0] is None  # nothing half-written
    table.refresh()
    assert table.notice.value == ""  # the next refresh works again


def test_a_team_store_or_memory_store_is_kept_open() -> None:
    page = PageStore(":memory:")
    with page.session() as first:
        first.execute("CREATE TABLE scratch (x INTEGER)")
    with page.session() as second:
        assert second is first and second.execute("SELECT count(*) FROM scratch").scalar() == 0
    assert page.shared and PageStore("ducklake:sqlite:/tmp/x.sqlite").shared
    page.close()


def test_session_passes_an_open_workbench_through(lab) -> None:
    with session(lab) as same:
        assert same is lab
