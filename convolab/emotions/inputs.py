"""How a customer turn and its context become the network's input.

Shared by training and inference so both feed exactly the same tokens.

A message is scored **in its context**: the agent turn before it. The input is a
standard BERT text pair with the *message first*::

    [CLS] message [SEP] agent turn before it [SEP]
    type:   0 ... 0          1 ... 1

and the network mean-pools only the type-0 tokens (the message). Putting the
message first keeps its tokens at the same positions and token type as a
message scored alone (``[CLS] message [SEP]``, what GoEmotions examples look
like), so what the model learned from Reddit comments carries over unchanged;
the context reaches the pooled vector only through attention. So "No." after
"Is there anything else?" and "No." after "Did the reset fix it?" can score
differently, while the agent's own words ("I'm so sorry about that") are never
averaged into the customer's emotions.

The message keeps its first :data:`MAX_LENGTH` tokens (as before contexts
existed); the context keeps its *last* ``MAX_CONTEXT_LENGTH - 1`` tokens (and a ``[SEP]``),
because the end of an agent turn is usually what the customer answers ("...
is there anything else I can help with?").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from convolab.emotions._base import MAX_LENGTH

__all__ = ["MAX_CONTEXT_LENGTH", "Encoded", "collate", "encode"]

#: Tokens of the context segment (the end of the agent turn before the message, plus [SEP]).
MAX_CONTEXT_LENGTH = 48

#: One encoded input: token ids and token types (0 = message, 1 = context).
Encoded = tuple[list[int], list[int]]


def _clean(value: str | None) -> str:
    return "" if value is None else str(value).strip()


def encode(
    tokenizer: Any,
    texts: Sequence[str | None],
    contexts: Sequence[str | None] | None = None,
    *,
    max_length: int = MAX_LENGTH,
    max_context_length: int = MAX_CONTEXT_LENGTH,
) -> list[Encoded]:
    """Token ids and token types for each message, with its context when there is one.

    Parameters
    ----------
    tokenizer
        The base model's (fast) tokenizer.
    texts
        The messages (``None`` is empty text).
    contexts
        The agent turn before each message, same length as ``texts``; ``None`` (or
        an empty entry) scores the message alone.
    max_length
        Tokens kept from the start of each message, special tokens included.
    max_context_length
        Tokens of the context segment: the context's last ``max_context_length - 1``
        tokens and its closing ``[SEP]`` (0 ignores contexts).

    Returns
    -------
    list of (ids, types)
    """
    texts = ["" if t is None else str(t) for t in texts]
    encoded = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    out: list[Encoded] = [(ids, [0] * len(ids)) for ids in encoded]
    if contexts is None or max_context_length <= 0:
        return out
    if len(contexts) != len(texts):
        raise ValueError(f"{len(contexts)} contexts for {len(texts)} texts")
    which = [i for i, c in enumerate(contexts) if _clean(c)]
    if not which:
        return out
    sep = tokenizer.sep_token_id
    pieces = tokenizer([_clean(contexts[i]) for i in which], add_special_tokens=False)["input_ids"]
    for i, piece in zip(which, pieces, strict=True):
        tail = piece[-(max_context_length - 1) :] if max_context_length > 1 else []
        if not tail:
            continue
        ids, types = out[i]
        out[i] = (ids + tail + [sep], types + [1] * (len(tail) + 1))
    return out


def collate(torch: Any, batch: Sequence[Encoded], pad_id: int) -> tuple[Any, Any, Any]:
    """Pad a batch to its longest input: ``input_ids, attention_mask, token_type_ids``."""
    width = max(len(ids) for ids, _ in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    types = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (ids, kinds) in enumerate(batch):
        input_ids[row, : len(ids)] = torch.tensor(ids)
        mask[row, : len(ids)] = 1
        types[row, : len(kinds)] = torch.tensor(kinds)
    return input_ids, mask, types
