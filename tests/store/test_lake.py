"""The team backend (DuckLake): locations, extensions, concurrency, crashes, and moving stores.

Real lakes throughout: SQLite catalogs in temporary folders and a real PostgreSQL server
(started by ``tests/conftest.py`` on 127.0.0.1 as an unprivileged user). Several
processes are real processes (``subprocess``), killed with SIGKILL where a test says so.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import convolab
from convolab.cli import app
from convolab.errors import ConvolabError
from convolab.flags import run_flags
from convolab.flags.review import add_manual_flag, confirm_flag, dismiss_flag
from convolab.generate import generate_conversations
from convolab.store import copy_store
from convolab.store.lake import LakeLocation
from tests.conftest import store_location

PYTHON = sys.executable
REPO = Path(__file__).resolve().parents[2]


def _run(code: str, *args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    """Start ``code`` in a new Python process (a real second process, not a thread)."""
    return subprocess.Popen([PYTHON, "-c", textwrap.dedent(code), *args], cwd=REPO,
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kwargs)


def write_conversations(path: Path, n: int, *, seed: int, prefix: str) -> Path:
    """``n`` generated conversations with ids of their own (``prefix-c-000001`` ...)."""
    with path.open("w", encoding="utf-8") as fh:
        for record in generate_conversations(n, seed=seed):
            fh.write(json.dumps({**record, "id": f"{prefix}-{record['id']}"}) + "\n")
    return path


# -- locations and extensions ----------------------------------------------------------------

def test_locations_parse_with_their_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVOLAB_LAKE_DATA", raising=False)
    lake = LakeLocation.parse(f"ducklake:sqlite:{tmp_path}/cat.sqlite")
    assert (lake.kind, lake.catalog, lake.data_path) == ("sqlite", f"{tmp_path}/cat.sqlite", f"{tmp_path}/cat.sqlite.files")
    lake = LakeLocation.parse(f"ducklake:sqlite:{tmp_path}/cat.sqlite?data={tmp_path}/parquet")
    assert lake.data_path == f"{tmp_path}/parquet"
    monkeypatch.setenv("CONVOLAB_LAKE_DATA", str(tmp_path / "shared"))
    lake = LakeLocation.parse("ducklake:postgres:dbname=cl host=db password='s3 cret' user=qa")
    assert lake.kind == "postgres" and lake.data_path == str(tmp_path / "shared")
    assert lake.catalog == "dbname=cl host=db password='s3 cret' user=qa"
    assert "s3" not in str(lake) and "password=***" in str(lake)  # never shown
    assert "hunter2" not in str(LakeLocation.parse("ducklake:postgres:postgresql://qa:hunter2@db/cl"))
    for bad in ("ducklake:mysql:x", "ducklake:sqlite:", "ducklake:sqlite:/x?data="):
        with pytest.raises(ConvolabError):
            LakeLocation.parse(bad)


def test_extensions_load_from_the_packages_with_signatures_checked(tmp_path):
    with convolab.open(f"ducklake:sqlite:{tmp_path}/cat.sqlite") as lab:
        settings = dict(lab.execute(
            "SELECT name, value FROM duckdb_settings() WHERE name IN"
            " ('autoinstall_known_extensions', 'autoload_known_extensions', 'allow_unsigned_extensions')"
        ).fetchall())
        assert settings == {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false",
                            "allow_unsigned_extensions": "false"}
        loaded = dict(lab.execute(
            "SELECT extension_name, install_mode FROM duckdb_extensions() WHERE loaded"
            " AND extension_name IN ('ducklake', 'sqlite_scanner')"
        ).fetchall())
        assert set(loaded) == {"ducklake", "sqlite_scanner"}  # loaded, and not INSTALLed anywhere
        assert all(mode in (None, "NOT_INSTALLED") for mode in loaded.values()), loaded
        assert lab.backend == "lake" and lab.schema_version == convolab.store.schema.SCHEMA_VERSION


def test_a_data_folder_other_than_the_catalogs_is_one_clear_error(tmp_path):
    convolab.open(f"ducklake:sqlite:{tmp_path}/cat.sqlite").close()
    with pytest.raises(ConvolabError, match="does not match"):
        convolab.open(f"ducklake:sqlite:{tmp_path}/cat.sqlite?data={tmp_path}/elsewhere")


def test_a_second_process_on_a_file_store_is_told_who_holds_it(tmp_path):
    path = tmp_path / "store.duckdb"
    with convolab.open(path):
        child = _run("""
            import sys, convolab
            from convolab.errors import StoreInUse
            try:
                convolab.open(sys.argv[1])
            except StoreInUse as exc:
                print(exc.pid, exc)
        """, str(path))
        out, err = child.communicate(timeout=120)
    assert out.split()[0] == str(os.getpid()) and "close it or use a team store" in out, err


def test_a_team_store_is_open_in_many_processes_at_once(tmp_path):
    location = f"ducklake:sqlite:{tmp_path}/cat.sqlite"
    with convolab.open(location) as lab:
        child = _run("""
            import sys, convolab
            with convolab.open(sys.argv[1]) as lab:
                lab.audit("from_child", target="t")
                print(lab.count_conversations())
        """, location)
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0 and out.strip() == "0", err
        assert lab.list_audit()["action"].to_list() == ["from_child"]  # its commit is seen here


# -- concurrency --------------------------------------------------------------------------------

_DECIDER = """
    import sys, convolab
    from convolab.flags.review import decide
    location, worker, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with convolab.open(location) as lab:
        flags = lab.sql("SELECT flag_id FROM flags ORDER BY flag_id")["flag_id"].to_list()
        for i in range(n):
            decide(lab, flags[(worker * n + i) % len(flags)], ("confirmed", "dismissed")[i % 2],
                   reviewer=f"reviewer-{worker}", note=f"{worker}:{i}")
    print("done")
