"""The CSV export's one escape for spreadsheet formulas, and export arguments."""

from __future__ import annotations

import csv
import io

import pytest

from convolab.errors import InvalidArgument
from convolab.export import export_conversation, neutralise_formula

from .conftest import conversation

FORMULAS = [
    "=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1",
    "＝HYPERLINK(\"http://x\")", "＋1", "﹦1", "﹢1", "－1", "﹣1", "＠SUM(A1)", "⁼1", "₌1", "−1",
    " =1", "   +cmd", "\u00a0=1", "\u3000=1", "\u2003@x", "\n=1", "\u200b=1", "\ufeff=1", "\u202e=1",
    "\x00=1", " \t ＝1",
]
PLAIN = ["hello", "a=b", "1-2", "e-mail", "ｈｅｌｌｏ", "", "   ", "’=1", "100%", "#tag"]


@pytest.mark.parametrize("value", FORMULAS)
def test_cells_a_spreadsheet_would_run_are_quoted(value):
    assert neutralise_formula(value) == "'" + value


@pytest.mark.parametrize("value", PLAIN)
def test_other_cells_are_unchanged(value):
    assert neutralise_formula(value) == value


@pytest.mark.parametrize("value", [None, 7, 2.5])
def test_non_text_is_unchanged(value):
    assert neutralise_formula(value) == value


def test_every_cell_of_the_csv_export_goes_through_the_escape(lab, write_jsonl):
    messages = [{"role": "customer", "text": t} for t in ("＝HYPERLINK(\"x\")", " =cmd", "fine")]
    lab.ingest(write_jsonl([conversation("@evil", messages=messages)]))
    rows = list(csv.reader(io.StringIO(lab.export("@evil", "csv").decode())))
    assert rows[0] == ["conversation_id", "seq", "role", "text", "sent_at"]
    assert [r[0] for r in rows[1:]] == ["'@evil"] * 3
    assert [r[3] for r in rows[1:]] == ["'＝HYPERLINK(\"x\")", "' =cmd", "fine"]


@pytest.mark.parametrize("fmt", ["pdf", "", None, 3, "CSV"])
def test_an_unknown_export_format_is_an_invalid_argument(fmt):
    with pytest.raises(InvalidArgument, match="unknown export format"):
        export_conversation({"id": "x", "transcript": []}, fmt)
