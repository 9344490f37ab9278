"""Listen to a call in the detail view: a player with a timeline, and the on-demand audio download.

Opening a conversation sends only its timeline (a few kilobytes: both sides' speech
segments, dead air, overtalk, interruptions and the transcript lines at their times),
never its audio. The audio travels over the widget's own comm channel when the
reviewer presses play (or clicks the timeline, or "Download Audio" in the ⋯ menu):
the browser asks for it in chunks of :data:`CHUNK_BYTES`, as binary buffers (no
base64), and plays it from a Blob. The browser can only ask for "the recording of the
conversation on screen": the file is found by :func:`convolab.audio.read_recording`,
which confines it to the recordings root, so no other file can ever be served.

The widgets run no SQL: they call :func:`convolab.audio.call_timeline` and
:func:`convolab.audio.read_recording`.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import anywidget
import ipywidgets as widgets
import traitlets

from convolab.audio.access import RecordingFile, read_recording
from convolab.audio.timeline import call_timeline
from convolab.errors import ConvolabError
from convolab.store import Workbench, current_actor
from convolab.widgets.page_store import session

__all__ = ["CHUNK_BYTES", "AudioDownload", "AudioPlayer"]

#: Bytes per message when audio is sent to the browser (one round trip each).
CHUNK_BYTES = 512 * 1024

# Shared by both front ends: ask the kernel for the recording chunk by chunk, resolve a Blob.
_FETCH_JS = r"""
function fetcher(model, purpose, onProgress) {
  let pending = null;
  model.on("msg:custom", (msg, buffers) => {
    if (!pending || !msg || msg.purpose !== purpose || msg.cid !== pending.cid) return;
    if (msg.type === "error") { const p = pending; pending = null; p.reject(new Error(msg.message)); return; }
    if (msg.type !== "chunk") return;
    const buf = buffers && buffers[0];
    const bytes = buf ? (buf.byteLength || 0) : 0;
    if (buf) pending.parts.push(buf);
    pending.received = msg.offset + bytes;
    onProgress && onProgress(pending.received, msg.total);
    if (msg.done || bytes === 0) {
      const p = pending; pending = null;
      p.resolve({ blob: new Blob(p.parts, { type: msg.mime }), filename: msg.filename });
    } else {
      model.send({ type: "fetch", purpose, cid: pending.cid, offset: pending.received });
    }
  });
  return (cid) => new Promise((resolve, reject) => {
    if (pending) pending.reject(new Error("superseded"));
    pending = { cid, parts: [], received: 0, resolve, reject };
    model.send({ type: "fetch", purpose, cid, offset: 0 });
  });
}
"""

_PLAYER_ESM = _FETCH_JS + r"""
const SVG = "http://www.w3.org/2000/svg";
const W = 1000, LANE = 22, GAP = 6;
const LANES = { customer: "Customer", agent: "Agent", mixed: "Both (mono)" };

function fmt(t) {
  if (!isFinite(t) || t < 0) t = 0;
  const m = Math.floor(t / 60), s = Math.floor(t % 60);
  return `${m}:${String(s).padStart(2, "0")}`;
}
function node(tag, cls, text) {
  const n = document.createElement(tag);
  if (cls) n.className = cls;
  if (text !== undefined) n.textContent = text;  // text only: conversation text is never markup
  return n;
}
function svg(tag, attrs) {
  const n = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
  return n;
}

