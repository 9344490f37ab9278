"""CLI command for published reports: ``convolab report`` (one self-contained HTML file, or a PDF)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from convolab.cli._app import (
    DbOption,
    JsonOption,
    app,
    console,
    fail,
    open_store,
    print_json,
    resolve_db,
)
from convolab.errors import ConvolabError


def _open_for_reading(db: Path | None):  # noqa: ANN202 - a Workbench
    """The store, read-only when it can be (a report writes nothing, and the manager dashboard
    may hold it read-only too); a store on an older schema is opened once for writing to migrate."""
    import convolab

    path = resolve_db(db)
    if path.exists():
        try:
            return convolab.open(path, read_only=True)
        except ConvolabError as exc:
            if "older schema" not in str(exc):
                fail(str(exc))
    return open_store(db)


@app.command("report")
def report_command(
    out: Annotated[Path, typer.Option("--out", help="File to write: report.html, or report.pdf with --format pdf.")],
    db: DbOption = None,
    since: Annotated[
        str | None, typer.Option("--from", help="First day, YYYY-MM-DD (default: the store's first day).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--to", help="Last day, YYYY-MM-DD, included (default: the store's last day).")
    ] = None,
    flow: Annotated[list[str] | None, typer.Option("--flow", help="Only this flow (repeatable).")] = None,
    platform: Annotated[str | None, typer.Option("--platform", help="Only this platform (phone or web).")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="html or pdf (default: from --out's suffix, else html).")
    ] = None,
    by: Annotated[
        str, typer.Option("--by", help="Time buckets of the charts: auto, day, week, month, quarter or year.")
    ] = "auto",
    as_json: JsonOption = False,
) -> None:
    """Write a conversation report for managers: headline figures, charts, tables.

    The HTML file needs no network to open (plotly and styles are inside it) and holds
    only aggregated figures: no contact numbers or email addresses. Without --from/--to
    the report covers everything in the store and compares with no previous period.
    """
    from convolab.reports import build_report, list_flows, list_platforms, write_report

    if fmt is not None and fmt.lower() not in ("html", "pdf"):
        fail(f"--format must be html or pdf, got {fmt!r}")
    if fmt is None and out.suffix.lower() not in (".html", ".htm", ".pdf"):
        fail(f"--out {out} has no .html or .pdf suffix; name the file report.html or pass --format")
    if not out.parent.exists():
        fail(f"cannot write {out}: folder {out.parent} does not exist")
    try:
        with _open_for_reading(db) as lab:
            known = list_flows(lab)
            for name in flow or []:
                if name not in known:
                    shown = ", ".join(known[:10]) + (" ..." if len(known) > 10 else "")
                    fail(f"no conversations with flow {name!r} in the store; flows: {shown or 'none'}")
            if platform and platform not in list_platforms(lab):
                fail(f"no conversations on platform {platform!r} in the store; platforms: "
                     f"{', '.join(list_platforms(lab)) or 'none'}")
            report = build_report(lab, since=since, until=until, flow=flow or None, platform=platform,
                                  granularity=by)
        written = write_report(report, out, format=fmt)
    except ConvolabError as exc:
        fail(str(exc))
    size = written.stat().st_size
    if as_json:
        kpis = {r["name"]: r["value"] for r in report.kpis.to_dicts()}
        print_json({"out": str(written), "bytes": size, "period": report.period.label(),
                    "previous_period": report.period.previous_label(), "kpis": kpis})
        return
    console.print(f"Wrote {written} ({size / 1e6:.1f} MB): {report.total:,} conversations, "
                  f"{report.period.label()}", markup=False, soft_wrap=True)
