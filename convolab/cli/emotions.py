"""CLI commands for emotion models: ``train-emotions``, ``eval-emotions``, ``score``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from convolab.cli._app import (
    DbOption,
    JsonOption,
    app,
    console,
    fail,
    open_store,
    print_json,
    progress_enabled,
)
from convolab.errors import ConvolabError

PrecisionOption = Annotated[
    str,
    typer.Option(
        "--precision", help="auto (bf16 where the CPU has it, else fp32), fp32, bf16 or int8."
    ),
]


@app.command("train-emotions")
def train_emotions_command(
    data: Annotated[
        Path, typer.Option("--data", help="Folder with GoEmotions train.tsv and dev.tsv.")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Folder to write the adapter, head and card to.")
    ],
    epochs: Annotated[float, typer.Option("--epochs", help="Passes over the training data.")] = 2.3,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 13,
    supplement: Annotated[
        bool,
        typer.Option(
            "--supplement/--no-supplement",
            help="Mix in convolab's customer-service sentences (on for the shipped model).",
        ),
    ] = True,
) -> None:
    """Adapt all-MiniLM-L6-v2 to the 28 GoEmotions labels (LoRA + head; CPU is fine).

    The defaults train from scratch on GoEmotions and convolab's service data (about
    40 minutes on 2 free CPU cores); the shipped model's card gives the command it
    was trained with.
    """
    for name in ("train.tsv", "dev.tsv"):
        if not (data / name).is_file():
            fail(f"{data / name} not found: --data must hold GoEmotions train.tsv and dev.tsv")
    from convolab.emotions.train import SUPPLEMENT, train_emotions

    try:
        result = train_emotions(
            data,
            out,
            epochs=epochs,
            seed=seed,
            supplement=SUPPLEMENT if supplement else None,
            log=console.print,
        )
    except ConvolabError as exc:
        fail(str(exc))
    console.print(
        f"dev macro-F1 {result['macro_f1']:.4f}, micro-F1 {result['micro_f1']:.4f}; "
        f"model written to {out}"
    )


@app.command("eval-emotions")
def eval_emotions_command(
    data: Annotated[Path, typer.Option("--data", help="GoEmotions-format TSV (e.g. dev.tsv).")],
    model: Annotated[
        str | None, typer.Option("--model", help="Model folder or id (default: shipped).")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the first N lines.")
    ] = None,
    precision: PrecisionOption = "auto",
    as_json: JsonOption = False,
) -> None:
    """Macro-F1, micro-F1 and per-label F1 of an emotion model on a TSV."""
    if not data.is_file():
        fail(f"{data} not found")
    from convolab.emotions.evaluation import evaluate
    from convolab.emotions.model import load_model

    try:
        result = evaluate(data, model=load_model(model, precision=precision), limit=limit)
    except ConvolabError as exc:
        fail(str(exc))
    if as_json:
        print_json(result)
        return
    from rich.table import Table

    table = Table(title=f"{result['model_id']} on {data.name} (n={result['n']})")
    table.add_column("label")
    table.add_column("F1", justify="right")
    for label, f1 in result["per_label"].items():
        table.add_row(label, f"{f1:.3f}")
    console.print(table)
    console.print(f"macro-F1 {result['macro_f1']:.4f}  micro-F1 {result['micro_f1']:.4f}")


@app.command("score")
def score_command(
    db: DbOption = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Model folder or id (default: shipped).")
    ] = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Texts per forward pass.")
    ] = 64,
    include_agent: Annotated[
        bool, typer.Option("--include-agent", help="Also score agent messages.")
    ] = False,
    precision: PrecisionOption = "auto",
) -> None:
    """Score the store's customer messages with an emotion model (only new texts)."""
    workbench = open_store(db)
    from convolab.emotions.model import load_model
    from convolab.emotions.scoring import score_store

    try:
        emotion_model = load_model(model, precision=precision)
    except ConvolabError as exc:
        workbench.close()
        fail(str(exc))
    try:
        if progress_enabled():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=console,
            ) as bar:
                task = bar.add_task("scoring messages", total=None)

                def report(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                result = score_store(
                    workbench,
                    model=emotion_model,
                    batch_size=batch_size,
                    include_agent=include_agent,
                    progress=report,
                )
        else:
            result = score_store(
                workbench,
                model=emotion_model,
                batch_size=batch_size,
                include_agent=include_agent,
            )
    except ConvolabError as exc:
        fail(str(exc))
    finally:
        workbench.close()
    console.print(
        f"scored {result['scored']} texts, {result['skipped']} already scored, "
        f"{result['conversations']} conversations summarised with {result['model_id']}"
    )
