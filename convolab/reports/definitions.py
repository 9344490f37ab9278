"""What each figure of a report counts, in one line a manager can read, and how to show it.

These are the only definitions: the report model computes them, the dashboard and the
published page show the same labels and one-liners, and the "How these figures are
counted" section of a published report is generated from this module.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AUDIO_KPIS", "CONTAINMENT", "KPIS", "Kpi", "SECTION_NOTES", "flag_kpi"]

#: Containment, precisely: a conversation is *contained* when its status is ``completed``
#: and no ``human_agent`` or ``supervisor`` message is in its transcript. A transferred
#: conversation (status ``transferred``, which ``human_handoff`` is stored as) is therefore
#: never contained, nor is one a human finished after stepping in.
CONTAINMENT = (
    "completed by the AI agent alone: status completed and no human agent or supervisor "
    "message in the transcript (a transferred conversation is never contained)"
)


@dataclass(frozen=True)
class Kpi:
    """One headline figure.

    Attributes
    ----------
    name
        Machine name (``data-kpi`` in a published page).
    label
        Short title of the tile.
    counts
        One line: what is counted, and out of what.
    unit
        ``count``, ``rate`` (a fraction), ``seconds``, ``milliseconds`` or ``number``.
    better
        ``higher``, ``lower`` or ``""``: colours the change against the previous period.
    """

    name: str
    label: str
    counts: str
    unit: str
    better: str = ""


KPIS: tuple[Kpi, ...] = (
    Kpi("conversations", "Conversations",
        "Conversations that started in the period and match the filters.", "count"),
    Kpi("containment_rate", "Contained by the AI agent",
        "Share of all conversations the AI agent completed alone: status completed, no human agent "
        "or supervisor message, so never a transfer.", "rate", "higher"),
    Kpi("transfer_rate", "Transferred to a human",
        "Share of all conversations handed to a human agent (status transferred or human_handoff).",
        "rate", "lower"),
    Kpi("abandonment_rate", "Abandoned",
        "Share of all conversations the customer left before the request was resolved (status abandoned).",
        "rate", "lower"),
    Kpi("failure_rate", "Failed",
        "Share of all conversations that ended on a technical failure (status failed).", "rate", "lower"),
    Kpi("handle_time_mean_s", "Average handle time",
        "Mean duration of the conversations that ended (not in progress, queued or unanswered).",
        "seconds"),
    Kpi("handle_time_p90_s", "Handle time, 90th percentile",
        "9 in 10 of the conversations that ended were shorter than this.", "seconds"),
    Kpi("negative_sentiment_rate", "Negative customer sentiment",
        "Share of emotion-scored conversations whose customer messages read negative overall.",
        "rate", "lower"),
    Kpi("flagged_rate", "Flagged for review",
        "Share of all conversations with at least one review flag that QA has not dismissed (🚩).",
        "rate", "lower"),
    Kpi("review_coverage", "QA review coverage",
        "Share of raised flags (one per conversation and criterion) a reviewer has confirmed or dismissed.",
        "rate", "higher"),
    Kpi("confirm_rate", "Flags confirmed by QA",
        "Of the reviewed flags, the share whose newest QA decision is 'confirmed'.", "rate"),
)

AUDIO_KPIS: tuple[Kpi, ...] = (
    Kpi("recordings_analysed", "Recordings analysed",
        "Conversations in the period whose recording was analysed successfully (newest analysis).",
        "count"),
    Kpi("agent_latency_ms", "Agent response time",
        "Mean over analysed calls of each call's median gap between the customer stopping and the "
        "agent starting to speak.", "milliseconds", "lower"),
    Kpi("agent_latency_p95_ms", "Slow agent responses (p95)",
        "Mean over analysed calls of each call's 95th-percentile response gap.", "milliseconds", "lower"),
    Kpi("dead_air_per_call_s", "Dead air per call",
        "Mean total silence per analysed call during which nobody spoke.", "seconds", "lower"),
    Kpi("dead_air_calls_rate", "Calls with dead air",
        "Share of analysed calls with at least one stretch of dead air.", "rate", "lower"),
    Kpi("interruptions_per_call", "Agent interruptions per call",
        "Mean number of times per analysed call the agent started speaking over the customer.",
        "number", "lower"),
)


def flag_kpi(criterion: str, description: str | None = None) -> Kpi:
    """The headline figure of one review criterion: ``flag_rate_<criterion>``."""
    what = f" ({description.rstrip('.')})" if description else ""
    return Kpi(
        f"flag_rate_{criterion}",
        criterion.replace("_", " ").capitalize(),
        f"Share of all conversations flagged '{criterion}'{what}, whatever QA decided.",
        "rate",
        "lower",
    )


#: Why a section can be empty, as the report says it.
SECTION_NOTES = {
    "not_scored": "Not scored: no emotion scores for these conversations yet (run `convolab score`).",
    "no_audio": "No recordings analysed for these conversations yet.",
    "no_flags": "No review flags for these conversations (run `convolab flag`).",
    "no_previous": ("Previous period: not compared. Without a start day the report covers everything "
                    "in the store, so there is no earlier period of the same length."),
}
