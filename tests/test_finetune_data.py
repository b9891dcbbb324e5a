"""Training data: parsing the LLM's pairs, the quality filter, de-duplication, and a split without leaks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from playground.core.documents import Chunk
from playground.core.errors import InputError, StoppedError
from playground.finetune import data
from playground.finetune.data import TrainingItem
from playground.finetune.split import SplitOptions, split_items
from playground.ingest.chunking import chunk_corpus
from playground.ingest.loaders import load_folder
from playground.ingest.questions import Evidence, Question, QuestionSet
from playground.models.fake import FakeLLM

PASSAGE = (
    "The Sproutvault S3 has three shelves and a 40 litre tank. Its lamp uses 36 watts. "
    "The warranty lasts two years from the date of delivery."
)


def chunk(text: str = PASSAGE, cid: str = "c1", doc: str = "d1") -> Chunk:
    return Chunk(chunk_id=cid, doc_id=doc, text=text, start=0, end=len(text))


@pytest.mark.parametrize(
    "reply, expected",
    [
        ("Q: How big is the tank?\nA: 40 litre", [("How big is the tank?", "40 litre")]),
        (
            "**Question 1:** How big is the tank?\n**Answer 1:** 40 litre\n"
            "question 2: Lamp power?\nanswer 2: 36 watts",
            [("How big is the tank?", "40 litre"), ("Lamp power?", "36 watts")],
        ),
        (
            'Sure! {"question": "How long is the warranty?", "answer": "two years"}',
            [("How long is the warranty?", "two years")],
        ),
        (
            '1. Q: "How many shelves does it have?"\n   A: three',
            [("How many shelves does it have?", "three")],
        ),
        ("I cannot help with that.", []),
        ("A: orphan answer without a question", []),
    ],
)
def test_parse_pairs_reads_the_formats_models_write(reply: str, expected: list[tuple[str, str]]) -> None:
    assert data.parse_pairs(reply) == expected


@pytest.mark.parametrize(
    "question, answer, reason",
    [
        ("Tank size?", "40 litre", "question too short"),
        ("How big is the water tank?", "", "no answer"),
        ("How big is the water tank?", "60 litres", "answer not in the passage"),
        ("Is the tank of the Sproutvault S3 40 litre?", "40 litre", "question gives the answer away"),
        (
            "The Sproutvault S3 has three shelves and a 40 litre tank, so what does its lamp use?",
            "36 watts",
            "question copies the passage",
        ),
        ("How big is the water tank of the Sproutvault S3?", "40 litre", None),
        ("How long does the warranty last?", "two years from delivery", None),  # every word is in the passage
    ],
)
def test_quality_problem_names_the_reason(question: str, answer: str, reason: str | None) -> None:
    assert data.quality_problem(question, answer, PASSAGE) == reason


def test_generate_items_keeps_good_pairs_and_reports_the_rest() -> None:
    chunks = [
        chunk(cid="c1"),
        chunk(PASSAGE + " Extra words here.", cid="c2"),
        chunk("Nothing useful.", cid="c3"),
    ]
    llm = FakeLLM(
        rules=[
            ("Extra words", "Q: What size is the water tank?\nA: 40 litre"),  # c2 (checked first)
            ("Sproutvault", "Q: What is the size of the water tank?\nA: 40 litre"),  # c1
            ("Nothing useful", "I do not know."),
        ]
    )
    report = data.generate_items(chunks, llm)
    assert [(i.question, i.chunk_id) for i in report.items] == [
        ("What is the size of the water tank?", "c1"),
        ("What size is the water tank?", "c2"),
    ]
    assert report.items[0].passage == PASSAGE and report.calls == 3
    assert report.reasons() == {"reply not in Q:/A: format": 1}
    assert "Passage:" in llm.calls[0][-1]["content"]


def test_generate_items_drops_duplicates_after_normalisation() -> None:
    llm = FakeLLM(
        rules=[("Sproutvault", "Q: How big is the tank?\nA: 40 litre\nQ: how big is THE tank\nA: 40 litre")]
    )
    report = data.generate_items([chunk()], llm, per_chunk=2)
    assert len(report.items) == 1
    assert report.reasons() == {"duplicate question": 1}


def test_generate_items_stops_when_asked() -> None:
    with pytest.raises(StoppedError):
        data.generate_items([chunk(), chunk()], FakeLLM(), should_stop=lambda: True)


def test_items_from_questions_find_the_chunk_that_holds_the_evidence(small_corpus_dir: Path) -> None:
    corpus = load_folder(small_corpus_dir)
    chunks = chunk_corpus(corpus.documents, chunker="recursive", chunk_size=120, chunk_overlap=20)
    target = chunks[len(chunks) // 2]
    quote = target.text.split(". ")[0][:80]
    qset = QuestionSet(
        "mine",
        (
            Question("q1", "What does it say?", ("x",), (Evidence(quote=quote),)),
            Question("q2", "Unanswerable?", ("not in the documents",)),
        ),
    )
    items = data.items_from_questions(qset, corpus, chunks)
    assert quote in items[0].passage and items[0].doc_id == target.doc_id and items[0].evidence == (quote,)
    assert items[1].passage == "" and items[1].quotes == ()
    assert data.answerable(items) == [items[0]]


def item(qid: str, question: str, cid: str = "c1", doc: str = "d1") -> TrainingItem:
    return TrainingItem(qid=qid, question=question, answer="a", passage="p " + cid, chunk_id=cid, doc_id=doc)


def test_split_drops_training_questions_that_paraphrase_a_heldout_one() -> None:
    heldout = [item("h1", "How many shelves does the Sproutvault S3 have?", "c9")]
    candidates = [
        item("t1", "How many shelves does the Sproutvault S3 have?", "c1"),  # the same question
        item("t2", "The Sproutvault S3 has how many shelves?", "c2"),  # a paraphrase (Jaccard 1.0)
        item("t3", "What does the lamp of the S3 use?", "c3"),
    ]
    split = split_items(candidates, SplitOptions(group_by="question"), heldout=heldout)
    assert [i.qid for i in split.train] == ["t3"]
    assert [reason for _, reason in split.dropped] == [
        "same question as held-out h1",
        "too similar in words to held-out h1",
    ]


def test_split_uses_embedding_cosine_when_given() -> None:
    heldout = [item("h1", "Who runs the platform team?", "c9")]
    candidates = [
        item("t1", "Which person leads platform engineering?"),
        item("t2", "What colour is the logo?"),
    ]

    def embed(texts: list[str]) -> np.ndarray:  # a fake: "platform" questions point one way, others another
        return np.array([[1.0, 0.0] if "platform" in t else [0.0, 1.0] for t in texts])

    split = split_items(candidates, SplitOptions(group_by="question"), heldout=heldout, embed=embed)
    assert [i.qid for i in split.train] == ["t2"]
    assert split.dropped[0][1] == "too similar in meaning to held-out h1"


@pytest.mark.parametrize("group_by", ["chunk", "document"])
def test_random_split_never_puts_one_group_on_both_sides(group_by: str) -> None:
    items = [
        item(f"q{i}", f"Question number {i} about topic {i % 7}?", f"c{i % 7}", f"d{i % 3}")
        for i in range(40)
    ]
    split = split_items(items, SplitOptions(heldout_fraction=0.25, group_by=group_by, max_jaccard=1.0))
    key = (lambda i: i.chunk_id) if group_by == "chunk" else (lambda i: i.doc_id)
    assert split.heldout and split.train
    assert not {key(i) for i in split.train} & {key(i) for i in split.heldout}
    assert len(split.train) + len(split.heldout) + len(split.dropped) == 40


def test_a_heldout_chunk_keeps_its_other_questions_out_of_training() -> None:
    heldout = [item("h1", "What is the tank size?", "c1")]
    candidates = [item("t1", "Which colour are the shelves?", "c1"), item("t2", "Where is it made?", "c2")]
    split = split_items(candidates, SplitOptions(group_by="chunk"), heldout=heldout)
    assert [i.qid for i in split.train] == ["t2"]
    assert split.dropped[0][1] == "same chunk as a held-out question"


def test_split_is_reproducible_with_a_seed() -> None:
    items = [item(f"q{i}", f"Question {i} about thing {i}?", f"c{i}") for i in range(20)]
    first = split_items(items, SplitOptions(seed=3))
    assert first == split_items(items, SplitOptions(seed=3))
    assert first.heldout != split_items(items, SplitOptions(seed=4)).heldout


def test_items_round_trip_and_become_a_question_set(tmp_path: Path) -> None:
    items = [TrainingItem("q1", "Why?", "because", "passage text", "c1", "d1", "synthetic", ("passage",))]
    data.save_items(tmp_path / "items.jsonl", items)
    assert data.load_items(tmp_path / "items.jsonl") == items
    qset = data.as_question_set(items)
    assert qset.questions[0].answers == ("because",) and qset.questions[0].evidence[0].quote == "passage"
    with pytest.raises(InputError):
        data.as_question_set([])
