"""Question sets written from a corpus: facts and sources, JSON replies, every check with its counted reason,
the kinds, stopping, bad input, the CLI, and one run through the real stack (0.5B model, embedder, chromadb)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from playground.cli.main import main as cli_main
from playground.core.config import IndexConfig
from playground.core.documents import Chunk, Corpus, Document
from playground.core.errors import InputError
from playground.evaluation.structured import ask_json, parse_json_object
from playground.evaluation.testset import (
    DocumentChecks,
    GenerationOptions,
    GenerationReport,
    checks,
    facts,
    generate_questions,
    parse_kinds,
    plan,
    sampling,
)
from playground.ingest.loaders import load_folder
from playground.ingest.questions import EvidenceLocator, load_questions
from playground.models.fake import FakeLLM
from playground.models.llms import Completion, Message
from playground.retrieval.index import corpus_chunks

from .conftest import FAST_LOCAL_MODEL

WRAPPED = (
    "# Travel\n\nThe per diem is €62 a day in Zone A, €48 a day in Zone B\nand €35 a day in Zone C. "
    "Trips are booked through Parcelwyn Travel.\n\n- Taxis are refunded up to 40 euros a ride.\n"
)


def doc(doc_id: str, text: str) -> Document:
    return Document(doc_id=doc_id, text=text, title=doc_id, source=f"{doc_id}.md")


def chunk_of(d: Document) -> Chunk:
    return Chunk(f"{d.doc_id}#0", d.doc_id, d.text, 0, len(d.text), d.title, d.source)


@dataclass
class ScriptedLLM:
    """Replies by rule like FakeLLM, and records each call's keyword arguments (to see the JSON schema)."""

    rules: list[tuple[str, str]]
    name: str = "fake:scripted"
    calls: list[dict[str, Any]] = field(default_factory=list)

    def chat(self, messages: list[Message], **kwargs: Any) -> Completion:
        self.calls.append({"messages": messages, **kwargs})
        user = messages[-1]["content"]
        reply = next((r for pattern, r in self.rules if re.search(pattern, user, re.S)), "no idea")
        return Completion(reply, 10, 5, 0.0, self.name)


def question_for(answer: str, question: str) -> tuple[str, str]:
    """A rule: when asked for a question whose answer is `answer`, reply with `question`."""
    return (f'whose answer is "{re.escape(answer)}"', json.dumps({"question": question}))


# --- facts, sources, plans ----------------------------------------------------------------------------------


def test_sentences_join_wrapped_lines_and_stay_findable_in_the_document() -> None:
    found = facts.sentences(WRAPPED)
    assert "The per diem is €62 a day in Zone A, €48 a day in Zone B and €35 a day in Zone C." in found
    assert "Taxis are refunded up to 40 euros a ride." in found  # the list marker is dropped
    locator = EvidenceLocator(Corpus("c", (doc("travel", WRAPPED),)))
    from playground.ingest.questions import Evidence

    assert all(locator.locate(Evidence(quote=s)) for s in found)
    assert "Travel" not in facts.fact_sentences(WRAPPED)  # a heading carries no fact


def test_answer_candidates_are_amounts_dates_counts_and_names() -> None:
    common = facts.lowercase_words(["the a day in and was founded on by trips are booked through can"])
    sentence = "Trips are booked through Parcelwyn Travel on 3 March 2014."
    assert facts.answer_candidates(sentence, common) == ["3 March 2014"]  # a name only when there is no fact
    assert facts.answer_candidates("Trips are booked through Parcelwyn Travel.", common) == [
        "Parcelwyn Travel"
    ]
    assert facts.answer_candidates("The per diem is €48 a day.", common) == ["€48"]
    assert facts.answer_candidates("Children under 21 can be added.", common) == ["21"]
    assert facts.answer_candidates("Jury service is paid for up to 10 working days.", common) == [
        "10 working days"
    ]
    assert facts.answer_candidates("Because of its height, six are enough for a room.", common) == []
    inside = "If personal data may be involved, tell the Data Protection Officer."
    assert facts.answer_candidates(inside, common | {"data"}) == ["Data Protection Officer"]
    assert checks.gives_away("What is Odile Brack's name?", "Odile Brack")
    assert not checks.gives_away("How many tiers does the Tower T9 have?", "four tiers")
    assert "Nobody" not in facts.names("Nobody was there. Lisk Harbour was.", common)
    assert "Lisk Harbour" in facts.names("Nobody was there. Lisk Harbour was.", common)


