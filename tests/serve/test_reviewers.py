"""The reviewers file of `convolab serve --users`: one token per reviewer, kept as digests."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from convolab.cli import app
from convolab.dashboards.reviewers import Reviewers, ReviewersFileError, add_reviewer

ALICE = "alice-token-0123456789"
BOB = "bob-token-abcdefghijkl"


def test_a_token_names_its_reviewer_and_nothing_else_does() -> None:
    digest = hashlib.sha256(BOB.encode()).hexdigest()
    team = Reviewers.from_tokens({"alice": ALICE, "bob": f"sha256:{digest}"})
    assert team.who(ALICE) == "alice"
    assert team.who(BOB) == "bob"
    assert team.who(f"sha256:{digest}") is None  # the digest is not the token
    assert team.who(ALICE[:-1]) is None and team.who("") is None and team.who(None) is None
    assert team.names == ["alice", "bob"]


@pytest.mark.parametrize(("entries", "message"), [
    ({"alice": "short"}, "at least 16 characters"),
    ({"Alice Smith": ALICE}, "letters, digits"),
    ({"alice": ALICE, "bob": ALICE}, "same token"),
    ({"alice": ""}, "no token"),
    ({"alice": "sha256:abc"}, "64 lower-case hex"),
    ({}, "names nobody"),
])
def test_bad_entries_are_refused_with_the_reason(entries: dict, message: str) -> None:
    with pytest.raises(ReviewersFileError, match=message):
        Reviewers.from_tokens(entries)


def test_loading_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "team.yml"
    bad.write_text("alice: [unclosed\n")
    with pytest.raises(ReviewersFileError, match=r"team.yml: line \d+ is not valid YAML"):
        Reviewers.load(bad)
    bad.write_text("- alice\n- bob\n")
    with pytest.raises(ReviewersFileError, match="name: token"):
        Reviewers.load(bad)
    with pytest.raises(ReviewersFileError, match="no such reviewers file"):
        Reviewers.load(tmp_path / "missing.yml")


def test_add_reviewer_writes_only_a_digest_and_replaces_an_old_token(tmp_path: Path) -> None:
    path = tmp_path / "team.yml"
    first = add_reviewer(path, "alice")
    add_reviewer(path, "bob")
    text = path.read_text()
    assert first not in text and "sha256:" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Reviewers.load(path).who(first) == "alice"
    second = add_reviewer(path, "alice")
    team = Reviewers.load(path)
    assert team.who(second) == "alice" and team.who(first) is None
    assert team.names == ["alice", "bob"]
    with pytest.raises(ReviewersFileError):
        add_reviewer(path, "not a name")
    assert Reviewers.load(path).names == ["alice", "bob"]  # nothing written


def test_users_cli_prints_the_token_once_and_lists_names(tmp_path: Path) -> None:
    path = tmp_path / "team.yml"
    runner = CliRunner()
    added = runner.invoke(app, ["users", "add", "carol", "--users", str(path)])
    assert added.exit_code == 0, added.output
    token = added.stdout.splitlines()[0].removeprefix("carol: ")
    assert Reviewers.load(path).who(token) == "carol"
    listed = runner.invoke(app, ["users", "list", "--users", str(path)])
    assert listed.stdout.split() == ["carol"]
    bad = runner.invoke(app, ["users", "add", "two words", "--users", str(path)])
    assert bad.exit_code == 1 and len(bad.stderr.strip().splitlines()) == 1
