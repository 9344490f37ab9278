"""Serving a dashboard safely: Voila behind a token, a Host/Origin check and per-page identities.

``convolab serve`` calls :func:`serve`, which runs Voila in the calling process
(so SIGTERM and SIGINT reach it and its kernels are shut down with it), with:

- **a token**: no page and no kernel without it (``?token=`` once; a signed cookie
  after that). One shared token, or one per reviewer from a reviewers file
  (:mod:`convolab.dashboards.reviewers`).
- **a Host and Origin check** in front of every route, the kernel websocket
  included: only ``127.0.0.1:PORT`` and ``localhost:PORT`` are served, so a web
  page on another name that resolves to 127.0.0.1 (DNS rebinding) gets nothing.
- **the page's identity in its kernel**: the reviewer the token belongs to is
  put in the page kernel's ``CONVOLAB_JUPYTER_USER``, which
  :func:`convolab.store.current_actor` records with every decision.
- **kernels that outlive a dropped connection**: a page's kernel is shut down
  when the page is closed or reloaded (Voila's unload beacon), or after it has
  had no connection for ``reconnect_window`` seconds, not after seconds of
  inactivity, so a reviewer whose network drops keeps their page.
- **one port**: a taken port is an error, never a silent move to another port.
"""

from __future__ import annotations

import contextvars
import errno
import logging
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convolab import settings
from convolab._deps import require
from convolab.dashboards import JUPYTER_PATH
from convolab.dashboards.reviewers import Reviewers
from convolab.errors import ConvolabError

__all__ = ["PortInUse", "ServerOptions", "refusal", "serve"]

#: Seconds a dashboard's notebook may take to execute before Voila gives up.
EXECUTOR_TIMEOUT_S = 120
#: Default seconds a page's kernel waits for its page to reconnect after the connection drops.
RECONNECT_WINDOW_S = 600.0

# The identity of the page being rendered: set by the prelaunch hook from the request's
# authenticated user, read when Voila starts that page's kernel (same request, same task).
_PAGE_USER: contextvars.ContextVar[str | None] = contextvars.ContextVar("convolab_page_user", default=None)


class PortInUse(OSError, ConvolabError):
    """The port ``convolab serve`` was asked for is taken (it never moves to another one)."""

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.port = port

    def __str__(self) -> str:
        return (f"port {self.port} on 127.0.0.1 is already in use; stop what holds it or choose"
                " another with --port")


@dataclass(frozen=True)
class ServerOptions:
    """What :func:`serve` runs: one notebook, on one port, behind a token or a reviewers file."""

    notebook: Path
    port: int
    token: str | None = None
    reviewers: Reviewers | None = None
    owner: str = "unknown"  # who the shared token stands for (the person running the server)
    open_browser: bool = False
    reconnect_window: float = RECONNECT_WINDOW_S
    environment: dict[str, str] | None = None  # extra variables for the kernels (CONVOLAB_DB)


# -- the Host / Origin check ------------------------------------------------------------


def allowed_hosts(port: int) -> frozenset[str]:
    """The Host values the server answers: its own address and port, nothing else."""
    return frozenset({f"127.0.0.1:{port}", f"localhost:{port}"})


def refusal(host: str | None, origin: str | None, port: int) -> str | None:
    """Why a request must be refused (``None``: it may go on to authentication).

    The Host header must be ``127.0.0.1:PORT`` or ``localhost:PORT``: a DNS-rebinding
    page reaches 127.0.0.1 under its own name, and its requests carry that name.
    An Origin, when the client sends one (browsers always do for websockets and
    POSTs), must be ``http://`` plus one of those hosts.
    """
    hosts = allowed_hosts(port)
    if not host or host.lower() not in hosts:
        return f"foreign Host {host!r}"
    if origin is not None and origin.lower() not in {f"http://{h}" for h in hosts}:
        return f"foreign Origin {origin!r}"
    return None


def _guard_rule(port: int, log: Any) -> Any:
    """A tornado routing rule, first in line, that answers 403 to foreign requests."""
    from tornado import web
    from tornado.routing import Matcher, Rule

    class ForeignRequest(Matcher):
        def match(self, request: Any) -> dict[str, Any] | None:
            reason = refusal(request.headers.get("Host"), request.headers.get("Origin"), port)
            if reason is None:
                return None
            log.warning("refused %s %s: %s", request.method, request.path, reason)
            return {}

    class Refused(web.RequestHandler):
        def prepare(self) -> None:
            raise web.HTTPError(403)

        def write_error(self, status_code: int, **kwargs: Any) -> None:
            self.finish("forbidden\n")

    return Rule(ForeignRequest(), Refused)


# -- identities -----------------------------------------------------------------------