function render({ model, el }) {
  el.classList.add("cl-player");
  const bar = node("div", "cl-player-bar");
  const play = node("button", "cl-play", "▶ Play");
  play.type = "button";
  const clock = node("span", "cl-clock", "0:00");
  const status = node("span", "cl-player-status");
  bar.append(play, clock, status);
  const figures = node("div", "cl-player-figures");
  const chart = node("div", "cl-timeline");
  const labels = node("div", "cl-tl-labels");
  const track = node("div", "cl-tl-track");
  const plot = svg("svg", { class: "cl-tl-svg", preserveAspectRatio: "none" });
  const axis = node("div", "cl-tl-axis");
  track.append(plot, axis);
  chart.append(labels, track);
  const legend = node("div", "cl-tl-legend");
  for (const [cls, text] of [["cl-key-customer", "customer"], ["cl-key-agent", "agent"],
                             ["cl-key-dead", "dead air"], ["cl-key-over", "overtalk"],
                             ["cl-key-line", "transcript line (click to play from it)"]]) {
    const item = node("span", "cl-key");
    item.append(node("i", cls), document.createTextNode(text));
    legend.append(item);
  }
  const now = node("div", "cl-tl-now");
  const audio = node("audio", "cl-audio");
  audio.preload = "none";
  el.append(bar, figures, chart, legend, now, audio);

  const fetchAudio = fetcher(model, "play", (got, total) => {
    status.textContent = total ? `loading ${Math.round(100 * got / total)}%` : "loading";
  });
  let tl = {}, duration = 0, loadedFor = null, loading = null, url = null, head = null, lines = [];

  const x = (t) => (duration > 0 ? Math.max(0, Math.min(W, (t / duration) * W)) : 0);
  function draw() {
    tl = model.get("timeline") || {};
    duration = Number(tl.duration_s) || 0;
    const lanes = Object.keys(tl.lanes || {});
    const rows = [...lanes, "lines"];
    const height = rows.length * (LANE + GAP);
    plot.replaceChildren();
    labels.replaceChildren();
    plot.setAttribute("viewBox", `0 0 ${W} ${height}`);
    plot.style.height = `${height}px`;
    labels.style.height = `${height}px`;
    rows.forEach((name, i) => {
      const label = node("div", "cl-tl-label", name === "lines" ? "Transcript" : (LANES[name] || name));
      label.style.top = `${i * (LANE + GAP)}px`;
      label.style.height = `${LANE}px`;
      labels.append(label);
      plot.append(svg("rect", { x: 0, y: i * (LANE + GAP), width: W, height: LANE, class: "cl-tl-lane" }));
    });
    for (const [s, e] of tl.dead_air || []) {
      const r = svg("rect", { x: x(s), y: 0, width: Math.max(1, x(e) - x(s)), height: height - GAP,
                              class: "cl-tl-dead" });
      r.append(svg("title")); r.firstChild.textContent = `dead air ${fmt(s)}–${fmt(e)} (${(e - s).toFixed(1)} s)`;
      plot.append(r);
    }
    lanes.forEach((name, i) => {
      for (const [s, e] of tl.lanes[name]) {
        plot.append(svg("rect", { x: x(s), y: i * (LANE + GAP) + 3, width: Math.max(1, x(e) - x(s)),
                                  height: LANE - 6, class: `cl-tl-seg cl-tl-${name}` }));
      }
    });
    for (const [s, e] of tl.overtalk || []) {
      const r = svg("rect", { x: x(s), y: 0, width: Math.max(2, x(e) - x(s)), height: lanes.length * (LANE + GAP) - GAP,
                              class: "cl-tl-over" });
      r.append(svg("title")); r.firstChild.textContent = `overtalk ${fmt(s)} (${(e - s).toFixed(1)} s)`;
      plot.append(r);
    }
    const y0 = lanes.length * (LANE + GAP);
    lines = (tl.transcript || []).slice().sort((a, b) => a.t - b.t);
    lines.forEach((m, k) => {
      const mark = svg("rect", { x: x(m.t) - 1.5, y: y0 + 2, width: 3, height: LANE - 4,
                                 class: `cl-tl-line cl-tl-line-${String(m.role).replace(/[^a-z_]/g, "")}`,
                                 "data-t": m.t, "data-k": k });
      mark.append(svg("title")); mark.firstChild.textContent = `${fmt(m.t)} ${m.role}: ${m.text}`;
      plot.append(mark);
    });
    head = svg("line", { x1: 0, x2: 0, y1: 0, y2: height, class: "cl-tl-head" });
    plot.append(head);
    axis.replaceChildren();
    const step = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600].find((s) => duration / s <= 8) || 7200;
    for (let t = 0; t <= duration + 1e-6 && duration > 0; t += step) {
      const tick = node("span", "cl-tl-tick", fmt(t));
      tick.style.left = `${(100 * t) / duration}%`;
      if (t > duration - step * 0.6 && t > 0) tick.classList.add("cl-tl-tick-end");
      axis.append(tick);
    }
    const f = tl.figures;
    figures.textContent = "";
    if (f && !f.mono) {
      const i = f.interruptions || {};
      figures.textContent = `agent share of talk ${f.talk_ratio == null ? "n/a" : Math.round(100 * f.talk_ratio) + "%"}` +
        ` · latency p50 ${f.latency_p50_ms == null ? "n/a" : f.latency_p50_ms + " ms"}` +
        `, max ${f.latency_max_ms == null ? "n/a" : f.latency_max_ms + " ms"}` +
        ` · dead air ${f.dead_air ?? 0} · interruptions: agent ${i.agent ?? 0}, customer ${i.customer ?? 0}`;
    } else if (f && f.mono) {
      figures.textContent = `mono recording: dead air ${f.dead_air ?? 0}; the sides cannot be told apart`;
    } else if (tl.analysis === "failed") {
      figures.textContent = `analysis failed: ${tl.reason || "unknown"}`;
    } else {
      figures.textContent = "not analysed yet: no speech lanes (run `convolab audio --db DB`)";
    }
    status.textContent = tl.available ? "" : `cannot play: ${tl.problem || "recording not available"}`;
    play.disabled = !tl.available;
    clock.textContent = `0:00 / ${fmt(duration)}`;
    now.textContent = "";
    if (model.get("conversation_id") !== loadedFor) reset();
    moveHead();
  }
  function reset() {
    audio.pause();
    audio.removeAttribute("src");
    audio.load();
    if (url) URL.revokeObjectURL(url);
    url = null; loadedFor = null; loading = null;
    play.textContent = "▶ Play";
  }
  function ensureLoaded() {
    const cid = model.get("conversation_id");
    if (loadedFor === cid) return Promise.resolve();
    if (loading && loading.cid === cid) return loading.promise;
    const promise = fetchAudio(cid).then(({ blob }) => {
      if (model.get("conversation_id") !== cid) throw new Error("superseded");
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(blob);
      audio.src = url;
      loadedFor = cid;
      status.textContent = "";
      el.dataset.loadedBytes = String(blob.size);
    });
    loading = { cid, promise };
    promise.catch((err) => {
      if (err.message !== "superseded") status.textContent = `cannot play: ${err.message}`;
      if (loading && loading.promise === promise) loading = null;
    });
    return promise;
  }
  function playFrom(t) {
    ensureLoaded().then(() => {
      if (t !== null && t !== undefined) audio.currentTime = Math.max(0, Math.min(t, audio.duration || duration));
      return audio.play();
    }).catch(() => {});
  }
  function moveHead() {
    const t = audio.currentTime || 0;
    if (head) { head.setAttribute("x1", x(t)); head.setAttribute("x2", x(t)); }
    const total = isFinite(audio.duration) && audio.duration > 0 ? audio.duration : duration;
    clock.textContent = `${fmt(t)} / ${fmt(total)}`;
    let k = -1;
    for (let i = 0; i < lines.length && lines[i].t <= t + 0.05; i++) k = i;
    plot.querySelectorAll(".cl-tl-line-now").forEach((n) => n.classList.remove("cl-tl-line-now"));
    if (k >= 0 && loadedFor) {
      const m = lines[k];
      now.textContent = `${fmt(m.t)} ${m.role}: ${m.text}`;
      const mark = plot.querySelector(`[data-k="${k}"]`);
      if (mark) mark.classList.add("cl-tl-line-now");
    }
  }
  play.addEventListener("click", () => {
    if (!audio.paused) { audio.pause(); return; }
    playFrom(null);
  });
  plot.addEventListener("click", (event) => {
    if (!model.get("timeline").available) return;
    const mark = event.target.closest && event.target.closest(".cl-tl-line");
    const box = plot.getBoundingClientRect();
    const t = mark ? Number(mark.dataset.t) : ((event.clientX - box.left) / box.width) * duration;
    if (loadedFor === model.get("conversation_id")) {
      audio.currentTime = Math.max(0, Math.min(t, audio.duration || duration));
      moveHead();
      if (audio.paused) audio.play().catch(() => {});
    } else {
      playFrom(t);
    }
  });
  audio.addEventListener("play", () => { play.textContent = "❚❚ Pause"; });
  audio.addEventListener("pause", () => { play.textContent = "▶ Play"; });
  audio.addEventListener("timeupdate", moveHead);
  audio.addEventListener("seeked", moveHead);
  audio.addEventListener("loadedmetadata", moveHead);
  draw();
  model.on("change:timeline", draw);
  model.on("change:conversation_id", draw);
  return () => { reset(); model.off("change:timeline", draw); model.off("change:conversation_id", draw); };
}
export default { render };
"""

_PLAYER_CSS = """
.cl-player { border: 1px solid #ddd; border-radius: 4px; padding: 6px 8px; margin: 6px 0; box-sizing: border-box;
  width: 100%; font-size: 13px; }
