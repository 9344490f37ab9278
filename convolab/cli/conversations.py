"""CLI commands for the store itself: generate, ingest, conversations, show, export, delete, demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from convolab.cli._app import (
    DbOption,
    JsonOption,
    app,
    console,
    fail,
    open_store,
    print_json,
    progress_enabled,
    resolve_db,
)
from convolab.conversations import DETAIL_FIELDS, PLATFORM_ICONS, TABLE_COLUMNS
from convolab.errors import ConversationNotFound, ConvolabError


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, disable=not progress_enabled(), transient=True)


@app.command()
def generate(
    conversations: Annotated[int, typer.Option("--conversations", "-n", min=1, max=10_000_000,
                                               help="How many conversations.")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = 0,
    out: Annotated[Path, typer.Option(help="Output file (canonical JSONL; .gz compresses).")] = Path(
        "data/conversations.jsonl"),
) -> None:
    """Write realistic sample conversations (deterministic for a seed)."""
    from convolab.generate import write_conversations

    with _progress() as bar:
        task = bar.add_task("generating", total=conversations)
        try:
            write_conversations(out, conversations, seed=seed, progress=lambda k: bar.update(task, completed=k))
        except OSError as exc:
            fail(f"{out}: cannot write ({exc.strerror or exc})")
    console.print(f"wrote {conversations:,} conversations to {out}")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files to load (JSONL, OpenAI-style JSONL, CSV, Parquet; .gz ok).")],
    db: DbOption = None,
    format: Annotated[str, typer.Option("--format", help="auto|jsonl|openai|csv|parquet")] = "auto",  # noqa: A002
    map_: Annotated[list[str] | None, typer.Option("--map", help="CSV/Parquet column mapping FIELD=COLUMN (repeatable).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Load conversations into the store; bad records are quarantined, never dropped."""
    from convolab.ingest import FORMATS

    if format not in FORMATS:
        fail(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    mapping: dict[str, str] = {}
    for item in map_ or []:
        field, sep, column = item.partition("=")
        if not sep or not field or not column:
            fail(f"--map expects FIELD=COLUMN, got {item!r}")
        mapping[field] = column
    for path in paths:  # check before creating a store, so a typo leaves nothing behind
        if not path.exists():
            fail(f"{path}: no such file")
    lab = open_store(db, must_exist=False)
    with lab, _progress() as bar:
        task = bar.add_task("loading", total=len(paths))
        try:
            report = lab.ingest(paths, format=format, mapping=mapping or None,
                                progress=lambda _f, _n: bar.advance(task))
        except ConvolabError as exc:
            fail(str(exc))
    if as_json:
        print_json(report.to_dict())
        return
    console.print(f"loaded {report.loaded:,}, unchanged {report.unchanged:,}, rejected {report.rejected:,}"
                  f" -> {lab.path}")
    for file, line, reason in report.reasons(10):
        console.print(f"  rejected {file}:{line}: {reason}", markup=False)
    if report.rejected > 10:
        console.print(f"  ... see all {report.rejected:,} in the rejected_records table"
                      " (lab.list_rejected() or `convolab rejected`)")


@app.command()
def rejected(
    db: DbOption = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
    as_json: JsonOption = False,
) -> None:
    """List quarantined records with file, line and reason."""
    lab = open_store(db)
    with lab:
        rows = lab.list_rejected(limit=limit).drop("record").to_dicts()
    if as_json:
        print_json(rows)
        return
    for r in rows:
        console.print(f"{r['file']}:{r['line']}: {r['reason']}", markup=False)


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    return f"{seconds // 60}m {seconds % 60:02d}s"


def _kv(items: list[dict[str, Any]] | None) -> str:
    return ", ".join(f"{i['key']}={i['value']}" for i in items or [])


@app.command("conversations")
def list_conversations(
    db: DbOption = None,
    status: Annotated[str | None, typer.Option(help="e.g. completed, abandoned, failed, transferred")] = None,
    flow: Annotated[str | None, typer.Option()] = None,
    platform: Annotated[str | None, typer.Option(help="phone or web")] = None,
    flagged: Annotated[bool, typer.Option("--flagged", help="Only conversations with open review flags.")] = False,
    search: Annotated[str | None, typer.Option(help="Free text searched in transcripts.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 20,
    as_json: JsonOption = False,
) -> None:
    """List conversations with the table's columns, newest first."""
    lab = open_store(db)
    with lab:
        filters = dict(status=status, flow=flow, platform=platform, flagged=True if flagged else None, search=search)
        page = lab.list_conversations(limit=limit, **filters)
        total = lab.count_conversations(**filters)
    rows = page.to_dicts()
    if as_json:
        print_json({
            "columns": list(TABLE_COLUMNS),
            "total": total,
            "rows": [
                {"ID": r["id"], "Flow": r["flow"], "Platform": r["platform"], "Contact": r["contact"],
                 "Status": r["status"], "Duration": r["duration_s"], "Last Message": r["last_message"],
                 "Date": r["date"], "Flagged": r["flagged"], "Functions": r["functions"],
                 "Tags": {t["key"]: t["value"] for t in r["tags"] or []},
                 "Parameters": {p["key"]: p["value"] for p in r["parameters"] or []}}
                for r in rows
            ],
        })
        return
    table = Table(*[c for c in TABLE_COLUMNS if c != "Parameters"], title=f"{len(rows)} of {total:,} conversations")
    for r in rows:
        table.add_row(
            r["id"], r["flow"] or "", PLATFORM_ICONS.get(r["platform"] or "", r["platform"] or ""),
            r["contact"] or "", r["status"] or "", _fmt_duration(r["duration_s"]),
            (r["last_message"] or "")[:40], str(r["date"] or "")[:16], "🚩" if r["flagged"] else "",
            ", ".join(r["functions"] or []), _kv(r["tags"]),
        )
    console.print(table)


@app.command()
def show(
    conversation_id: Annotated[str, typer.Argument(metavar="ID")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one conversation: the detail fields in order, then transcript and functions."""
    lab = open_store(db)
    with lab:
        try:
            d = lab.conversation(conversation_id)
        except ConversationNotFound as exc:
            fail(str(exc))
    if as_json:
        print_json({"fields": list(DETAIL_FIELDS), **d})
        return
    sentiment = d["sentiment"]
    emotions = ", ".join(sentiment.get("top_emotions") or []) if sentiment else "not scored"
    flags = "; ".join(f"{f['criterion']} ({f['severity']}): {f['reason']}" for f in d["review_flags"]) or "none"
    values = {
        "Platform": f"{PLATFORM_ICONS.get(d['platform'] or '', '')} {d['platform']}",
        "Contact ID": d["contact_id"], "Status": d["status"],
        "Tags": ", ".join(f"{k}={v}" for k, v in d["tags"].items()), "Sentiment": emotions,
        "Duration": _fmt_duration(d["duration_s"]), "Start": d["started_at"], "End": d["ended_at"],
        "Review Flags": flags, "Summary": d["summary"], "Analysis": d["analysis"],
    }
    console.print(f"[bold]{d['id']}[/] — {d['flow']} — {d['contact']}")
    for name in DETAIL_FIELDS:
        console.print(f"{name + ':':<14}{values[name] if values[name] is not None else ''}", markup=False)
    console.print("\nTranscript")
    for m in d["transcript"]:
        console.print(f"  [{str(m['sent_at'] or '')[11:19]}] {m['role']}: {m['text'] or ''}", markup=False)
    console.print("\nFunctions and Parameters")
    for f in d["functions"]:
        console.print(f"  {f['name']}({json.dumps(f['arguments'])}) -> {json.dumps(f['output'])} [{f['status']}]",
                      markup=False)
    for k, v in d["parameters"].items():
        console.print(f"  {k} = {v}", markup=False)


@app.command()
def export(
    conversation_id: Annotated[str, typer.Argument(metavar="ID")],
    db: DbOption = None,
    format: Annotated[str, typer.Option("--format", help="txt, json or csv")] = "txt",  # noqa: A002
    out: Annotated[Path | None, typer.Option(help="Output file (default: stdout).")] = None,
) -> None:
    """Export a conversation's transcript (CSV cells that look like formulas are neutralised)."""
    from convolab.export import EXPORT_FORMATS

    if format not in EXPORT_FORMATS:
        fail(f"unknown export format {format!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    lab = open_store(db)
    with lab:
        try:
            data = lab.export(conversation_id, format)
        except ConversationNotFound as exc:
            fail(str(exc))
    if out is None:
        typer.echo(data.decode(), nl=False)
        return
    try:
        out.write_bytes(data)
    except OSError as exc:
        fail(f"{out}: cannot write ({exc.strerror or exc})")
    console.print(f"wrote {out}")


@app.command()
def delete(
    conversation_id: Annotated[str, typer.Argument(metavar="ID")],
    db: DbOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a conversation and everything derived from it (the audit log keeps a record)."""
    lab = open_store(db)
    with lab:
        try:
            lab.conversation(conversation_id)
        except ConversationNotFound as exc:
            fail(str(exc))
        if not yes and not typer.confirm(f"Delete conversation {conversation_id} and all its data?"):
            fail("not deleted")
        removed = lab.delete(conversation_id)
    console.print(f"deleted {conversation_id} ({sum(removed.values())} rows); recorded in the audit log")


@app.command()
def demo(
    db: DbOption = None,
    conversations: Annotated[int, typer.Option("--conversations", "-n", min=10)] = 2000,
    seed: Annotated[int, typer.Option()] = 7,
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the QA dashboard at the end.")] = True,
) -> None:
    """The main job: generate sample data, load it, score emotions, flag, and open the QA dashboard."""
    from convolab.generate import write_conversations

    path = resolve_db(db)
    # Beside a file store; a team store's sample goes to data/.
    source = path.with_name(path.stem + "-sample.jsonl") if isinstance(path, Path) else Path("data") / "demo-sample.jsonl"
    console.print(f"1. generating {conversations:,} conversations -> {source}")
    write_conversations(source, conversations, seed=seed)
    lab = open_store(path, must_exist=False)
    with lab:
        report = lab.ingest(source)
        console.print(f"2. loaded {report.loaded:,} (unchanged {report.unchanged:,}, rejected {report.rejected:,})"
                      f" into {lab.path}")
        for step, run in _optional_steps():
            try:
                console.print(f"{step}: {run(lab)}")
            except ImportError as exc:
                console.print(f"{step}: skipped ({exc})")
    console.print(f"\nNext: `convolab conversations --db {path}`, `convolab show c-0000001 --db {path}`")
    if serve and "serve" in _registered():
        from convolab.cli.serve import serve as serve_command

        serve_command(dashboard="qa_review", db=path)


def _optional_steps():
    """Scoring and flagging, when their modules are installed."""

    def score(lab):
        from convolab.emotions import score_store

        result = score_store(lab)
        return f"scored {result['scored']:,} customer messages with {result['model_id']}"

    def flag(lab):
        from convolab.flags import run_flags

        counts = run_flags(lab)
        return ", ".join(f"{k}={v}" for k, v in counts.items()) if isinstance(counts, dict) else str(counts)

    return [("3. emotions", score), ("4. review flags", flag)]


def _registered() -> set[str]:
    return {c.name or c.callback.__name__ for c in app.registered_commands}
