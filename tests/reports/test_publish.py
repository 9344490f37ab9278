"""`convolab report`: one self-contained page (and a PDF of it), checked in Debian's chromium
with the network cut off, against independent SQL on the store."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from convolab.reports import build_report, render_html

from .conftest import (
    PERIOD,
    PII_EMAIL,
    PII_FUNCTION,
    PII_PHONE,
    SCREENSHOTS,
    XSS_FLOW,
    XSS_REASON,
    cli,
)
from .test_model import expected

HEADLINE = ("conversations", "containment_rate", "transfer_rate", "abandonment_rate", "failure_rate")
#: Every check of "no contact details" also looks for these, planted in labels (see conftest).
PLANTED_PII = (PII_EMAIL, PII_PHONE, PII_FUNCTION, "15550109999", "555) 010-9999")


def shown(text: str) -> float:
    """A tile's text back to a number: '1,234' -> 1234, '72.9%' -> 0.729."""
    text = text.strip()
    if text.endswith("%"):
        return float(text[:-1].replace(",", "")) / 100
    return float(text.replace(",", ""))


def open_offline(chromium, path: Path, width: int = 1366, height: int = 768):
    """Open a file with every non-file request aborted; returns (page, context, attempts, problems)."""
    context = chromium.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    attempts: list[str] = []
    problems: list[str] = []

    def route(r) -> None:
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            attempts.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: attempts.append(r.url) if not r.url.startswith("file:") else None)
    page.goto(path.resolve().as_uri())
    page.wait_for_function("document.documentElement.getAttribute('data-charts') !== null")
    return page, context, attempts, problems


def contacts(lab) -> list[str]:
    return [r[0] for r in lab.execute("SELECT DISTINCT contact FROM conversations WHERE contact IS NOT NULL").fetchall()]


@pytest.fixture(scope="module")
def whole_report(report_db: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report-html") / "r.html"
    done = cli("report", "--db", str(report_db), "--out", str(out))
    assert "Wrote" in done.stdout
    return out


def test_page_opens_offline_renders_every_chart_and_shows_the_store_figures(whole_report, report_lab,
                                                                            chromium) -> None:
    page, context, attempts, problems = open_offline(chromium, whole_report)
    try:
        assert attempts == [] and problems == []
        charts = int(page.evaluate("document.documentElement.getAttribute('data-charts')"))
        assert charts >= 10 and page.locator(".chart").count() == charts
        # every chart drew an SVG with marks in it
        assert page.locator(".chart .main-svg").count() >= charts
        assert page.evaluate(
            "[...document.querySelectorAll('.chart')].every(c => c.querySelector('.main-svg')"
            " && c.querySelectorAll('.trace, .hm, .point, path.point, .bars path, .lines path, .heatmaplayer image').length > 0)")
        # nothing in the page points anywhere: no external src/href, no link/iframe/img elements
        assert page.evaluate(
            "[...document.querySelectorAll('*')].flatMap(e => [...e.attributes])"
            ".filter(a => /^(src|href|xlink:href|action|srcset|poster|data)$/.test(a.name)"
            " && !/^(data:|#)/.test(a.value)).map(a => a.value)") == []
        assert page.evaluate("typeof window.__pwned") == "undefined"

        tiles = {t.get_attribute("data-kpi"): (t.get_attribute("data-value"), t.locator(".kpi-value").inner_text())
                 for t in page.locator("[data-kpi]").all()}
        want = expected(report_lab)
        names = [*HEADLINE, *(k for k in want if k.startswith("flag_rate_"))]
        assert len(names) >= 15
        for name in names:
            raw, text = tiles[name]
            assert float(raw) == pytest.approx(want[name], rel=1e-12), name
            # to the shown precision: counts exactly, rates to 0.1 percentage point
            tolerance = 0.0005 + 1e-9 if text.endswith("%") else 0
            assert abs(shown(text) - want[name]) <= tolerance, (name, text, want[name])
        assert tiles["conversations"][1] == "5,003"
        assert "No recordings analysed" in page.locator("#audio").inner_text()
        assert "not compared" in page.locator("header").inner_text()
    finally:
        context.close()


def test_page_holds_no_contact_details_and_escapes_labels(whole_report, report_lab) -> None:
    page = whole_report.read_text(encoding="utf-8")
    found = [c for c in contacts(report_lab) if c in page]
    assert found == [], f"contact details in the report: {found[:5]}"
    assert len(contacts(report_lab)) > 3000  # distinct phone numbers and emails
    for text in PLANTED_PII:
        assert text not in page, text
    assert "[redacted]" in page
    # markup from the store is text, never markup, in the body and in the chart data
    for text in (XSS_FLOW, XSS_REASON):
        assert text not in page
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
    body = page.split("</head>", 1)[1]  # the head holds plotly.js itself
    assert re.search(r"<(link|img|iframe|object|embed)\b", body) is None
    assert "http://" not in body and "https://" not in body
    size = whole_report.stat().st_size
    assert size < 5_000_000, size


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (1920, 1080)])
def test_page_fits_common_screens(whole_report, chromium, width, height) -> None:
    page, context, attempts, problems = open_offline(chromium, whole_report, width, height)
    try:
        assert attempts == [] and problems == []
        # no sideways scrolling, and no chart wider than its card
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate(
            "[...document.querySelectorAll('.chart')].every(c => c.querySelector('.main-svg').getBoundingClientRect()"
            ".width <= c.parentElement.getBoundingClientRect().width + 1)")
        # tiles do not overlap each other
        boxes = page.evaluate("[...document.querySelectorAll('#headline [data-kpi]')].map(t => {"
                              " const r = t.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })")
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert a[2] <= b[0] + 0.5 or b[2] <= a[0] + 0.5 or a[3] <= b[1] + 0.5 or b[3] <= a[1] + 0.5
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"report-{width}x{height}.png"))
        page.screenshot(path=str(SCREENSHOTS / f"report-{width}x{height}-full.png"), full_page=True)
    finally:
        context.close()


