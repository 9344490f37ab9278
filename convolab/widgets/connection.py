"""The connection banner: a dashboard page says plainly when it has lost its server.

Left alone, a Voila page whose kernel connection drops keeps showing live-looking
buttons that do nothing. The banner watches the page's kernel connection
(the widget manager's ``kernel`` in Voila):

- **connected**: nothing is shown.
- **reconnecting** (the network or the server went away): a yellow bar at the
  top says so; clicks made meanwhile are queued by the page and sent when the
  connection is back, because the kernel waits (``convolab serve
  --reconnect-window``). The page keeps retrying for as long as the server
  still has its kernel.
- **gone** (the server no longer knows this page's kernel: it was stopped or
  restarted, or the page was away longer than the window): a red overlay covers
  the page, so no button can be clicked in vain, says that anything done since
  the connection was lost was not saved, and offers a Reload button.
"""

from __future__ import annotations

import anywidget

__all__ = ["ConnectionBanner"]

_ESM = r"""
const CHECK_MS = 3000;  // one small request per page every 3 s

function clock(date) {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function render({ model, el }) {
  el.classList.add("cl-connection");
  const bar = document.createElement("div");
  bar.className = "cl-connection-bar";
  bar.setAttribute("role", "status");
  bar.hidden = true;
  const overlay = document.createElement("div");
  overlay.className = "cl-connection-overlay";
  overlay.setAttribute("role", "alertdialog");
  overlay.hidden = true;
  const box = document.createElement("div");
  box.className = "cl-connection-box";
  const title = document.createElement("h2");
  title.textContent = "This page has lost its connection to the server";
  const text = document.createElement("p");
  const button = document.createElement("button");
  button.textContent = "Reload the page";
  button.className = "cl-connection-reload";
  button.addEventListener("click", () => window.location.reload());
  box.append(title, text, button);
  overlay.append(box);
  // Fixed to the window, outside the widget's own box, so it covers the whole page.
  document.body.append(bar, overlay);

  let lostAt = null;
  let lastGood = new Date();  // the last moment the server was known to have this page's kernel
  let gone = false;
  let timer = null;

  // Voila's widget manager owns the page's one kernel connection.
  const kernel = () => (model.widget_manager && model.widget_manager.kernel) || null;

  const draw = () => {
    const k = kernel();
    const connection = k ? k.connectionStatus : "connecting";
    // A dead or restarted kernel has lost this page's widgets: the page cannot go on.
    const dead = gone || (k && ["dead", "restarting", "autorestarting"].includes(k.status));
    if (connection === "connected" && !dead) {
      lostAt = null;
      bar.hidden = true;
      overlay.hidden = true;
      document.body.dataset.clConnection = "connected";
    } else if (dead) {
      lostAt = lostAt || lastGood;
      bar.hidden = true;
      text.textContent = "Anything you did after " + clock(lostAt) + " was not saved. " +
        "Reload the page to continue; everything you did before then is in the store.";
      overlay.hidden = false;
      document.body.dataset.clConnection = "gone";
    } else {
      lostAt = lostAt || new Date();
      bar.textContent = "Connection to the server lost at " + clock(lostAt) +
        " - reconnecting... Your clicks are kept and sent when it is back.";
      bar.hidden = false;
      document.body.dataset.clConnection = "reconnecting";
    }
  };

  // Ask the server whether it still has this page's kernel. A 404 means the page can never
  // work again (the kernel was stopped, or the server restarted), even while its websocket
  // still looks open: say so now. If the kernel is there but the page gave up retrying, start
  // retrying again: the clicks queued meanwhile are sent once it reconnects.
  const check = async () => {
    const k = kernel();
    if (!k || gone) return;
    let reply = null;
    try {
      const url = new URL("api/kernels/" + encodeURIComponent(k.id),
                          new URL(k.serverSettings.baseUrl || "/", document.baseURI));
      reply = await fetch(url, { credentials: "same-origin", cache: "no-store" });
    } catch (error) {
      reply = null; // the server itself is unreachable: keep trying
    }
    if (reply && (reply.status === 404 || reply.status === 403)) {
      gone = true;
    } else if (reply && reply.ok && k.connectionStatus === "connected") {
      lastGood = new Date();
    } else if (k.connectionStatus === "disconnected") {
      k.reconnect().catch(() => {});
    }
    draw();
  };

  const k = kernel();
  if (k) {
    k.connectionStatusChanged.connect(draw);
    k.statusChanged.connect(draw);
  }
  timer = setInterval(() => { check(); draw(); }, CHECK_MS);
  draw();
  return () => {
    clearInterval(timer);
    if (k) {
      k.connectionStatusChanged.disconnect(draw);
      k.statusChanged.disconnect(draw);
    }
    bar.remove();
    overlay.remove();
  };
}
export default { render };
"""

_CSS = r"""
.cl-connection-bar { position: fixed; top: 0; left: 0; right: 0; z-index: 10000; padding: 10px 16px;
  background: #fff4c2; color: #4a3b00; border-bottom: 2px solid #d4a100; font: 15px/1.4 sans-serif;
  text-align: center; box-shadow: 0 2px 6px rgba(0, 0, 0, .2); }
.cl-connection-overlay { position: fixed; inset: 0; z-index: 10001; background: rgba(40, 40, 40, .55);
  display: flex; align-items: center; justify-content: center; }
.cl-connection-overlay[hidden], .cl-connection-bar[hidden] { display: none; }
.cl-connection-box { background: #fff; border-top: 6px solid #c62828; border-radius: 6px;
  padding: 24px 32px; max-width: 560px; font: 16px/1.5 sans-serif; color: #222;
  box-shadow: 0 8px 30px rgba(0, 0, 0, .35); }
.cl-connection-box h2 { margin: 0 0 8px; font-size: 20px; color: #b71c1c; }
.cl-connection-reload { margin-top: 8px; padding: 8px 18px; font-size: 16px; background: #c62828;
  color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
"""


class ConnectionBanner(anywidget.AnyWidget):
    """Shows the page's connection to its kernel: nothing, "reconnecting", or "reload the page".

    Display it once per dashboard (it draws fixed to the window, so where does not
    matter). The page's ``<body data-cl-connection>`` says what it shows:
    ``connected``, ``reconnecting`` or ``gone``.

    Examples
    --------
    >>> display(ConnectionBanner())
    """

    _esm = _ESM
    _css = _CSS
