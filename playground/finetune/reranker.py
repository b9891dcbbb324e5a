"""Train a cross-encoder reranker from the packaged all-MiniLM-L6-v2 on (question, passage, relevant?) pairs.

Each question's evidence passage is a positive and its hard negatives (BM25 and dense, from
`playground.finetune.reranker_data`) are negatives. Two losses:

    bce        each pair on its own: binary cross-entropy on one logit, the positives weighted by the
               negatives-to-positives ratio so both count equally
    listwise   each question's evidence against its hard negatives and a few other questions' passages in the
               batch, one softmax over them (sentence-transformers' MultipleNegativesRankingLoss): it learns the
               order a reranker is used for, and makes more of few questions

`layers` keeps N of the base's 6 transformer layers (the first N - 1 and the last, see `_keep_layers`): a
smaller model that reranks faster (half the layers, about half the time), but on SciFact a 2-layer model learned
nothing, and a model that scores every passage alike is not saved (`_check_learned`). `pooling` says what the
new head reads: the first token, as a Hugging Face sequence classifier does, or the mean of all tokens, as the
packaged MiniLM was trained to be read (a sentence-transformers modular CrossEncoder). The result is a
sentence-transformers `CrossEncoder` folder that a variant uses as `ce:<folder>` (the page trains it in a background job,
`playground.finetune.reranker_job`). Budget ~5 pairs per second on 2 CPU cores at max_length 256 and 6 layers (shorter
and shallower is faster: the cost grows with the tokens per pair and the layers).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from playground.core.errors import InputError, ModelError
from playground.finetune import registry
from playground.finetune.embeddings import _callback
from playground.finetune.progress import Monitor
from playground.finetune.reranker_data import RerankExample, in_windows
from playground.models.names import cross_encoder_name
from playground.models.st_embedder import packaged_minilm_path

BASE_RERANKER = "all-MiniLM-L6-v2 (packaged), new one-logit head"
MIN_QUESTIONS = 2
Loss = Literal["bce", "listwise"]
LOSSES: tuple[Loss, ...] = ("bce", "listwise")
Pooling = Literal["cls", "mean"]
POOLINGS: tuple[Pooling, ...] = ("cls", "mean")
# The new head's weights, which start random: a classifier's pooler and classifier, or the mean-pooled model's
# Dense module ("model.2.linear.weight" as the trainer names it, through the loss)
HEAD_PARAMETERS = r"\.(classifier|pooler)\.|\d\.linear\."
IN_BATCH_NEGATIVES = 4  # other questions' passages each question is also ranked against (listwise)


@dataclass(frozen=True)
class RerankHyper:
    """Epochs: passes over the pairs. Batch size: pairs per step. Learning rate: step size of the encoder; head
    learning rate: that of the new scoring head, which starts from random weights (with the encoder's small rate
    it needs thousands of steps before the encoder gets a useful signal). Warm-up ratio: share of steps that ramp
    the rates up. Negatives: hard negatives per question. Max length: tokens of question + passage the model
    reads at once (a longer training passage is cut there unless Windows; reranking reads it in windows). Loss:
    `bce` or `listwise` (see the module). Layers: keep N of the base's transformer layers, the first N - 1 and
    the last (0 keeps all). Pooling: what the head reads, the first token (`cls`, a Hugging Face sequence
    classifier) or the mean of all tokens (`mean`, as the packaged MiniLM was trained to be read). Windows: show a
    training passage longer than max length as its window holding the most of the question's words, as reranking
    reads it, instead of its start."""

    epochs: int = 1
    batch_size: int = 16
    learning_rate: float = 5e-5
    head_learning_rate: float = 1e-3
    warmup_ratio: float = 0.1
    negatives: int = 4
    max_length: int = 256
    seed: int = 0
    loss: Loss = "bce"
    layers: int = 0
    pooling: Pooling = "cls"
    windows: bool = False

    def __post_init__(self) -> None:
        if (
            self.epochs < 1
            or self.batch_size < 1
            or not 0 < self.learning_rate < 1
            or not 0 < self.head_learning_rate < 1
            or not 0 <= self.warmup_ratio < 1
            or self.negatives < 1
            or not 16 <= self.max_length <= 512
            or self.loss not in LOSSES
            or self.layers < 0
            or self.pooling not in POOLINGS
        ):
            raise InputError(
                "Reranker hyperparameters out of range: epochs >= 1, batch size >= 1, 0 < learning rates < 1, "
                f"0 <= warm-up ratio < 1, negatives >= 1, 16 <= max length <= 512, loss one of {LOSSES}, "
                f"layers >= 0 (0 keeps all), pooling one of {POOLINGS}."
            )


@dataclass(frozen=True)
class TrainedReranker:
    path: Path
    reranker: str
    questions: int
    pairs: int
    steps: int
    seconds: float
    losses: list[tuple[int, float]]


def labelled_pairs(examples: Sequence[RerankExample]) -> list[tuple[str, str, float]]:
    return [
        (e.question, passage, label)
        for e in examples
        for passages, label in ((e.positives, 1.0), (e.negatives, 0.0))
        for passage in passages
    ]


def ranked_lists(examples: Sequence[RerankExample], negatives: int) -> list[tuple[str, ...]]:
    """(question, evidence, negative_1 .. negative_n) per evidence passage, for the listwise loss: every row
    needs the same number of negatives, so a question with fewer repeats its own."""
    return [
        (e.question, positive, *(e.negatives[i % len(e.negatives)] for i in range(negatives)))
        for e in examples
        for positive in e.positives
    ]


def steps_for(pairs: int, hyper: RerankHyper) -> int:
    """Optimizer steps for `pairs` labelled pairs (bce), or `pairs` ranked lists (listwise)."""
    return hyper.epochs * max(1, -(-pairs // hyper.batch_size))


def _usable(examples: Sequence[RerankExample]) -> list[RerankExample]:
    usable = [e for e in examples if e.question.strip() and e.positives and e.negatives]
    if len(usable) < MIN_QUESTIONS:
        raise InputError(
            f"Only {len(usable)} question(s) with both an evidence passage and a negative: reranker training "
            f"needs at least {MIN_QUESTIONS}, and a few hundred show a clear effect. Add questions whose "
            "evidence is found in the corpus, generate more training data, or take sentences out of more "
            "passages as questions (a passage needs three sentences or more)."
        )
    return usable


def _import() -> tuple[Any, Any]:
    try:
        from datasets import Dataset
        from sentence_transformers import cross_encoder
    except ImportError as err:
        raise ModelError(
            f"Reranker training needs sentence-transformers and datasets ({err}). Run the set-up: make setup."
        ) from None
    return cross_encoder, Dataset


def _keep_layers(model: Any, layers: int) -> None:
    """Keep `layers` transformer layers: the first `layers - 1` and the last (the config says how many, so the
    folder reloads). The last one stays because the head reads the first token, and the packaged MiniLM was
    trained with mean pooling: only its last layer makes that token differ from one pair to the next (spread
    across SciFact pairs 0.13 with layers 1 and 6, 0.002 with layers 1 and 2). Cut to its first layers, every
    pair looks alike to the head, and the model learns a constant score."""
    import torch

    encoder = model.model.base_model.encoder
    if layers and layers < len(encoder.layer):
        encoder.layer = torch.nn.ModuleList([*encoder.layer[: layers - 1], encoder.layer[-1]])
        model.model.config.num_hidden_layers = layers


def _mean_pooled(cross_encoder: Any, path: Path, max_length: int) -> Any:
    """The encoder's tokens, averaged, then one linear logit: sentence-transformers' modular CrossEncoder, which
    saves and loads like any other (modules.json)."""
    from sentence_transformers.sentence_transformer.modules import Pooling

    modules = cross_encoder.modules
    encoder = modules.Transformer(str(path), transformer_task="feature-extraction", max_seq_length=max_length)
    width = encoder.get_embedding_dimension()
    head = modules.Dense(width, 1, activation_function=None, module_output_name="scores")
    return cross_encoder.CrossEncoder(modules=[encoder, Pooling(width, "mean"), head], device="cpu")


def _is_cross_encoder(path: Path) -> bool:
    from playground.models.cross_encoder import check_folder

    try:
        check_folder(path)
    except ModelError:
        return False
    return True


def _load_base(path: Path, max_length: int, pooling: Pooling = "cls") -> Any:
    """The model to train: an earlier reranker to train on, or a CrossEncoder with one logit (a new, untrained
    head on a plain encoder, reading the first token or the mean of all of them)."""
    cross_encoder, _ = _import()
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    if not path.is_dir():
        raise ModelError(f"No model folder at {path}: give the folder of an earlier reranker or embedder.")
    try:
        if pooling == "mean" and not _is_cross_encoder(path):
            return _mean_pooled(cross_encoder, path, max_length)
        return cross_encoder.CrossEncoder(
            str(path), device="cpu", num_labels=1, max_length=max_length, local_files_only=True
        )
    except (OSError, ValueError, KeyError) as err:
        raise ModelError(
            f"Could not start training from {path} ({err}). Give a sentence-transformers model folder, such "
            "as a reranker trained earlier."
        ) from None


def _arguments(cross_encoder: Any, workdir: Path, hyper: RerankHyper) -> Any:
    from sentence_transformers.base.sampler import BatchSamplers

    # listwise: no question twice in a batch, or its own passage would be one of its in-batch negatives
    sampler = BatchSamplers.NO_DUPLICATES if hyper.loss == "listwise" else BatchSamplers.BATCH_SAMPLER
    return cross_encoder.CrossEncoderTrainingArguments(
        batch_sampler=sampler,
        output_dir=str(workdir),
        num_train_epochs=hyper.epochs,
        per_device_train_batch_size=hyper.batch_size,
        learning_rate=hyper.learning_rate,
        learning_rate_mapping={HEAD_PARAMETERS: hyper.head_learning_rate},
        warmup_steps=hyper.warmup_ratio,
        seed=hyper.seed,
        logging_steps=1,
        logging_nan_inf_filter=False,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        use_cpu=True,
        dataloader_num_workers=0,
    )


def _bce(model: Any, examples: Sequence[RerankExample]) -> tuple[dict[str, list[Any]], Any]:
    import torch
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    pairs = labelled_pairs(examples)
    positives = sum(1 for *_, y in pairs if y > 0)
    columns: dict[str, list[Any]] = {
        "query": [q for q, _, _ in pairs],
        "passage": [p for _, p, _ in pairs],
        "label": [y for *_, y in pairs],
    }
    return columns, BinaryCrossEntropyLoss(
        model, pos_weight=torch.tensor((len(pairs) - positives) / positives)
    )


def _listwise(
    model: Any, examples: Sequence[RerankExample], negatives: int
) -> tuple[dict[str, list[Any]], Any]:
    from sentence_transformers.cross_encoder.losses import MultipleNegativesRankingLoss

    rows = ranked_lists(examples, negatives)
    names = ["query", "positive", *(f"negative_{i}" for i in range(1, negatives + 1))]
    columns = {name: [row[i] for row in rows] for i, name in enumerate(names)}
    return columns, MultipleNegativesRankingLoss(model, num_negatives=IN_BATCH_NEGATIVES)


def training_rows(examples: Sequence[RerankExample], hyper: RerankHyper) -> int:
    """What one epoch goes through: labelled pairs (bce) or ranked lists (listwise)."""
    if hyper.loss == "listwise":
        return sum(len(e.positives) for e in examples)
    return sum(e.pairs for e in examples)


@dataclass(frozen=True)
class PlannedSize:
    """What a run on `questions` questions (one evidence passage each) will do, before any is mined."""

    steps: int
    pairs_read: int  # question-passage pairs the model reads over all epochs


def planned_size(questions: int, hyper: RerankHyper) -> PlannedSize:
    """As `training_rows` counts it, from a count: a listwise step also reads a few other questions' passages."""
    listwise = hyper.loss == "listwise"
    rows = questions if listwise else questions * (1 + hyper.negatives)
    per_question = 1 + hyper.negatives + (IN_BATCH_NEGATIVES if listwise else 0)
    return PlannedSize(steps_for(rows, hyper), hyper.epochs * questions * per_question)


