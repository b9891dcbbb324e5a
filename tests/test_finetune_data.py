"""Training data: parsing the LLM's pairs, the quality filter, de-duplication, and a split without leaks."""

from __future__ import annotations

import json
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


def asks(answer: str, question: str) -> tuple[str, str]:
    """A FakeLLM rule: asked for a question whose answer is `answer`, reply with `question` as JSON."""
    return (f'whose answer is "{answer}"', json.dumps({"question": question}))


TANK_RULES = [
    asks("40 litre", "How big is the water tank of the Sproutvault S3?"),
    asks("three shelves", "How many shelves does the Sproutvault S3 have?"),
    asks("Sproutvault S3", "Which garden has three shelves and a 40 litre tank?"),
    asks("two years", "How long does the warranty on the garden last?"),
]


def test_generate_items_uses_the_question_generator_and_reports_the_rest() -> None:
    chunks = [chunk(cid="c1"), chunk("Nothing useful.", cid="c2")]
    llm = FakeLLM(rules=TANK_RULES)
    report = data.generate_items(chunks, llm)
    assert len(report.items) == 1 and report.calls == 1
    item = report.items[0]
    assert (item.qid, item.chunk_id, item.doc_id, item.passage) == ("syn-1", "c1", "d1", PASSAGE)
    assert item.evidence[0] in PASSAGE and item.answer in item.evidence[0]
    assert report.reasons() == {"no sentence with a fact to ask about": 1}
    assert "Sentence:" in llm.calls[0][-1]["content"]


def test_generate_items_drops_near_duplicates() -> None:
    same = "What does the Sproutvault S3 offer?"
    llm = FakeLLM(rules=[("For each numbered sentence", json.dumps({"questions": [same, same]}))])
    report = data.generate_items([chunk()], llm, per_chunk=2)
    assert len(report.items) == 1 and report.calls == 1  # one call per passage
    assert report.reasons() == {"near-duplicate of a kept question": 1}


def test_generate_items_adds_to_an_earlier_report() -> None:
    first = data.generate_items([chunk()], FakeLLM(rules=TANK_RULES))
    again = data.generate_items([chunk(cid="c9")], FakeLLM(rules=TANK_RULES), report=first)
    assert again is first and [i.qid for i in again.items] == ["syn-1"]
    assert "near-duplicate of a kept question" in again.reasons()  # the same fact asked again


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
