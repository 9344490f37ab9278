"""Post-call processing, the same for every live backend: save the call, then score and flag it.

A backend reports that a call left ``in_progress`` (however it ended: the caller
hung up, a supervisor ended, transferred or enqueued it); :class:`CallControl`
then calls :func:`process_finished_call` once. The call is stored as one
canonical conversation record (so it is validated like any other load), its live
state goes to ``live_calls``, and the emotion model and review flags run when
those parts are installed.
"""

from __future__ import annotations

import json
import tempfile
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from convolab.live.base import _now

if TYPE_CHECKING:
    from convolab.live.base import LiveCall
    from convolab.store import Workbench

__all__ = ["call_record", "process_finished_call", "save_call", "save_coaching_note"]


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def call_record(call: LiveCall) -> dict[str, Any]:
    """The finished call as one canonical JSONL record (see DESIGN.md)."""
    source = call.extra.get("record", {})
    started = call.started_at
    ended = call.ended_at or _now()
    if ended <= started:
        ended = started + timedelta(milliseconds=1)
    tags = dict(source.get("tags") or {})
    if call.transferred_to:
        tags["transferred_to"] = call.transferred_to
    if call.queue:
        tags["queue"] = call.queue
    return {
        "id": call.id,
        "flow": call.flow,
        "platform": call.platform,
        "contact": call.contact,
        "contact_id": source.get("contact_id"),
        "status": call.status,
        "started_at": _iso(started),
        "ended_at": _iso(ended),
        "summary": source.get("summary"),
        "analysis": source.get("analysis"),
        "tags": tags,
        "parameters": source.get("parameters") or {},
        "messages": [{"role": m.role, "text": m.text, "at": _iso(m.at)} for m in call.messages],
        "functions": [
            {"name": f["name"], "arguments": f.get("arguments"), "output": f.get("output"),
             "status": f.get("status", "ok"), "at": _iso(f["at"]) if isinstance(f["at"], datetime) else f["at"]}
            for f in call.functions
        ],
    }


def process_finished_call(lab: Workbench, call: LiveCall, *, backend: str, lock: Any, score: bool = True) -> None:
    """Post-call processing: store the conversation and its live state, then score and flag.

    ``lock`` is the backend's lock: the supervisor's UI keeps reading from its own
    thread, so the work runs on cursors of its own, one step at a time.
    """
    record = call_record(call)
    with tempfile.TemporaryDirectory(prefix="convolab-live-") as tmp:
        path = Path(tmp) / f"{call.id}.jsonl"
        path.write_text(json.dumps(record, default=str) + "\n", encoding="utf-8")
        with lock, closing(lab.cursor()) as worker:
            # Our own cursor: the supervisor's UI keeps querying `lab` from its thread.
            worker.ingest(path)
            save_call(worker, call, backend=backend)
    if score:
        with lock, closing(lab.cursor()) as worker:
            _score_and_flag(worker)


def save_call(lab: Workbench, call: LiveCall, *, backend: str) -> None:
    """Record a call's last live state in ``live_calls`` (one row per call)."""
    lab.upsert("live_calls", {
        "id": call.id, "backend": backend, "contact": call.contact, "platform": call.platform,
        "status": call.status, "handler": call.handler, "started_at": call.started_at.replace(tzinfo=None),
        "ended_at": (call.ended_at or _now()).replace(tzinfo=None), "transferred_to": call.transferred_to,
        "queue": call.queue, "ended_by": call.extra.get("ended_by"),
    })


def save_coaching_note(lab: Workbench, call_id: str, note: dict[str, Any]) -> None:
    """Keep a coaching note (agent side only: never written to ``messages``)."""
    lab.execute(
        "INSERT INTO coaching_notes (id, call_id, created_at, actor, text)"  # noqa: S608 - the store's id expression
        f" VALUES ({lab.new_id_sql('coaching_notes')}, ?, ?, ?, ?)",
        [call_id, note["at"].replace(tzinfo=None), note["by"], note["text"]],
    )


def _score_and_flag(lab: Workbench) -> None:
    """Run the emotion scoring and review flags when those parts are installed."""
    try:
        from convolab.emotions import score_store
    except ImportError:
        score_store = None
    if score_store is not None:
        score_store(lab)
    try:
        from convolab import flags
    except ImportError:
        return
    run = getattr(flags, "run_flags", None)
    if run is not None:
        run(lab)
