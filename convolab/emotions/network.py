"""The emotion network: all-MiniLM-L6-v2 + LoRA adapter, mean pooling, linear head.

Shared by training and inference so both build exactly the same graph.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from convolab.emotions._base import require

#: Linear layers of each BERT block that get a LoRA adapter (attention + FFN).
LORA_TARGETS = ["query", "key", "value", "dense"]


def build_network(
    base_dir: Path, n_labels: int, *, r: int = 16, alpha: int = 32, dropout: float = 0.1
) -> Any:
    """An ``nn.Module`` mapping ``input_ids, attention_mask[, token_type_ids]`` to label logits."""
    torch = require("torch")
    transformers = require("transformers")
    peft = require("peft")

    encoder = transformers.AutoModel.from_pretrained(str(base_dir), local_files_only=True)
    config = peft.LoraConfig(
        r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=LORA_TARGETS, bias="none"
    )
    encoder = peft.get_peft_model(encoder, config)
    hidden = encoder.base_model.model.config.hidden_size

    class EmotionNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.dropout = torch.nn.Dropout(0.1)
            self.head = torch.nn.Linear(hidden, n_labels)

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any = None) -> Any:
            out = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            # Mean pooling (the base model was trained as a sentence embedder this way) over
            # the message only: type-1 tokens are its context, which it attends to but
            # whose words are not the customer's (see convolab.emotions.inputs).
            pool = attention_mask if token_type_ids is None else attention_mask * (token_type_ids == 0)
            mask = pool.unsqueeze(-1).to(out.last_hidden_state.dtype)
            pooled = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-6)
            return self.head(self.dropout(pooled))

    net = EmotionNet()
    # LayerNorms are cheap (a few KB) and help the adapted features settle.
    for name, param in net.named_parameters():
        param.requires_grad = "lora_" in name or name.startswith("head.") or "LayerNorm" in name
    return net


def trainable_state(net: Any) -> dict[str, Any]:
    """Only the parameters we train and ship (adapter, LayerNorms, head)."""
    return {
        name: param.detach().cpu().contiguous()
        for name, param in net.named_parameters()
        if param.requires_grad
    }
