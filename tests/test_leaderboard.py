"""A workshop room's leaderboard from a real experiment store filled by real runs: one entry per participant and
settings (the latest run wins), best first with the interval, the judge's verdict ranking when every entry has
one, each entry's settings against the baseline, and the room's HTML report with every entry in it."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from playground.core.config import IndexConfig, VariantConfig
from playground.core.documents import Corpus
from playground.core.settings import Settings
from playground.evaluation.runner import RunOptions, run_evaluation
from playground.ingest.loaders import load_folder
from playground.ingest.questions import QuestionSet, parse_questions
from playground.storage.store import ExperimentStore
from playground.workshop import leaderboard as lb
from playground.workshop.room import RoomSettings, load_room, room_path, save_room
from playground.workshop.room_report import room_report
from tests.conftest import FAST_LOCAL_MODEL
from tests.test_export import PAYLOAD, PROMPT_VARIANTS, QUESTIONS_BYTES, RAG_VARIANTS, _fake

ROOM = "r1"
PLAIN, SHORT = (
    PROMPT_VARIANTS  # the fake model gets 2 of 4 right with the plain prompt, 3 of 4 with the short one
)
RAG = RAG_VARIANTS[1]


@pytest.fixture
def questions() -> QuestionSet:
    return parse_questions("small.jsonl", QUESTIONS_BYTES)


@pytest.fixture
def store(settings: Settings) -> ExperimentStore:
    return ExperimentStore(settings)


def _run(
    store: ExperimentStore,
    settings: Settings,
    questions: QuestionSet,
    variants: Sequence[VariantConfig],
    who: str | None,
    room: str = ROOM,
    corpus: Corpus | None = None,
) -> int:
    meta = {"room": room, "participant": who} if who else {}
    options = RunOptions(store=store, meta=meta)
    run = run_evaluation(list(variants), corpus, questions, settings, llm=_fake(), options=options)
    assert run.run_id is not None
    return run.run_id


def _board(store: ExperimentStore, room: str | None = ROOM) -> lb.Board:
    return lb.build_board(lb.room_runs(store, room))


def _labels(board: lb.Board) -> list[str]:
    return [e.label for e in board.entries]


def test_the_room_board_ranks_every_participants_variants_best_first_with_intervals(
    store: ExperimentStore, settings: Settings, questions: QuestionSet, small_corpus_dir: Path
) -> None:
    _run(store, settings, questions, [PLAIN, SHORT], "Alice")
    _run(store, settings, questions, [RAG], "Bob", corpus=load_folder(small_corpus_dir))
    _run(store, settings, questions, [SHORT], "Carol", room="another room")
    board = _board(store)
    assert board.metric == "contains" and {e.participant for e in board.entries} == {"Alice", "Bob"}
    scores = [e.accuracy or 0.0 for e in board.entries]
    assert scores == sorted(scores, reverse=True) and _labels(board)[-1] == "Alice · plain"
    assert [e.accuracy for e in board.entries if e.variant != "rag"] == [0.75, 0.5]
    for entry in board.entries:
        assert entry.accuracy_low is not None and entry.accuracy_high is not None
        assert entry.accuracy_low <= entry.accuracy <= entry.accuracy_high  # type: ignore[operator]
        assert entry.questions == 4 and entry.median_latency_s is not None and entry.cost_usd == 0.0
    rag = next(e for e in board.entries if e.variant == "rag")
    assert rag.context_precision is not None and rag.context_recall is not None
    assert all(e.context_recall is None for e in board.entries if e.variant != "rag")  # no retrieval
    frame = lb.board_frame(board)
    assert list(frame["rank"]) == [1, 2, 3] and list(frame["participant"]) == [
        e.participant for e in board.entries
    ]
    assert "judged correct (LLM judge)" not in frame.columns  # nothing was judged
    assert frame["accuracy 95% interval"].str.fullmatch(r"\d+% to \d+%").all()


def test_the_latest_run_of_the_same_settings_wins_under_any_name(
    store: ExperimentStore, settings: Settings, questions: QuestionSet
) -> None:
    _run(store, settings, questions, [PLAIN, SHORT], "Alice")
    again = _run(store, settings, questions, [PLAIN.model_copy(update={"name": "plain again"})], "Alice")
    _run(store, settings, questions, [PLAIN], "Bob")  # the same settings, another participant: its own entry
    board = _board(store)
    assert sorted(_labels(board)) == ["Alice · plain again", "Alice · short form", "Bob · plain"]
    assert next(e for e in board.entries if e.variant == "plain again").run_id == again
    ties = [e for e in board.entries if e.accuracy == 0.5]
    assert [e.participant for e in ties] == ["Alice", "Bob"]  # equal scores: whoever got there first


def test_runs_not_complete_stay_off_the_board_and_are_counted(
    store: ExperimentStore, settings: Settings, questions: QuestionSet
) -> None:
    _run(store, settings, questions, [PLAIN], "Alice")
    meta = {"room": ROOM, "participant": "Bob"}
    store.start_run(
        corpus="", corpus_hash="", questions="small", question_set_hash="x", configs=[SHORT], meta=meta
    )
    bad = store.start_run(
        corpus="",
        corpus_hash="",
        questions="small",
        question_set_hash="x",
        configs=[{"name": "old", "bogus": 1}],
    )
    store.finish_run(bad)
    board = _board(store, None)  # the local view reads every run, the broken one too
    assert _labels(board) == ["Alice · plain"] and board.running == 1 and board.unreadable == 1


def test_outside_a_room_every_run_counts_under_you(
    store: ExperimentStore, settings: Settings, questions: QuestionSet
) -> None:
    _run(store, settings, questions, [PLAIN], None)
    _run(store, settings, questions, [SHORT], "Alice")
    assert _labels(_board(store, None)) == ["Alice · short form", f"{lb.LOCAL_PARTICIPANT} · plain"]
    assert _labels(_board(store)) == ["Alice · short form"]


def test_the_judges_verdict_ranks_only_when_every_entry_was_judged(
    store: ExperimentStore, settings: Settings, questions: QuestionSet
) -> None:
    _run(store, settings, questions, [PLAIN, SHORT], "Alice")
    short, plain = _board(store).entries
    judged = [dataclasses.replace(short, judge_correct=0.25), dataclasses.replace(plain, judge_correct=1.0)]
    assert lb.ranking_metric(judged) == "judge_correct"
    assert [e.variant for e in lb.ranked(judged, "judge_correct")] == ["plain", "short form"]
    assert lb.ranking_metric([judged[0], plain]) == "contains"  # one unjudged entry: one scale for all


def test_a_run_judged_in_the_room_is_ranked_by_the_judge(
    store: ExperimentStore, settings: Settings, questions: QuestionSet
) -> None:
    options = RunOptions(store=store, meta={"room": ROOM, "participant": "Ada"}, judge="fake:judge")
    run_evaluation([PLAIN, SHORT], None, questions, settings, llm=_fake(), options=options)
    board = _board(store)
    assert board.metric == "judge_correct" and all(e.judge_correct is not None for e in board.entries)
    assert "judged correct (LLM judge)" in lb.board_frame(board).columns


def test_question_sets_are_ranked_apart(
    store: ExperimentStore, settings: Settings, questions: QuestionSet
) -> None:
    _run(store, settings, questions, [PLAIN], "Alice")
    other = parse_questions("other.jsonl", b"\n".join(QUESTIONS_BYTES.splitlines()[:2]))
    _run(store, settings, other, [SHORT], "Bob")
    runs = lb.room_runs(store, ROOM)
    sets = lb.question_sets(runs)
    assert len(sets) == 2
    latest, first = sets
    assert _labels(lb.build_board(runs, latest)) == ["Bob · short form"]
    assert _labels(lb.build_board(runs, first)) == ["Alice · plain"]


def test_the_spotlight_is_the_chosen_entry_else_the_leader(
    store: ExperimentStore, settings: Settings, questions: QuestionSet
) -> None:
    _run(store, settings, questions, [PLAIN, SHORT], "Alice")
    board = _board(store)
    assert lb.spotlit(board, None) == board.entries[0]
    assert lb.spotlit(board, board.entries[1].key) == board.entries[1]
    assert lb.spotlit(board, "gone:someone") == board.entries[0]
    assert lb.spotlit(lb.Board((), "contains"), None) is None


def test_the_room_keeps_its_spotlight_and_reads_files_written_before_it(settings: Settings) -> None:
    save_room(settings, RoomSettings(room_id="r9", spotlight="abc:Alice"))
    assert load_room(settings).spotlight == "abc:Alice"
    room_path(settings).write_text(json.dumps({"room_id": "r9", "models": ["fake:extractive"]}))
    assert load_room(settings) == RoomSettings(room_id="r9", models=("fake:extractive",))


def test_the_settings_diff_against_the_baseline_names_each_changed_setting() -> None:
    baseline = lb.room_baseline(RoomSettings(models=("fake:extractive",)))
    assert (baseline.name, baseline.model, baseline.use_retrieval, baseline.max_tokens) == (
        "baseline",
        "fake:extractive",
        False,
        64,
    )
    assert lb.room_baseline().model == "local:qwen2.5-1.5b"  # the ladder's own model when the room names none
    assert lb.settings_diff(baseline.model_copy(update={"name": "mine", "description": "x"}), baseline) == []
    changes = {c.setting: (c.baseline, c.value) for c in lb.settings_diff(SHORT, baseline)}
    assert changes == {"max_tokens": ("64", "32"), "template": ("(none)", "Q: {question}")}
    rag = RAG.model_copy(update={"index": IndexConfig(chunk_size=300)})
    found = {c.setting: (c.baseline, c.value) for c in lb.settings_diff(rag, baseline)}
    assert found["use_retrieval"] == ("false", "true") and found["top_k"] == ("4", "2")
    assert found["index.chunk_size"] == ("200", "300")
    prompt_only = SHORT.model_copy(update={"index": IndexConfig(chunk_size=300)})
    assert "index.chunk_size" not in {c.setting for c in lb.settings_diff(prompt_only, baseline)}  # unused
    frame = lb.diff_frame(lb.settings_diff(SHORT, baseline))
    assert list(frame.columns) == ["setting", "baseline", "this variant"] and len(frame) == 2


def test_the_room_report_holds_every_entry_its_diff_and_a_chart_and_escapes_names(
    store: ExperimentStore, settings: Settings, questions: QuestionSet
) -> None:
    _run(store, settings, questions, [PLAIN, SHORT], "Alice")
    _run(store, settings, questions, [SHORT.model_copy(update={"max_tokens": 48})], PAYLOAD)
    board = _board(store)
    page = room_report(board, lb.room_baseline(RoomSettings(models=("fake:extractive",))), ROOM)
    assert page.startswith("<!DOCTYPE html>") and f"Workshop room {ROOM}" in page
    assert PAYLOAD not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for rank, entry in enumerate(board.entries, start=1):
        assert f"<h3>{rank}. " in page and f"<td>{entry.variant}</td>" in page
    assert "<td>template</td>" in page and "<td>Q: {question}</td>" in page  # the short form's diff
    assert page.count("Plotly.newPlot") == 1 and "accuracy 95% interval" in page
    assert not re.search(r"<script[^>]+src=", page)  # plotly.js inlined: opens offline
    empty = room_report(lb.Board((), "contains"), lb.room_baseline())
    assert "No complete runs yet" in empty and "Your best variants" in empty


@pytest.mark.slow
def test_a_run_of_the_real_local_model_enters_the_board(
    store: ExperimentStore, settings: Settings, questions: QuestionSet
) -> None:
    variant = VariantConfig(name="tiny", model=FAST_LOCAL_MODEL, max_tokens=32)
    options = RunOptions(store=store, meta={"room": ROOM, "participant": "Ada"})
    run_evaluation([variant], None, questions.subset(2), settings, options=options)
    board = _board(store)
    (entry,) = board.entries
    assert entry.label == "Ada · tiny" and entry.questions == 2 and entry.errors == 0
    assert entry.accuracy is not None and entry.accuracy_low is not None and entry.accuracy_high is not None
    assert entry.median_latency_s is not None and entry.median_latency_s > 0
    changes = {c.setting for c in lb.settings_diff(entry.config, lb.room_baseline())}
    assert changes == {"model", "max_tokens"}
    assert "Ada" in room_report(board, lb.room_baseline(), ROOM)
