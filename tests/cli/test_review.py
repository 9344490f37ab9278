"""`convolab review`: QA decisions from scripts, as the person running them; mistakes are one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import convolab
from convolab.cli import app
from convolab.store import is_team_store


@pytest.fixture
def store(sample_lab) -> tuple[Path, list[int], str]:
    """A file store with three manual flags, closed so the CLI can open it."""
    ids = sample_lab.list_conversations(limit=3, sort="id", descending=False)["id"].to_list()
    from convolab.flags import add_manual_flag

    flags = [add_manual_flag(sample_lab, cid, "needs_look", reason="planted", reviewer="setup") for cid in ids]
    path = sample_lab.path
    sample_lab.close()
    return path, flags, ids[0]


def run(*args: str, user: str = "ivan") -> object:
    return CliRunner().invoke(app, list(args), env={"CONVOLAB_USER": user, "JUPYTERHUB_USER": "",
                                                    "CONVOLAB_JUPYTER_USER": ""})


def test_confirm_and_dismiss_record_the_reviewer_and_the_newest_wins(store) -> None:
    path, flags, _ = store
    confirmed = run("review", "confirm", str(flags[0]), "--note", "agreed", "--db", str(path), "--json")
    assert confirmed.exit_code == 0, confirmed.output
    doc = json.loads(confirmed.stdout)
    assert doc | {"decision": "confirmed", "reviewer": "ivan", "note": "agreed", "flag_id": flags[0]} == doc
    said = run("review", "dismiss", str(flags[0]), "--db", str(path), user="judy")
    assert said.exit_code == 0 and f"flag {flags[0]} " in said.stdout and "dismissed by judy" in said.stdout
    with convolab.open(path, read_only=True) as lab:
        row = lab.list_flags().filter(flag_id=flags[0]).row(0, named=True)
        assert (row["decision"], row["reviewer"]) == ("dismissed", "judy")
        audit = lab.list_audit(limit=10)
        assert audit.filter(action="confirm_flag")["actor"].to_list() == ["ivan"]
        assert audit.filter(action="dismiss_flag")["actor"].to_list() == ["judy"]


def test_add_raises_a_manual_flag(store) -> None:
    path, _, cid = store
    added = run("review", "add", cid, "--criterion", "rude_agent", "--reason", "agent was curt",
                "--severity", "high", "--db", str(path), "--json")
    assert added.exit_code == 0, added.output
    doc = json.loads(added.stdout)
    assert doc["reviewer"] == "ivan" and doc["criterion"] == "rude_agent" and doc["severity"] == "high"
    with convolab.open(path, read_only=True) as lab:
        flag = lab.list_flags(conversation_id=cid, criterion="rude_agent").row(0, named=True)
        assert (flag["flag_id"], flag["source"], flag["reason"]) == (doc["flag_id"], "manual", "agent was curt")


@pytest.mark.parametrize(("args", "message"), [
    (["review", "confirm", "999999"], "no flag with id 999999"),
    (["review", "dismiss", "abc"], "a flag id is a whole number"),
    (["review", "add", "c-nope", "--criterion", "x_y", "--reason", "r"], "no conversation with id 'c-nope'"),
    (["review", "add", "{cid}", "--criterion", "Bad Name", "--reason", "r"], "criterion names are lower-case"),
    (["review", "add", "{cid}", "--criterion", "ok_name", "--reason", "r", "--severity", "huge"], "severity must be"),
    (["review", "add", "{cid}", "--criterion", "ok_name"], "give the flag a reason"),
    (["review", "add", "{cid}", "--reason", "r"], "give the flag a criterion"),
])
def test_mistakes_are_one_line_and_change_nothing(store, args: list[str], message: str) -> None:
    path, _, cid = store
    with convolab.open(path, read_only=True) as lab:
        before = lab.execute("SELECT (SELECT count(*) FROM flags), (SELECT count(*) FROM flag_decisions),"
                             " (SELECT count(*) FROM audit_log)").fetchone()
    result = run(*[a.format(cid=cid) for a in args], "--db", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    with convolab.open(path, read_only=True) as lab:
        after = lab.execute("SELECT (SELECT count(*) FROM flags), (SELECT count(*) FROM flag_decisions),"
                            " (SELECT count(*) FROM audit_log)").fetchone()
    assert after == before


def test_a_missing_store_is_one_line(tmp_path: Path) -> None:
    result = run("review", "confirm", "1", "--db", str(tmp_path / "none.duckdb"))
    assert result.exit_code == 1 and "no such store" in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_decision_waits_for_a_brief_writer_and_names_a_long_one(store) -> None:
    """A dashboard click holds a file store for milliseconds: the CLI waits for it. A process that
    keeps it (an ingest) is named in one line after the wait (shortened here). A team store is
    not held by an open workbench: the decision goes through at once."""
    path, flags, _ = store
    team = is_team_store(str(path))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import convolab, sys, time; lab = convolab.open(sys.argv[1]); print('held', flush=True);"
         " time.sleep(float(sys.argv[2]))", str(path), "1.5"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        brief = subprocess.run([sys.executable, "-m", "convolab", "review", "confirm", str(flags[1]), "--db", str(path)],
                               capture_output=True, text=True, timeout=60)
    finally:
        holder.wait(timeout=30)
    assert brief.returncode == 0, brief.stderr
    keeper = subprocess.Popen(
        [sys.executable, "-c", "import convolab, sys, time; lab = convolab.open(sys.argv[1]); print('held', flush=True);"
         " time.sleep(60)", str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert keeper.stdout.readline().strip() == "held"
        import convolab.cli.review as review

        old, review.WAIT_S = review.WAIT_S, 0.5
        try:
            blocked = run("review", "confirm", str(flags[2]), "--db", str(path))
        finally:
            review.WAIT_S = old
    finally:
        keeper.kill()
        keeper.wait()
    if team:
        assert blocked.exit_code == 0, blocked.output
        with convolab.open(path, read_only=True) as lab:
            assert lab.list_flags().filter(flag_id=flags[2])["decision"].to_list() == ["confirmed"]
        return
    assert blocked.exit_code == 1
    assert f"in use by process {keeper.pid}" in blocked.stderr and len(blocked.stderr.strip().splitlines()) == 1
