"""`python -m bench`: flags reach the one bench that takes them, and a wrong name never runs a default bench."""

import pytest

import bench.__main__ as bench_cli


def test_flags_are_handed_to_the_reranker_bench(monkeypatch):
    seen: list[list[str]] = []
    monkeypatch.setitem(bench_cli.WITH_FLAGS, "reranker", seen.append)
    bench_cli.main(["reranker", "--layers", "2", "--out", "small"])
    assert seen == [["--layers", "2", "--out", "small"]]


def test_an_unknown_name_or_a_stray_flag_stops_before_any_bench_runs(monkeypatch):
    ran: list[str] = []
    monkeypatch.setitem(bench_cli.GROUPS, "engine", lambda: ran.append("engine"))
    with pytest.raises(SystemExit, match="unknown benchmark --layers"):
        bench_cli.main(["engine", "--layers", "2"])
    assert ran == []
