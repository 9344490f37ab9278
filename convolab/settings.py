"""convolab's settings: the only module that reads the environment.

Explicit arguments win; then these environment variables; then the defaults below.
:func:`current` reads the environment each time it is called, so a test or a
notebook that changes a variable sees the change. Secrets (Twilio credentials,
the coaching secret) are read here too but never shown: :class:`Settings` hides
them from ``repr``.

==============================  =========================================================
variable                        meaning
==============================  =========================================================
``CONVOLAB_DB``                 the store: a DuckDB file, or ``ducklake:sqlite:PATH`` /
                                ``ducklake:postgres:CONNINFO`` (default
                                ``data/convolab.duckdb``)
``CONVOLAB_LAKE_DATA``          where a team store keeps its Parquet files (default:
                                beside a SQLite catalog)
``CONVOLAB_USER``               who is acting, when no Jupyter identity is known
``JUPYTERHUB_USER``             set by JupyterHub for each user's server: the reviewer
``CONVOLAB_JUPYTER_USER``       set by ``convolab serve`` in each page's kernel: the Jupyter
                                Server identity that opened the page
``CONVOLAB_SERVE_TOKEN``        the token ``convolab serve`` asks for (default: a new one each
                                start, printed)
``CONVOLAB_SERVE_USERS``        reviewers file for ``convolab serve`` (one token per reviewer)
``CONVOLAB_RECORDINGS``         root folder that recording paths are resolved in (and
                                confined to); overrides the root stored with the store
``CONVOLAB_EMOTION_PRECISION``  ``auto`` | ``fp32`` | ``bf16`` | ``int8``
``CONVOLAB_THREADS``            CPU threads for model inference (default: cores, max 8)
``HF_HUB_OFFLINE``              ``1``: load transformers models from local files only
``CONVOLAB_LIVE_BACKEND``       ``simulated`` (default) or ``twilio`` for the live monitor
``CONVOLAB_LIVE_CALLS``         simulated calls on screen at once (default 6)
``CONVOLAB_LIVE_SPEED``         simulated call speed-up (default 1)
``CONVOLAB_LIVE_POST_SCORING``  ``0`` turns off scoring/flagging after a live call
``CONVOLAB_LIVE_REFRESH``       live panel refresh interval in seconds (default 1)
``TWILIO_ACCOUNT_SID``          Twilio account; with ``TWILIO_AUTH_TOKEN``, or
``TWILIO_AUTH_TOKEN``           ``TWILIO_API_KEY`` + ``TWILIO_API_SECRET``
``TWILIO_API_KEY``
``TWILIO_API_SECRET``
``TWILIO_CALLER_ID``            caller id for transfers (default Twilio's test number)
``CONVOLAB_SUPERVISOR``         the supervisor's leg (default ``client:supervisor``)
``CONVOLAB_COACHING_URL``       the AI agent's coaching webhook
``CONVOLAB_COACHING_SECRET``    key that signs coaching notes
``CONVOLAB_MAX_MESSAGE_BYTES``  ingest: largest message text, in UTF-8 bytes (default 1 MiB)
``CONVOLAB_MAX_MESSAGES``       ingest: most messages in one conversation (default 10,000)
``CONVOLAB_MAX_RECORD_BYTES``   ingest: largest source record (a JSON line; in CSV/Parquet a
                                conversation's rows) in bytes (default 32 MiB)
``CONVOLAB_MAX_DEPTH``          ingest: deepest nesting of a JSON value kept as JSON
                                (function arguments and outputs, unknown fields; default 64)
``CI``                          set: no progress bars
==============================  =========================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

__all__ = ["DEFAULT_DB", "Settings", "child_environment", "current", "page_kernel_environment"]

DEFAULT_DB = str(Path("data") / "convolab.duckdb")

#: Ingest limits (see :class:`convolab.ingest.Limits`): what a record may hold before it is
#: rejected. Generous for real conversations; they exist so that one absurd record is a clear
#: rejection rather than a hang or an out-of-memory later (``show``, scoring, a widget).
DEFAULT_MAX_MESSAGE_BYTES = 1 << 20
DEFAULT_MAX_MESSAGES = 10_000
DEFAULT_MAX_RECORD_BYTES = 32 << 20
DEFAULT_MAX_DEPTH = 64


def _secret() -> str | None:
    return field(default=None, repr=False)  # type: ignore[return-value]


@dataclass(frozen=True)
class Settings:
    """A snapshot of convolab's environment settings (see the module docstring)."""

    db: str = DEFAULT_DB
    lake_data: str | None = None
    user: str | None = None
    jupyterhub_user: str | None = None
    jupyter_user: str | None = None
    serve_token: str | None = _secret()
    serve_users: str | None = None
    recordings: str | None = None
    emotion_precision: str = "auto"
    threads: int = 0
    hf_offline: bool = False
    live_backend: str = "simulated"
    live_calls: int = 6
    live_speed: float = 1.0
    live_post_scoring: bool = True
    live_refresh_s: float = 1.0
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = _secret()
    twilio_api_key: str | None = None
    twilio_api_secret: str | None = _secret()
    twilio_caller_id: str | None = None
    supervisor: str | None = None
    coaching_url: str | None = None
    coaching_secret: str | None = _secret()
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    max_messages: int = DEFAULT_MAX_MESSAGES
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH
    ci: bool = False

    def __repr__(self) -> str:  # secrets never appear, whatever dataclass does
        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
        return f"Settings({shown})"


