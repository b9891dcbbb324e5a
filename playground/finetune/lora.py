"""LoRA fine-tuning of the local 0.5B Qwen model on (question -> answer) items, served by llama.cpp.

transformers reads the GGUF file (dequantised to float32; ~40-80 s) and the result is saved once under
data_dir/hf-cache, which reloads in seconds. peft trains small low-rank matrices beside the attention and MLP
weights, on exactly the prompt a no-retrieval variant sends, with the loss on the answer tokens only. The
adapter is converted to GGUF and checked to load in llama.cpp; the model name
`local:qwen2.5-0.5b+lora:<adapter.gguf>` then works in any variant.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from playground.core.config import VariantConfig
from playground.core.errors import InputError, ModelError
from playground.core.settings import Settings
from playground.finetune import registry
from playground.finetune.chatfile import chat_example
from playground.finetune.convert import convert_adapter
from playground.finetune.data import TrainingItem, load_items
from playground.finetune.progress import Monitor, run_steps
from playground.models.local_models import CATALOGUE, SETUP_COMMAND, model_path
from playground.models.names import lora_model_name, try_parse_model_name

BASE_MODEL = "local:qwen2.5-0.5b"
MIN_ITEMS = 2
TARGETS = {
    "attention": ("q_proj", "k_proj", "v_proj", "o_proj"),
    "attention+mlp": ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
}
Stage = Callable[[str], None]


@dataclass(frozen=True)
class LoraHyper:
    """Epochs: passes over the items. Batch size: items per step. Learning rate: LoRA takes larger ones than
    full fine-tuning (1e-4 to 1e-3). Rank: size of the trained matrices. Alpha: their scale. `max_steps` > 0
    caps the run (for quick tries)."""

    epochs: int = 2
    batch_size: int = 4
    learning_rate: float = 2e-4
    warmup_ratio: float = 0.1
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    targets: Literal["attention", "attention+mlp"] = "attention+mlp"
    max_length: int = 256
    max_steps: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or not 0 < self.learning_rate < 1 or self.rank < 1:
            raise InputError(
                "LoRA hyperparameters out of range: epochs >= 1, batch size >= 1, "
                "0 < learning rate < 1, rank >= 1."
            )

    def steps(self, items: int) -> int:
        per_epoch = math.ceil(items / self.batch_size)
        total = self.epochs * per_epoch
        return min(total, self.max_steps) if self.max_steps > 0 else total


@dataclass(frozen=True)
class TrainedAdapter:
    adapter: Path
    model: str
    items: int
    steps: int
    seconds: float
    losses: list[tuple[int, float]]


def _gguf_key(base_model: str) -> str:
    name = try_parse_model_name(base_model)
    if name is None or not name.is_catalogued or name.lora is not None:
        raise InputError(
            f"LoRA training works on a catalogued local model (e.g. {BASE_MODEL}), not '{base_model}'."
        )
    if not model_path(name.model).exists():
        raise ModelError(f"The model file for '{base_model}' is missing. Run the set-up: {SETUP_COMMAND}.")
    return name.model


def hf_cache_dir(settings: Settings, base_model: str = BASE_MODEL) -> Path:
    key = _gguf_key(base_model)
    return settings.data_dir / "hf-cache" / f"{key}-{CATALOGUE[key].sha256[:12]}"


def ensure_hf_model(settings: Settings, base_model: str = BASE_MODEL, on_stage: Stage | None = None) -> Path:
    """The base model as a transformers folder, converted from the GGUF file the first time (~1 min)."""
    target = hf_cache_dir(settings, base_model)
    if (target / "config.json").exists():
        return target
    if on_stage:
        on_stage("Reading the GGUF model into transformers (first time only, about a minute)")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = model_path(_gguf_key(base_model))
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    model.hf_quantizer = None  # type: ignore[assignment]  # the weights are dequantised already; this lets save_pretrained write them
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    staging = registry.staging_dir(target)
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    staging.replace(target)
    return target


# --- data ---------------------------------------------------------------------------------------------------

Encoded = tuple[list[int], list[int]]


def encode(
    items: Sequence[TrainingItem], tokenizer: Any, variant: VariantConfig, max_length: int
) -> list[Encoded]:
    """(input ids, labels) per item: the chat prompt is masked (-100), only the answer is learnt."""
    encoded = []
    for item in items:
        messages = chat_example(item, variant)["messages"]
        prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=False)
        answer = f"{messages[-1]['content']}{tokenizer.eos_token or '<|im_end|>'}\n"
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        answer_ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
        ids = (prompt_ids + answer_ids)[-max_length:]
        labels = ([-100] * len(prompt_ids) + answer_ids)[-max_length:]
        encoded.append((ids, labels))
    return encoded


def _batches(encoded: list[Encoded], hyper: LoraHyper) -> list[list[Encoded]]:
    order, rng, batches = list(range(len(encoded))), random.Random(hyper.seed), []
    for _ in range(hyper.epochs):
        rng.shuffle(order)
        batches += [
            [encoded[i] for i in order[s : s + hyper.batch_size]]
            for s in range(0, len(order), hyper.batch_size)
        ]
    return batches[: hyper.steps(len(encoded))]


def _tensors(batch: list[Encoded], pad_id: int) -> tuple[Any, Any, Any]:
    import torch

    width = max(len(ids) for ids, _ in batch)
    ids = torch.tensor([i + [pad_id] * (width - len(i)) for i, _ in batch])
    labels = torch.tensor([lab + [-100] * (width - len(lab)) for _, lab in batch])
    mask = torch.tensor([[1] * len(i) + [0] * (width - len(i)) for i, _ in batch])
    return ids, labels, mask


# --- training -----------------------------------------------------------------------------------------------


def _peft_model(base_dir: Path, hyper: LoraHyper) -> tuple[Any, Any]:
    try:
        import torch
        from peft import LoraConfig, get_peft_model
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as err:
        raise ModelError(
            f"LoRA training needs peft and transformers ({err}). Run the set-up: make setup."
        ) from None
    torch.manual_seed(hyper.seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    config = LoraConfig(
        r=hyper.rank,
        lora_alpha=hyper.alpha,
        lora_dropout=hyper.dropout,
        task_type="CAUSAL_LM",
        target_modules=list(TARGETS[hyper.targets]),
    )
    return get_peft_model(model, config), tokenizer


def _answer_loss(model: Any, ids: Any, labels: Any, mask: Any) -> Any:
    """Cross-entropy on the answer tokens only: the 136M-weight vocabulary projection runs on those alone."""
    import torch.nn.functional as F

    causal = model.get_base_model()
    hidden = causal.model(input_ids=ids, attention_mask=mask).last_hidden_state[:, :-1]
    targets = labels[:, 1:]
    keep = targets != -100
    return F.cross_entropy(causal.lm_head(hidden[keep]).float(), targets[keep])


def _train(model: Any, batches: list[list[Encoded]], pad_id: int, hyper: LoraHyper, monitor: Monitor) -> None:
    import torch
    from transformers import get_linear_schedule_with_warmup

    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=hyper.learning_rate)
    schedule = get_linear_schedule_with_warmup(
        optimiser, math.ceil(hyper.warmup_ratio * len(batches)), len(batches)
    )
    model.train()

    def step(i: int) -> float:
        loss = _answer_loss(model, *_tensors(batches[i - 1], pad_id))
        if torch.isfinite(loss):
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimiser.step()
            schedule.step()
        optimiser.zero_grad()
        return float(loss.item())

    run_steps(step, len(batches), monitor)


def check_adapter_loads(base_model: str, adapter: Path) -> None:
    """Load base + adapter in llama.cpp once, so a broken adapter fails the job instead of a later variant."""
    from llama_cpp import Llama

    try:
        llm = Llama(
            model_path=str(model_path(_gguf_key(base_model))),
            lora_path=str(adapter),
            n_ctx=256,
            verbose=False,
        )
    except (ValueError, RuntimeError, OSError) as err:
        raise ModelError(
            f"llama.cpp could not load the trained adapter ({err}). The previous models are unchanged."
        ) from None
    llm.close()


def _stage(on_stage: Stage | None, text: str) -> None:
    if on_stage:
        on_stage(text)


def train_lora(
    items: Sequence[TrainingItem],
    out_dir: Path,
    settings: Settings,
    hyper: LoraHyper = LoraHyper(),
    *,
    base_model: str = BASE_MODEL,
    monitor: Monitor | None = None,
    on_stage: Stage | None = None,
    variant: VariantConfig | None = None,
    meta: dict[str, Any] | None = None,
) -> TrainedAdapter:
    """Train, convert and check a LoRA adapter; it lands in `out_dir` only when every step succeeded."""
    if len(items) < MIN_ITEMS:
        raise InputError(
            f"Only {len(items)} training item(s): LoRA needs at least {MIN_ITEMS}, and 50-150 good "
            "ones show an effect. Generate more training data."
        )
    monitor, started = monitor or Monitor(), time.perf_counter()
    variant = variant or VariantConfig.model_validate({"model": base_model})
    base_dir = ensure_hf_model(settings, base_model, on_stage)
    out_dir = Path(out_dir).resolve()
    staging = registry.staging_dir(out_dir)
    try:
        _stage(on_stage, "Loading the model for training")
        model, tokenizer = _peft_model(base_dir, hyper)
        batches = _batches(encode(items, tokenizer, variant, hyper.max_length), hyper)
        _stage(on_stage, f"Training: {len(batches)} steps")
        _train(model, batches, tokenizer.pad_token_id or 0, hyper, monitor)
        _stage(on_stage, "Converting the adapter to GGUF")
        model.save_pretrained(staging / "peft")
        adapter = convert_adapter(staging / "peft", base_dir, staging / registry.ADAPTER_FILE)
        _stage(on_stage, "Checking that llama.cpp loads the adapter")
        check_adapter_loads(base_model, adapter)
        shutil.rmtree(staging / "peft", ignore_errors=True)
        seconds = round(time.perf_counter() - started, 1)
        info = {
            "kind": "lora",
            "base_model": base_model,
            "items": len(items),
            "hyper": asdict(hyper),
            "seconds": seconds,
            "losses": monitor.losses,
            "system_prompt": variant.system_prompt,
        } | (meta or {})
        registry.install(staging, out_dir, info)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    final = out_dir / registry.ADAPTER_FILE
    return TrainedAdapter(
        final,
        str(lora_model_name(base_model, final)),
        len(items),
        len(batches),
        seconds,
        list(monitor.losses),
    )


def run_job(
    params: dict[str, Any], monitor: Monitor, settings: Settings, on_stage: Stage | None = None
) -> dict[str, Any]:
    """Worker entry: params hold `items` (TrainingItems JSONL), `name`, `hyper`, `base_model`, `meta`."""
    items = load_items(Path(params["items"]))
    out_dir = registry.models_dir(settings) / registry.check_name(params["name"])
    result = train_lora(
        items,
        out_dir,
        settings,
        LoraHyper(**params.get("hyper", {})),
        base_model=params.get("base_model", BASE_MODEL),
        monitor=monitor,
        on_stage=on_stage,
        meta=params.get("meta"),
    )
    return {
        "model": result.model,
        "path": str(result.adapter),
        "seconds": result.seconds,
        "steps": result.steps,
    }
