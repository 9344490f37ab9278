"""The model card (README.md) written next to a trained emotion model."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_model_card(out_dir: Path, config: dict[str, Any], result: dict[str, Any]) -> Path:
    """Write ``README.md`` with base model, data attribution, settings and dev scores."""
    t = config["training"]
    supplement = t.get("supplement")
    held = config.get("customer_service_heldout") or result.get("customer_service_heldout")
    supplement_text = (
        f"""
Also trained on `data/{supplement["file"]}` in the convolab package: {supplement["texts"]}
customer-service sentences written for convolab (billing complaints, waiting, thanks,
account details), each repeated {supplement["repeat"]} times in the mix, because Reddit
comments rarely sound like a contact centre. Same license (CC BY 4.0)."""
        if supplement
        else ""
    )
    held_text = (
        f"""
- Held-out customer turns (`data/customer_service_heldout.tsv`, never trained on):
  {held["hits"]}/{held["n"]} have an acceptable top emotion"""
        if held
        else ""
    )
    rows = "\n".join(
        f"| {label} | {result['per_label'][label]:.3f} | {result['thresholds'][label]:.2f} |"
        for label in config["labels"]
    )
    text = f"""# convolab-minilm-goemotions

Multi-label emotion classifier over the 28 GoEmotions labels (27 emotions + neutral),
the default emotion model of convolab.

## Model

- Base model: `{config["base_model"]}` (Apache-2.0), loaded offline from the PyPI
  package `{config["base_package"]}`; it is **not** included here.
- Adapter: LoRA r={config["lora_r"]}, alpha={config["lora_alpha"]} on the attention and
  feed-forward linears ({", ".join(config["lora_targets"])}), trainable LayerNorms,
  {config["pooling"]} pooling, a linear head with 28 sigmoid outputs
  (`emotions.safetensors`, a few MB).
- Decision rule: per-label thresholds in `thresholds.json`, tuned on the dev split only.
- Inference: the scores below are fp32; convolab runs bf16 autocast where the CPU has
  native bfloat16 (`precision="auto"`), which `bench/emotions.py --f1` checks stays
  within 0.01 dev macro-F1.

## Data

GoEmotions: Dorottya Demszky, Dana Movshovitz-Attias, Jeongwoo Ko, Alan Cowen,
Gaurav Nemade, Sujith Ravi. "GoEmotions: A Dataset of Fine-Grained Emotions",
ACL 2020. Licensed CC BY 4.0 (attribution required; this card is that attribution).
Trained on `train.tsv` (43,410 Reddit comments), thresholds and scores on `dev.tsv`
(5,426). The test split was not used.{supplement_text}

## Training

- Loss: {t["loss"]}; optimizer: {t["optimizer"]}
- LR {t["lr"]} (adapter, LayerNorms), {t["head_lr"]} (head); batch {t["batch_size"]};
  max length {config["max_length"]}; seed {t["seed"]}
- Steps: {t.get("steps")} ({t.get("epochs_done")} epochs) in {t.get("seconds")} s on
  {t.get("device")}

## Dev scores (per-label thresholds tuned on dev, so optimistic for unseen data)

- macro-F1: **{result["macro_f1"]:.4f}**
- micro-F1: **{result["micro_f1"]:.4f}**
- macro-F1 at a flat 0.5 threshold: {result["macro_f1_at_0.5"]:.4f}{held_text}

| label | dev F1 | threshold |
|---|---|---|
{rows}

## Limitations

Reddit comments are not contact-center transcripts: scores on customer messages
are indicative. Rare labels (grief, relief, nervousness, pride) have few training
examples and low F1. Not for decisions about individuals without human review.
"""
    path = out_dir / "README.md"
    path.write_text(text)
    return path