def _number(name: str, default: float, cast: type = float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return cast(raw)
    except ValueError:
        from convolab.errors import ConvolabError

        raise ConvolabError(f"{name}={raw!r} is not a number") from None


def current() -> Settings:
    """The settings as the environment gives them now."""
    env = os.environ

    def text(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    return Settings(
        db=text("CONVOLAB_DB") or DEFAULT_DB,
        lake_data=text("CONVOLAB_LAKE_DATA"),
        user=text("CONVOLAB_USER"),
        jupyterhub_user=text("JUPYTERHUB_USER"),
        jupyter_user=text("CONVOLAB_JUPYTER_USER"),
        serve_token=text("CONVOLAB_SERVE_TOKEN"),
        serve_users=text("CONVOLAB_SERVE_USERS"),
        recordings=text("CONVOLAB_RECORDINGS"),
        emotion_precision=(text("CONVOLAB_EMOTION_PRECISION") or "auto").lower(),
        threads=int(_number("CONVOLAB_THREADS", 0, int)),
        hf_offline=env.get("HF_HUB_OFFLINE") == "1",
        live_backend=text("CONVOLAB_LIVE_BACKEND") or "simulated",
        live_calls=int(_number("CONVOLAB_LIVE_CALLS", 6, int)),
        live_speed=float(_number("CONVOLAB_LIVE_SPEED", 1.0)),
        live_post_scoring=env.get("CONVOLAB_LIVE_POST_SCORING", "1").strip() != "0",
        live_refresh_s=float(_number("CONVOLAB_LIVE_REFRESH", 1.0)),
        twilio_account_sid=text("TWILIO_ACCOUNT_SID"),
        twilio_auth_token=text("TWILIO_AUTH_TOKEN"),
        twilio_api_key=text("TWILIO_API_KEY"),
        twilio_api_secret=text("TWILIO_API_SECRET"),
        twilio_caller_id=text("TWILIO_CALLER_ID"),
        supervisor=text("CONVOLAB_SUPERVISOR"),
        coaching_url=text("CONVOLAB_COACHING_URL"),
        coaching_secret=text("CONVOLAB_COACHING_SECRET"),
        max_message_bytes=int(_number("CONVOLAB_MAX_MESSAGE_BYTES", DEFAULT_MAX_MESSAGE_BYTES, int)),
        max_messages=int(_number("CONVOLAB_MAX_MESSAGES", DEFAULT_MAX_MESSAGES, int)),
        max_record_bytes=int(_number("CONVOLAB_MAX_RECORD_BYTES", DEFAULT_MAX_RECORD_BYTES, int)),
        max_depth=int(_number("CONVOLAB_MAX_DEPTH", DEFAULT_MAX_DEPTH, int)),
        ci=bool(text("CI")),
    )


def child_environment(**overrides: str) -> dict[str, str]:
    """The environment for a process convolab starts (Voila, say), with ``overrides`` set."""
    return {**os.environ, **overrides}


def page_kernel_environment(base: Mapping[str, str], *, user: str,
                            extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a dashboard page's kernel: ``base`` plus ``extra``, as ``user``.

    The page's identity goes in ``CONVOLAB_JUPYTER_USER``. A ``JUPYTERHUB_USER``
    inherited from the server is dropped, because the person who opened this page
    is more specific than the owner of the server it runs in; the server's own
    token never reaches a kernel.
    """
    env = {**base, **(extra or {})}
    env.pop("JUPYTERHUB_USER", None)
    env.pop("CONVOLAB_SERVE_TOKEN", None)
    env["CONVOLAB_JUPYTER_USER"] = user
    return env