def _identity_provider_class() -> type:
    """The Jupyter Server identity provider: tokens (shared or per reviewer) -> a named user."""
    from jupyter_server.auth.identity import IdentityProvider, User
    from traitlets import Any as AnyTrait
    from traitlets import Unicode

    class DashboardIdentityProvider(IdentityProvider):
        """A request is someone when it carries a known token, or the cookie a token set."""

        reviewers = AnyTrait(None, allow_none=True).tag(config=True)  # Reviewers or None
        owner = Unicode("unknown").tag(config=True)

        def _who(self, token: str | None) -> str | None:
            if not token:
                return None
            if self.reviewers is not None:
                return self.reviewers.who(token)
            import hmac

            return self.owner if self.token and hmac.compare_digest(token, self.token) else None

        def _known(self, name: str) -> bool:
            return name in self.reviewers.names if self.reviewers is not None else name == self.owner

        def _user(self, name: str) -> Any:
            return User(username=name, name=name, display_name=name)

        async def get_user_token(self, handler: Any) -> Any:
            name = self._who(self.get_token(handler))
            return self._user(name) if name else None

        def get_user_cookie(self, handler: Any) -> Any:
            user = super().get_user_cookie(handler)
            # A cookie names a user; it only counts while that user still has a token here.
            return user if user is not None and self._known(user.username) else None

        def process_login_form(self, handler: Any) -> Any:
            name = self._who(handler.get_argument("password", default=""))
            return self._user(name) if name else None

        @property
        def auth_enabled(self) -> bool:
            return True

        @property
        def login_available(self) -> bool:
            return True

        def cookie_secret_hook(self, h: Any) -> Any:
            # Replacing or removing a token invalidates the cookies it set.
            h.update(self.reviewers.fingerprint() if self.reviewers is not None else self.token.encode())
            return h

    return DashboardIdentityProvider


def _remember_page_user(req_handler: Any, notebook: Any = None, cwd: Any = None) -> None:
    """Voila's prelaunch hook: note who asked for this page, for the kernel about to start."""
    user = req_handler.current_user
    _PAGE_USER.set(getattr(user, "username", None) or None)
    # Reading the XSRF token sets the _xsrf cookie on this response. The page's unload beacon
    # sends it back to shut its kernel down; without it the beacon is refused and the kernel
    # waits out the reconnect window.
    _ = req_handler.xsrf_token


def _kernel_manager_class() -> type:
    """Kernels that carry their page's identity and live as long as their page might come back."""
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
    from tornado import web
    from traitlets import Dict, Float

    class PageKernelManager(AsyncMappingKernelManager):
        reconnect_window = Float(RECONNECT_WINDOW_S).tag(config=True)
        extra_environment = Dict().tag(config=True)  # CONVOLAB_DB for every page's kernel

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self._alone_since: dict[str, float] = {}
            self.pids: set[int] = set()

        async def start_kernel(self, **kwargs: Any) -> str:  # type: ignore[override]
            user = _PAGE_USER.get()
            if not user:  # unreachable behind authentication; never start an anonymous kernel
                raise web.HTTPError(403)
            kwargs["env"] = settings.page_kernel_environment(kwargs.get("env") or {}, user=user,
                                                             extra=self.extra_environment)
            kernel_id = await super().start_kernel(**kwargs)
            self._alone_since[kernel_id] = time.monotonic()
            process = getattr(getattr(self.get_kernel(kernel_id), "provisioner", None), "process", None)
            if process is not None:
                self.pids.add(process.pid)
            self.log.info("kernel %s started for %s", kernel_id, user)
            return kernel_id

        def notify_connect(self, kernel_id: str) -> None:
            super().notify_connect(kernel_id)
            self._alone_since.pop(kernel_id, None)

        def notify_disconnect(self, kernel_id: str) -> None:
            super().notify_disconnect(kernel_id)
            if self._kernel_connections.get(kernel_id, 0) <= 0:
                self._alone_since[kernel_id] = time.monotonic()

        async def cull_kernel_if_idle(self, kernel_id: str) -> None:
            # Culled for having no page, not for being quiet: the live panel's refresh
            # keeps a kernel "active" forever, and a reviewer reading a conversation is idle.
            kernel = self._kernels[kernel_id]
            if getattr(kernel, "execution_state", None) == "dead":
                await super().cull_kernel_if_idle(kernel_id)
                return
            since = self._alone_since.get(kernel_id)
            busy = getattr(kernel, "execution_state", None) == "busy"  # e.g. still rendering its page
            if since is not None and not busy and self._kernel_connections.get(kernel_id, 0) <= 0 \
                    and time.monotonic() - since > self.reconnect_window:
                self.log.info("shutting down kernel %s: its page has been gone for %.0f s",
                              kernel_id, time.monotonic() - since)
                self._alone_since.pop(kernel_id, None)
                await self.shutdown_kernel(kernel_id)

    return PageKernelManager


