"""Fine-tune the packaged all-MiniLM-L6-v2 embedder on (question, passage) pairs.

MultipleNegativesRankingLoss through the sentence-transformers trainer: in each batch, a question's own
passage is the positive and every other passage a negative, so only positive pairs are needed. Batches never
hold the same passage twice (a duplicate would be a false negative). Budget ~5-15 pairs per second on 2 CPU
cores.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from playground.core.errors import InputError, ModelError
from playground.core.settings import Settings
from playground.finetune import registry
from playground.finetune.progress import Monitor
from playground.models.names import st_model_name
from playground.models.st_embedder import packaged_minilm_path

BASE_EMBEDDER = "local:all-minilm-l6-v2"
MIN_PAIRS = 4


@dataclass(frozen=True)
class EmbedHyper:
    """Epochs: passes over the pairs. Batch size: pairs per step (also the number of negatives each question
    sees, so larger is usually better). Learning rate: step size. Warm-up ratio: share of steps that ramp the
    learning rate up from zero."""

    epochs: int = 1
    batch_size: int = 16
    learning_rate: float = 2e-5
    warmup_ratio: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        if (
            self.epochs < 1
            or self.batch_size < 2
            or not 0 < self.learning_rate < 1
            or not 0 <= self.warmup_ratio < 1
        ):
            raise InputError(
                "Embedding hyperparameters out of range: epochs >= 1, batch size >= 2, "
                "0 < learning rate < 1, 0 <= warm-up ratio < 1."
            )


@dataclass(frozen=True)
class TrainedEmbedder:
    path: Path
    embedder: str
    pairs: int
    steps: int
    seconds: float
    losses: list[tuple[int, float]]


def steps_for(pairs: int, hyper: EmbedHyper) -> int:
    return hyper.epochs * max(1, -(-pairs // hyper.batch_size))


def _import_trainer() -> Any:
    try:
        import sentence_transformers as st_lib
        from datasets import Dataset
    except ImportError as err:
        raise ModelError(
            f"Embedding training needs sentence-transformers and datasets ({err}). Run the set-up: "
            "make setup."
        ) from None
    return st_lib, Dataset


def _callback(monitor: Monitor, total: int) -> Any:
    from transformers import TrainerCallback

    class LossCallback(TrainerCallback):  # type: ignore[misc]
        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            monitor.check(state.global_step, total)

        def on_log(
            self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
        ) -> None:
            if logs and "loss" in logs:
                monitor.record(state.global_step, float(logs["loss"]), total)

    return LossCallback()


def _arguments(st_lib: Any, workdir: Path, hyper: EmbedHyper) -> Any:
    from sentence_transformers.base.sampler import BatchSamplers

    return st_lib.SentenceTransformerTrainingArguments(
        output_dir=str(workdir),
        num_train_epochs=hyper.epochs,
        per_device_train_batch_size=hyper.batch_size,
        learning_rate=hyper.learning_rate,
        warmup_steps=hyper.warmup_ratio,
        seed=hyper.seed,
        logging_steps=1,
        logging_nan_inf_filter=False,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
        dataloader_num_workers=0,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
    )


def _check_pairs(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    clean = [(q.strip(), p.strip()) for q, p in pairs if q.strip() and p.strip()]
    if len(clean) < MIN_PAIRS:
        raise InputError(
            f"Only {len(clean)} (question, passage) pair(s): embedding training needs at least "
            f"{MIN_PAIRS}, and a few hundred show a clear effect. Generate more training data."
        )
    return clean


def train_embedder(
    pairs: Sequence[tuple[str, str]],
    out_dir: Path,
    hyper: EmbedHyper = EmbedHyper(),
    *,
    base_path: Path | None = None,
    monitor: Monitor | None = None,
    meta: dict[str, Any] | None = None,
) -> TrainedEmbedder:
    """Train on the pairs and save to `out_dir` (only when training finished; a failure leaves it as it was).

    Returns the `st:<out_dir>` embedder name to use in a variant.
    """
    clean, monitor = _check_pairs(pairs), monitor or Monitor()
    st_lib, dataset_cls = _import_trainer()
    from transformers import PrinterCallback

    started, total = time.perf_counter(), steps_for(len(clean), hyper)
    out_dir = Path(out_dir).resolve()
    staging = registry.staging_dir(out_dir)
    try:
        model = st_lib.SentenceTransformer(str(base_path or packaged_minilm_path()), device="cpu")
        data = dataset_cls.from_dict({"anchor": [q for q, _ in clean], "positive": [p for _, p in clean]})
        loss = st_lib.sentence_transformer.losses.MultipleNegativesRankingLoss(model)
        trainer = st_lib.SentenceTransformerTrainer(
            model=model,
            args=_arguments(st_lib, staging / "trainer", hyper),
            train_dataset=data,
            loss=loss,
            callbacks=[_callback(monitor, total)],
        )
        trainer.remove_callback(PrinterCallback)  # the monitor reports the loss; no dicts on stdout
        trainer.train()
        shutil.rmtree(staging / "trainer", ignore_errors=True)
        model.save(str(staging))
        seconds = round(time.perf_counter() - started, 1)
        info = {
            "kind": "embeddings",
            "base_model": BASE_EMBEDDER,
            "pairs": len(clean),
            "hyper": asdict(hyper),
            "seconds": seconds,
            "losses": monitor.losses,
        } | (meta or {})
        registry.install(staging, out_dir, info)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    name = str(st_model_name(out_dir))
    return TrainedEmbedder(out_dir, name, len(clean), total, seconds, list(monitor.losses))


def run_job(
    params: dict[str, Any],
    monitor: Monitor,
    settings: Settings,
    on_stage: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Worker entry: params hold `pairs` (a JSONL file of {"anchor", "positive"}), `name`, `hyper`, `meta`."""
    import json

    lines = Path(params["pairs"]).read_text(encoding="utf-8").splitlines()
    pairs = [(r["anchor"], r["positive"]) for r in map(json.loads, filter(str.strip, lines))]
    out_dir = registry.models_dir(settings) / registry.check_name(params["name"])
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if on_stage:
        on_stage(f"Training on {len(pairs)} pairs")
    result = train_embedder(
        pairs, out_dir, EmbedHyper(**params.get("hyper", {})), monitor=monitor, meta=params.get("meta")
    )
    return {
        "model": result.embedder,
        "path": str(result.path),
        "seconds": result.seconds,
        "steps": result.steps,
    }
