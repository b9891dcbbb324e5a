"""Run every benchmark and print one table per group: `python -m bench` (or `make bench`)."""

import sys

from bench import (
    app,
    cached_rerun,
    chunking,
    engine,
    instant_sample,
    judge,
    question_sets,
    questions,
    rerank_ladder,
    reranker,
    reranker_sample,
    reranker_speed,
    reranker_versus,
    retrieval,
    sweep,
    workshop,
)

GROUPS = {
    "engine": engine.main,
    "retrieval": retrieval.main,
    "sweep": sweep.main,
    "cached_rerun": cached_rerun.main,  # ~6 min: its first run answers 10 questions with the 1.5B model
    "instant_sample": instant_sample.main,  # seconds: the sample ladder from the shipped replays
    "app": app.main,
    "workshop": workshop.main,  # ~8 min: ten browser pages in one room, nine evaluations at once
}
# experiments that are not speed or memory targets: run by name
EXTRA = {
    "chunking": chunking.main,
    "questions": questions.main,
    "judge": judge.main,
    "question_sets": question_sets.main,
    "rerank_ladder": rerank_ladder.main,
    "reranker": lambda: reranker.main([]),  # trains on SciFact: ~40 min on 2 shared cores
    "reranker_speed": lambda: reranker_speed.main([]),  # a minute per model trained by `reranker`
    "reranker_sample": lambda: reranker_sample.main(
        []
    ),  # ~3 min: the Fine-tune page's sentences-only reranker
}
# benches with their own flags: `python -m bench reranker --layers 2 ...` hands the flags on
WITH_FLAGS = {
    "reranker": reranker.main,
    "reranker_speed": reranker_speed.main,
    "reranker_sample": reranker_sample.main,
    "reranker_versus": reranker_versus.main,  # result names of `reranker` runs: against dense and hybrid
}


def main(argv: list[str]) -> None:
    if argv[:1] and argv[0] in WITH_FLAGS:
        WITH_FLAGS[argv[0]](argv[1:])
        return
    unknown = [name for name in argv if name not in GROUPS | EXTRA]
    if unknown:  # a flag given to a bench without flags would otherwise run it with its defaults, or crash
        sys.exit(
            f"unknown benchmark {', '.join(unknown)}: choose from {', '.join(GROUPS | EXTRA)} "
            f"(flags only after {' or '.join(WITH_FLAGS)}, first)"
        )
    for name in argv or list(GROUPS):
        (GROUPS | EXTRA)[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
