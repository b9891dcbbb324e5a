"""The chunking experiment: chunkers, chunk sizes and overlaps compared on the same questions, by retrieval alone.

Every configuration searches the fictional sample for all 49 questions with the real embedder and chromadb; the
answers come from the fake model (instant), because chunking decides what is found, and what is found is scored
against the gold evidence whatever the chunk boundaries (see `evaluation.retrieval_metrics`). The index cache
makes a rerun cheap. Not part of the default suite (`python -m bench chunking` runs it, about 2 minutes).
"""

from __future__ import annotations

from bench.common import ROOT, Figure, report, scratch_data_dir, timed
from playground.core.config import IndexConfig, VariantConfig
from playground.core.settings import Settings
from playground.evaluation.results import EvalRun
from playground.evaluation.runner import run_evaluation
from playground.ingest.loaders import load_folder
from playground.ingest.questions import load_questions
from playground.models.fake import FakeLLM

SAMPLE = ROOT / "sample_corpus" / "fictional"
DEFAULT = IndexConfig()
CONFIGS = {
    "recursive 200 / 30 (default)": DEFAULT,
    "recursive 100 / 20": DEFAULT.model_copy(update={"chunk_size": 100, "chunk_overlap": 20}),
    "recursive 400 / 50": DEFAULT.model_copy(update={"chunk_size": 400, "chunk_overlap": 50}),
    "recursive 200 / 0": DEFAULT.model_copy(update={"chunk_overlap": 0}),
    "tokens 200 / 30": DEFAULT.model_copy(update={"chunker": "tokens"}),
    "markdown 200 / 30": DEFAULT.model_copy(update={"chunker": "markdown"}),
}
TOP_K = 4


def _variants() -> list[VariantConfig]:
    return [
        VariantConfig(name=name, model="fake:extractive", use_retrieval=True, top_k=TOP_K, index=config)
        for name, config in CONFIGS.items()
    ]


def main() -> None:
    corpus = load_folder(SAMPLE / "docs")
    questions = load_questions(SAMPLE / "questions.jsonl")
    settings = Settings(data_dir=scratch_data_dir())
    runs: list[EvalRun] = []
    seconds = timed(
        lambda: runs.append(run_evaluation(_variants(), corpus, questions, settings, llm=FakeLLM()))
    )
    rows = {row["variant"]: row for row in runs[0].summary_rows()}
    default = rows["recursive 200 / 30 (default)"]
    figures = []
    for name in CONFIGS:
        row = rows[name]
        note = (
            f"MRR {row['mrr']:.3f}, context precision {row['context_precision']:.3f}, "
            f"recall@{TOP_K} {row['recall@k']:.3f}, prompt tokens {row['prompt_tokens']:.0f}"
        )
        figures.append(Figure(f"hit@{TOP_K}, {name}", row["hit@k"], default["hit@k"], "", note))
    print(f"{len(CONFIGS)} configurations x {len(questions.questions)} questions in {seconds:.0f} s")
    report("Chunking", figures)


if __name__ == "__main__":
    main()