"""


def _decisions_at_once(location: str, sample_jsonl: Path, workers: int, each: int) -> None:
    with convolab.open(location) as lab:
        lab.ingest(sample_jsonl)
        run_flags(lab)
        assert lab.sql("SELECT count(*) AS n FROM flags")["n"][0] > 0
    procs = [_run(_DECIDER, location, str(w), str(each)) for w in range(workers)]
    for p in procs:
        out, err = p.communicate(timeout=1800)
        assert p.returncode == 0 and out.strip().endswith("done"), err[-2000:]
    with convolab.open(location) as lab:
        decisions = lab.sql("SELECT reviewer, note FROM flag_decisions")
        assert decisions.height == workers * each  # no write lost
        assert decisions["note"].n_unique() == workers * each
        for w in range(workers):
            assert (decisions["reviewer"] == f"reviewer-{w}").sum() == each
        audit = lab.sql("SELECT id, actor FROM audit_log WHERE action IN ('confirm_flag', 'dismiss_flag')")
        assert audit.height == workers * each and audit["id"].n_unique() == workers * each


@pytest.mark.slow
def test_four_processes_record_200_decisions_each_on_a_team_store(tmp_path, sample_jsonl):
    _decisions_at_once(f"ducklake:sqlite:{tmp_path}/cat.sqlite", sample_jsonl, workers=4, each=200)


@pytest.mark.slow
def test_four_processes_record_decisions_at_once_on_postgresql(pg_location, sample_jsonl):
    _decisions_at_once(pg_location, sample_jsonl, workers=4, each=50)


_READER = """
    import sys, time, convolab
    location, stop = sys.argv[1], sys.argv[2]
    import pathlib
    with convolab.open(location) as lab:
        seen, worst, pages = [], 0.0, 0
        while not pathlib.Path(stop).exists():
            t = time.monotonic()
            page = lab.list_conversations(limit=50)
            count = lab.count_conversations()
            worst = max(worst, time.monotonic() - t)
            seen.append(count)
            pages += 1
        time.sleep(0.2)
        seen.append(lab.count_conversations())
    print(pages, worst, seen[0], seen[-1], all(a <= b for a, b in zip(seen, seen[1:])))