def test_spread_takes_one_chunk_per_file_in_turn_and_repeats_with_its_seed() -> None:
    chunks = [Chunk(f"{f}{i}", f, "x", 0, 1, source=f) for f in "abc" for i in range(3)]
    order = sampling.spread(chunks, seed=1)
    assert len({c.source for c in order[:3]}) == 3 and sorted(order, key=id) == sorted(chunks, key=id)
    assert order == sampling.spread(chunks, seed=1) and order != sampling.spread(chunks, seed=2)


def test_entity_pairs_link_passages_of_different_files_by_a_shared_name() -> None:
    words = " ".join(["word"] * 30)
    chunks = [
        chunk_of(doc("app", f"The app is built by the Canopy Apps team. {words}")),
        chunk_of(doc("teams", f"The Canopy Apps team works from Lisk Harbour. {words}")),
        chunk_of(doc("other", f"Nothing shared here at all. {words}")),
    ]
    pairs = sampling.entity_pairs(chunks, seed=0)
    assert pairs and {p[2] for p in pairs} == {"Canopy Apps"}
    assert all(a.source != b.source for a, b, _ in pairs)


def test_plan_and_kinds() -> None:
    assert plan(20, ("single", "multi-hop", "unanswerable")) == {
        "single": 14,
        "multi-hop": 3,
        "unanswerable": 3,
    }
    assert plan(2, ("single", "unanswerable")) == {"single": 1, "unanswerable": 1}
    assert parse_kinds("single, multi,unanswerable") == ("single", "multi-hop", "unanswerable")
    with pytest.raises(InputError, match="single, multi, unanswerable"):
        parse_kinds("single,trick")


TANK = "The Sproutvault S3 has three shelves and a 40 litre tank. The warranty lasts two years from the date of delivery."


@pytest.mark.parametrize(
    "question, answer, reason",
    [
        ("How big is the water tank?", "", "no answer"),
        ("How big is the water tank?", "60 litres", "answer not supported by the evidence"),
        ("Is the tank of the Sproutvault S3 40 litre?", "40 litre", "question gives the answer away"),
        ("How big is the water tank of the Sproutvault S3?", "40 litre", None),
        ("How long does the warranty last?", "two years from delivery", None),  # its words are all there
    ],
)
def test_answer_problem_names_the_reason(question: str, answer: str, reason: str | None) -> None:
    assert checks.answer_problem(question, answer, TANK) == reason


# --- JSON replies -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply, expected",
    [
        ('{"question": "Why?"}', {"question": "Why?"}),
        ('```json\n{"question": "Why?"}\n```', {"question": "Why?"}),
        ('Sure! Here it is: {"question": "Why?"} Hope it helps.', {"question": "Why?"}),
        ('{"question": "Why?"', None),
        ("[1, 2]", None),
    ],
)
def test_parse_json_object(reply: str, expected: dict[str, Any] | None) -> None:
    assert parse_json_object(reply) == expected


def test_a_reply_that_does_not_fit_is_asked_again_under_the_schema() -> None:
    schema = {"type": "object", "properties": {"question": {"type": "string"}}, "required": ["question"]}
    llm = ScriptedLLM([(".", '{"answer": "no question field"}')])
    reply = ask_json(llm, [{"role": "user", "content": "x"}], schema)
    assert reply.data is None and reply.constrained and reply.calls == 2
    assert "json_schema" not in llm.calls[0] and llm.calls[1]["json_schema"] == schema


# --- the generator with a scripted model --------------------------------------------------------------------