.cl-player-bar { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.cl-player .cl-play { min-width: 84px; padding: 2px 8px; cursor: pointer; }
.cl-player .cl-clock { font-variant-numeric: tabular-nums; }
.cl-player .cl-player-status { color: #a33; }
.cl-player-figures { color: #444; margin: 4px 0; overflow-wrap: anywhere; }
.cl-timeline { display: flex; align-items: flex-start; gap: 6px; }
.cl-tl-labels { position: relative; flex: 0 0 72px; }
.cl-tl-label { position: absolute; right: 0; display: flex; align-items: center; font-size: 12px; color: #333;
  white-space: nowrap; }
.cl-tl-track { flex: 1 1 auto; min-width: 0; }
.cl-tl-svg { display: block; width: 100%; cursor: pointer; }
.cl-tl-lane { fill: #f4f4f4; }
.cl-tl-seg.cl-tl-customer { fill: #2b7bb9; }
.cl-tl-seg.cl-tl-agent { fill: #e08a1e; }
.cl-tl-seg.cl-tl-mixed { fill: #6a6a9a; }
.cl-tl-dead { fill: #9e9e9e; fill-opacity: 0.35; }
.cl-tl-over { fill: #d62728; fill-opacity: 0.55; }
.cl-tl-line { fill: #555; }
.cl-tl-line-customer { fill: #1a5a8a; }
.cl-tl-line-agent { fill: #a85f0a; }
.cl-tl-line-now { fill: #d62728; }
.cl-tl-head { stroke: #000; stroke-width: 2px; vector-effect: non-scaling-stroke; }
.cl-tl-axis { position: relative; height: 16px; font-size: 11px; color: #555; }
.cl-tl-tick { position: absolute; top: 0; transform: translateX(-50%); white-space: nowrap; }
.cl-tl-tick:first-child { transform: none; }
.cl-tl-tick-end { transform: translateX(-100%); }
.cl-tl-legend { display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 11px; color: #444; margin-top: 2px; }
.cl-key i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: -1px; }
.cl-key-customer { background: #2b7bb9; } .cl-key-agent { background: #e08a1e; }
.cl-key-dead { background: rgba(158,158,158,0.5); } .cl-key-over { background: rgba(214,39,40,0.6); }
.cl-key-line { background: #555; width: 3px !important; }
.cl-tl-now { min-height: 1.3em; margin-top: 2px; color: #222; overflow-wrap: anywhere; }
.cl-player audio { display: none; }
"""

_DOWNLOAD_ESM = _FETCH_JS + r"""
function render({ model, el }) {
  const link = document.createElement("a");
  link.className = "cl-download cl-audio-download";
  link.href = "#";
  link.textContent = "Download Audio";
  const status = document.createElement("span");
  status.className = "cl-download-status";
  el.append(link, status);
  const fetchAudio = fetcher(model, "download", (got, total) => {
    status.textContent = total ? ` (${Math.round(100 * got / total)}%)` : "";
  });
  const draw = () => {
    const ok = model.get("available");
    link.style.display = ok ? "" : "none";
    status.textContent = ok ? "" : `Download Audio: ${model.get("problem") || "not available"}`;
  };
  link.addEventListener("click", (event) => {
    event.preventDefault();
    const cid = model.get("conversation_id");
    fetchAudio(cid).then(({ blob, filename }) => {
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = filename;
      a.style.display = "none";
      el.append(a);
      a.click();
      a.remove();
      status.textContent = "";
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    }).catch((err) => { if (err.message !== "superseded") status.textContent = ` (${err.message})`; });
  });
  draw();
  model.on("change:available", draw);
  model.on("change:problem", draw);
}
export default { render };
"""


class _RecordingSource(anywidget.AnyWidget):
    """Serves the recording of the conversation on screen, chunk by chunk, when the browser asks.

    The browser sends ``{"type": "fetch", "purpose", "cid", "offset"}``; the answer is a
    ``{"type": "chunk", ...}`` message with the bytes as a binary buffer, or ``{"type":
    "error", "message"}``. Which file is served is decided here, never by the browser:
    the conversation shown by :meth:`show`, through :func:`read_recording`.
    """

    conversation_id = traitlets.Unicode("").tag(sync=True)
    _purposes: tuple[str, ...] = ()

    def __init__(self, lab: Workbench, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lab = lab
        self._shown: str | None = None  # kept here: a trait could be changed from the browser
        self._cache: dict[str, RecordingFile] = {}
        self.on_msg(self._on_message)

    def _forget(self, conversation_id: str | None) -> None:
        self._shown = conversation_id
        self._cache.clear()

    def _file(self, purpose: str) -> RecordingFile:
        if purpose not in self._cache:
            assert self._shown is not None
            with session(self.lab) as lab:  # a dashboard's PageStore opens the file for this read only
                self._cache = {purpose: read_recording(lab, self._shown, playable=purpose == "play")}
        return self._cache[purpose]

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "fetch":
            return
        purpose, cid, offset = content.get("purpose"), content.get("cid"), content.get("offset")
        base = {"purpose": purpose, "cid": cid}
        if purpose not in self._purposes or not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            self.send({**base, "type": "error", "message": "bad request"})
            return
        if self._shown is None or cid != self._shown:
            self.send({**base, "type": "error", "message": "superseded"})
            return
        try:
            recording = self._file(purpose)
        except ConvolabError as exc:  # unreadable, gone, or the store busy: the browser shows why
            self.send({**base, "type": "error", "message": getattr(exc, "reason", None) or str(exc)})
            return
        if offset == 0 and purpose == "download":
            self._audit_download(recording)
        chunk = recording.data[offset:offset + CHUNK_BYTES]
        done = offset + len(chunk) >= len(recording.data)
        self.send({**base, "type": "chunk", "offset": offset, "total": len(recording.data), "mime": recording.mime,
                   "filename": recording.filename, "done": done}, buffers=[chunk])
        if done:
            self._cache.pop(purpose, None)  # the browser holds it now

    def _audit_download(self, recording: RecordingFile) -> None:
        try:
            with session(self.lab) as lab:
                lab.audit("download_recording", target=self._shown, actor=current_actor(),
                          details={"file": recording.filename, "bytes": len(recording.data)}, result="sent")
        except ConvolabError:  # a read-only or busy store: the download itself is still allowed
            pass


class AudioDownload(_RecordingSource):
    """"Download Audio" for the ⋯ menu: the recording's own bytes, fetched only when clicked."""

    _esm = _DOWNLOAD_ESM
    _purposes = ("download",)
    available = traitlets.Bool(False).tag(sync=True)
    problem = traitlets.Unicode("").tag(sync=True)


class AudioPlayer(_RecordingSource):
    """The call player of the detail view: play/pause, and a timeline that seeks on click.

    The timeline shows the customer's and the agent's speech as two lanes, dead air
    (grey) and overtalk (red) across them, and each transcript line as a marker at its
    time; the line being heard is written under it. Audio is fetched on the first
    play or timeline click, in chunks (see the module docstring).

    Parameters
    ----------
    lab
        The open store.

    Attributes
    ----------
    download : AudioDownload
        The matching "Download Audio" link, for the ⋯ menu.

    Examples
    --------
    >>> player = AudioPlayer(lab); player.show("c-0000001"); player   # doctest: +SKIP
    """

    _esm = _PLAYER_ESM
    _css = _PLAYER_CSS
    _purposes = ("play",)
    timeline = traitlets.Dict().tag(sync=True)

    def __init__(self, lab: Workbench, **kwargs: Any) -> None:
        super().__init__(lab, **kwargs)
        self.download = AudioDownload(lab)
        self.layout = widgets.Layout(display="none")

    def show(self, conversation_id: str, *, lab: Workbench | None = None) -> None:
        """Show a conversation's timeline (hidden when it has no recording); no audio is sent.

        ``lab``: the store session the caller already holds (else one is opened).
        """
        with nullcontext(lab) if lab is not None else session(self.lab) as opened:
            timeline = call_timeline(opened, conversation_id)
        has_recording = bool(timeline["recording"])
        for w in (self, self.download):
            w._forget(conversation_id)
        self.download.problem = timeline["problem"] or ""
        self.download.available = timeline["available"]
        self.download.conversation_id = conversation_id
        self.download.layout.display = "" if has_recording else "none"
        with self.hold_sync():
            self.timeline = timeline
            self.conversation_id = conversation_id
        self.layout.display = "" if has_recording else "none"

    def clear(self) -> None:
        """Hide the player (the conversation was deleted); nothing can be fetched any more."""
        for w in (self, self.download):
            w._forget(None)
            w.layout.display = "none"