def _fit(
    examples: Sequence[RerankExample], staging: Path, hyper: RerankHyper, base: Path, monitor: Monitor
) -> Any:
    from transformers import PrinterCallback

    cross_encoder, dataset_cls = _import()
    model = _load_base(base, hyper.max_length, hyper.pooling)
    _keep_layers(model, hyper.layers)
    if hyper.windows:
        examples = in_windows(examples, model.tokenizer, hyper.max_length)
    if hyper.loss == "listwise":
        columns, loss = _listwise(model, examples, hyper.negatives)
    else:
        columns, loss = _bce(model, examples)
    trainer = cross_encoder.CrossEncoderTrainer(
        model=model,
        args=_arguments(cross_encoder, staging / "trainer", hyper),
        train_dataset=dataset_cls.from_dict(columns),
        loss=loss,
        callbacks=[_callback(monitor, steps_for(training_rows(examples, hyper), hyper))],
    )
    trainer.remove_callback(PrinterCallback)  # the monitor reports the loss; no dicts on stdout
    trainer.train()
    shutil.rmtree(staging / "trainer", ignore_errors=True)
    return model


LEARNED_NOTHING = 1e-3  # spread of the scores (0-1) below which every passage looks the same to a model


def _check_learned(model: Any, pairs: Sequence[tuple[str, str, float]], hyper: RerankHyper) -> None:
    """A model that gives every passage the same score cannot rerank: say so instead of saving it (a 2-layer
    model cut from the packaged MiniLM once trained on SciFact into a constant, 0.504 for every pair)."""
    import numpy as np

    sample = list(pairs[:: max(1, len(pairs) // 64)])
    scores = np.asarray(
        model.predict([(q, p) for q, p, _ in sample], batch_size=32, show_progress_bar=False), dtype=float
    )
    spread = float(np.ptp(scores)) if len(scores) else 0.0
    if spread < LEARNED_NOTHING:
        fewer = f" keep more of the 6 layers (this run kept {hyper.layers})," if hyper.layers else ""
        raise ModelError(
            f"The reranker learned nothing: it gives every passage almost the same score (spread {spread:.1e} "
            f"on {len(sample)} training pairs), so it cannot reorder anything and was not saved. Try:{fewer} "
            "more questions, another learning rate, or more epochs."
        )


def train_reranker(
    examples: Sequence[RerankExample],
    out_dir: Path,
    hyper: RerankHyper = RerankHyper(),
    *,
    base_path: Path | None = None,
    monitor: Monitor | None = None,
    meta: dict[str, Any] | None = None,
) -> TrainedReranker:
    """Train on the examples and save to `out_dir` (only when training finished; a failure leaves it as it was).

    Returns the `ce:<out_dir>` reranker name to use in a variant.
    """
    usable, monitor = _usable(examples), monitor or Monitor()
    pairs = labelled_pairs(usable)
    started, total = time.perf_counter(), steps_for(training_rows(usable, hyper), hyper)
    out_dir = Path(out_dir).resolve()
    staging = registry.staging_dir(out_dir)
    try:
        model = _fit(usable, staging, hyper, Path(base_path or packaged_minilm_path()), monitor)
        _check_learned(model, pairs, hyper)
        model.save(str(staging))
        seconds = round(time.perf_counter() - started, 1)
        info = {
            "kind": "reranker",
            "base_model": str(base_path) if base_path else BASE_RERANKER,
            "questions": len({q for q, _, _ in pairs}),
            "pairs": len(pairs),
            "hyper": asdict(hyper),
            "seconds": seconds,
            "losses": monitor.losses,
        } | (meta or {})
        registry.install(staging, out_dir, info)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return TrainedReranker(
        out_dir,
        str(cross_encoder_name(out_dir)),
        len({q for q, _, _ in pairs}),
        len(pairs),
        total,
        seconds,
        list(monitor.losses),
    )