TRAVEL = (
    "The per diem is €48 a day in Zone B for every traveller on company business. "
    "Trips are booked through Parcelwyn Travel at least ten days before departure. "
    "Taxis are refunded up to 40 euros a ride when no train or bus runs at that hour."
)
LEAVE = (
    "Full-time employees receive 27 days of paid annual leave per leave year in addition to public holidays. "
    "Unused leave may be carried over until 31 March of the following year and is then lost for good."
)


@pytest.fixture
def corpus() -> Corpus:
    return Corpus("two", (doc("travel", TRAVEL), doc("leave", LEAVE)))


def chunks_of(corpus: Corpus) -> list[Chunk]:
    return [chunk_of(d) for d in corpus.documents]


GOOD = {
    "€48": "What daily allowance is paid in Zone B?",
    "Parcelwyn Travel": "Which agency books company trips?",
    "ten days": "How long before departure must trips be booked?",
    "40 euros": "Up to what amount are taxi rides refunded?",
    "27 days": "How much paid annual leave does a full-time employee get?",
    "31 March": "Until what date can unused leave be carried over?",
    "March": "In which month does carried-over leave expire?",
}
GOOD_RULES = [question_for(answer, question) for answer, question in GOOD.items()]


def test_generated_questions_pass_every_check_and_load_as_a_question_set(
    corpus: Corpus, tmp_path: Path
) -> None:
    llm = ScriptedLLM(GOOD_RULES)
    seen: list[int] = []
    report = generate_questions(
        chunks_of(corpus),
        llm,
        GenerationOptions(n=2),
        corpus=corpus,
        on_progress=lambda r: seen.append(len(r.items)),
    )
    assert len(report.items) == 2 and not report.notes and seen[-1] == 2
    assert {i.chunks[0].source for i in report.items} == {"travel.md", "leave.md"}  # spread over the files
    report.save(tmp_path / "set.jsonl")
    loaded = load_questions(tmp_path / "set.jsonl")
    locator = EvidenceLocator(corpus)
    for q, item in zip(loaded.questions, report.items, strict=True):
        assert q.qtype == "single" and q.answers == item.answers and item.answers[0] in q.evidence[0].quote
        assert all(locator.locate_all(q))
    row = json.loads((tmp_path / "set.jsonl").read_text().splitlines()[0])
    assert row["source_chunks"] and row["generated_by"] == "fake:scripted"


PER_DIEM = "The per diem is €48 a day for every traveller on company business, wherever the trip may go."


@pytest.mark.parametrize(
    "question, reason",
    [
        ("Per diem?", "question too short"),
        (
            "According to the passage, what is the per diem?",
            "question points at the passage instead of naming its subject",
        ),
        ("Is the per diem €48 a day?", "question gives the answer away"),
        (
            "The per diem is what a day for every traveller on company business, wherever the trip may go?",
            "question copies the passage",
        ),
    ],
)
def test_each_failed_check_is_a_counted_reason(question: str, reason: str) -> None:
    rules = [(r"whose answer is", json.dumps({"question": question}))]
    travel = Corpus("one", (doc("travel", PER_DIEM + " " + PER_DIEM.lower()),))
    options = GenerationOptions(n=1, tries_per_question=1)
    report = generate_questions(chunks_of(travel), ScriptedLLM(rules), options, corpus=travel)
    assert not report.items and report.reasons() == {reason: 1}
    assert "kept 0 of 1" in report.notes[0]


def test_near_duplicates_are_dropped(corpus: Corpus) -> None:
    rules = [(r"whose answer is", json.dumps({"question": "How much is paid per day in Zone B?"}))]
    report = generate_questions(chunks_of(corpus), ScriptedLLM(rules), GenerationOptions(n=2), corpus=corpus)
    assert len(report.items) == 1 and report.reasons()["near-duplicate of a kept question"] >= 1


