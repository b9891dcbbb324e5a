"""Run every benchmark and print one table per group: `python -m bench` (or `make bench`)."""

import sys

from bench import app, chunking, engine, judge, question_sets, questions, retrieval, sweep

GROUPS = {"engine": engine.main, "retrieval": retrieval.main, "sweep": sweep.main, "app": app.main}
# experiments that are not speed or memory targets: run by name
EXTRA = {
    "chunking": chunking.main,
    "questions": questions.main,
    "judge": judge.main,
    "question_sets": question_sets.main,
}


def main(names: list[str]) -> None:
    for name in names or list(GROUPS):
        (GROUPS | EXTRA)[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
