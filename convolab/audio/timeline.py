"""A call's timeline for the dashboard's player: who spoke when, dead air, overtalk, transcript lines.

:func:`call_timeline` gathers, for one conversation, what the player draws before any
audio is sent: the speech segments of both sides from the current analysis (merged
where they are closer than the chart can show, so a long call stays a few kilobytes),
the dead-air stretches and interruptions the analysis found, the overtalk (both sides
at once), and the transcript lines at their times in the call. Text is returned as
text: whoever draws it must escape it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from convolab.audio.access import recording_path
from convolab.errors import ConversationNotFound, RecordingNotReadable

if TYPE_CHECKING:
    from convolab.store import Workbench

__all__ = ["TIMELINE_RESOLUTION", "call_timeline", "overlaps", "simplify"]

#: Segments closer than duration / this are merged: about one pixel of a wide chart.
TIMELINE_RESOLUTION = 1500
#: Transcript text is cut to this many characters on the timeline (the transcript shows it all).
_TEXT_CHARS = 90


def simplify(segments: list[tuple[float, float]], min_gap_s: float) -> list[list[float]]:
    """Sorted segments with gaps under ``min_gap_s`` closed, rounded to 10 ms."""
    out: list[list[float]] = []
    for start, end in sorted(segments):
        if out and start - out[-1][1] < min_gap_s:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [[round(s, 2), round(e, 2)] for s, e in out]


def overlaps(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[list[float]]:
    """Where two sorted, disjoint segment lists both hold (overtalk), as ``[start, end]`` pairs."""
    out: list[list[float]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            out.append([round(start, 3), round(end, 3)])
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _union(segments: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged = simplify(segments, 0.0)
    return [(s, e) for s, e in merged]


def _seconds(at: Any, start: Any) -> float | None:
    if not isinstance(at, datetime) or not isinstance(start, datetime):
        return None
    return round((at - start).total_seconds(), 3)


def call_timeline(lab: Workbench, conversation_id: str) -> dict[str, Any]:
    """What the player shows for one conversation, without its audio.

    Returns
    -------
    dict
        ``recording`` (the stored path, or None), ``available`` (the file may be
        served), ``problem`` (why not, one line), ``analysis`` (``ok`` | ``failed`` |
        None), ``reason`` (a failure's), ``duration_s`` (from the analysis, else the
        conversation's), ``lanes`` ({customer, agent} or {mixed}: ``[start_s, end_s]``
        pairs), ``dead_air`` and ``overtalk`` (pairs), ``interruptions`` ([{by, start_s,
        overlap_s}]), ``transcript`` ([{t, role, text}], t in seconds from the start),
        and ``figures`` (a few headline numbers, or None).

    Raises
    ------
    convolab.errors.ConversationNotFound
        No such conversation.
    """
    row = lab.execute("SELECT recording, started_at, duration_s FROM conversations WHERE id = ?",
                      [conversation_id]).fetchone()
    if row is None:
        raise ConversationNotFound(conversation_id)
    recording, started_at, conversation_s = row
    out: dict[str, Any] = {
        "recording": recording, "available": False, "problem": None, "analysis": None, "reason": None,
        "duration_s": conversation_s, "lanes": {}, "dead_air": [], "overtalk": [], "interruptions": [],
        "transcript": [], "figures": None,
    }
    if not recording:
        out["problem"] = "no recording"
        return out
    try:
        recording_path(lab, conversation_id)
        out["available"] = True
    except RecordingNotReadable as exc:
        out["problem"] = exc.reason
    latest = lab.execute(
        "SELECT status, reason, metrics FROM audio_analyses WHERE conversation_id = ? AND recording = ?"
        " ORDER BY analysed_at DESC LIMIT 1", [conversation_id, recording]).fetchone()
    if latest is not None:
        status, reason, metrics = latest
        out["analysis"], out["reason"] = status, reason
        if status == "ok" and metrics:
            _add_analysis(out, json.loads(metrics))
    duration = out["duration_s"]
    messages = lab.execute("SELECT role, text, sent_at FROM messages WHERE conversation_id = ? ORDER BY seq",
                           [conversation_id]).fetchall()
    for role, text, sent_at in messages:
        t = _seconds(sent_at, started_at)
        if t is None or t < 0 or (duration is not None and t > duration + 1):
            continue
        text = text or ""
        out["transcript"].append({"t": t, "role": role,
                                  "text": text if len(text) <= _TEXT_CHARS else text[:_TEXT_CHARS - 1] + "…"})
    return out


def _add_analysis(out: dict[str, Any], doc: dict[str, Any]) -> None:
    duration = float(doc.get("duration_s") or 0.0)
    out["duration_s"] = duration
    gap = duration / TIMELINE_RESOLUTION if duration > 0 else 0.0
    by_channel: dict[str, list[tuple[float, float]]] = {}
    for s in doc.get("segments") or []:
        by_channel.setdefault(s["channel"], []).append((float(s["start_s"]), float(s["end_s"])))
    names = ["mixed"] if doc.get("mono") else ["customer", "agent"]
    out["lanes"] = {name: simplify(by_channel.get(name, []), gap) for name in names}
    if not doc.get("mono"):
        out["overtalk"] = overlaps(_union(by_channel.get("customer", [])), _union(by_channel.get("agent", [])))
    events = doc.get("events") or {}
    out["dead_air"] = [[e["start_s"], e["end_s"]] for e in events.get("dead_air") or []]
    out["interruptions"] = [{"by": e["by"], "start_s": e["start_s"], "overlap_s": e["overlap_s"]}
                            for e in events.get("interruptions") or []]
    latency = doc.get("agent_latency_ms") or {}
    out["figures"] = {
        "talk_ratio": doc.get("talk_ratio"), "dead_air": (doc.get("dead_air") or {}).get("count"),
        "latency_p50_ms": latency.get("p50"), "latency_max_ms": latency.get("max"),
        "interruptions": doc.get("interruptions"), "overtalk_s": doc.get("overtalk_s"), "mono": bool(doc.get("mono")),
    }