def test_the_closed_book_answer_is_a_warning_not_a_rejection(corpus: Corpus) -> None:
    known = {question: answer for answer, question in GOOD.items() if "leave" in question}
    checks = DocumentChecks(closed_book=lambda q: f"I think {known.get(q, 'no idea')}")
    report = generate_questions(
        chunks_of(corpus), ScriptedLLM(GOOD_RULES), GenerationOptions(n=2), corpus=corpus, checks=checks
    )
    warned = [i for i in report.items if i.warnings]
    assert len(report.items) == 2 and len(warned) == 1 and "without the documents" in warned[0].warnings[0]


def test_unanswerable_questions_are_kept_only_when_retrieval_finds_no_support(corpus: Corpus) -> None:
    rules = [
        ("does not answer", json.dumps({"question": "How many staff work in the Zone B office?"})),
        *GOOD_RULES,
    ]
    options = GenerationOptions(n=1, kinds=("unanswerable",), tries_per_question=1)
    for supported in (True, False):
        checks = DocumentChecks(supported=lambda q, s=supported: s)
        report = generate_questions(
            chunks_of(corpus), ScriptedLLM(rules), options, corpus=corpus, checks=checks
        )
        if supported:
            assert not report.items and report.reasons() == {"the documents may answer it": 1}
        else:
            assert report.items[0].answers == ("not in the documents",) and report.items[0].evidence == ()
            assert report.question_set().questions[0].qtype == "unanswerable"


def test_support_falls_back_to_the_answer_when_the_model_cannot_score(corpus: Corpus) -> None:
    from playground.evaluation.testset.pipelines import retrieval_support
    from playground.rag.pipeline import Pipeline
    from playground.retrieval.index import ScoredChunk

    @dataclass
    class Retrieves:
        name: str = "fixed"

        def search(self, query: Any, k: int, categories: Any = None) -> list[ScoredChunk]:
            return [ScoredChunk(chunks_of(corpus)[1], 1.0, 1)]

    def rag(model: Any) -> Pipeline:
        from playground.evaluation.testset.pipelines import retrieval_variant

        return Pipeline(
            retrieval_variant("fake:extractive", IndexConfig()), model, index=object(), retriever=Retrieves()
        )  # type: ignore[arg-type]

    assert retrieval_support(rag(FakeLLM()))("How many days of paid annual leave does an employee get?")
    assert not retrieval_support(rag(FakeLLM()))("Which colour is the office door?")


def test_unanswerable_questions_need_a_retrieval_check(corpus: Corpus) -> None:
    with pytest.raises(Exception, match="retrieval check"):
        generate_questions(chunks_of(corpus), FakeLLM(), GenerationOptions(n=1, kinds=("unanswerable",)))


def test_multi_hop_questions_join_two_files_and_must_not_name_the_link() -> None:
    filler = " The team meets every Monday morning in the big room to plan the week ahead together."
    app = doc("app", "The Greenledger app is built and maintained by the Canopy Apps team." + filler)
    teams = doc("teams", "The Canopy Apps team works from the Lisk Harbour office since 2019." + filler)
    corpus = Corpus("teams", (app, teams))
    named = [
        (r"Both sentences mention", json.dumps({"question": "Where does the Canopy Apps team work from?"}))
    ]
    hidden = [
        (
            r"Both sentences mention",
            json.dumps({"question": "Where does the team that builds the Greenledger app work?"}),
        )
    ]
    options = GenerationOptions(n=1, kinds=("multi-hop",), tries_per_question=1)
    report = generate_questions(chunks_of(corpus), ScriptedLLM(named), options, corpus=corpus)
    assert report.reasons() == {"names the shared name: one passage answers it": 1}
    report = generate_questions(chunks_of(corpus), ScriptedLLM(hidden), options, corpus=corpus)
    item = report.items[0]
    assert (
        item.kind == "multi-hop"
        and len(item.evidence) == 2
        and {c.source for c in item.chunks} == {"app.md", "teams.md"}
    )


