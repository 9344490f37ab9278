"""The store: opening, migrations, the table's page queries, the detail view, delete and audit."""

from __future__ import annotations

import json
import re
from datetime import date

import duckdb
import polars as pl
import pytest

import convolab
from convolab.conversations import TABLE_COLUMNS
from convolab.store import TABLE_KEYS, schema

from .conftest import conversation


def test_default_path_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVOLAB_DB", str(tmp_path / "env.duckdb"))
    with convolab.open() as lab:
        assert lab.path == tmp_path / "env.duckdb"
    assert (tmp_path / "env.duckdb").exists()


def test_an_old_store_is_migrated_forward_without_losing_data(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    assert schema.migrate(con, target=1) == 1  # a file as the first release wrote it
    con.execute("INSERT INTO conversations (id, flow, status) VALUES ('old-1', 'Legacy', 'completed')")
    con.close()
    with convolab.open(path) as lab:
        assert lab.schema_version == schema.SCHEMA_VERSION
        assert lab.conversation("old-1")["flow"] == "Legacy"
        assert lab.list_flags().height == 0  # tables of later versions exist


def test_a_version_6_store_gets_its_page_summaries_from_the_child_tables(tmp_path):
    """Schema v7 moves what a table row shows of its children onto the row; old stores are backfilled."""
    path = tmp_path / "v6.duckdb"
    con = duckdb.connect(str(path))
    assert schema.migrate(con, target=6) == 6
    con.execute("INSERT INTO conversations (id, flow, status, started_at) VALUES"
                " ('a', 'Old', 'completed', '2026-01-02'), ('b', 'Old', 'failed', '2026-01-01')")
    con.execute("INSERT INTO function_calls (conversation_id, seq, name) VALUES ('a', 1, 'second'), ('a', 0, 'first')")
    con.execute("INSERT INTO tags VALUES ('a', 'language', 'en'), ('a', 'call_reason', 'billing')")
    con.execute("INSERT INTO parameters VALUES ('b', 'account_id', 'A-1')")
    con.close()
    with convolab.open(path) as lab:
        assert lab.schema_version == schema.SCHEMA_VERSION
        rows = {r["id"]: r for r in lab.list_conversations(limit=None).to_dicts()}
        assert rows["a"]["functions"] == ["first", "second"]
        assert rows["a"]["tags"] == [{"key": "call_reason", "value": "billing"}, {"key": "language", "value": "en"}]
        assert rows["a"]["parameters"] is None
        assert rows["b"]["functions"] == [] and rows["b"]["tags"] is None
        assert rows["b"]["parameters"] == [{"key": "account_id", "value": "A-1"}]
        assert lab.conversation("a")["tags"] == {"call_reason": "billing", "language": "en"}
        assert lab.sql("SELECT count(*) AS n FROM duckdb_indexes() WHERE table_name = 'tags'")["n"][0] == 0


def test_not_a_store_is_a_clear_error(tmp_path):
    bogus = tmp_path / "notes.duckdb"
    bogus.write_text("hello")
    with pytest.raises(convolab.ConvolabError, match="not a convolab DuckDB store|cannot open"):
        convolab.open(bogus)


def test_sql_is_parameterised_and_returns_polars(sample_lab):
    df = sample_lab.sql("SELECT count(*) AS n FROM conversations WHERE status = ?", ["completed"])
    assert df["n"][0] > 0
    hostile = "x' OR '1'='1"
    assert sample_lab.sql("SELECT count(*) AS n FROM conversations WHERE id = ?", [hostile])["n"][0] == 0


def test_table_page_has_the_contract_columns_in_order(sample_lab):
    page = sample_lab.list_conversations(limit=5)
    assert tuple(page.columns) == TABLE_KEYS
    assert len(TABLE_KEYS) == len(TABLE_COLUMNS)
    assert page.height == 5
    dates = page["date"].to_list()
    assert dates == sorted(dates, reverse=True)


def test_filters_sorting_and_paging(sample_lab):
    failed = sample_lab.list_conversations(status="failed", limit=None)
    assert failed.height == sample_lab.count_conversations(status="failed") > 0
    assert set(failed["status"]) == {"failed"}
    web = sample_lab.list_conversations(platform="web", flow="Billing Chat", limit=None)
    assert set(web["platform"]) == {"web"} and set(web["flow"]) == {"Billing Chat"}
    by_duration = sample_lab.list_conversations(sort="duration", descending=False, limit=10)
    assert by_duration["duration_s"].to_list() == sorted(by_duration["duration_s"].to_list())
    page1 = sample_lab.list_conversations(limit=10, offset=0)["id"].to_list()
    page2 = sample_lab.list_conversations(limit=10, offset=10)["id"].to_list()
    assert not set(page1) & set(page2)
    hits = sample_lab.list_conversations(search="REPRESENTATIVE right now", limit=None)
    assert hits.height > 0
    for cid in hits["id"]:
        assert any("representative right now" in (m["text"] or "").lower() for m in sample_lab.conversation(cid)["transcript"])
    assert sample_lab.count_conversations(since=date(2030, 1, 1)) == 0
    with pytest.raises(ValueError, match="cannot sort by"):
        sample_lab.list_conversations(sort="id; DROP TABLE conversations")


def test_detail_fields_in_contract_order(lab, write_jsonl):
    lab.ingest(write_jsonl([conversation()]))
    d = lab.conversation("c-1")
    keys = list(d)
    contract = ["platform", "contact_id", "status", "tags", "sentiment", "duration_s", "started_at",
                "ended_at", "review_flags", "summary", "analysis", "transcript", "functions", "parameters"]
    assert [k for k in keys if k in contract] == contract


def test_missing_conversation_is_a_keyerror_with_the_id(lab):
    with pytest.raises(KeyError) as info:
        lab.conversation("nope")
    assert isinstance(info.value, convolab.ConversationNotFound)
    assert info.value.conversation_id == "nope"


def test_delete_removes_every_derived_row_and_is_audited(lab, write_jsonl, monkeypatch):
    monkeypatch.setenv("CONVOLAB_USER", "qa-lead")
    lab.ingest(write_jsonl([conversation("keep"), conversation("gone", ground_truth=["function_failed"])]))
    lab.execute("INSERT INTO flags (flag_id, conversation_id, criterion, severity, reason, source, created_at)"  # noqa: S608
                f" VALUES ({lab.new_id_sql('flags')}, 'gone', 'manual', 'low', 'r', 'manual', now()::TIMESTAMP)")
    removed = lab.delete("gone")
    assert removed["messages"] == 2 and removed["flags"] == 1 and removed["ground_truth"] == 1
    for table in ("messages", "function_calls", "tags", "parameters", "flags", "ground_truth"):
        n = lab.sql(f"SELECT count(*) AS n FROM {table} WHERE conversation_id = ?", ["gone"])["n"][0]  # noqa: S608
        assert n == 0, table
    assert lab.count_conversations() == 1
    audit = lab.list_audit(target="gone").to_dicts()[0]
    assert audit["action"] == "delete_conversation" and audit["actor"] == "qa-lead"


def test_export_formats_and_csv_formula_neutralisation(lab, write_jsonl):
    record = conversation(messages=[{"role": "customer", "text": "=HYPERLINK(\"http://evil\")"},
                                    {"role": "agent", "text": "@SUM(A1)"}, {"role": "customer", "text": "fine"}])
    lab.ingest(write_jsonl([record]))
    csv_text = lab.export("c-1", "csv").decode()
    assert "'=HYPERLINK" in csv_text and "'@SUM(A1)" in csv_text
    assert "customer: fine" in lab.export("c-1", "txt").decode()
    assert '"id": "c-1"' in lab.export("c-1", "json").decode()


def _flag(lab, cid: str, criterion: str) -> int:
    flag_id = lab.execute(f"SELECT {lab.new_id_sql('flags')}").scalar()
    lab.execute(
        "INSERT INTO flags (flag_id, conversation_id, criterion, severity, reason, source, created_at)"
        " VALUES (?, ?, ?, 'high', 'r', 'manual', now()::TIMESTAMP)", [flag_id, cid, criterion]
    )
    return flag_id


def _decide(lab, flag_id: int, cid: str, criterion: str, decision: str, at: str) -> None:
    lab.execute(
        "INSERT INTO flag_decisions (flag_id, conversation_id, criterion, decision, reviewer, decided_at)"
        " VALUES (?, ?, ?, ?, 'qa', ?::TIMESTAMP)", [flag_id, cid, criterion, decision, at]
    )


@pytest.fixture
def flagged_lab(sample_lab):
    """sample_lab with flags in every state: open, dismissed, dismissed then confirmed, two criteria."""
    ids = sample_lab.list_conversations(sort="id", descending=False, limit=6)["id"].to_list()
    f = {i: _flag(sample_lab, cid, "negative_sentiment") for i, cid in enumerate(ids[:4])}
    _decide(sample_lab, f[1], ids[1], "negative_sentiment", "dismissed", "2026-11-02 10:00:00")
    _decide(sample_lab, f[2], ids[2], "negative_sentiment", "dismissed", "2026-11-02 10:00:00")
    _decide(sample_lab, f[2], ids[2], "negative_sentiment", "confirmed", "2026-11-03 10:00:00")  # newest wins
    _decide(sample_lab, f[3], ids[3], "negative_sentiment", "confirmed", "2026-11-02 10:00:00")
    _decide(sample_lab, f[3], ids[3], "negative_sentiment", "dismissed", "2026-11-04 10:00:00")
    _flag(sample_lab, ids[4], "function_failed")
    _flag(sample_lab, ids[4], "negative_sentiment")
    sample_lab.open_ids = {ids[0], ids[2], ids[4]}  # ids[1], ids[3]: newest decision dismissed; ids[5]: none
    return sample_lab


def _reference(lab, rows: list[dict]) -> list[dict]:
    """Each page row's flags and child lists the straightforward way (one query per row)."""
    out = []
    for r in rows:
        cid = r["id"]
        flags = lab.list_flags(conversation_id=cid).to_dicts()
        out.append({
            "id": cid,
            "flagged": any(f["decision"] != "dismissed" for f in flags),
            "functions": lab.functions(cid)["name"].to_list(),
            "tags": [{"key": k, "value": v} for k, v in lab.conversation(cid)["tags"].items()] or None,
            "parameters": [{"key": k, "value": v} for k, v in lab.conversation(cid)["parameters"].items()] or None,
        })
    return out


def test_page_rows_agree_with_per_row_lookups(flagged_lab, monkeypatch):
    page = flagged_lab.list_conversations(sort="duration", descending=True, limit=40, offset=20)
    assert tuple(page.columns) == TABLE_KEYS and page.height == 40
    rows = page.to_dicts()
    assert [{k: r[k] for k in ("id", "flagged", "functions", "tags", "parameters")} for r in rows] == \
        _reference(flagged_lab, rows)
    # Long listings take the set-based path; force it on the same page and compare.
    import convolab.store.pages as store

    monkeypatch.setattr(store, "_IN_LIST_MAX", 5)
    assert flagged_lab.list_conversations(sort="duration", descending=True, limit=40, offset=20).equals(page)
    assert flagged_lab.list_conversations(limit=0).height == 0


def test_flagged_filter_and_sort_follow_the_newest_decision(flagged_lab):
    flagged = set(flagged_lab.list_conversations(flagged=True, limit=None)["id"])
    assert flagged == flagged_lab.open_ids == set(flagged_lab.list_conversations(limit=None).filter(
        pl.col("flagged"))["id"])
    assert flagged_lab.count_conversations(flagged=False) == flagged_lab.count_conversations() - len(flagged)
    by_flags = flagged_lab.list_conversations(sort="flagged", descending=True, limit=3)["id"].to_list()
    assert set(by_flags) == flagged_lab.open_ids
    # two open flags sort before one; ties broken by id in the same direction
    two = [cid for cid in flagged_lab.open_ids if len(flagged_lab.list_flags(conversation_id=cid)) == 2]
    assert by_flags[0] == two[0] and by_flags[1:] == sorted(set(by_flags[1:]), reverse=True)
    last = flagged_lab.list_conversations(sort="flagged", descending=False, limit=None)["id"].to_list()[-3:]
    assert last[-1] == two[0]


@pytest.mark.file_only  # order tables and indexes: a team store has neither
def test_a_page_reads_no_child_table_and_its_flags_through_an_index(sample_lab, tmp_path, monkeypatch):
    """A page's cost must follow the page, not the store: no child table is read, flags are index scans."""
    cid = sample_lab.list_conversations(limit=1)["id"][0]
    _flag(sample_lab, cid, "manual_check")
    real = sample_lab._con  # a store test: record what the store itself sends to DuckDB
    queries: list[str] = []

    class Recording:
        def execute(self, sql, *args):
            queries.append(sql)
            return real.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(sample_lab, "_con", Recording())
    page = sample_lab.list_conversations(status="completed", sort="duration", limit=50)
    monkeypatch.setattr(sample_lab, "_con", real)
    assert page.height == 50 and page["tags"].drop_nulls().len() > 0 and page["functions"].list.len().sum() > 0
    assert queries, "the recorder saw no query"
    read = [q for q in queries if re.search(r"\b(FROM|JOIN)\s+(messages|function_calls|tags|parameters)\b", q, re.I)]
    assert read == [], read
    # The flags lookup (the page's last query) is answered from the flags index.
    out = tmp_path / "profile.json"
    sample_lab.execute("PRAGMA enable_profiling = 'json'")
    sample_lab.execute(f"PRAGMA profiling_output = '{out}'")
    sample_lab.list_conversations(status="completed", sort="duration", limit=50)
    sample_lab.execute("PRAGMA disable_profiling")
    scans: dict[str, str] = {}

    def walk(node: dict) -> None:
        info = node.get("extra_info") or {}
        if "Table" in info:
            scans[info["Table"].rsplit(".", 1)[-1]] = info.get("Type", "")
        for child in node.get("children", []):
            walk(child)

    walk(json.loads(out.read_text()))
    assert scans.get("flags") == "Index Scan", scans


def test_page_summaries_match_the_child_tables(sample_lab):
    """functions/tags/parameters on a page (summary columns, schema v7) equal the child rows, in order."""
    page = sample_lab.list_conversations(limit=None)
    want = {
        r[0]: r[1:] for r in sample_lab.execute(
            """
            SELECT c.id,
                   coalesce((SELECT list(name ORDER BY seq) FROM function_calls f WHERE f.conversation_id = c.id), []),
                   (SELECT list({'key': key, 'value': value} ORDER BY key) FROM tags t WHERE t.conversation_id = c.id),
                   (SELECT list({'key': key, 'value': value} ORDER BY key) FROM parameters p
                    WHERE p.conversation_id = c.id)
            FROM conversations c
            """
        ).fetchall()
    }
    got = {r["id"]: (r["functions"], r["tags"], r["parameters"]) for r in page.to_dicts()}
    assert got == want
    assert any(f for f, _, _ in got.values()) and any(t for _, t, _ in got.values())


# -- the pre-sorted order tables (schema v6) -------------------------------------------------------

_ORDERED_KEYS = ("id", "flow", "platform", "contact", "status", "duration", "last_message", "date", "functions")
_FILTERS = (
    {},
    {"status": "failed"},
    {"status": ["completed", "transferred"], "platform": "web"},
    {"flow": "Billing Chat"},
    {"since": date(2026, 1, 1), "until": date(2030, 1, 1)},
    {"search": "representative"},
    {"flagged": True},
    {"flagged": False, "platform": "phone"},
    {"status": "no such status"},
)


def _assert_pages_agree(lab, keys=_ORDERED_KEYS, filters=_FILTERS) -> None:
    """Every paged listing (order tables) equals the same slice of the full sorted listing (no order table)."""
    for sort in keys:
        for descending in (True, False):
            for f in filters:
                everything = lab.list_conversations(sort=sort, descending=descending, limit=None, **f)
                for limit, offset in ((10, 0), (25, 10), (50, 250), (7, everything.height - 3)):
                    offset = max(offset, 0)
                    page = lab.list_conversations(sort=sort, descending=descending, limit=limit, offset=offset, **f)
                    assert page.equals(everything.slice(offset, limit)), (sort, descending, f, limit, offset)


def _orders_fresh(lab) -> bool:
    n = lab.count_conversations()
    states = lab.sql("SELECT name, conversations FROM table_order_state").rows()
    return len(states) == len(schema.TABLE_ORDERS) and all(c == n for _, c in states)


@pytest.fixture
def eager_orders(monkeypatch):
    """Every ingest rebuilds the order tables, as a bulk load into a big store does."""
    from convolab.store import workbench as store

    monkeypatch.setattr(store, "_ORDERS_MIN_STORE", 0)
    monkeypatch.setattr(store, "_ORDERS_MIN_LOAD", 1)


@pytest.mark.file_only  # order tables and indexes: a team store has neither
def test_order_table_pages_agree_with_the_full_sort(flagged_lab):
    flagged_lab.refresh_table_orders()
    assert _orders_fresh(flagged_lab)
    _assert_pages_agree(flagged_lab)


@pytest.mark.file_only  # order tables and indexes: a team store has neither
def test_order_tables_follow_ingest_and_delete(sample_lab, write_jsonl, eager_orders):
    before = sample_lab.list_conversations(sort="duration", limit=5)["id"].to_list()
    # New conversations that sort first, and a changed copy of an existing one (same id, new duration).
    changed = sample_lab.list_conversations(sort="duration", descending=False, limit=1)["id"][0]
    longest = [conversation(f"new-{i}", status="failed", ended_at=f"2026-11-01T1{i + 1}:00:00Z")
               for i in range(3)]
    sample_lab.ingest(write_jsonl([*longest, conversation(changed, ended_at="2026-11-01T19:59:00Z")], "more.jsonl"))
    assert _orders_fresh(sample_lab)
    top = sample_lab.list_conversations(sort="duration", limit=5)["id"].to_list()
    assert top[:4] == [changed, "new-2", "new-1", "new-0"] and top[4] == before[0]
    _assert_pages_agree(sample_lab, keys=("duration", "date", "status"), filters=_FILTERS[:3])
    sample_lab.delete("new-1")
    sample_lab.delete(before[0])
    assert _orders_fresh(sample_lab)
    top = sample_lab.list_conversations(sort="duration", limit=5)["id"].to_list()
    assert top[:3] == [changed, "new-2", "new-0"] and before[0] not in top
    _assert_pages_agree(sample_lab, keys=("duration", "id", "functions"), filters=_FILTERS[:4])


@pytest.mark.file_only  # order tables and indexes: a team store has neither
def test_a_stale_order_table_is_never_read(sample_lab, tmp_path):
    """Plain SQL writes bypass ingest: the changed count marks every order table stale."""
    lab = sample_lab
    lab.refresh_table_orders()
    lab.execute("INSERT INTO conversations (id, flow, platform, status, duration_s) VALUES"
                    " ('raw-1', 'Raw', 'web', 'failed', 1e9)")
    assert not _orders_fresh(lab)
    assert lab.list_conversations(sort="duration", limit=1)["id"][0] == "raw-1"  # sorted directly
    lab.execute("DELETE FROM conversations WHERE id = 'raw-1'")
    lab.execute("INSERT INTO conversations (id, flow, platform, status, duration_s) VALUES"
                    " ('raw-2', 'Raw', 'web', 'failed', 0)")
    lab.execute("CHECKPOINT")
    path = lab.path
    lab.close()
    with convolab.open(path, read_only=True) as reader:  # cannot rebuild: sorts the store itself
        assert not _orders_fresh(reader)
        assert "raw-1" not in reader.list_conversations(sort="duration", limit=3)["id"].to_list()
        _assert_pages_agree(reader, keys=("duration", "flow"), filters=_FILTERS[:3])
    with convolab.open(path) as writer:
        writer.refresh_table_orders()
        assert _orders_fresh(writer)
        _assert_pages_agree(writer, keys=("duration", "flow"), filters=_FILTERS[:3])


@pytest.mark.file_only  # order tables and indexes: a team store has neither
def test_a_small_load_leaves_order_tables_stale_and_pages_right(sample_lab, write_jsonl, sample_jsonl):
    """A live call's one-conversation save must not pay for rebuilding the order tables."""
    lab = sample_lab
    lab.refresh_table_orders()
    lab.ingest(sample_jsonl)  # nothing changed: the order tables stay usable
    assert _orders_fresh(lab)
    lab.ingest(write_jsonl([conversation("late-call", ended_at="2026-11-01T23:00:00Z")], "one.jsonl"))
    assert not _orders_fresh(lab)  # stale; pages sort the store directly
    assert lab.list_conversations(sort="duration", limit=1)["id"][0] == "late-call"
    _assert_pages_agree(lab, keys=("duration", "date"), filters=_FILTERS[:3])


def test_emotion_filter_reads_the_newest_scoring_run(sample_lab):
    cid = sample_lab.list_conversations(limit=1)["id"][0]
    insert = ("INSERT INTO conversation_emotions (conversation_id, model_id, top_emotions, refreshed_at)"
              " VALUES (?, ?, ?, ?)")
    sample_lab.execute(insert, [cid, "old-model", ["grief"], "2026-01-01 00:00:00"])
    sample_lab.execute(insert, [cid, "new-model", ["relief"], "2026-02-01 00:00:00"])
    assert sample_lab.list_conversations(emotion="relief")["id"].to_list() == [cid]
    assert sample_lab.list_conversations(emotion="grief").height == 0  # superseded by the newer run
    assert sample_lab.count_conversations(emotion="relief") == 1
