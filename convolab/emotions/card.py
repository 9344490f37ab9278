"""The model card (README.md) written next to a trained emotion model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: Measurements on real conversations, recorded by hand from the bench scripts (optional,
#: kept beside the weights so a retrained card keeps them until they are measured again).
MEASUREMENTS_FILE = "measurements.json"


def _data_section(sources: dict[str, Any]) -> str:
    go = sources.get("goemotions") or {"texts": 43410}
    trained = (
        "all 43,410 Reddit comments of `train.tsv`"
        if go["texts"] >= 43410
        else f"a seeded sample of {go['texts']:,} of the 43,410 Reddit comments of `train.tsv`"
    )
    parts = [
        f"""GoEmotions: Dorottya Demszky, Dana Movshovitz-Attias, Jeongwoo Ko, Alan Cowen,
Gaurav Nemade, Sujith Ravi. "GoEmotions: A Dataset of Fine-Grained Emotions",
ACL 2020. Licensed CC BY 4.0 (attribution required; this card is that attribution).
Trained on {trained}, thresholds and scores on `dev.tsv` (5,426). The test split
was not used."""
    ]
    supplement = sources.get("supplement")
    if supplement:
        parts.append(
            f"""`data/{supplement["file"]}` in the convolab package: {supplement["texts"]} customer-service
sentences written for convolab (billing complaints, waiting, thanks, account details),
scored alone (no context), each repeated {supplement["repeat"]} times in the mix. CC BY 4.0."""
        )
    dialogue = sources.get("dialogue")
    if dialogue:
        parts.append(
            f"""`data/{dialogue["file"]}` in the convolab package: {dialogue["turns"]} customer turns written
for convolab, {dialogue["with_context"]} of them with the agent turn before them (the
rest are first messages), across phone, chat, email and social channels and many
domains (telecom, banking, travel, hotels, restaurants, utilities, retail, software,
insurance, health, public services, fitness, delivery, media): requests,
confirmations, polite apologies and closings labelled neutral; first reports of a
fault, repeated failures, sarcasm and outrage labelled disappointment, annoyance and
anger; thanks, praise, relief, worry and confusion. Composed by
`data/compose_service_dialogue.py` from the hand-written turns in
`data/service_turns.py`; each repeated {dialogue["repeat"]} times in the mix. Written in
our own words, not taken or paraphrased from any dataset. CC BY 4.0.
{dialogue["goemotions_with_context"]:,} GoEmotions comments are shown after a random agent
turn from that file (labels unchanged), so that a context alone never makes a message
neutral."""
        )
    parts.append(
        """Not trained on: the real development sets convolab is measured on
(`bench/real_data/`: Customer Support on Twitter, CC BY-NC-SA 4.0; MAIA-DQE,
CC BY-ND 4.0; MultiWOZ 2.1 and ABCD, MIT). Their licences forbid it (TWCS, MAIA) or
they are the measuring stick (MultiWOZ, ABCD); no sentence of them was copied or
paraphrased into the training data."""
    )
    return "\n\n".join(parts)


def _measurements(out_dir: Path) -> str:
    path = out_dir / MEASUREMENTS_FILE
    if not path.exists():
        return ""
    data = json.loads(path.read_text())
    rows = "\n".join(
        f"| {m['measure']} | {m['value']} | {m.get('bar', '')} | {m.get('split', '')} |"
        for m in data["rows"]
    )
    return f"""
## Real customer conversations ({data["when"]})

Measured with `{data["command"]}` (labels and splits: `bench/real_data/`); the tuning
split was used to choose settings, the held-out split never.

| measure | value | bar | split |
|---|---|---|---|
{rows}
"""


def write_model_card(out_dir: Path, config: dict[str, Any], result: dict[str, Any]) -> Path:
    """Write ``README.md``: base model, every data source and licence, settings and scores."""
    t = config["training"]
    sources = t.get("sources") or {}
    if not sources and t.get("supplement"):  # folders trained before the dialogue data
        sources = {"supplement": t["supplement"]}
    held = config.get("customer_service_heldout") or result.get("customer_service_heldout")
    held_text = (
        f"""
