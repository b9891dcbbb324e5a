"""A question set as editable rows: checks on each row, evidence located in a real corpus, files that the
question reader and `playground eval --questions` accept, and bad rows that get a message instead of an error."""

from __future__ import annotations

import json

import pytest

from playground.cli.main import main as cli_main
from playground.core.config import IndexConfig
from playground.core.errors import InputError
from playground.ingest import question_rows as qr
from playground.ingest.loaders import load_folder
from playground.ingest.questions import Evidence, EvidenceLocator, holds, load_questions, parse_questions
from playground.retrieval.index import corpus_chunks
from playground.storage.store import ExperimentStore

from .conftest import FICTIONAL_DOCS, FICTIONAL_QUESTIONS

RETURNS = "You can return any product within 30 days of delivery, for any reason, even if it has been used."


@pytest.fixture(scope="module")
def fictional():
    return load_folder(FICTIONAL_DOCS)


def _row(question: str = "How long do I have to return a product?", **kw: object) -> qr.QuestionRow:
    fields: dict[str, object] = {"answers": ("30 days",), "evidence": (Evidence(RETURNS),)} | kw
    return qr.QuestionRow(question, **fields)  # type: ignore[arg-type]


def test_the_sample_set_survives_rows_jsonl_and_csv():
    sample = load_questions(FICTIONAL_QUESTIONS)
    rows = qr.rows_from_question_set(sample)
    from_jsonl = parse_questions("set.jsonl", qr.to_jsonl(rows).encode())
    from_csv = parse_questions("set.csv", qr.to_csv(rows).encode())
    assert from_jsonl.questions == sample.questions and not from_jsonl.warnings
    assert from_csv.questions == sample.questions and not from_csv.warnings
    assert qr.to_question_set(rows, "again").questions == sample.questions


def test_every_sample_evidence_is_found_with_its_document_and_chunk(fictional):
    rows = qr.rows_from_question_set(load_questions(FICTIONAL_QUESTIONS))
    chunks = corpus_chunks(fictional, IndexConfig())
    checks = qr.check_rows(rows, fictional, chunks)
    assert all(c.usable and not c.message for c in checks), [c.message for c in checks if c.message]
    with_evidence = [(r, c) for r, c in zip(rows, checks, strict=True) if r.evidence]
    assert with_evidence and all(c.found == "yes" for _, c in with_evidence)
    assert {c.found for r, c in zip(rows, checks, strict=True) if not r.evidence} <= {"none given"}
    row, check = with_evidence[0]
    span = EvidenceLocator(fictional).locate(row.evidence[0])[0]
    doc_chunks = [c for c in chunks if c.doc_id == span.doc_id]
    number = next(i for i, c in enumerate(doc_chunks, start=1) if holds(c, span))
    expected = f"{span.doc_id}, characters {span.start}-{span.end}, chunk {number} of {len(doc_chunks)}"
    assert check.where == expected


def test_bad_rows_get_a_message_on_the_row_and_never_raise(fictional):
    rows = [
        _row(),
        qr.QuestionRow(),
        _row(""),
        _row("Who founded Tansywick?", answers=()),
        _row("What colour is the office?", evidence=(Evidence("a sentence no document contains"),)),
        _row("Pets at work?", evidence=(Evidence(RETURNS), Evidence("not in any document at all"))),
        _row("Who is the CEO?", kind="unanswerable"),
        _row("Is there a gym?", answers=("not in the documents",), evidence=()),
        _row("A typed kind?", kind="riddle"),
        _row("how long do I have to   RETURN a product?"),
    ]
    checks = qr.check_rows(rows, fictional)
    assert checks[0] == qr.RowCheck(True, "yes", checks[0].where, "") and "returns" in checks[0].where
    assert not checks[1].usable and checks[1].message.startswith("empty row")
    assert not checks[2].usable and checks[2].message.startswith("no question")
    assert not checks[3].usable and "no gold answer" in checks[3].message
    assert checks[4].usable and checks[4].found == "no" and "evidence not found" in checks[4].message
    assert checks[5].found == "1 of 2" and "(piece 2)" in checks[5].message
    assert "marked unanswerable" in checks[6].message
    assert "set the kind to unanswerable" in checks[7].message and checks[7].found == "none given"
    assert "unknown kind 'riddle'" in checks[8].message
    assert checks[9].usable and checks[9].message == "same question as row 1"
    assert {c.found for c in qr.check_rows(rows[:1])} == {"no corpus"}