def test_a_model_that_writes_garbage_gives_up_with_a_message(corpus: Corpus) -> None:
    options = GenerationOptions(n=5, give_up_after=3)
    report = generate_questions(chunks_of(corpus) * 3, FakeLLM(), options, corpus=corpus)
    assert not report.items and report.attempts == 3
    assert report.reasons() == {"reply is not the JSON asked for": 3}
    assert "too small" in report.notes[-1]
    with pytest.raises(InputError, match="No question was kept"):
        report.question_set()


def test_a_corpus_too_small_for_n_keeps_what_it_made_and_says_why(corpus: Corpus) -> None:
    report = generate_questions(
        chunks_of(corpus), ScriptedLLM(GOOD_RULES), GenerationOptions(n=10), corpus=corpus
    )
    assert len(report.items) == 2  # one fact sentence per passage is tried, two passages
    assert "only 2 passages long enough" in report.notes[0]


def test_no_passage_to_ask_about_is_a_clear_error() -> None:
    tiny = Corpus("tiny", (doc("a", "Too short."),))
    with pytest.raises(InputError, match="Add documents with more text"):
        generate_questions(chunks_of(tiny), FakeLLM(), GenerationOptions(n=1))


def test_a_stopped_run_keeps_what_finished(corpus: Corpus) -> None:
    report = GenerationReport()
    generate_questions(
        chunks_of(corpus),
        ScriptedLLM(GOOD_RULES),
        GenerationOptions(n=2),
        corpus=corpus,
        should_stop=lambda: len(report.items) >= 1,
        report=report,
    )
    assert report.stopped and len(report.items) == 1 and report.eta_s() is not None


def test_the_model_calls_go_through_the_response_cache(corpus: Corpus, settings: Any) -> None:
    from playground.evaluation.testset.pipelines import with_cache

    llm = ScriptedLLM(GOOD_RULES)
    first = generate_questions(
        chunks_of(corpus), with_cache(llm, settings), GenerationOptions(n=2), corpus=corpus
    )
    calls = len(llm.calls)
    again = generate_questions(
        chunks_of(corpus), with_cache(llm, settings), GenerationOptions(n=2), corpus=corpus
    )
    assert len(llm.calls) == calls and [i.question for i in again.items] == [i.question for i in first.items]


# --- the CLI ------------------------------------------------------------------------------------------------


