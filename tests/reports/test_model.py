"""The report model: every figure against independent SQL on a real store."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

import convolab
from convolab.reports import InvalidReportRequest, Period, build_report
from convolab.reports.model import MAX_FLOWS, MAX_FUNCTIONS, MAX_REASONS
from convolab.reports.period import choose_granularity, parse_day
from convolab.store import ConversationFilter

from .conftest import HUMAN_ID, PERIOD, PREVIOUS

# -- independent figures -------------------------------------------------------------------------
# Written differently from the model on purpose: correlated EXISTS instead of a scope table,
# Python for percentiles and for "the newest decision wins".


def _where(since: str | None, until: str | None, flow: str | None = None, platform: str | None = None):
    clauses, params = ["TRUE"], []
    if since:
        clauses.append("c.started_at >= CAST(? AS DATE)")
        params.append(since)
    if until:
        clauses.append("c.started_at < CAST(? AS DATE) + INTERVAL 1 DAY")
        params.append(until)
    if flow:
        clauses.append("c.flow = ?")
        params.append(flow)
    if platform:
        clauses.append("c.platform = ?")
        params.append(platform)
    return " AND ".join(clauses), params


def in_period(lab: convolab.Workbench, head: str, tail: str = "", head_params=(), tail_params=()):
    """``head WHERE <the PERIOD> tail``: a query over the conversations (alias c) of PERIOD."""
    where, params = _where(*PERIOD)
    sql = f"{head} WHERE {where} {tail}"  # noqa: S608 - test constants; values are bound
    return lab.execute(sql, [*head_params, *params, *tail_params])


def expected(lab: convolab.Workbench, since: str | None = None, until: str | None = None,
             flow: str | None = None, platform: str | None = None) -> dict[str, float | None]:
    where, params = _where(since, until, flow, platform)
    rows = lab.execute(
        f"""
        SELECT c.id, c.status, c.duration_s,
               EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id
                       AND m.role IN ('human_agent', 'supervisor')) AS human
        FROM conversations c WHERE {where}
        """,  # noqa: S608 - test constants
        params,
    ).fetchall()
    n = len(rows)
    out: dict[str, float | None] = {"conversations": float(n)}
    if n:
        out["containment_rate"] = sum(1 for r in rows if r[1] == "completed" and not r[3]) / n
        for status, name in (("transferred", "transfer_rate"), ("abandoned", "abandonment_rate"),
                             ("failed", "failure_rate")):
            out[name] = sum(1 for r in rows if r[1] == status) / n
        durations = [r[2] for r in rows if r[2] is not None and r[1] not in ("in_progress", "queued", "no_answer")]
        out["handle_time_mean_s"] = float(np.mean(durations))
        out["handle_time_p90_s"] = float(np.percentile(durations, 90))
    ids = {r[0] for r in rows}
    flagged: dict[str, set[str]] = {}
    for cid, criterion in lab.execute("SELECT conversation_id, criterion FROM flags").fetchall():
        if cid in ids:
            flagged.setdefault(criterion, set()).add(cid)
    for criterion, cids in flagged.items():
        out[f"flag_rate_{criterion}"] = len(cids) / n
    # QA: the newest decision per (conversation, criterion) wins.
    newest: dict[tuple[str, str], tuple] = {}
    for cid, criterion, decision, at in lab.execute(
            "SELECT conversation_id, criterion, decision, decided_at FROM flag_decisions").fetchall():
        key = (cid, criterion)
        if key not in newest or at > newest[key][1]:
            newest[key] = (decision, at)
    pairs = [(cid, crit) for crit, cids in flagged.items() for cid in cids]
    reviewed = [p for p in pairs if p in newest]
    confirmed = [p for p in reviewed if newest[p][0] == "confirmed"]
    out["review_coverage"] = len(reviewed) / len(pairs) if pairs else None
    out["confirm_rate"] = len(confirmed) / len(reviewed) if reviewed else None
    open_flagged = {cid for cid, crit in pairs if newest.get((cid, crit), ("",))[0] != "dismissed"}
    out["flagged_rate"] = len(open_flagged) / n if n else None
    return out


def assert_figures(report, want: dict[str, float | None], *, previous: bool = False) -> None:
    column = "previous" if previous else "value"
    got = {r["name"]: r[column] for r in report.kpis.to_dicts()}
    for name, value in want.items():
        assert name in got, f"{name} missing from the report"
        if value is None:
            assert got[name] is None, name
        else:
            assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name


# -- the 5,000-conversation store ------------------------------------------------------------------


def test_whole_store_figures_match_independent_sql(report_lab) -> None:
    report = build_report(report_lab)
    want = expected(report_lab)
    assert want["conversations"] == 5003
    assert_figures(report, want)
    assert not report.period.has_previous and "previous" in report.notes
    assert report.kpis["previous"].is_null().all()
    # every criterion that raised a flag has a figure
    criteria = {r[0] for r in report_lab.execute("SELECT DISTINCT criterion FROM flags").fetchall()}
    assert {f"flag_rate_{c}" for c in criteria} <= set(report.kpis["name"])
    assert len(criteria) >= 10


def test_period_is_compared_with_the_same_length_just_before(report_lab) -> None:
    report = build_report(report_lab, since=PERIOD[0], until=PERIOD[1])
    p = report.period
    assert (p.start, p.end) == (date(2026, 11, 1), date(2026, 11, 29))
    assert (p.previous_start, p.previous_end) == (date.fromisoformat(PREVIOUS[0]), date.fromisoformat(PREVIOUS[1]))
    assert p.days == 29 and (p.previous_end - p.previous_start).days + 1 == 29
    assert p.previous_end == p.start - timedelta(days=1)
    now, before = expected(report_lab, *PERIOD), expected(report_lab, *PREVIOUS)
    assert_figures(report, now)
    assert_figures(report, {k: v for k, v in before.items() if k in now}, previous=True)
    rows = {r["name"]: r for r in report.kpis.to_dicts()}
    # counts change relatively, rates by a difference
    assert rows["conversations"]["change"] == pytest.approx(now["conversations"] / before["conversations"] - 1)
    assert rows["transfer_rate"]["change"] == pytest.approx(now["transfer_rate"] - before["transfer_rate"])
    assert "previous" not in report.notes


def test_flow_and_platform_filters(report_lab) -> None:
    report = build_report(report_lab, since=PERIOD[0], until=PERIOD[1], flow="Billing Chat", platform="web")
    want = expected(report_lab, *PERIOD, flow="Billing Chat", platform="web")
    assert 0 < want["conversations"] < 1000
    assert_figures(report, want)
    assert set(report.flows["flow"]) == {"Billing Chat"}


def test_containment_leaves_out_conversations_a_human_joined(report_lab) -> None:
    report = build_report(report_lab)
    completed = report.statuses.filter(report.statuses["status"] == "completed")["conversations"][0]
    contained = report.kpi("containment_rate") * report.total
    humans = report_lab.execute(
        "SELECT count(DISTINCT c.id) FROM conversations c JOIN messages m ON m.conversation_id = c.id"
        " WHERE c.status = 'completed' AND m.role IN ('human_agent', 'supervisor')").scalar()
    assert humans >= 2
    assert round(contained) == completed - humans
    drill = report.drill("kpi", "containment_rate")
    assert report_lab.count_conversations(drill) == round(contained)
    assert HUMAN_ID not in report_lab.list_conversations(drill, limit=None)["id"].to_list()


def test_review_coverage_and_newest_decision(report_lab) -> None:
    report = build_report(report_lab)
    want = expected(report_lab)
    assert 0 < want["review_coverage"] < 1 and 0 < want["confirm_rate"] < 1
    assert report.kpi("review_coverage") == pytest.approx(want["review_coverage"])
    assert report.kpi("confirm_rate") == pytest.approx(want["confirm_rate"])
    flags = report.flags
    assert flags["reviewed"].sum() == 45  # 45 of the flags got decisions (see conftest)
    assert flags["confirmed"].sum() == 30  # 20 confirmed, 10 overturned to confirmed


def test_sentiment_emotions_and_sections(report_lab) -> None:
    report = build_report(report_lab, since=PERIOD[0], until=PERIOD[1])
    model = report_lab.execute(
        "SELECT model_id FROM emotion_runs ORDER BY finished_at DESC LIMIT 1").scalar()
    assert report.emotion_model == model
    polarity = dict(in_period(
        report_lab, "SELECT ce.polarity, count(*) FROM conversations c JOIN conversation_emotions ce"
        " ON ce.conversation_id = c.id AND ce.model_id = ?", "GROUP BY 1", [model]).fetchall())
    assert dict(zip(report.sentiment["polarity"], report.sentiment["conversations"], strict=True)) == polarity
    assert report.sentiment["share"].sum() == pytest.approx(1.0)
    assert report.kpi("negative_sentiment_rate") == pytest.approx(polarity["negative"] / sum(polarity.values()))
    top = report.emotions.row(0, named=True)
    n_top = in_period(
        report_lab, "SELECT count(*) FROM conversations c JOIN conversation_emotions ce ON ce.conversation_id = c.id"
        " AND ce.model_id = ?", "AND list_contains(ce.top_emotions, ?)", [model], [top["emotion"]]).scalar()
    assert top["conversations"] == n_top
    assert report.sentiment_trend.height == 29 and report.sentiment_arc.height >= 2
    # call reasons, functions and flows add up
    reasons = dict(in_period(
        report_lab, "SELECT t.value, count(*) FROM conversations c JOIN tags t ON t.conversation_id = c.id",
        "AND t.key = 'call_reason' GROUP BY 1").fetchall())
    shown = dict(zip(report.call_reasons["reason"], report.call_reasons["conversations"], strict=True))
    assert all(reasons[k] == v for k, v in shown.items() if not k.startswith("Other reasons"))
    assert sum(shown.values()) == sum(reasons.values())
    calls = {r[0]: r[1:] for r in in_period(
        report_lab, "SELECT fc.name, count(*), count(*) FILTER (WHERE fc.status = 'error') FROM conversations c"
        " JOIN function_calls fc ON fc.conversation_id = c.id", "GROUP BY 1").fetchall()}
    for r in report.functions.to_dicts():
        assert (r["calls"], r["failed"]) == calls[r["function"]]
        assert r["failure_rate"] == pytest.approx(r["failed"] / r["calls"])
    assert report.flows["conversations"].sum() == report.total
    assert report.volume.filter(report.volume["period"] == "current")["conversations"].sum() == report.total
    assert report.audio is None and "recordings" in report.notes["audio"]


def test_drill_downs_list_exactly_what_was_counted(report_lab) -> None:
    report = build_report(report_lab, since=PERIOD[0], until=PERIOD[1])
    count = report_lab.count_conversations
    assert count(report.base_filter()) == report.total
    for name in ("transfer_rate", "abandonment_rate", "failure_rate", "containment_rate", "flagged_rate"):
        assert count(report.drill("kpi", name)) == round(report.kpi(name) * report.total), name
    status = report.statuses.row(1, named=True)
    assert count(report.drill("status", status["status"])) == status["conversations"]
    flow = report.flows.row(0, named=True)
    assert count(report.drill("flow", flow["flow"])) == flow["conversations"]
    for r in report.flags.head(3).to_dicts():
        assert count(report.drill("criterion", r["criterion"])) == r["conversations"]
        assert count(report.drill("kpi", f"flag_rate_{r['criterion']}")) == r["conversations"]
    reason = report.call_reasons.row(0, named=True)
    assert count(report.drill("call_reason", reason["reason"])) == reason["conversations"]
    function = report.functions.filter(report.functions["failed"] > 0).row(0, named=True)
    failed_conversations = in_period(
        report_lab, "SELECT count(DISTINCT c.id) FROM conversations c JOIN function_calls fc"
        " ON fc.conversation_id = c.id", "AND fc.name = ? AND fc.status = 'error'",
        tail_params=[function["function"]]).scalar()
    assert count(report.drill("function", function["function"])) == failed_conversations
    negative = report.sentiment.filter(report.sentiment["polarity"] == "negative")["conversations"][0]
    assert count(report.drill("polarity", "negative")) == negative
    emotion = report.emotions.row(0, named=True)
    assert count(report.drill("emotion", emotion["emotion"])) == emotion["conversations"]
    day = report.volume.filter(report.volume["period"] == "current").row(3, named=True)
    assert count(report.drill("bucket", day["bucket"].isoformat())) == day["conversations"]
    assert report.drill("flow", None) is None and report.drill("kpi", "handle_time_mean_s") is None
    with pytest.raises(ValueError):
        report.drill("nonsense", "x")


# -- small stores ---------------------------------------------------------------------------------------


def _record(cid: str, *, day: str = "2026-03-02", flow: str = "Billing", status: str = "completed",
            reason: str | None = "billing", functions: tuple[tuple[str, str], ...] = ()) -> dict:
    return {
        "id": cid, "flow": flow, "platform": "phone", "contact": "+15555550100", "status": status,
        "started_at": f"{day}T10:00:00Z", "ended_at": f"{day}T10:02:00Z",
        "tags": {"call_reason": reason} if reason else {},
        "messages": [{"role": "customer", "text": f"hello {cid}", "at": f"{day}T10:00:01Z"}],
        "functions": [{"name": n, "arguments": {}, "output": {}, "status": s, "at": f"{day}T10:00:05Z"}
                      for n, s in functions],
    }


def test_an_empty_store_gives_an_empty_report(tmp_path) -> None:
    from convolab.reports import render_html

    with convolab.open(tmp_path / "empty.duckdb") as lab:
        report = build_report(lab)
        assert report.total == 0 and report.period.start is None
        assert report.kpi("containment_rate") is None
        assert {"previous", "sentiment", "flags", "audio"} <= set(report.notes)
        page = render_html(report)
        assert 'data-kpi="conversations" data-value="0"' in page
        assert "No conversations match" in page


def test_unscored_store_says_not_scored(small_store) -> None:
    lab = small_store(n=50)
    report = build_report(lab)
    assert report.sentiment is None and report.emotions is None
    assert "Not scored" in report.notes["sentiment"]
    assert report.kpi("negative_sentiment_rate") is None


def test_only_the_latest_scoring_runs_model_counts(small_store) -> None:
    lab = small_store([_record("a"), _record("b"), _record("c")])
    lab.execute("INSERT INTO emotion_runs VALUES ('old', '2026-01-01', '2026-01-01 01:00', 3, 0),"
                " ('new', '2026-02-01', '2026-02-01 01:00', 3, 0)")
    for cid, old, new in (("a", "negative", "positive"), ("b", "negative", "positive"), ("c", "negative", "negative")):
        for model, polarity in (("old", old), ("new", new)):
            lab.execute("INSERT INTO conversation_emotions (conversation_id, model_id, n_messages, top_emotions,"
                        " polarity, sentiment, trend, refreshed_at) VALUES (?, ?, 1, ['joy'], ?, 0.1, 'unchanged',"
                        " now())", [cid, model, polarity])
    report = build_report(lab)
    assert report.emotion_model == "new"
    assert report.kpi("negative_sentiment_rate") == pytest.approx(1 / 3)
    assert lab.count_conversations(report.drill("polarity", "negative")) == 1


def test_audio_figures_once_recordings_are_analysed(small_store) -> None:
    lab = small_store([_record("a"), _record("b"), _record("c"), _record("d", day="2026-02-25")])
    report = build_report(lab, since="2026-03-01", until="2026-03-07")
    assert report.audio is None and "No recordings analysed" in report.notes["audio"]  # empty table
    rows = [
        # a: analysed twice, the newest counts
        ("a", "2026-03-03 10:00", "ok", 900.0, 2000.0, 2, 3.0, 1),
        ("a", "2026-03-04 10:00", "ok", 500.0, 1000.0, 0, 0.0, 0),
        ("b", "2026-03-03 10:00", "ok", 700.0, 1500.0, 1, 2.0, 2),
        ("c", "2026-03-03 10:00", "failed", None, None, None, None, None),  # not counted
        ("d", "2026-03-03 10:00", "ok", 100.0, 200.0, 0, 0.0, 0),  # previous period
    ]
    lab.executemany("INSERT INTO audio_analyses (conversation_id, recording, analysed_at, status, latency_p50_ms,"
                    " latency_p95_ms, dead_air_count, dead_air_total_s, interruptions_agent)"
                    " VALUES (?, 'r.wav', ?::TIMESTAMP, ?, ?, ?, ?, ?, ?)", rows)
    report = build_report(lab, since="2026-03-01", until="2026-03-07")
    audio = {r["name"]: r for r in report.audio.to_dicts()}
    assert audio["recordings_analysed"]["value"] == 2
    assert audio["agent_latency_ms"]["value"] == pytest.approx(600.0)
    assert audio["agent_latency_p95_ms"]["value"] == pytest.approx(1250.0)
    assert audio["dead_air_per_call_s"]["value"] == pytest.approx(1.0)
    assert audio["dead_air_calls_rate"]["value"] == pytest.approx(0.5)
    assert audio["interruptions_per_call"]["value"] == pytest.approx(1.0)
    assert audio["recordings_analysed"]["previous"] == 1
    assert audio["agent_latency_ms"]["previous"] == pytest.approx(100.0)


def test_caps_keep_the_report_bounded(small_store) -> None:
    records = [
        _record(f"r{i}", flow=f"Flow {i:02d}", reason=f"reason {i % 30:02d}",
                functions=((f"fn_{i % 40:02d}", "error" if i % 3 == 0 else "ok"),))
        for i in range(120)
    ]
    lab = small_store(records)
    report = build_report(lab)
    assert report.flows.height == MAX_FLOWS + 1
    other = report.flows.filter(report.flows["other"])
    assert other["flow"][0] == f"Other flows ({120 - MAX_FLOWS})" and other["conversations"][0] == 120 - MAX_FLOWS
    assert report.flows["conversations"].sum() == 120
    assert report.call_reasons.height == MAX_REASONS + 1 and report.call_reasons["conversations"].sum() == 120
    assert report.functions.height == MAX_FUNCTIONS


def test_period_resolution_and_bad_requests() -> None:
    first, last = date(2026, 1, 1), date(2026, 3, 31)
    everything = Period.resolve(None, None, first_day=first, last_day=last)
    assert (everything.start, everything.end, everything.has_previous) == (first, last, False)
    assert everything.granularity == "day"  # 90 days
    since_only = Period.resolve(date(2026, 3, 1), None, first_day=first, last_day=last)
    assert since_only.end == last and since_only.previous_end == date(2026, 2, 28)
    assert since_only.previous_start == date(2026, 1, 29)  # 31 days
    until_only = Period.resolve(None, date(2026, 2, 1), first_day=first, last_day=last)
    assert until_only.start == first and not until_only.has_previous
    assert choose_granularity(date(2020, 1, 1), date(2020, 12, 31)) == "week"
    assert choose_granularity(date(2017, 1, 1), date(2025, 12, 31)) == "month"  # 108 months
    assert choose_granularity(date(2000, 1, 1), date(2025, 12, 31)) == "quarter"
    assert choose_granularity(date(1900, 1, 1), date(2025, 12, 31)) == "year"
    with pytest.raises(InvalidReportRequest, match="after it ends"):
        Period.resolve(date(2026, 3, 2), date(2026, 3, 1), first_day=first, last_day=last)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_day("2026-13-01")
    with pytest.raises(InvalidReportRequest, match="--by"):
        Period.resolve(None, None, first_day=first, last_day=last, granularity="fortnight")


def test_a_report_over_the_whole_accepted_range_still_has_bounded_buckets(small_store) -> None:
    # Ingest accepts 1970-01-01 to 2199-12-31: a store may span those 230 years.
    lab = small_store([_record("old", day="1970-01-01"), _record("new", day="2199-12-31")])
    report = build_report(lab)
    assert report.period.granularity == "year"
    assert report.volume.height <= 120 and report.volume["conversations"].sum() == 2


def test_drill_filter_for_the_table_keeps_the_period(report_lab) -> None:
    report = build_report(report_lab, since=PERIOD[0], until=PERIOD[1], flow="Tech Support")
    f = report.drill("kpi", "transfer_rate")
    assert f == ConversationFilter(flow=["Tech Support"], since=date(2026, 11, 1), until=date(2026, 11, 29),
                                   status="transferred")