def test_an_empty_or_unusable_table_is_a_clear_error_and_bad_rows_are_left_out_with_a_warning():
    with pytest.raises(InputError, match="The table is empty"):
        qr.to_question_set([qr.QuestionRow(), qr.QuestionRow()], "empty")
    with pytest.raises(InputError, match=r"row 1: no gold answer"):
        qr.to_question_set([_row(answers=())], "no answer")
    found = qr.to_question_set([_row(answers=()), qr.QuestionRow(), _row("Second?")], "mixed")
    assert [q.question for q in found.questions] == ["Second?"]
    assert found.warnings == (found.warnings[0],) and found.warnings[0].startswith("row 1: no gold answer")


def test_ids_are_kept_filled_in_and_made_unique():
    rows = [_row(qid="a"), _row(), _row(qid="a"), qr.QuestionRow(), _row(qid="q1")]
    assert [r.qid for r in qr.with_ids(rows)] == ["a", "q2", "q3", "", "q1"]
    found = qr.to_question_set(rows, "ids")
    assert [q.qid for q in found.questions] == ["a", "q2", "q3", "q1"]


def test_cells_split_on_the_separator_and_keep_a_document_span_while_unchanged(fictional):
    assert qr.split_cell(" 30 days |thirty days | ") == ("30 days", "thirty days")
    assert qr.split_cell(float("nan")) == () and qr.split_cell(None) == ()
    doc = fictional.documents[0]
    span = (Evidence(doc_id=doc.doc_id, start=0, end=20),)
    cell = qr.evidence_cell(span)
    assert cell == f"{doc.doc_id}[0:20]"
    assert qr.evidence_from_cell(cell, span) == span
    assert qr.evidence_from_cell("a new quote", span) == (Evidence("a new quote"),)
    located = qr.check_rows([_row(evidence=span)], fictional)[0]
    assert located.found == "yes" and located.where.startswith(f"{doc.doc_id}, characters 0-20")
    elsewhere = qr.check_rows([_row(evidence=(Evidence(doc_id="gone.md", start=0, end=5),))], fictional)
    assert elsewhere[0].found == "no"


def test_records_keep_reviewed_marks_and_unknown_fields_and_the_hash_ignores_reviewing():
    row = _row(qid="g1", kind="multi-hop", reviewed=True, extra={"source_chunk": "policies/x.md#c2"})
    record = qr.to_record(row)
    assert record["type"] == "multi-hop" and record["reviewed"] is True
    assert record["source_chunk"] == "policies/x.md#c2"
    assert qr.row_from_record(json.loads(json.dumps(record))) == row
    assert qr.row_from_record(record).extra == {"source_chunk": "policies/x.md#c2"}
    assert qr.row_from_record({"question": "Q", "answer": "a | b", "kind": "single", "reviewed": "yes"}) == (
        qr.QuestionRow("Q", ("a", "b"), reviewed=True)
    )
    unreviewed = qr.content_hash([qr.QuestionRow(**{**row.__dict__, "reviewed": False})])
    assert qr.content_hash([row]) == unreviewed != qr.content_hash([_row(qid="g1", answers=("31 days",))])


def test_a_gold_answer_holding_the_separator_survives_the_csv_file():
    rows = [_row(answers=("A | B", "C")), _row("Quote with a bar?", evidence=(Evidence("x | y"),))]
    back = parse_questions("bars.csv", qr.to_csv(rows).encode())
    assert back.questions[0].answers == ("A | B", "C")
    assert back.questions[1].evidence == (Evidence("x | y"),)


def test_a_saved_set_exported_to_jsonl_runs_with_playground_eval(tmp_path, settings, small_corpus_dir):
    store = ExperimentStore(settings)
    typed = [
        _row(reviewed=True),
        _row("Where are train bookings made?", answers=("Wayfarer",), evidence=()),
        _row("Who is the chief executive?", answers=()),  # unfinished: saved, left out of the run
    ]
    store.save_question_set("returns and travel", typed, corpus="four documents")
    exported = tmp_path / "typed.jsonl"
    exported.write_text(qr.to_jsonl(store.load_question_rows("returns and travel")), encoding="utf-8")
    variants = tmp_path / "v.yaml"
    variants.write_text(
        "defaults: {model: fake:extractive}\n"
        "variants:\n - {name: baseline}\n - {name: rag, use_retrieval: true, top_k: 2}\n"
    )
    out = tmp_path / "results.json"
    args = [
        "eval",
        "--variants",
        str(variants),
        "--corpus",
        str(small_corpus_dir),
        "--questions",
        str(exported),
    ]
    assert cli_main([*args, "--out", str(out)]) == 0
    results = json.loads(out.read_text())
    rag = next(v for v in results["variants"] if v["name"] == "rag")
    assert [r["qid"] for r in rag["rows"]] == ["q1", "q2"]
    assert rag["rows"][0]["metrics"]["contains"] == 1.0 and rag["rows"][0]["evidence_in_corpus"]
    store.close()