- Held-out customer turns (`data/customer_service_heldout.tsv`, never trained on):
  {held["hits"]}/{held["n"]} have an acceptable top emotion"""
        if held
        else ""
    )
    dialogue_held = config.get("dialogue_heldout") or result.get("dialogue_heldout")
    if dialogue_held:
        held_text += f"""
- Held-out customer turns in context (`data/service_dialogue_heldout.tsv`, never trained
  on): {dialogue_held["polarity"]["hits"]}/{dialogue_held["polarity"]["n"]} get the expected polarity,
  {dialogue_held["top_emotion"]["hits"]}/{dialogue_held["top_emotion"]["n"]} an acceptable top emotion"""
    context = config.get("context")
    context_text = (
        f"""
- Context: a message is scored after the agent turn before it, given as the second
  segment of a text pair (`[CLS] message [SEP] agent turn [SEP]`, the agent turn's last
  {context["max_tokens"]} tokens); the message keeps its positions and token type, and only its
  tokens are pooled, so the context informs the message through attention without the
  agent's words being read as the customer's. Messages with no agent turn before them
  are scored alone."""
        if context
        else "\n- Context: none (each message is scored alone)."
    )
    rows = "\n".join(
        f"| {label} | {result['per_label'][label]:.3f} | {result['thresholds'][label]:.2f} |"
        for label in config["labels"]
    )
    warm = f" (warm start from {t['warm_start']})" if t.get("warm_start") else ""
    text = f"""# convolab-minilm-goemotions

Multi-label emotion classifier over the 28 GoEmotions labels (27 emotions + neutral),
the default emotion model of convolab. It scores a customer message in its context:
the agent turn before it.

## Model

- Base model: `{config["base_model"]}` (Apache-2.0), loaded offline from the PyPI
  package `{config["base_package"]}`; it is **not** included here.
- Adapter: LoRA r={config["lora_r"]}, alpha={config["lora_alpha"]} on the attention and
  feed-forward linears ({", ".join(config["lora_targets"])}), trainable LayerNorms,
  {config["pooling"]}, a linear head with 28 sigmoid outputs
  (`emotions.safetensors`, a few MB).{context_text}
- Decision rule: per-label thresholds in `thresholds.json`, tuned on the dev split only.
- Inference: the scores below are fp32; convolab runs bf16 autocast where the CPU has
  native bfloat16 (`precision="auto"`), which `bench/emotions.py --f1` checks stays
  within 0.01 dev macro-F1.

## Data

{_data_section(sources)}

## Training

- Loss: {t["loss"]}; optimizer: {t["optimizer"]}
- LR {t["lr"]} (adapter, LayerNorms), {t["head_lr"]} (head); batch {t["batch_size"]};
  max length {config["max_length"]}; seed {t["seed"]}; {t.get("train_texts")} training texts
- Steps: {t.get("steps")} ({t.get("epochs_done")} epochs) in {t.get("seconds")} s on
  {t.get("device")}{warm}
- Reproduce: `{t.get("command") or "convolab train-emotions --data ../shared/datasets/goemotions --out DIR"}`

## Dev scores (per-label thresholds tuned on dev, so optimistic for unseen data)

- macro-F1: **{result["macro_f1"]:.4f}**
- micro-F1: **{result["micro_f1"]:.4f}**
- macro-F1 at a flat 0.5 threshold: {result["macro_f1_at_0.5"]:.4f}{held_text}

| label | dev F1 | threshold |
|---|---|---|
{rows}
{_measurements(out_dir)}
## Limitations

Reddit comments and short written service turns are not contact-centre transcripts:
scores on customer messages are indicative. The service data is convolab's own
writing, in English, and covers the common moves of a service conversation, not every
domain or dialect; machine-translated and speech-to-text customer turns read less
reliably. Only the agent turn before a message is read, not the whole conversation, so
frustration that builds over many turns shows in the conversation summaries rather
than in one message. Sarcasm is caught where the words or the context give it away.
Rare labels (grief, relief, nervousness, pride) have few training examples and low
F1. Not for decisions about individuals without human review.
"""
    path = out_dir / "README.md"
    path.write_text(text)
    return path
