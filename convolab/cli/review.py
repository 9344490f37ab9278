"""``convolab review``: record QA decisions from scripts (confirm, dismiss, add a manual flag).

Each decision is written with its audit entry in one transaction, as the person
running the command (:func:`convolab.store.current_actor`: ``JUPYTERHUB_USER``,
``CONVOLAB_USER``, then the operating-system user).
"""

from __future__ import annotations

from typing import Annotated

import typer

from convolab.cli._app import DbOption, JsonOption, app, console, fail, open_store, print_json
from convolab.errors import ConvolabError

__all__ = ["review_app"]

#: Seconds a decision waits while a dashboard page's click or another script writes to a file store.
WAIT_S = 10.0

review_app = typer.Typer(help="Record QA decisions: confirm or dismiss a flag, or add a manual one.",
                         no_args_is_help=True)
app.add_typer(review_app, name="review")

NoteOption = Annotated[str | None, typer.Option("--note", help="Why (kept with the decision).")]
FlagId = Annotated[str, typer.Argument(help="The flag's id (`convolab flags` lists them).", show_default=False)]


def _flag_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        fail(f"a flag id is a whole number, got {text!r}; `convolab flags` lists them")
    if value < 0:
        fail(f"a flag id is a whole number, got {text!r}; `convolab flags` lists them")
    return value


def _decide(flag: str, decision: str, note: str | None, db: object, as_json: bool) -> None:
    from convolab.flags import decide

    flag_id = _flag_id(flag)
    try:
        with open_store(db, wait=WAIT_S) as lab:  # type: ignore[arg-type]
            recorded = decide(lab, flag_id, decision, note=note)
    except ConvolabError as exc:
        fail(str(exc))
    if as_json:
        print_json(recorded)
        return
    console.print(f"flag {recorded['flag_id']} ({recorded['conversation_id']}, {recorded['criterion']})"
                  f" {decision} by {recorded['reviewer']}", markup=False, soft_wrap=True)


@review_app.command("confirm")
def confirm(flag_id: FlagId, note: NoteOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Confirm a review flag: the conversation does need attention."""
    _decide(flag_id, "confirmed", note, db, as_json)


@review_app.command("dismiss")
def dismiss(flag_id: FlagId, note: NoteOption = None, db: DbOption = None, as_json: JsonOption = False) -> None:
    """Dismiss a review flag: a false alarm."""
    _decide(flag_id, "dismissed", note, db, as_json)


@review_app.command("add")
def add(
    conversation_id: Annotated[str, typer.Argument(help="The conversation to flag.", show_default=False)],
    criterion: Annotated[str | None, typer.Option(
        "--criterion", help="A criterion name: lower-case letters, digits and underscores (required).",
        show_default=False)] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why it needs review (required).",
                                               show_default=False)] = None,
    severity: Annotated[str, typer.Option("--severity", help="low, medium or high.")] = "medium",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Flag a conversation by hand (kept when criteria run again)."""
    from convolab.flags import add_manual_flag
    from convolab.store import current_actor

    # Required, but checked here so a missing one is one line like every other mistake.
    if not criterion:
        fail("give the flag a criterion: --criterion NAME")
    if not reason or not reason.strip():
        fail("give the flag a reason: --reason TEXT")
    reviewer = current_actor()
    try:
        with open_store(db, wait=WAIT_S) as lab:
            flag_id = add_manual_flag(lab, conversation_id, criterion, reason=reason, severity=severity,
                                      reviewer=reviewer)
    except ConvolabError as exc:
        fail(str(exc))
    if as_json:
        print_json({"flag_id": flag_id, "conversation_id": conversation_id, "criterion": criterion,
                    "severity": severity, "reason": reason, "reviewer": reviewer})
        return
    console.print(f"flag {flag_id} ({conversation_id}, {criterion}, {severity}) added by {reviewer}",
                  markup=False, soft_wrap=True)