def test_period_report_compares_with_the_previous_period(report_db, report_lab, chromium, tmp_path) -> None:
    out = tmp_path / "period.html"
    cli("report", "--db", str(report_db), "--out", str(out), "--from", PERIOD[0], "--to", PERIOD[1],
        "--flow", "Tech Support")
    page, context, attempts, problems = open_offline(chromium, out)
    try:
        assert attempts == [] and problems == []
        want = expected(report_lab, *PERIOD, flow="Tech Support")
        for name in HEADLINE:
            raw = page.locator(f"[data-kpi='{name}']").get_attribute("data-value")
            assert float(raw) == pytest.approx(want[name], rel=1e-12), name
        prev = page.locator("[data-kpi='transfer_rate'] .kpi-prev").inner_text()
        assert "before" in prev and ("pp" in prev)
        assert "2026-10-03 – 2026-10-31" in page.locator("header").inner_text()
        # a dotted previous-period line on the volume chart
        assert page.locator("#chart-volume .scatterlayer .trace").count() == 1
    finally:
        context.close()


def test_pdf_pages_render_with_the_same_figures(report_db, report_lab, tmp_path) -> None:
    out = tmp_path / "r.pdf"
    cli("report", "--db", str(report_db), "--out", str(out), "--format", "pdf")
    assert out.read_bytes().startswith(b"%PDF")
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert pages >= 4 and "A4" in info
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(out), str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == pages and all(p.stat().st_size > 2000 for p in images)
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True,
                          check=True).stdout
    report = build_report(report_lab)
    from convolab.reports.formatting import fmt_value

    for name in (*HEADLINE, "flag_rate_function_failed", "flag_rate_frustrated_customer"):
        row = report.kpis.filter(report.kpis["name"] == name).row(0, named=True)
        assert fmt_value(row["unit"], row["value"]) in text, name
    want = expected(report_lab)
    assert f"{want['containment_rate'] * 100:.1f}%" in text and "5,003" in text
    assert not [c for c in contacts(report_lab) if c in text]
    assert "Conversations per day" in text  # chart titles are text in the PDF, so the charts are there


def test_page_size_stays_bounded_whatever_the_labels(small_store, tmp_path) -> None:
    long = "x" * 300
    records = []
    for i in range(400):
        records.append({
            "id": f"b-{i}", "flow": f"{long} flow {i}", "platform": "web", "status": "completed",
            "started_at": f"{1990 + i % 36}-0{1 + i % 9}-1{i % 10}T10:00:00Z",
            "tags": {"call_reason": f"{long} reason {i}"},
            "messages": [{"role": "customer", "text": "hi", "at": "2026-01-01T10:00:00Z"}],
            "functions": [{"name": f"{long}_fn_{i}", "arguments": {}, "output": {}, "status": "error"}],
        })
    lab = small_store(records)
    lab.executemany("INSERT INTO flags (conversation_id, criterion, severity, reason, source, created_at)"
                    " VALUES (?, ?, 'low', 'manual', 'manual', now())",
                    [(f"b-{i}", f"{long}_criterion_{i}") for i in range(400)])
    page = render_html(build_report(lab))
    assert len(page.encode()) < 5_000_000
    assert long not in page


def test_cli_mistakes_are_one_line_errors(report_db, tmp_path) -> None:
    import sys

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "convolab", "report", *args], capture_output=True, text=True)

    out = str(tmp_path / "x.html")
    cases = [
        (["--db", str(report_db), "--out", out, "--flow", "No Such Flow"], "no conversations with flow"),
        (["--db", str(report_db), "--out", out, "--platform", "fax"], "platform"),
        (["--db", str(report_db), "--out", out, "--from", "2026-02-30"], "YYYY-MM-DD"),
        (["--db", str(report_db), "--out", out, "--from", "2026-11-05", "--to", "2026-11-01"], "after it ends"),
        (["--db", str(tmp_path / "missing.duckdb"), "--out", out], "no such store"),
        (["--db", str(report_db), "--out", str(tmp_path / "nope" / "x.html")], "does not exist"),
        (["--db", str(report_db), "--out", str(tmp_path / "x.txt")], "suffix"),
        (["--db", str(report_db), "--out", out, "--format", "docx"], "html or pdf"),
        (["--db", str(report_db), "--out", out, "--by", "fortnight"], "--by"),
    ]
    for args, message in cases:
        done = run(*args)
        assert done.returncode != 0, args
        assert message in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "x.html").exists() and not (tmp_path / "missing.duckdb").exists()
