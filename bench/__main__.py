"""Run every benchmark and print one table per group."""

from bench import engine


def main() -> None:
    engine.main()


if __name__ == "__main__":
    main()
