"""A criteria file is YAML from a person: a hostile or broken one is one clear CriteriaError."""

from __future__ import annotations

import subprocess
import sys

import pytest

from convolab.errors import CriteriaError
from convolab.flags.criteria import MAX_YAML_ALIASES, load_criteria

LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
criteria:
  - name: laughs
    condition: *i
"""
GOOD = """\
defaults: &defaults {n: 8}
criteria:
  - name: a
    condition: "turns > :n"
    params: {n: 3}
  - name: b
    condition: "turns > :n"
    params: {n: 5}
    flow_params: {"Tech Support": *defaults}
"""


def test_a_billion_laughs_is_refused_before_it_expands(tmp_path):
    path = tmp_path / "laughs.yml"
    path.write_text(LAUGHS)
    with pytest.raises(CriteriaError, match="expands to over 100,000 values"):
        load_criteria(path)


def test_too_many_aliases_are_refused(tmp_path):
    path = tmp_path / "aliases.yml"
    path.write_text("x: &x 1\ncriteria:\n  - name: a\n    condition: turns > 1\n    params: {"
                    + ", ".join(f"p{k}: *x" for k in range(MAX_YAML_ALIASES + 1)) + "}\n")
    with pytest.raises(CriteriaError, match=f"more than {MAX_YAML_ALIASES} YAML aliases"):
        load_criteria(path)


@pytest.mark.parametrize("body, message", [
    ("[" * 5000 + "]" * 5000, "nests too deeply"),
    ("criteria: []\n" + "# padding\n" * 200_000, "a criteria file may have at most"),
    (b"criteria:\n  - name: \xff\xfe\n", "is not UTF-8 text"),
])
def test_deep_huge_or_binary_files_are_one_clear_error(tmp_path, body, message):
    path = tmp_path / "bad.yml"
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    with pytest.raises(CriteriaError, match=message):
        load_criteria(path)


def test_a_few_aliases_are_still_fine(tmp_path):
    path = tmp_path / "good.yml"
    path.write_text(GOOD)
    assert [c.name for c in load_criteria(path)] == ["a", "b"]


def test_the_cli_prints_one_line(tmp_path):
    (tmp_path / "laughs.yml").write_text(LAUGHS)
    done = subprocess.run([sys.executable, "-m", "convolab", "flag", "--db", "x.duckdb", "--criteria", "laughs.yml"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr and "MemoryError" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "expands to over" in done.stderr
