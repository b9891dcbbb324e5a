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
}


def main(names: list[str]) -> None:
    for name in names or list(GROUPS):
        (GROUPS | EXTRA)[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
