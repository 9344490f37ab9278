"""CLI commands for live calls: ``convolab live calls`` and ``convolab live simulate``."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.table import Table

from convolab.cli._app import (
    DbOption,
    JsonOption,
    app,
    console,
    fail,
    print_json,
    resolve_db,
)
from convolab.errors import ConvolabError

live_app = typer.Typer(help="Watch and simulate live AI calls.", no_args_is_help=True)
app.add_typer(live_app, name="live")

BACKENDS = ("simulated", "twilio")


def _quiet_scorer(text: str) -> dict[str, Any]:
    return {"emotions": [], "polarity": None}


def _show(frame: Any, as_json: bool) -> None:
    if as_json:
        print_json(frame.to_dicts())
        return
    table = Table("ID", "Contact", "Status", "Handler", "Duration", "Flow state", "Functions", "Emotions", "Risk")
    for r in frame.iter_rows(named=True):
        table.add_row(r["id"], r["contact"], r["status"], r["handler"], f"{r['duration_s']:.0f}s",
                      r["flow_state"] or "", ", ".join(r["functions"]), ", ".join(r["top_emotions"]), r["risk"])
    console.print(table)


@live_app.command("calls")
def calls(
    backend: Annotated[str, typer.Option(help="simulated (a demo call center) or twilio (env credentials).")] = "simulated",
    as_json: JsonOption = False,
    n: Annotated[int, typer.Option("--calls", min=1, max=500, help="Simulated calls to start.")] = 5,
) -> None:
    """List live calls with their status, handler, emotions and risk."""
    import convolab.live

    if backend not in BACKENDS:
        fail(f"unknown backend {backend!r}; choose simulated or twilio")
    try:
        if backend == "simulated":
            control = convolab.live.connect("simulated", calls=n, speed=20, scorer=_quiet_scorer)
            time.sleep(0.5)  # let the first messages arrive
        else:
            control = convolab.live.connect("twilio")
            control.refresh()
    except ConvolabError as exc:
        fail(str(exc))
    try:
        _show(control.calls(), as_json)
    finally:
        control.close()


@live_app.command("simulate")
def simulate(
    db: DbOption = None,
    n: Annotated[int, typer.Option("--calls", min=1, max=500, help="Concurrent calls.")] = 5,
    seconds: Annotated[float, typer.Option(min=0.1, max=86_400, help="How long to run.")] = 10.0,
    speed: Annotated[float, typer.Option(min=0.1, max=1000, help="Playback speed (1 = real time).")] = 1.0,
    scoring: Annotated[bool, typer.Option(help="Score messages with the emotion model.")] = True,
    as_json: JsonOption = False,
) -> None:
    """Run the simulated call center for a while; finished calls are saved to the store."""
    import convolab
    import convolab.live

    path = resolve_db(db)
    try:
        lab = convolab.open(path)
    except ConvolabError as exc:
        fail(str(exc))
    kwargs: dict[str, Any] = {} if scoring else {"scorer": _quiet_scorer, "post_call_scoring": False}
    with lab:
        control = convolab.live.connect("simulated", lab=lab, calls=n, speed=speed, replenish=True, **kwargs)
        try:
            time.sleep(seconds)
        except KeyboardInterrupt:
            pass
        finally:
            control.close()
        frame = control.calls()
        _show(frame, as_json)
        if not as_json:
            ended = frame.filter(frame["status"] != "in_progress").height
            console.print(f"{ended} finished calls saved to {path}; {frame.height - ended} still in progress")
