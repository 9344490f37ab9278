"""The store tables of audio analyses, and the batch run that fills them.

The tables are created by schema version 9 (``convolab/store/schema/audio.py``); this
module reads and writes them through the store's public API (``lab.execute``,
``lab.registered``, ``lab.transaction``), never a connection.

- ``audio_analyses``: one row per conversation per recording content (SHA-256). A
  failed analysis is a row too (``status = 'failed'`` with a one-line ``reason``), so
  a corrupt file is not re-read on every run; a file that could not be read at all
  (missing, outside the recordings root) has no content hash and is tried again on
  the next run, replacing its previous failure.
- ``audio_segments``: the speech segments of each conversation's latest analysis.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from convolab.audio.access import recordings_root as root_in_force
from convolab.audio.analysis import AudioOptions, analyse_file
from convolab.audio.recordings import content_hash, resolve_recording
from convolab.errors import InvalidArgument, MissingExtra, RecordingNotReadable
from convolab.store.schema.audio import V9_AUDIO_TABLES

__all__ = [
    "ANALYSIS_COLUMNS",
    "AUDIO_DDL",
    "analyse_store",
    "analysis_document",
    "analysis_row",
    "latest_analyses",
    "pending_recordings",
    "read_segments",
    "write_analyses",
]

#: The DDL of the audio tables: schema version 9 (``convolab/store/schema/audio.py``) creates them.
AUDIO_DDL: tuple[str, ...] = V9_AUDIO_TABLES

#: Columns of ``audio_analyses``, in table order.
ANALYSIS_COLUMNS: tuple[str, ...] = (
    "conversation_id", "recording", "content_hash", "analysed_at", "status", "reason", "duration_s",
    "channels", "talk_customer_s", "talk_agent_s", "talk_ratio", "dead_air_count", "dead_air_total_s",
    "dead_air_longest_s", "latency_p50_ms", "latency_p95_ms", "latency_max_ms", "latency_n",
    "interruptions_agent", "interruptions_customer", "overtalk_s", "loudness_mean_dbfs",
    "loudness_peak_dbfs", "clipping_ratio", "metrics",
)
_FLOAT = {"duration_s", "talk_customer_s", "talk_agent_s", "talk_ratio", "dead_air_total_s", "dead_air_longest_s",
          "latency_p50_ms", "latency_p95_ms", "latency_max_ms", "overtalk_s", "loudness_mean_dbfs",
          "loudness_peak_dbfs", "clipping_ratio"}
_INT = {"channels", "dead_air_count", "latency_n", "interruptions_agent", "interruptions_customer"}


def _get(doc: dict[str, Any] | None, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def analysis_row(conversation_id: str, recording: str, digest: str | None, doc: dict[str, Any] | None, *,
                 reason: str | None = None, analysed_at: datetime | None = None) -> dict[str, Any]:
    """One ``audio_analyses`` row from an analysis document (or a failure's ``reason``)."""
    row: dict[str, Any] = {
        "conversation_id": conversation_id, "recording": recording, "content_hash": digest,
        "analysed_at": (analysed_at or datetime.now(UTC)).replace(tzinfo=None),
        "status": "ok" if doc is not None else "failed", "reason": reason,
        "duration_s": _get(doc, "duration_s"), "channels": _get(doc, "channels"),
        "talk_customer_s": _get(doc, "talk_s", "customer"), "talk_agent_s": _get(doc, "talk_s", "agent"),
        "talk_ratio": _get(doc, "talk_ratio"),
        "dead_air_count": _get(doc, "dead_air", "count"), "dead_air_total_s": _get(doc, "dead_air", "total_s"),
        "dead_air_longest_s": _get(doc, "dead_air", "longest_s"),
        "latency_p50_ms": _get(doc, "agent_latency_ms", "p50"), "latency_p95_ms": _get(doc, "agent_latency_ms", "p95"),
        "latency_max_ms": _get(doc, "agent_latency_ms", "max"), "latency_n": _get(doc, "agent_latency_ms", "n"),
        "interruptions_agent": _get(doc, "interruptions", "agent"),
        "interruptions_customer": _get(doc, "interruptions", "customer"),
        "overtalk_s": _get(doc, "overtalk_s"),
        "loudness_mean_dbfs": _get(doc, "loudness_dbfs", "mean"), "loudness_peak_dbfs": _get(doc, "loudness_dbfs", "peak"),
        "clipping_ratio": _get(doc, "clipping", "ratio"),
        "metrics": json.dumps(doc, allow_nan=False) if doc is not None else None,
    }
    for k in _FLOAT:
        v = row[k]
        row[k] = float(v) if v is not None and math.isfinite(float(v)) else None
    for k in _INT:
        row[k] = int(row[k]) if row[k] is not None else None
    return row


def write_analyses(lab: Any, rows: list[dict[str, Any]]) -> None:
    """Insert analysis rows and replace the segments of their conversations, in one transaction.

    A conversation's earlier failure without a content hash (its file could not be
    read) is replaced, and so is an earlier analysis of the same content; analyses of
    other contents are kept as history.
    """
    import pyarrow as pa

    if not rows:
        return
    table = pa.Table.from_pylist([{k: r[k] for k in ANALYSIS_COLUMNS} for r in rows],
                                 schema=_arrow_schema())
    segments = [
        {"conversation_id": r["conversation_id"], "channel": s["channel"], "start_s": float(s["start_s"]),
         "end_s": float(s["end_s"])}
        for r in rows if r["metrics"] is not None for s in json.loads(r["metrics"])["segments"]
    ]
    ids = pa.table({"conversation_id": pa.array(sorted({r["conversation_id"] for r in rows}), pa.string())})
    analysed = pa.table({"conversation_id": pa.array(
        sorted({r["conversation_id"] for r in rows if r["status"] == "ok"}), pa.string())})
    seg_table = pa.Table.from_pylist(segments, schema=pa.schema(
        [("conversation_id", pa.string()), ("channel", pa.string()), ("start_s", pa.float64()),
         ("end_s", pa.float64())]))
    with lab.transaction(), lab.registered("audio_new_ids", ids), lab.registered("audio_ok_ids", analysed), \
            lab.registered("audio_new_rows", table), lab.registered("audio_new_segments", seg_table):
        lab.execute("DELETE FROM audio_analyses WHERE content_hash IS NULL"
                    " AND conversation_id IN (SELECT conversation_id FROM audio_new_ids)")
        # one row per conversation and content: a re-analysed content replaces its old row
        lab.execute("DELETE FROM audio_analyses a WHERE EXISTS (SELECT 1 FROM audio_new_rows n"
                    " WHERE n.conversation_id = a.conversation_id AND n.content_hash = a.content_hash)")
        cols = ", ".join(ANALYSIS_COLUMNS)
        lab.execute(f"INSERT INTO audio_analyses ({cols}) SELECT {cols} FROM audio_new_rows")  # noqa: S608 (constant names)
        lab.execute("DELETE FROM audio_segments WHERE conversation_id IN (SELECT conversation_id FROM audio_ok_ids)")
        lab.execute("INSERT INTO audio_segments SELECT conversation_id, channel, start_s, end_s FROM audio_new_segments")


def _arrow_schema() -> Any:  # noqa: N802 - a lazily built constant (pyarrow is imported on use)
    import pyarrow as pa

    types = {"analysed_at": pa.timestamp("us"), "metrics": pa.string()}
    fields = []
    for name in ANALYSIS_COLUMNS:
        if name in types:
            fields.append((name, types[name]))
        elif name in _FLOAT:
            fields.append((name, pa.float64()))
        elif name in _INT:
            fields.append((name, pa.int32()))
        else:
            fields.append((name, pa.string()))
    return pa.schema(fields)


def pending_recordings(lab: Any) -> list[tuple[str, str]]:
    """(conversation id, recording) of every conversation that names a recording."""
    rows = lab.execute(
        "SELECT id, recording FROM conversations WHERE recording IS NOT NULL AND trim(recording) <> ''"
        " ORDER BY id").fetchall()
    return [(str(i), str(r)) for i, r in rows]


def latest_analyses(lab: Any, conversation_ids: list[str] | None = None) -> Any:
    """The latest analysis of each conversation (polars DataFrame), optionally for some ids."""
    latest = ("SELECT * FROM audio_analyses{where}"
              " QUALIFY row_number() OVER (PARTITION BY conversation_id ORDER BY analysed_at DESC) = 1"
              " ORDER BY conversation_id")
    if conversation_ids is None:
        return lab.execute(latest.format(where="")).pl()
    import pyarrow as pa

    with lab.registered("audio_wanted", pa.table({"id": pa.array(conversation_ids, pa.string())})):
        return lab.execute(latest.format(where=" WHERE conversation_id IN (SELECT id FROM audio_wanted)")).pl()


def read_segments(lab: Any, conversation_id: str) -> list[dict[str, Any]]:
    """Speech segments of a conversation's latest analysis, in time order."""
    return lab.execute(
        "SELECT channel, start_s, end_s FROM audio_segments WHERE conversation_id = ? ORDER BY start_s, channel",
        [conversation_id]).dicts()


def analyse_store(lab: Any, *, recordings_root: str | Path | None = None, options: AudioOptions | None = None,
                  progress: Callable[[int, int], None] | None = None, batch_size: int = 50) -> dict[str, Any]:
    """Analyse every conversation whose recording (by content) has not been analysed yet.

    Recording paths are resolved against the recordings root only (never the working
    directory), and a path that leaves it is refused without being opened. One bad
    file never stops the run: it is recorded as a failure with its reason. Rows are
    written every ``batch_size`` conversations, each batch in one transaction.

    Parameters
    ----------
    lab
        The store.
    recordings_root
        The folder recording paths are relative to; default ``$CONVOLAB_RECORDINGS``,
        then the root stored with the store (:func:`convolab.audio.set_recordings_root`).
    progress
        Called with ``(done, total)`` after each conversation.

    Returns
    -------
    dict
        ``total`` (conversations with a recording), ``analysed``, ``failed`` (this run),
        ``unchanged`` (content analysed before: not read again), ``unchanged_failed``
        (of those, contents whose analysis had failed), and ``failures``: the
        ``{"conversation_id", "recording", "reason"}`` of this run's failures.

    Raises
    ------
    convolab.errors.InvalidArgument
        No recordings root is given, set in the environment, or stored with the store.
    """
    root = root_in_force(lab, recordings_root)
    if root is None:
        raise InvalidArgument("no recordings root: give the folder recordings are in"
                              " (`convolab audio --db DB --recordings DIR`)")
    options = options or AudioOptions()
    todo = pending_recordings(lab)
    # Only a conversation's current (newest) analysis makes its content "unchanged": a
    # recording put back to an earlier content is analysed again and becomes current.
    done_before = {(c, h): (r, st) for c, h, r, st in lab.execute(
        "SELECT conversation_id, content_hash, recording, status FROM audio_analyses"
        " QUALIFY row_number() OVER (PARTITION BY conversation_id ORDER BY analysed_at DESC) = 1").fetchall()
        if h is not None}
    counts: dict[str, Any] = {"total": len(todo), "analysed": 0, "failed": 0, "unchanged": 0,
                              "unchanged_failed": 0, "failures": []}
    batch: list[dict[str, Any]] = []
    moved: list[tuple[str, str, str]] = []

    def failed(conversation_id: str, recording: str, digest: str | None, reason: str) -> None:
        batch.append(analysis_row(conversation_id, recording, digest, None, reason=reason))
        counts["failed"] += 1
        counts["failures"].append({"conversation_id": conversation_id, "recording": recording, "reason": reason})

    for k, (conversation_id, recording) in enumerate(todo, 1):
        digest = None
        try:
            path = resolve_recording(root, recording)
            digest = content_hash(path)
            before = done_before.get((conversation_id, digest))
            if before is not None:
                counts["unchanged"] += 1
                counts["unchanged_failed"] += before[1] != "ok"
                if before[0] != recording:  # same content under a new path: the analysis follows it
                    moved.append((recording, conversation_id, digest))
            else:
                messages = lab.execute(
                    "SELECT role, text FROM messages WHERE conversation_id = ? ORDER BY seq",
                    [conversation_id]).dicts()
                doc = analyse_file(path, transcript=messages, options=options)
                batch.append(analysis_row(conversation_id, recording, digest, doc))
                counts["analysed"] += 1
        except RecordingNotReadable as exc:
            failed(conversation_id, recording, digest, exc.reason)
        except MissingExtra:
            raise  # the installation, not this file: every file would fail the same way
        except Exception as exc:  # noqa: BLE001 - one file must never stop the run; its reason is kept
            reason = f"analysis failed: {exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            failed(conversation_id, recording, digest, reason[:300])
        if len(batch) >= batch_size:
            write_analyses(lab, batch)
            batch = []
        if progress is not None:
            progress(k, len(todo))
    write_analyses(lab, batch)
    if moved:
        lab.executemany("UPDATE audio_analyses SET recording = ? WHERE conversation_id = ? AND content_hash = ?", moved)
    return counts


def analysis_document(lab: Any, conversation_id: str) -> dict[str, Any] | None:
    """A conversation's current audio analysis, for ``convolab show --json``.

    ``None`` when its recording has not been analysed. Otherwise the document
    :func:`convolab.audio.analyse_file` returned (the same keys as ``convolab audio
    FILE --json``) with ``status`` ``"ok"``, ``recording``, ``content_hash`` and
    ``analysed_at`` added; a failed analysis is ``{"status": "failed", "reason", ...}``.
    Only an analysis of the recording the conversation names now counts.
    """
    row = lab.execute(
        "SELECT a.status, a.reason, a.metrics, a.recording, a.content_hash, a.analysed_at"
        " FROM audio_analyses a JOIN conversations c ON c.id = a.conversation_id AND c.recording = a.recording"
        " WHERE a.conversation_id = ? ORDER BY a.analysed_at DESC LIMIT 1", [conversation_id]).fetchone()
    if row is None:
        return None
    status, reason, metrics, recording, digest, analysed_at = row
    meta = {"status": status, "recording": recording, "content_hash": digest,
            "analysed_at": analysed_at.isoformat() if analysed_at is not None else None}
    if status != "ok" or not metrics:
        return {**meta, "reason": reason}
    return {**json.loads(metrics), **meta}
