"""`playground finetune-embeddings` on a tiny BEIR folder and on a corpus with a question set, then
`playground retrieval-bench --embedder <the trained folder>`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from playground.cli.finetune import beir_pairs, corpus_pairs
from playground.cli.main import main
from tests.conftest import FICTIONAL_QUESTIONS

DOCS = {
    "d1": ("Kettles", "Glass kettles boil water in three minutes and show the water level."),
    "d2": ("Lamps", "Grow lamps give plants light for twelve hours a day."),
    "d3": ("Pods", "Nutrient pods feed herbs for six weeks before they need replacing."),
    "d4": ("Tanks", "The water tank holds forty litres and is refilled once a month."),
    "d5": ("Shelves", "Three shelves fit twelve plants each."),
}
QUERIES = {
    "q1": "How fast does the kettle boil?",
    "q2": "How long do grow lamps shine?",
    "q3": "When do pods need replacing?",
    "q4": "How big is the tank?",
    "q5": "How many plants fit?",
}


@pytest.fixture
def beir_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "tiny"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": k, "title": t, "text": x}) + "\n" for k, (t, x) in DOCS.items())
    )
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in QUERIES.items())
    )
    train = "query-id\tcorpus-id\tscore\n" + "".join(f"q{i}\td{i}\t1\n" for i in range(1, 5)) + "q5\td1\t0\n"
    (folder / "qrels" / "train.tsv").write_text(train)
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq5\td5\t1\n")
    return folder


def test_beir_pairs_are_the_positive_judgements(beir_dir: Path) -> None:
    pairs = beir_pairs(beir_dir, "train")
    assert pairs[0] == ("How fast does the kettle boil?", "Kettles " + DOCS["d1"][1])
    assert len(pairs) == 4  # the score-0 judgement is not a pair


def test_corpus_pairs_come_from_the_questions_evidence(small_corpus_dir: Path) -> None:
    pairs = corpus_pairs(small_corpus_dir, FICTIONAL_QUESTIONS)
    assert pairs and all(q and p for q, p in pairs)


def test_corpus_without_questions_is_an_error(
    small_corpus_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["finetune-embeddings", "--corpus", str(small_corpus_dir), "--out", str(tmp_path / "m")]) == 2
    assert "--corpus needs --questions" in capsys.readouterr().err


@pytest.mark.slow
def test_finetune_then_bench_from_the_command_line(
    beir_dir: Path, tmp_path: Path, settings: object, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model"
    assert (
        main(["finetune-embeddings", "--dataset", str(beir_dir), "--out", str(out), "--batch-size", "4"]) == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["pairs"] == 4 and result["steps"] == 1 and result["embedder"] == f"st:{out.resolve()}"
    assert (out / "finetune.json").exists() and (out / "model.safetensors").exists()
    assert (
        main(["retrieval-bench", "--dataset", str(beir_dir), "--retriever", "dense", "--embedder", str(out)])
        == 0
    )
    bench = json.loads(capsys.readouterr().out)
    assert bench["n_queries"] == 1 and 0.0 <= bench["ndcg@10"] <= 1.0