"""


@pytest.mark.slow
@pytest.mark.parametrize("catalog", ["sqlite", "postgres"])
def test_an_ingest_shows_up_in_a_reader_that_stays_open(catalog, tmp_path, request):
    location = (f"ducklake:sqlite:{tmp_path}/cat.sqlite" if catalog == "sqlite"
                else request.getfixturevalue("pg_location"))
    first = write_conversations(tmp_path / "first.jsonl", 200, seed=1, prefix="first")
    later = [write_conversations(tmp_path / f"later-{i}.jsonl", 300, seed=10 + i, prefix=f"later{i}")
             for i in range(3)]
    with convolab.open(location) as lab:
        lab.ingest(first)
    stop = tmp_path / "stop"
    reader = _run(_READER, location, str(stop))
    time.sleep(3)  # the reader is paging
    ingest = subprocess.run([PYTHON, "-m", "convolab", "ingest", *map(str, later), "--db", location],
                            cwd=REPO, capture_output=True, text=True, timeout=900)
    assert ingest.returncode == 0, ingest.stderr
    time.sleep(2)
    stop.touch()
    out, err = reader.communicate(timeout=300)
    assert reader.returncode == 0, err[-2000:]  # never an error (no lock, no conflict) while the ingest ran
    pages, worst, first_count, last_count, monotone = out.split()
    assert int(pages) > 3 and monotone == "True"
    assert int(first_count) >= 200 and int(last_count) == 200 + 900  # the open workbench sees the new ones
    assert float(worst) < 60  # never waited for the writer (generous: the CI machine is shared)


# -- crashes ------------------------------------------------------------------------------------

def _consistent(location: str) -> dict[str, int]:
    """Counts of a store, after checking that no conversation is there in part."""
    with convolab.open(location) as lab:
        partial = lab.sql("""
            SELECT c.id FROM conversations c
            LEFT JOIN (SELECT conversation_id, count(*) AS n FROM messages GROUP BY 1) m ON m.conversation_id = c.id
            LEFT JOIN (SELECT conversation_id, count(*) AS n FROM function_calls GROUP BY 1) f
                   ON f.conversation_id = c.id
            WHERE c.message_count <> coalesce(m.n, 0) OR c.function_count <> coalesce(f.n, 0)
        """)
        assert partial.height == 0, partial
        orphans = lab.sql("SELECT count(*) AS n FROM messages WHERE conversation_id NOT IN"
                          " (SELECT id FROM conversations)")["n"][0]
        assert orphans == 0
        return {t: lab.sql(f"SELECT count(*) AS n FROM {t}")["n"][0]  # noqa: S608
                for t in ("conversations", "messages", "function_calls", "tags", "parameters", "ground_truth")}


def test_a_load_killed_right_after_it_committed_does_not_reuse_its_load_id(tmp_path):
    """DuckDB 1.5.5 forgets a sequence step taken outside a writing transaction when the
    process dies before a checkpoint: the next load would draw the same id and fail."""
    files = [write_conversations(tmp_path / f"part-{i}.jsonl", 5, seed=i, prefix=f"p{i}") for i in range(2)]
    store = str(tmp_path / "store.duckdb")
    killed = _run("""
        import os, sys, convolab
        lab = convolab.open(sys.argv[1])
        lab.ingest(sys.argv[2])
        os.kill(os.getpid(), 9)  # no close, no checkpoint: the WAL is all there is
    """, store, str(files[0]))
    killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL
    with convolab.open(store) as lab:
        lab.ingest(files[1])
        loads = lab.sql("SELECT load_id, file FROM loads ORDER BY load_id")
    assert loads["file"].to_list() == [str(files[0]), str(files[1])]
    assert loads["load_id"].n_unique() == 2


@pytest.mark.slow
def test_kill_9_during_an_ingest_leaves_whole_conversations_only(backend, tmp_path):
    files = [write_conversations(tmp_path / f"part-{i}.jsonl", 1500, seed=20 + i, prefix=f"p{i}") for i in range(3)]
    clean = store_location(backend, tmp_path, "clean")
    started = time.monotonic()
    with convolab.open(clean) as lab:
        lab.ingest(files)
    took = time.monotonic() - started
    expected = _consistent(clean)
    assert expected["conversations"] == 4500
    for k, moment in enumerate((0.15, 0.45, 0.8)):
        location = store_location(backend, tmp_path, f"killed-{k}")
        convolab.open(location).close()  # created, so the kill lands in the load, not the setup
        child = subprocess.Popen([PYTHON, "-m", "convolab", "ingest", *map(str, files), "--db", location],
                                 cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0 + moment * took)  # + process start-up
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        partial = _consistent(location)  # opens fine; whatever is there is whole
        assert partial["conversations"] in (0, 1500, 3000, 4500)  # a file commits all at once
        with convolab.open(location) as lab:
            lab.ingest(files)
        assert _consistent(location) == expected


# -- moving stores ------------------------------------------------------------------------------

def _fill(location: str, sample_jsonl: Path) -> None:
    """A store with everything that migrates: loads, flags and decisions, audit, emotions, live calls."""
    from datetime import UTC, datetime

    from convolab.live.base import LiveCall
    from convolab.live.postcall import save_call, save_coaching_note

    with convolab.open(location) as lab:
        lab.ingest(sample_jsonl)
        run_flags(lab)
        flags = lab.sql("SELECT flag_id FROM flags ORDER BY conversation_id, criterion")["flag_id"].to_list()
        confirm_flag(lab, flags[0], reviewer="ann", note="clear case")
        dismiss_flag(lab, flags[1], reviewer="bob")
        manual = add_manual_flag(lab, lab.list_conversations(limit=1)["id"][0], "rude_agent", reason="tone",
                                 reviewer="cy")
        confirm_flag(lab, manual, reviewer="ann")
        lab.delete(lab.list_conversations(limit=2)["id"][1], actor="lead")
        emotions = ", ".join(f"{i / 100}" for i in range(28))
        lab.execute(f"INSERT INTO message_emotions VALUES ('m@1', 'abc', '', {emotions}, ['anger'], 'negative', -0.5,"  # noqa: S608
                    " now()::TIMESTAMP)")
        lab.execute("INSERT INTO conversation_emotions (conversation_id, model_id, n_messages, top_emotions,"
                    " polarity, sentiment, trend, refreshed_at) VALUES (?, 'm@1', 3, ['anger'], 'negative', -0.5,"
                    " 'worsened', now()::TIMESTAMP)", [lab.list_conversations(limit=1)["id"][0]])
        lab.execute("INSERT INTO emotion_runs VALUES ('m@1', now()::TIMESTAMP, now()::TIMESTAMP, 1, 0)")
        call = LiveCall(id="live-1", contact="+1555", status="completed", ended_at=datetime.now(UTC))
        save_call(lab, call, backend="simulated")
        call.status = "transferred"
        save_call(lab, call, backend="simulated")  # replaces the row
        save_coaching_note(lab, "live-1", {"at": datetime.now(UTC), "by": "sup", "text": "slow down"})


def _snapshot(location: str) -> dict:
    """What must survive a move, ids aside (a file renumbers a lake's)."""
    with convolab.open(location) as lab:
        flags = lab.list_flags().drop("flag_id", "created_at", "decided_at")
        return {
            "counts": {t: lab.sql(f"SELECT count(*) AS n FROM {t}")["n"][0]  # noqa: S608
                       for t in ("conversations", "messages", "function_calls", "tags", "parameters", "flags",
                                 "flag_decisions", "audit_log", "message_emotions", "conversation_emotions",
                                 "emotion_runs", "live_calls", "coaching_notes", "loads", "ground_truth")},
            "flags": sorted(map(str, flags.rows())),
            # the audit log in its own order (by id): ids are renumbered, the order is kept
            "audit": lab.sql("SELECT actor, action, target, result FROM audit_log ORDER BY id").rows(),
            "decisions": sorted(map(str, lab.sql("SELECT d.reviewer, d.decision, d.note, f.criterion,"
                                                 " f.conversation_id FROM flag_decisions d JOIN flags f USING (flag_id)"
                                                 ).rows())),
            "emotions": lab.sql("SELECT conversation_id, top_emotions, trend FROM conversation_emotions").rows(),
            "live": lab.sql("SELECT id, status, backend FROM live_calls").rows(),
            "coaching": lab.sql("SELECT call_id, actor, text FROM coaching_notes").rows(),
            "page": lab.list_conversations(sort="duration", limit=20).rows(),
        }


@pytest.mark.slow
def test_migrate_moves_a_store_to_a_team_store_and_back(tmp_path, sample_jsonl):
    file_store = str(tmp_path / "start.duckdb")
    _fill(file_store, sample_jsonl)
    before = _snapshot(file_store)
    assert before["counts"]["flag_decisions"] == 3 and before["counts"]["live_calls"] == 1
    lake = f"ducklake:sqlite:{tmp_path}/team.sqlite"
    runner = CliRunner()
    result = runner.invoke(app, ["migrate", "--from", file_store, "--to", lake, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rows"]["conversations"] == 299
    assert _snapshot(lake) == before
    back = str(tmp_path / "back.duckdb")
    assert runner.invoke(app, ["migrate", "--from", lake, "--to", back]).exit_code == 0
    assert _snapshot(back) == before
    with convolab.open(back) as lab:  # the file's own ids carry on after the copied ones
        flag = add_manual_flag(lab, lab.list_conversations(limit=1)["id"][0], "late", reason="x", reviewer="d")
        assert flag == lab.sql("SELECT max(flag_id) AS m FROM flags")["m"][0] and flag < 1000
        lab.audit("after_move")
        assert lab.list_audit(limit=1)["action"][0] == "after_move"
    # mistakes: one line, non-zero exit, nothing changed
    again = runner.invoke(app, ["migrate", "--from", file_store, "--to", lake])
    assert again.exit_code == 1 and "not empty" in again.output and "--force" in again.output
    assert runner.invoke(app, ["migrate", "--from", str(tmp_path / "nope.duckdb"), "--to", lake]).exit_code == 1
    assert runner.invoke(app, ["migrate", "--from", lake, "--to", lake]).exit_code == 1
    assert _snapshot(lake) == before
    assert runner.invoke(app, ["migrate", "--from", back, "--to", lake, "--force"]).exit_code == 0
    assert _snapshot(lake) == _snapshot(back) != before  # replaced: now with the flag and entry added above


@pytest.mark.slow
def test_migrate_into_postgresql(pg_location, tmp_path, sample_jsonl):
    file_store = str(tmp_path / "start.duckdb")
    _fill(file_store, sample_jsonl)
    copy_store(file_store, pg_location)
    assert _snapshot(pg_location) == _snapshot(file_store)


# -- a PostgreSQL catalog: the same behaviour as the file -------------------------------------

@pytest.mark.slow
def test_a_postgresql_team_store_behaves_like_a_file(pg_location, tmp_path, sample_jsonl):
    file_store = str(tmp_path / "same.duckdb")
    for location in (file_store, pg_location):
        _fill(location, sample_jsonl)
    assert _snapshot(pg_location) == _snapshot(file_store)
    with convolab.open(pg_location) as lab, convolab.open(file_store) as ref:
        cid = lab.list_conversations(sort="id", limit=1)["id"][0]
        detail, expected = lab.conversation(cid), ref.conversation(cid)
        for key in ("review_flags",):
            detail.pop(key), expected.pop(key)
        assert detail == expected
        assert lab.export(cid, "json") == ref.export(cid, "json")
        assert lab.count_conversations(flagged=True) == ref.count_conversations(flagged=True)


def test_a_conflicting_commit_runs_again(pg_location):
    """Two transactions deleting from one table at once: the later commit conflicts and is retried whole."""
    first, second = convolab.open(pg_location), convolab.open(pg_location)
    try:
        for lab in (first, second):
            lab.execute("INSERT INTO ground_truth VALUES ('c-seed', 'seed', 'test')")
        tries = []

        def replace(lab, label: str, hold: bool) -> None:
            tries.append(label)
            with lab.transaction():
                lab.execute("DELETE FROM ground_truth WHERE criterion = 'seed'")
                lab.execute("INSERT INTO ground_truth VALUES (?, 'seed', 'test')", [label])
                if hold:  # let the other transaction commit first
                    second.retrying(replace, second, "second", False) if len(tries) == 1 else None

        first.retrying(replace, first, "first", True)
        assert tries[:2] == ["first", "second"] and tries.count("first") >= 2  # run again after the conflict
        rows = first.sql("SELECT conversation_id FROM ground_truth WHERE criterion = 'seed'")["conversation_id"]
        assert rows.to_list() == ["first"]  # the retried transaction saw the other's commit and replaced it
    finally:
        first.close()
        second.close()


