"""CLI command ``audio``: analyse call recordings (talk, dead air, latency, interruptions).

``convolab audio FILE [--json]`` analyses one recording without a store. The store
mode (``convolab audio --db DB [--recordings DIR]``, over every conversation whose
recording is not analysed yet) is :func:`convolab.audio.tables.analyse_store`; it joins
this command once the store has the audio tables.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from convolab.cli._app import JsonOption, app, console, fail, print_json
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
        metavar="FILE", help="A call recording (WAV, mu-law WAV, MP3...): customer left, agent right, or mono.")] = None,
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
    """Analyse a call recording: talk time, dead air, agent latency, interruptions, loudness."""
    from convolab.audio import AudioOptions, analyse_file
    from convolab.audio.recordings import quiet_decoders

    if file is None:
        fail("give a recording FILE to analyse (analysing a whole store comes with --db in a later version)")
    try:
        options = AudioOptions(dead_air_s=dead_air_s, min_overlap_s=overlap_ms / 1000.0, vad=vad,
                               customer_channel=1 if customer_right else 0)
    except ValueError as exc:
        fail(str(exc))
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
