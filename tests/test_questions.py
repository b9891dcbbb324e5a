import json

import pytest

from playground.core.documents import Chunk, Corpus, Document
from playground.core.errors import InputError
from playground.ingest.questions import Evidence, EvidenceLocator, holds, load_questions, parse_questions

from .conftest import FICTIONAL_DOCS, FICTIONAL_QUESTIONS


def test_jsonl_and_csv_question_sets():
    jsonl = b'{"id": "a", "question": "Q?", "answers": ["x", "y"], "evidence": ["quote"]}\n'
    qs = parse_questions("set.jsonl", jsonl)
    assert qs.questions[0].answers == ("x", "y") and qs.questions[0].evidence[0].quote == "quote"
    csv = b"question,answers,evidence\nQ1?,a|b,some quote\nQ2?,not in the documents,\n"
    qs = parse_questions("set.csv", csv)
    assert [q.answers for q in qs.questions] == [("a", "b"), ("not in the documents",)]
    assert qs.questions[0].answerable and not qs.questions[1].answerable


def test_missing_column_is_named():
    with pytest.raises(InputError, match=r"missing the column.*answers.*found: evidence, question"):
        parse_questions("set.csv", b"question,evidence\nQ?,e\n")
    with pytest.raises(InputError, match="question"):
        parse_questions("set.jsonl", b'{"answers": ["a"]}\n')


def test_bad_rows_are_skipped_and_reported():
    data = (
        b'{"question": "Q1", "answers": ["a"]}\nnot json\n{"question": "", "answers": ["b"]}\n'
        b'{"question": "Q3", "answers": []}\n'
    )
    qs = parse_questions("set.jsonl", data)
    assert len(qs.questions) == 1
    assert any("line 2" in w for w in qs.warnings) and any("empty question" in w for w in qs.warnings)
    assert any("no gold answer" in w for w in qs.warnings)


def test_empty_and_non_utf8_files():
    with pytest.raises(InputError, match="empty"):
        parse_questions("q.jsonl", b"  \n")
    with pytest.raises(InputError, match="UTF-8"):
        parse_questions("q.csv", "question,answers\ncafé,x\n".encode("utf-16"))


def test_locator_ignores_whitespace_and_maps_back_to_offsets():
    doc = Document("d1", "Alpha  beta\ngamma delta.", "t", "d1")
    locator = EvidenceLocator(Corpus("c", (doc,)))
    [span] = locator.locate(Evidence(quote="beta gamma"))
    assert doc.text[span.start : span.end] == "beta\ngamma"
    assert locator.locate(Evidence(quote="missing words")) == []
    chunk = Chunk("d1#c0", "d1", doc.text[0:12], 0, 12)
    assert holds(chunk, span)  # covers "beta\n" and most of the span
    assert not holds(Chunk("d1#c1", "d1", "delta.", 18, 24), span)


def test_sample_evidence_is_found_in_the_sample_corpus():
    from playground.ingest.loaders import load_folder

    corpus = load_folder(FICTIONAL_DOCS)
    questions = load_questions(FICTIONAL_QUESTIONS)
    assert len(questions.questions) >= 40
    locator = EvidenceLocator(corpus)
    missing = [
        (q.qid, e.quote)
        for q in questions.questions
        for e, spans in zip(q.evidence, locator.locate_all(q), strict=False)
        if not spans
    ]
    assert missing == []
    kinds = {q.qtype for q in questions.questions}
    assert {"single", "multi-hop", "unanswerable"} <= kinds
    assert json.loads(FICTIONAL_QUESTIONS.read_text().splitlines()[0])["id"]
