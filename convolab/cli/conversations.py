"""CLI commands for the store itself: generate, ingest, conversations, show, export, delete, demo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
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
    audio: Annotated[Path | None, typer.Option(
        "--audio", metavar="DIR",
        help="Also speak each phone call (espeak-ng) into a recording in DIR, with its ground truth.")] = None,
    audio_calls: Annotated[int | None, typer.Option(
        "--audio-calls", min=0, help="Record at most this many phone calls (default: all).")] = None,
) -> None:
    """Write realistic sample conversations (deterministic for a seed), optionally with call recordings."""
    import time

    from convolab.generate import write_conversations

    started = time.perf_counter()
    with _progress() as bar:
        task = bar.add_task("generating", total=conversations)
        try:
            write_conversations(out, conversations, seed=seed, progress=lambda k: bar.update(task, completed=k),
                                audio=audio, audio_calls=audio_calls)
        except OSError as exc:
            fail(f"{exc.filename or out}: cannot write ({exc.strerror or exc})")
    console.print(f"wrote {conversations:,} conversations to {out}")
    if audio is not None:
        console.print(f"wrote {_recordings(audio):,} call recordings to {audio} ({time.perf_counter() - started:.1f} s)")
        console.print(f"next: `convolab ingest {out} --db DB` and `convolab audio --db DB --recordings {audio}`",
                      markup=False, highlight=False, soft_wrap=True)


def _recordings(folder: Path) -> int:
    return sum(1 for _ in folder.glob("*.truth.json"))


#: Exit statuses of ``convolab ingest`` (NOTES-ingest.md): 0 loaded (some records may have
#: been rejected, said on the way), 1 an error stopped it before loading (a missing or damaged
#: file, a bad option), 3 nothing loaded (every record rejected, or no records at all),
#: 4 ``--strict`` and at least one record rejected. 2 is typer's usage error.
EXIT_NOTHING_LOADED = 3
EXIT_REJECTED_STRICT = 4


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files to load (JSONL, OpenAI-style JSONL, CSV, Parquet; .gz ok).")],
    db: DbOption = None,
    format: Annotated[str, typer.Option("--format", help="auto|jsonl|openai|csv|parquet")] = "auto",  # noqa: A002
    map_: Annotated[list[str] | None, typer.Option("--map", help="CSV/Parquet column mapping FIELD=COLUMN (repeatable).")] = None,
    role_map: Annotated[list[str] | None, typer.Option(
        "--role-map", help="Map source roles before validation: FROM=TO[,FROM=TO...] (repeatable),"
                           " e.g. action=system,bot=agent.")] = None,
    time_format: Annotated[str | None, typer.Option(
        "--time-format", help="strptime format for timestamps that are not ISO-8601, epoch, RFC 2822 or"
                              " Twitter's, e.g. '%d/%m/%Y %H:%M'.")] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit non-zero (4) if any record is rejected.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Load conversations into the store; bad records are quarantined, never dropped.

    Exits 0 when records loaded, 1 when an error stopped the load before it began (a
    missing or damaged file, a bad option: nothing loaded), 3 when nothing loaded (every
    record rejected, or no records), 4 with --strict when any record was rejected.
    """
    from convolab.ingest import FORMATS, parse_role_map

    if format not in FORMATS:
        fail(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    mapping: dict[str, str] = {}
    for item in map_ or []:
        field, sep, column = item.partition("=")
        if not sep or not field or not column:
            fail(f"--map expects FIELD=COLUMN, got {item!r}")
        mapping[field] = column
    try:
        roles = parse_role_map(role_map or [])
    except ConvolabError as exc:
        fail(str(exc))
    for path in paths:  # check before creating a store, so a typo leaves nothing behind
        if not path.exists():
            fail(f"{path}: no such file")
    lab = open_store(db, must_exist=False)
    with lab, _progress() as bar:
        task = bar.add_task("loading", total=len(paths))
        try:
            report = lab.ingest(paths, format=format, mapping=mapping or None, role_map=roles or None,
                                time_format=time_format, progress=lambda _f, _n: bar.advance(task))
        except ConvolabError as exc:
            fail(str(exc))
    if as_json:
        print_json(report.to_dict())
    else:
        console.print(f"loaded {report.loaded:,}, unchanged {report.unchanged:,}, rejected {report.rejected:,}"
                      f" -> {lab.path}", soft_wrap=True)
        for file, line, reason in report.reasons(10):
            console.print(f"  rejected {file}:{line}: {reason}", markup=False, soft_wrap=True)
        if report.rejected > 10:
            console.print(f"  ... see all {report.rejected:,} in the rejected_records table"
                          " (lab.list_rejected() or `convolab rejected`)", soft_wrap=True)
    if report.nothing_loaded:
        what = (f"all {report.rejected:,} records were rejected" if report.rejected
                else "the files hold no records")
        fail(f"nothing was loaded: {what}", code=EXIT_NOTHING_LOADED)
    if strict and report.rejected:
        fail(f"--strict: {report.rejected:,} of {report.records:,} records were rejected"
             " (the others were loaded; see `convolab rejected`)", code=EXIT_REJECTED_STRICT)


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
        # rich reads [...] in a table cell as markup whatever the console says: escape it first
        table.add_row(*(escape(str(cell)) for cell in (
            r["id"], r["flow"] or "", PLATFORM_ICONS.get(r["platform"] or "", r["platform"] or ""),
            r["contact"] or "", r["status"] or "", _fmt_duration(r["duration_s"]),
            (r["last_message"] or "")[:40], str(r["date"] or "")[:16], "🚩" if r["flagged"] else "",
            ", ".join(r["functions"] or []), _kv(r["tags"]),
        )))
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
        audio = _audio_document(lab, conversation_id)
    if as_json:
        print_json({"fields": list(DETAIL_FIELDS), **d, "audio": audio})
        return
    sentiment = d["sentiment"]
    emotions = ", ".join(sentiment.get("top_emotions") or []) if sentiment else "not scored"
    flags = "; ".join(f"{f['criterion']} ({f['severity']}): {f['reason']}" for f in d["review_flags"]) or "none"
    values = {
        "Platform": f"{PLATFORM_ICONS.get(d['platform'] or '', '')} {d['platform'] or ''}".strip(),
        "Contact ID": d["contact_id"], "Status": d["status"],
        "Tags": ", ".join(f"{k}={v}" for k, v in d["tags"].items()), "Sentiment": emotions,
        "Duration": _fmt_duration(d["duration_s"]), "Start": d["started_at"], "End": d["ended_at"],
        "Review Flags": flags, "Summary": d["summary"], "Analysis": d["analysis"],
    }
    console.print(f"[bold]{escape(str(d['id']))}[/] — {escape(d['flow'] or '')} — {escape(d['contact'] or '')}",
                  markup=True)
    for name in DETAIL_FIELDS:
        value = values[name] if values[name] is not None else ""
        console.print(f"{name + ':':<14}{_clip(value)}", soft_wrap=True)
    console.print("\nTranscript")
    for m in d["transcript"]:
        console.print(f"  [{str(m['sent_at'] or '')[11:19]}] {m['role']}: {_clip(m['text'] or '')}", soft_wrap=True)
    console.print("\nFunctions and Parameters")
    for f in d["functions"]:
        arguments, output = _clip(_json(f["arguments"])), _clip(_json(f["output"]))
        console.print(f"  {f['name']}({arguments}) -> {output} [{f['status']}]", soft_wrap=True)
    for k, v in d["parameters"].items():
        console.print(f"  {k} = {_clip(v)}", soft_wrap=True)
    if d.get("recording"):
        console.print("\nAudio")
        for line in _audio_lines(audio):
            console.print(f"  {line}", markup=False)


def _audio_document(lab: Any, conversation_id: str) -> dict[str, Any] | None:
    """The conversation's current audio analysis (None when not analysed, or no audio tables)."""
    from convolab.audio.tables import analysis_document

    return analysis_document(lab, conversation_id)


def _audio_lines(audio: dict[str, Any] | None) -> list[str]:
    """A few lines of audio figures for ``show``."""
    if audio is None:
        return ["not analysed yet (`convolab audio --db DB --recordings DIR`)"]
    if audio["status"] != "ok":
        return [f"analysis failed: {audio.get('reason')}"]

    def num(v: Any, unit: str) -> str:
        return "n/a" if v is None else f"{v:g}{unit}" if isinstance(v, int | float) else f"{v}{unit}"

    lines = [f"{audio['duration_s']:.1f} s, {audio['channels']} channel(s)"]
    if audio.get("mono"):
        lines.append("mono: only dead air and loudness are measured")
    else:
        lat, intr, talk = audio["agent_latency_ms"], audio["interruptions"], audio["talk_s"]
        lines += [f"talk: customer {num(talk['customer'], ' s')}, agent {num(talk['agent'], ' s')}"
                  f" (agent share {num(audio['talk_ratio'], '')})",
                  f"agent latency: p50 {num(lat['p50'], ' ms')}, p95 {num(lat['p95'], ' ms')},"
                  f" max {num(lat['max'], ' ms')} (n={lat['n']})",
                  f"interruptions: by agent {intr['agent']}, by customer {intr['customer']};"
                  f" overtalk {num(audio['overtalk_s'], ' s')}"]
    da = audio["dead_air"]
    lines.append(f"dead air: {da['count']} (longest {num(da['longest_s'], ' s')}, total {num(da['total_s'], ' s')})")
    return lines


#: Characters of one value shown by ``show`` (the terminal would take minutes to wrap a 50 MB
#: message); ``--json`` and ``export`` give everything.
SHOW_CHARS = 2000


def _clip(value: Any) -> str:
    text = str(value)
    if len(text) <= SHOW_CHARS:
        return text
    return (f"{text[:SHOW_CHARS]}… [{len(text) - SHOW_CHARS:,} more characters not shown;"
            " `show --json` or `export` has all]")


def _json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return str(value)


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
    audio_calls: Annotated[int, typer.Option(
        "--audio-calls", min=0, help="Phone calls spoken into recordings (espeak-ng); 0 for none.")] = 300,
) -> None:
    """The main job: generate sample data, load it, score emotions, flag, and open the QA dashboard."""
    import shutil
    import time

    from convolab.generate import write_conversations

    path = resolve_db(db)
    # Beside a file store; a team store's sample goes to data/.
    if isinstance(path, Path):
        source = path.with_name(path.stem + "-sample.jsonl")
        audio_dir = path.with_name(path.stem + "-audio")
    else:
        source, audio_dir = Path("data") / "demo-sample.jsonl", Path("data") / "demo-audio"
    audio = audio_dir if audio_calls and shutil.which("espeak-ng") else None
    console.print(f"1. generating {conversations:,} conversations -> {source}")
    started = time.perf_counter()
    write_conversations(source, conversations, seed=seed, audio=audio, audio_calls=audio_calls)
    if audio is not None:
        console.print(f"   with {_recordings(audio):,} call recordings -> {audio}"
                      f" ({time.perf_counter() - started:.1f} s)")
    elif audio_calls:
        console.print("   no call recordings: espeak-ng is not installed")
    lab = open_store(path, must_exist=False)
    with lab:
        report = lab.ingest(source)
        console.print(f"2. loaded {report.loaded:,} (unchanged {report.unchanged:,}, rejected {report.rejected:,})"
                      f" into {lab.path}")
        if audio is not None:
            from convolab.audio import set_recordings_root

            set_recordings_root(lab, audio)  # the dashboard plays them from there
        for step, run in _optional_steps(audio is not None):
            try:
                console.print(f"{step}: {run(lab)}")
            except ImportError as exc:
                console.print(f"{step}: skipped ({exc})")
    console.print(f"\nNext: `convolab conversations --db {path}`, `convolab show c-0000001 --db {path}`")
    if serve and "serve" in _registered():
        from convolab.cli.serve import serve as serve_command

        serve_command(dashboard="qa_review", db=path)


def _optional_steps(recordings: bool = False):
    """Scoring, call-recording analysis and flagging, when their modules are installed."""

    def score(lab):
        from convolab.emotions import score_store

        result = score_store(lab)
        return f"scored {result['scored']:,} customer messages with {result['model_id']}"

    def flag(lab):
        from convolab.flags import run_flags

        counts = run_flags(lab)
        return ", ".join(f"{k}={v}" for k, v in counts.items()) if isinstance(counts, dict) else str(counts)

    def audio(lab):
        import time

        from convolab.audio import analyse_store
        from convolab.audio.recordings import quiet_decoders

        started = time.perf_counter()
        with quiet_decoders():
            r = analyse_store(lab)
        return (f"analysed {r['analysed']:,} call recordings ({r['unchanged']:,} unchanged, {r['failed']:,} failed)"
                f" in {time.perf_counter() - started:.1f} s")

    steps = [("3. emotions", score), ("4. call recordings", audio), ("5. review flags", flag)]
    return steps if recordings else [steps[0], ("4. review flags", flag)]


def _registered() -> set[str]:
    return {c.name or c.callback.__name__ for c in app.registered_commands}
