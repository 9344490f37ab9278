"""CLI command ``audio``: analyse call recordings (talk, dead air, latency, interruptions).

``convolab audio FILE [--json]`` analyses one recording without a store.
``convolab audio --db DB [--recordings DIR]`` analyses every conversation of a store whose
recording (by content) has not been analysed yet (:func:`convolab.audio.analyse_store`);
``--recordings`` also stores the folder with the store, so later runs and the dashboard
find the files without it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from convolab.cli._app import (
    DB_HELP,
    JsonOption,
    app,
    console,
    fail,
    open_store,
    print_json,
    progress_enabled,
)
from convolab.errors import ConvolabError


def _read_transcript(path: Path) -> Any:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"{path}: cannot read transcript ({exc.strerror or exc})")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"{path}: transcript is not JSON ({str(exc).splitlines()[0]})")
    if isinstance(data, dict) and isinstance(data.get("messages"), list):
        return data["messages"]
    if isinstance(data, list) and all(isinstance(m, dict) for m in data):
        return data
    fail(f"{path}: transcript must be a conversation with messages, or a list of messages")


def _fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def _print_human(path: Path, doc: dict[str, Any]) -> None:
    lines = [f"{path}: {doc['duration_s']:.1f} s, {doc['channels']} channel(s), {doc['sample_rate']} Hz"
             + ("" if doc["mono"] else " (customer left, agent right)")]
    if doc["mono"]:
        lines.append(f"note            {doc['note']}")
    else:
        talk, lat, intr = doc["talk_s"], doc["agent_latency_ms"], doc["interruptions"]
        lines += [
            f"talk            customer {_fmt(talk['customer'], ' s')}, agent {_fmt(talk['agent'], ' s')}"
            f" (agent share {_fmt(doc['talk_ratio'], '', 2)})",
            f"agent latency   p50 {_fmt(lat['p50'], ' ms')}, p95 {_fmt(lat['p95'], ' ms')},"
            f" max {_fmt(lat['max'], ' ms')} (n={lat['n']})",
            f"interruptions   by agent {intr['agent']}, by customer {intr['customer']};"
            f" overtalk {_fmt(doc['overtalk_s'], ' s', 2)}",
        ]
    da = doc["dead_air"]
    lines.append(f"dead air        {da['count']} (total {_fmt(da['total_s'], ' s')}, longest {_fmt(da['longest_s'], ' s')};"
                 f" threshold {doc['analysis']['dead_air_s']:g} s)")
    loud = doc["loudness_dbfs"]
    lines.append(f"loudness        mean {_fmt(loud['mean'], ' dBFS')}, peak {_fmt(loud['peak'], ' dBFS')};"
                 f" clipping {doc['clipping']['ratio'] * 100:.3f}% of samples")
    if doc.get("speech_rate_wpm"):
        rate = doc["speech_rate_wpm"]
        lines.append(f"speech rate     customer {_fmt(rate['customer'], ' wpm')}, agent {_fmt(rate['agent'], ' wpm')}")
    lines.append(f"segments        {len(doc['segments'])} (use --json for times)")
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command("audio")
def audio_command(
    file: Annotated[Path | None, typer.Argument(
        metavar="[FILE]",
        help="A call recording (WAV, mu-law WAV, MP3...): customer left, agent right, or mono.")] = None,
    db: Annotated[Path | None, typer.Option(
        "--db", help=f"Analyse the recordings of every conversation in this store instead of FILE. {DB_HELP}")] = None,
    recordings: Annotated[Path | None, typer.Option(
        "--recordings", metavar="DIR",
        help="With --db: the folder recording paths are relative to (stored with the store for later runs).")] = None,
    as_json: JsonOption = False,
    transcript: Annotated[Path | None, typer.Option(
        "--transcript", help="The call's conversation (canonical JSON) or messages, for words per minute.")] = None,
    dead_air_s: Annotated[float, typer.Option("--dead-air-s", min=0.1, help="Shortest dead air, seconds.")] = 5.0,
    overlap_ms: Annotated[float, typer.Option(
        "--overlap-ms", min=1.0, help="Shortest overlap that is an interruption, milliseconds.")] = 300.0,
    vad: Annotated[str, typer.Option("--vad", help="Voice activity detector: energy or silero.")] = "energy",
    customer_right: Annotated[bool, typer.Option(
        "--customer-right", help="The customer is on the right channel (default: left).")] = False,
) -> None:
    """Analyse call recordings: talk time, dead air, agent latency, interruptions, loudness.

    One FILE, or with --db every conversation whose recording is not analysed yet.
    """
    from convolab.audio import AudioOptions, analyse_file
    from convolab.audio.recordings import quiet_decoders

    if file is not None and db is not None:
        fail("give a recording FILE or --db DB, not both")
    if recordings is not None and db is None:
        fail("--recordings needs --db (a single FILE is read where it is)")
    if file is None and db is None:
        fail("give a recording FILE to analyse, or --db DB to analyse a store's recordings")
    try:
        options = AudioOptions(dead_air_s=dead_air_s, min_overlap_s=overlap_ms / 1000.0, vad=vad,
                               customer_channel=1 if customer_right else 0)
    except ValueError as exc:
        fail(str(exc))
    if db is not None:
        if transcript is not None:
            fail("--transcript is for a single FILE; a store run reads each conversation's own transcript")
        _analyse_store(db, recordings, options, as_json=as_json)
        return
    assert file is not None
    messages = _read_transcript(transcript) if transcript is not None else None
    try:
        with quiet_decoders():
            doc = analyse_file(file, transcript=messages, options=options)
    except ConvolabError as exc:  # RecordingNotReadable, MissingExtra
        fail(str(exc))
    if as_json:
        print_json(doc)
    else:
        _print_human(file, doc)


def _analyse_store(db: Path, recordings: Path | None, options: Any, *, as_json: bool) -> None:
    """``convolab audio --db DB [--recordings DIR]``: the store run and its summary."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from convolab.audio import analyse_store, recordings_root, set_recordings_root
    from convolab.audio.recordings import quiet_decoders

    started = time.perf_counter()
    with open_store(db) as lab:
        try:
            root = set_recordings_root(lab, recordings) if recordings is not None else recordings_root(lab)
        except ConvolabError as exc:
            fail(str(exc))
        if root is None:
            fail(f"{db}: no recordings folder is known for this store; give it once with --recordings DIR")
        bar = Progress(TextColumn("analysing recordings"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                       console=console, disable=as_json or not progress_enabled(), transient=True)
        try:
            with bar, quiet_decoders():
                task = bar.add_task("audio", total=None)
                summary = analyse_store(lab, recordings_root=root, options=options,
                                        progress=lambda done, total: bar.update(task, completed=done, total=total))
        except ConvolabError as exc:  # MissingExtra: the installation, not a file
            fail(str(exc))
    elapsed = time.perf_counter() - started
    if as_json:
        print_json({"recordings_root": str(root), **summary, "seconds": round(elapsed, 1)})
        return
    console.print(f"{summary['total']:,} conversations with a recording in {root}: analysed {summary['analysed']:,},"
                  f" unchanged {summary['unchanged']:,}, failed {summary['failed']:,} ({elapsed:.1f} s)",
                  markup=False, highlight=False, soft_wrap=True)
    for f in summary["failures"][:10]:
        console.print(f"  failed {f['conversation_id']} ({f['recording']}): {f['reason']}",
                      markup=False, highlight=False, soft_wrap=True)
    if summary["failed"] > 10:
        console.print(f"  ... {summary['failed'] - 10:,} more (`convolab audio --db {db} --json` lists them all)",
                      markup=False, highlight=False)
    if summary["unchanged_failed"]:
        console.print(f"  {summary['unchanged_failed']:,} unchanged recording(s) failed before and were not read"
                      " again (replace the file to retry)", markup=False, highlight=False)
