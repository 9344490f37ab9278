"""Audio analytics for call recordings: voice activity, talk time, dead air, agent
latency, interruptions, loudness; and spoken sample calls for generated data.

librosa and soundfile (the ``audio`` extra) are imported only when a recording is
loaded or spoken, so importing this package stays light.

>>> from convolab.audio import analyse_file
>>> analyse_file("c-0000001.wav")["agent_latency_ms"]     # doctest: +SKIP
{'p50': 812, 'p95': 1650, 'max': 1702, 'n': 6}
"""

from __future__ import annotations

from convolab.audio.access import (
    read_recording,
    recording_path,
    recordings_root,
    set_recordings_root,
    stored_recordings_root,
)
from convolab.audio.analysis import AudioOptions, analyse_file, analyse_recording
from convolab.audio.recordings import content_hash, load_recording, resolve_recording
from convolab.audio.tables import analyse_store, analysis_document, latest_analyses
from convolab.audio.timeline import call_timeline

__all__ = [
    "AudioOptions",
    "analyse_file",
    "analyse_recording",
    "analyse_store",
    "analysis_document",
    "call_timeline",
    "content_hash",
    "latest_analyses",
    "load_recording",
    "read_recording",
    "recording_path",
    "recordings_root",
    "resolve_recording",
    "set_recordings_root",
    "stored_recordings_root",
]
