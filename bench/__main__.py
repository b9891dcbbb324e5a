"""Run every benchmark and print one table per group: `python -m bench` (or `make bench`)."""

import sys

from bench import app, engine, retrieval, sweep

GROUPS = {"engine": engine.main, "retrieval": retrieval.main, "sweep": sweep.main, "app": app.main}


def main(names: list[str]) -> None:
    for name in names or list(GROUPS):
        GROUPS[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