# -- the Voila application ----------------------------------------------------------------


#: convolab's Voila page template (see its header): pages load nothing from outside the server.
TEMPLATE_DIR = JUPYTER_PATH / "voila" / "templates" / "convolab"


def _voila_class(on_ready: Callable[[str], None]) -> type:
    from tornado.ioloop import IOLoop
    from voila.app import Voila

    class DashboardServer(Voila):
        """Voila with one port, a guard in front of every route, and a clean stop."""

        def initialize(self, argv: list[str] | None = None) -> None:
            super().initialize(argv)
            self.log.addFilter(_not_trusted_notice)
            # Voila's own SIGTERM handler needs self.ioloop, which listen() sets; ours is set there.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)

        def setup_template_dirs(self) -> None:
            super().setup_template_dirs()
            # Our index.html.j2 first: Voila's lab template minus its CDN stylesheets.
            self.template_paths.insert(0, str(TEMPLATE_DIR))

        def listen(self) -> None:
            self.app.default_router.rules.insert(0, _guard_rule(self.port, self.log))
            try:
                self.app.listen(self.port, self.ip)
            except OSError as exc:
                shutil.rmtree(self.connection_dir, ignore_errors=True)
                if exc.errno == errno.EADDRINUSE:
                    raise PortInUse(self.port) from None
                raise
            self.ioloop = IOLoop.current()
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                # Stop the loop; stop() below then shuts every kernel down.
                self.ioloop.asyncio_loop.add_signal_handler(signum, self.ioloop.stop)
            on_ready(self._url("127.0.0.1"))
            if self.open_browser:
                self.launch_browser()
            try:
                self.ioloop.start()
            finally:
                self.stop()

        def stop(self) -> None:
            manager = self.kernel_manager
            try:
                super().stop()  # shuts every kernel down (asks, then kills after a grace period)
            finally:
                _reap(getattr(manager, "pids", set()))

    return DashboardServer


def _not_trusted_notice(record: logging.LogRecord) -> bool:
    # Voila warns on every page that the notebook is "not trusted" (unsigned); these notebooks
    # are convolab's own package data and run with their sources stripped, so the line is noise.
    return "is not trusted" not in record.getMessage()


def _reap(pids: set[int], grace_s: float = 5.0) -> None:
    """Kill any kernel process still alive after shutdown: nothing of the server stays behind."""
    deadline = time.monotonic() + grace_s
    alive = set(pids)
    while alive and time.monotonic() < deadline:
        alive = {pid for pid in alive if _alive(pid)}
        if alive:
            time.sleep(0.1)
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # our child: reap it if it has exited
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def voila_config(options: ServerOptions) -> Any:
    """The traitlets configuration of the dashboard server (see the module docstring)."""
    from traitlets.config import Config

    cfg = Config()
    cfg.Voila.ip = "127.0.0.1"
    cfg.Voila.port = options.port
    cfg.Voila.port_retries = 0
    cfg.Voila.open_browser = options.open_browser
    cfg.Voila.log_level = "WARN"
    cfg.Voila.token = options.token or ""
    cfg.Voila.identity_provider_class = _identity_provider_class()
    cfg.DashboardIdentityProvider.reviewers = options.reviewers
    cfg.DashboardIdentityProvider.owner = options.owner
    cfg.VoilaConfiguration.strip_sources = True
    cfg.VoilaConfiguration.show_tracebacks = False
    cfg.VoilaConfiguration.prelaunch_hook = _remember_page_user
    cfg.VoilaConfiguration.multi_kernel_manager_class = _kernel_manager_class()
    cfg.VoilaExecutor.timeout = EXECUTOR_TIMEOUT_S
    cfg.PageKernelManager.reconnect_window = float(options.reconnect_window)
    cfg.PageKernelManager.extra_environment = dict(options.environment or {})
    cfg.PageKernelManager.cull_idle_timeout = max(1, int(options.reconnect_window))
    cfg.PageKernelManager.cull_interval = max(1, min(60, int(options.reconnect_window // 4) or 1))
    return cfg


def serve(options: ServerOptions, *, on_ready: Callable[[str], None] = lambda url: None) -> None:
    """Run the dashboard server until SIGTERM, SIGINT or SIGHUP; every kernel stops with it.

    Parameters
    ----------
    options
        The notebook, port and credentials (exactly one of ``token`` and ``reviewers``).
    on_ready
        Called with the base URL once the port is bound.

    Raises
    ------
    PortInUse
        The port is taken (the server never moves to another port).
    """
    require("voila", "widgets")
    if (options.token is None) == (options.reviewers is None):
        raise ConvolabError("serve needs either a shared token or a reviewers file")
    app = _voila_class(on_ready)(config=voila_config(options))
    app.initialize([str(options.notebook)])
    app.start()