def test_cli_writes_a_question_file(
    small_corpus_dir: Path,
    tmp_path: Path,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    llm = ScriptedLLM([(r'whose answer is "([^"]+)"', "")])

    def chat(messages: list[Message], **kwargs: Any) -> Completion:  # a question naming whatever is asked for
        answer = re.search(r'whose answer is "([^"]+)"', messages[-1]["content"])
        topic = re.search(r'Document: "([^"]+)"', messages[-1]["content"])
        text = {
            "question": f"Which value does {topic.group(1) if topic else 'it'} give for item {len(llm.calls)}?"
        }
        llm.calls.append(kwargs)
        return Completion(json.dumps(text) if answer else "no", 1, 1, 0.0, llm.name)

    monkeypatch.setattr(llm, "chat", chat)
    monkeypatch.setattr("playground.models.registry.get_llm", lambda name, settings=None: llm)
    out = tmp_path / "generated.jsonl"
    code = cli_main(
        [
            "questions",
            "generate",
            "--corpus",
            str(small_corpus_dir),
            "--n",
            "3",
            "--kinds",
            "single",
            "--out",
            str(out),
            "--no-closed-book-check",
        ]
    )
    err = capsys.readouterr().err
    assert code == 0 and "kept 3 of 3" in err
    assert len(load_questions(out).questions) == 3


def test_cli_with_a_model_that_writes_garbage_says_so_and_fails(
    small_corpus_dir: Path, tmp_path: Path, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nothing.jsonl"
    code = cli_main(
        [
            "questions",
            "generate",
            "--corpus",
            str(small_corpus_dir),
            "--n",
            "2",
            "--model",
            "fake:extractive",
            "--kinds",
            "single",
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "kept 0 of 2" in err and "larger model" in err and not out.exists()


# --- the real stack -----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_real_model_writes_checked_questions_from_fictional_documents(
    small_corpus_dir: Path, settings: Any, tmp_path: Path
) -> None:
    from playground.evaluation.testset.pipelines import build_checks, with_cache
    from playground.models.registry import get_llm

    corpus = load_folder(small_corpus_dir)
    index = IndexConfig()
    llm = with_cache(get_llm(FAST_LOCAL_MODEL, settings), settings)
    checks = build_checks(llm, corpus, settings, index)  # real embedder, real chromadb under tmp_path
    options = GenerationOptions(n=3, kinds=("single", "unanswerable"), seed=0)
    report = generate_questions(corpus_chunks(corpus, index), llm, options, corpus=corpus, checks=checks)
    assert report.by_kind().get("single", 0) >= 1, report.summary()
    assert report.calls >= report.attempts and sum(report.reasons().values()) == len(report.rejected)
    report.save(tmp_path / "real.jsonl")
    loaded = load_questions(tmp_path / "real.jsonl")
    locator = EvidenceLocator(corpus)
    assert all(all(locator.locate_all(q)) for q in loaded.questions if q.answerable)


# --- the Evaluate page's generator --------------------------------------------------------------------------


@dataclass
class QuestionWritingLLM:
    """Writes a distinct, well-formed question for whatever fact it is asked about."""

    name: str = "fake:question-writer"
    calls: int = 0

    def chat(self, messages: list[Message], **kwargs: Any) -> Completion:
        self.calls += 1
        wanted = re.search(r'whose answer is "([^"]+)"', messages[-1]["content"])
        text = json.dumps({"question": f"Which detail number {self.calls} do the rules give here?"})
        return Completion(text if wanted else "not in the documents", 1, 1, 0.0, self.name)


def _evaluate_page(settings: Any, corpus: Corpus, model: str) -> Any:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT
    from ui import state

    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[state.DEFAULT_MODEL] = model
    at.session_state[state.CORPUS] = corpus
    at.session_state[state.CORPUS_LABEL] = "four test documents"
    at.session_state[state.CORPUS_SOURCE] = "test"
    at.run()
    at.switch_page("pages/4_Evaluate.py").run()
    at.number_input(key="ev_gen_n").set_value(3)
    at.checkbox(key="ev_gen_closed").uncheck()
    at.selectbox(key="ev_gen_check_model").set_value("fake:extractive")
    at.session_state["ev_gen_kinds"] = ["single"]
    return at


def test_evaluate_page_writes_a_set_and_hands_it_to_the_table(
    small_corpus_dir: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui import question_generate

    monkeypatch.setattr("ui.resources.get_llm", lambda name, settings=None: QuestionWritingLLM())
    at = _evaluate_page(settings, load_folder(small_corpus_dir), "fake:question-writer")
    at.button(key="ev_gen_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Kept 3 of 3 questions" in s.value for s in at.success)
    generated = at.session_state[question_generate.GENERATED]
    assert len(generated.questions) == 3 and all(q.evidence for q in generated.questions)


def test_evaluate_page_says_what_to_do_when_the_model_writes_garbage(
    small_corpus_dir: Path, settings: Any
) -> None:
    at = _evaluate_page(settings, load_folder(small_corpus_dir), "fake:extractive")
    at.button(key="ev_gen_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    warning = " ".join(w.value for w in at.warning)
    assert "Kept 0 of 3 questions" in warning and "choose a larger one" in warning
    assert any("reply is not the JSON asked for" in str(d.value) for d in at.dataframe)


def test_kinds_that_cannot_be_made_are_replaced_by_single_facts(corpus: Corpus) -> None:
    options = GenerationOptions(n=2, kinds=("single", "multi-hop"))  # no two files here share a name
    report = generate_questions(chunks_of(corpus), ScriptedLLM(GOOD_RULES), options, corpus=corpus)
    assert report.by_kind() == {"single": 2}
    assert report.notes == [
        "multi-hop: 1 could not be made (nothing to write them from); single-fact questions were written instead."
    ]
