"""Live-call monitoring and control: one :class:`CallControl` interface, two backends.

>>> import convolab, convolab.live
>>> lab = convolab.open(":memory:")
>>> center = convolab.live.connect("simulated", lab=lab, calls=3, speed=10)
>>> center.calls()                         # polars DataFrame, one row per call
>>> center.take_over(center.calls()["id"][0])

``simulated`` (default) needs no credentials; ``twilio`` reads
``TWILIO_ACCOUNT_SID`` + ``TWILIO_AUTH_TOKEN`` (or ``TWILIO_API_KEY`` +
``TWILIO_API_SECRET``) from the environment.
"""

from __future__ import annotations

from typing import Any

from convolab.live.base import ACTIONS, CallControl, LiveCall, LiveMessage

__all__ = ["ACTIONS", "BACKENDS", "CallControl", "LiveCall", "LiveMessage", "connect"]

BACKENDS = ("simulated", "twilio")


def connect(backend: str = "simulated", /, **options: Any) -> CallControl:
    """Connect to a live-call backend.

    Parameters
    ----------
    backend
        ``"simulated"`` (in-process call center) or ``"twilio"``.
    **options
        Passed to :class:`~convolab.live.simulated.SimulatedCallControl` or
        :class:`~convolab.live.twilio.TwilioCallControl` (e.g. ``lab``, ``speed``,
        ``allow_prefixes``, ``api_base``).

    Returns
    -------
    CallControl
    """
    if backend == "simulated":
        from convolab.live.simulated import SimulatedCallControl

        return SimulatedCallControl(**options)
    if backend == "twilio":
        from convolab.live.twilio import TwilioCallControl

        return TwilioCallControl(**options)
    raise ValueError(f"unknown live backend {backend!r}; choose one of {', '.join(BACKENDS)}")
