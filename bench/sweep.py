"""Cold against warm sweep of the sample ladder: an unchanged re-run answers everything from the cache."""

from __future__ import annotations

from bench.common import ROOT, Figure, report, scratch_data_dir, timed
from playground.core.config import load_variant_set
from playground.core.settings import Settings
from playground.evaluation.runner import RunOptions, run_evaluation
from playground.ingest.loaders import load_folder
from playground.ingest.questions import load_questions
from playground.storage.store import ExperimentStore

MODEL = "local:qwen2.5-0.5b"
QUESTIONS = 15  # keeps the whole suite under 10 minutes on 2 cores


def main() -> None:
    vset = load_variant_set(ROOT / "sample_corpus" / "variants" / "ladder.yaml")
    variants = [v.model_copy(update={"model": MODEL}) for v in vset.variants]
    assert vset.corpus is not None and vset.questions is not None
    corpus = load_folder(vset.corpus)
    questions = load_questions(vset.questions).subset(QUESTIONS)
    settings = Settings(data_dir=scratch_data_dir())
    options = RunOptions(store=ExperimentStore(settings))
    runs = []
    cold = timed(lambda: runs.append(run_evaluation(variants, corpus, questions, settings, options=options)))
    warm = timed(lambda: runs.append(run_evaluation(variants, corpus, questions, settings, options=options)))
    hits = sum(v.cache_hits for v in runs[1].variants)
    total = sum(len(v.rows) for v in runs[1].variants)
    report(
        "Sweep",
        [
            Figure(
                "warm re-run of an unchanged sweep, s",
                warm,
                cold,
                "s",
                f"{len(variants)} variants x {len(questions.questions)} questions, {MODEL}; "
                f"{hits}/{total} answers from cache; target < 2 s",
            )
        ],
    )


if __name__ == "__main__":
    main()
