"""A reranker the project trains: hard-negative mining, held-out questions kept out, a tiny cross-encoder trained
for real on the fictional sample (it then ranks a question's evidence above a distractor, through the app's
`ce:` reranker), the `finetune-reranker` command's errors, and the background job keeping the previous model
when training fails."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from playground.cli.main import main
from playground.core.config import IndexConfig
from playground.core.documents import Chunk
from playground.core.errors import InputError, ModelError
from playground.core.settings import Settings
from playground.finetune import data, evaluate, jobs, registry
from playground.finetune import reranker as reranker_training
from playground.finetune.progress import Monitor
from playground.finetune.reranker import (
    HEAD_PARAMETERS,
    IN_BATCH_NEGATIVES,
    RerankHyper,
    planned_size,
    ranked_lists,
    steps_for,
    train_reranker,
    training_rows,
)
from playground.finetune.reranker_data import (
    RerankExample,
    Target,
    cap_pairs,
    item_targets,
    keep_out,
    mine_examples,
)
from playground.finetune.reranker_job import examples_from_files, save_chunks
from playground.finetune.reranker_sources import (
    MineOptions,
    corpus_examples,
    question_examples,
    sentence_examples,
    title_examples,
)
from playground.ingest.loaders import load_folder
from playground.ingest.questions import load_questions
from playground.models.registry import get_reranker
from playground.models.st_embedder import packaged_minilm_path
from playground.retrieval.index import corpus_chunks
from tests.conftest import FICTIONAL_DOCS, FICTIONAL_QUESTIONS

GENERATED = FICTIONAL_QUESTIONS.with_name("generated_questions.jsonl")


def chunk(cid: str, text: str) -> Chunk:
    return Chunk(cid, cid.split("-")[0], text, 0, len(text))


PASSAGES = [
    chunk("kettle-1", "The glass kettle boils water in three minutes."),
    chunk("kettle-2", "The steel kettle boils water in five minutes and keeps it warm."),
    chunk("kettle-3", "The glass kettle boils water in three minutes."),  # a duplicate of the evidence
    chunk("lamp-1", "Grow lamps shine for twelve hours a day."),
    chunk("tank-1", "The tank holds forty litres of water."),
]


def test_negatives_come_from_bm25_and_dense_search_but_never_repeat_the_evidence() -> None:
    target = Target("q1", "How fast does the glass kettle boil water?", ("kettle-1",))
    vectors = np.eye(5, dtype=np.float32)  # dense search puts the lamp passage first for this question

    def embed(texts: list[str]) -> np.ndarray:
        return np.tile(np.array([0, 0, 0, 1, 0], dtype=np.float32), (len(texts), 1))

    [example] = mine_examples([target], PASSAGES, 2, vectors=vectors, embed=embed)
    assert example.positives == (PASSAGES[0].text,)
    assert example.negatives == (PASSAGES[1].text, PASSAGES[3].text)  # BM25's best, then dense's best
    [bm25_only] = mine_examples([target], PASSAGES, 3)
    assert (
        PASSAGES[3].text not in bm25_only.negatives
    )  # BM25 alone never finds the lamp for a kettle question
    assert PASSAGES[0].text not in bm25_only.negatives and bm25_only.pairs == 1 + len(bm25_only.negatives)
    assert len(cap_pairs([example, example, example], 7)) == 2


def test_chunks_that_hold_part_of_the_evidence_are_never_negatives() -> None:
    quote = "The steel kettle boils water in five minutes and keeps it warm for an hour afterwards."
    item = data.TrainingItem(
        "q",
        "How long does the steel kettle keep water warm?",
        "an hour",
        quote,
        "kettle-2",
        evidence=(quote,),
    )
    split = [
        chunk("kettle-2", quote),
        chunk("kettle-9", "...keeps it warm for an hour afterwards. Then it stops."),
    ]
    [target], skipped = item_targets([item, data.TrainingItem("x", "No evidence?", "no")], split)
    assert target.avoid_ids == {"kettle-2", "kettle-9"} and skipped == 1


def test_heldout_questions_and_near_copies_never_train() -> None:
    items = [
        data.TrainingItem("a", "How fast does the glass kettle boil?", "3 min"),
        data.TrainingItem("b", "How long do grow lamps shine each day?", "12 h"),
    ]
    heldout = [data.TrainingItem("h", "How fast does the glass kettle boil water?", "3 min")]
    split = keep_out(items, heldout)
    assert [i.qid for i in split.train] == ["b"] and len(split.dropped) == 1
    with pytest.raises(InputError, match="All 2 training questions are held out"):
        keep_out(items, items)


def test_listwise_rows_give_every_evidence_passage_the_same_number_of_negatives() -> None:
    few = RerankExample("q1", "Which kettle is glass?", ("glass kettle", "clear kettle"), ("steel kettle",))
    many = RerankExample("q2", "How long do lamps shine?", ("twelve hours",), ("tank", "steel", "glass"))
    assert ranked_lists([few, many], 2) == [
        ("Which kettle is glass?", "glass kettle", "steel kettle", "steel kettle"),
        ("Which kettle is glass?", "clear kettle", "steel kettle", "steel kettle"),
        ("How long do lamps shine?", "twelve hours", "tank", "steel"),
    ]
    with pytest.raises(InputError, match="loss one of"):
        RerankHyper(loss="pairwise")  # type: ignore[arg-type]


@pytest.mark.parametrize("loss", ["bce", "listwise"])
def test_the_planned_size_counts_an_epoch_as_training_does(loss: str) -> None:
    hyper = RerankHyper(loss=loss, negatives=3, epochs=2, batch_size=4)  # type: ignore[arg-type]
    examples = [RerankExample(f"q{i}", f"question {i}", ("evidence",), ("a", "b", "c")) for i in range(7)]
    planned = planned_size(len(examples), hyper)
    assert planned.steps == steps_for(training_rows(examples, hyper), hyper)
    assert planned.pairs_read == 2 * 7 * (4 if loss == "bce" else 4 + IN_BATCH_NEGATIVES)


# --- a real (tiny) training -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fictional() -> tuple[list[data.TrainingItem], list[Chunk]]:
    corpus = load_folder(FICTIONAL_DOCS)
    chunks = corpus_chunks(corpus, IndexConfig())
    return data.items_from_questions(load_questions(FICTIONAL_QUESTIONS), corpus, chunks), chunks


@pytest.fixture(scope="module")
def tiny(fictional: tuple[list[data.TrainingItem], list[Chunk]], tmp_path_factory: pytest.TempPathFactory):
    """12 questions, one BM25-mined hard negative each, 3 epochs at max length 80: about 10 steps."""
    items, chunks = fictional
    found = question_examples(items, chunks, MineOptions(negatives=1, mining="bm25"))
    examples = found.examples[:12]
    settings = Settings(data_dir=tmp_path_factory.mktemp("rerank") / "data")
    hyper = RerankHyper(epochs=3, batch_size=8, learning_rate=3e-4, negatives=1, max_length=80)
    out = registry.models_dir(settings) / "tiny-reranker"
    trained = train_reranker(examples, out, hyper, monitor=Monitor(), meta={"trained_on": "fictional"})
    return trained, examples, settings


@pytest.mark.slow
def test_a_tiny_cross_encoder_ranks_the_evidence_above_a_distractor(tiny) -> None:  # type: ignore[no-untyped-def]
    trained, examples, settings = tiny
    assert trained.reranker == f"ce:{trained.path}" and trained.pairs == 24
    assert trained.losses[-1][1] < trained.losses[0][1]
    meta = json.loads((trained.path / registry.META_FILE).read_text())
    assert (
        meta["kind"] == "reranker" and meta["hyper"]["max_length"] == 80 and meta["trained_on"] == "fictional"
    )
    assert registry.trained_rerankers(settings) == [trained.reranker]
    reranker = get_reranker(trained.reranker, settings)
    founded = next(e for e in examples if e.qid == "f01")  # "When was Tansywick Growworks founded?"
    evidence, distractor = reranker.score(founded.question, [founded.positives[0], founded.negatives[0]])
    assert evidence > distractor
    wins = _evidence_wins(reranker, examples)
    assert wins >= 10, f"the evidence won for only {wins} of 12 trained questions"


@pytest.mark.slow
def test_a_listwise_two_layer_reranker_saves_as_a_smaller_model_that_still_ranks(  # type: ignore[no-untyped-def]
    fictional, tmp_path: Path
) -> None:
    items, chunks = fictional
    examples = question_examples(items, chunks, MineOptions(negatives=2, mining="bm25")).examples[:12]
    settings = Settings(data_dir=tmp_path / "data")
    hyper = RerankHyper(
        epochs=4, batch_size=4, learning_rate=3e-4, negatives=2, max_length=80, loss="listwise", layers=2
    )
    trained = train_reranker(examples, registry.models_dir(settings) / "small", hyper, monitor=Monitor())
    assert trained.steps == 4 * 3  # 12 ranked lists, 4 per step
    config = json.loads((trained.path / "config.json").read_text())
    assert config["num_hidden_layers"] == 2
    reranker = get_reranker(trained.reranker, settings)
    wins = sum(
        scores[0] > max(scores[1:])
        for e in examples
        for scores in [reranker.score(e.question, [e.positives[0], *e.negatives])]
    )
    assert wins >= 9, f"the evidence came first for only {wins} of 12 trained questions"


def _evidence_wins(reranker, examples: list[RerankExample]) -> int:  # type: ignore[no-untyped-def]
    """For how many questions the reranker scores the evidence above the first hard negative."""
    return sum(
        scores[0] > scores[1]
        for e in examples
        for scores in [reranker.score(e.question, [e.positives[0], e.negatives[0]])]
    )


@pytest.mark.slow
def test_a_mean_pooled_reranker_trains_saves_and_loads_as_a_cross_encoder(  # type: ignore[no-untyped-def]
    fictional, tmp_path: Path
) -> None:
    """`pooling="mean"`: the head reads the mean of the tokens (as the packaged MiniLM was trained to be read),
    saved as sentence-transformers' modular CrossEncoder, which the `ce:` reranker loads like any other."""
    base = reranker_training._load_base(packaged_minilm_path(), 80, "mean")
    heads = [n for n, _ in base.named_parameters() if re.search(HEAD_PARAMETERS, f"model.{n}")]
    # (the encoder's own pooler matches too, unused when the mean is read: no gradient reaches it)
    assert [n for n in heads if ".pooler." not in n] == ["2.linear.weight", "2.linear.bias"], heads
    items, chunks = fictional
    examples = question_examples(items, chunks, MineOptions(negatives=1, mining="bm25")).examples[:12]
    settings = Settings(data_dir=tmp_path / "data")
    hyper = RerankHyper(
        epochs=3, batch_size=8, learning_rate=3e-4, negatives=1, max_length=80, pooling="mean"
    )
    trained = train_reranker(examples, registry.models_dir(settings) / "mean", hyper, monitor=Monitor())
    assert (trained.path / "modules.json").exists() and trained.losses[-1][1] < trained.losses[0][1]
    assert registry.trained_rerankers(settings) == [trained.reranker]
    reranker = get_reranker(trained.reranker, settings)
    wins = _evidence_wins(reranker, examples)
    assert wins >= 10, f"the evidence won for only {wins} of 12 trained questions"


@pytest.mark.slow
def test_a_reranker_trained_on_windows_ranks_whole_chunks_read_in_windows(  # type: ignore[no-untyped-def]
    fictional, tmp_path: Path
) -> None:
    """`windows=True`: at 64 tokens the sample's chunks (up to 200) are longer than the model reads, so each is
    shown as the window that shares most words with its question; reranking then reads every window."""
    items, chunks = fictional
    examples = question_examples(items, chunks, MineOptions(negatives=1, mining="bm25")).examples[:12]
    hyper = RerankHyper(epochs=3, batch_size=8, learning_rate=3e-4, negatives=1, max_length=64, windows=True)
    settings = Settings(data_dir=tmp_path / "data")
    trained = train_reranker(examples, registry.models_dir(settings) / "win", hyper, monitor=Monitor())
    assert trained.losses[-1][1] < trained.losses[0][1]
    reranker = get_reranker(trained.reranker, settings)
    wins = _evidence_wins(reranker, examples)
    assert wins >= 9, f"the evidence won for only {wins} of 12 trained questions"


@pytest.mark.slow
def test_retrieval_with_and_without_the_trained_reranker(tiny, small_corpus_dir: Path) -> None:  # type: ignore[no-untyped-def]
    trained, _, settings = tiny
    corpus = load_folder(small_corpus_dir)
    items = data.items_from_questions(
        load_questions(FICTIONAL_QUESTIONS), corpus, corpus_chunks(corpus, IndexConfig())
    )
    before, fused, after = evaluate.rerank_scores(
        items, corpus, IndexConfig(), trained.reranker, settings, k=1
    )
    assert before.n == fused.n == after.n > 0 and set(before.per_question) == set(after.per_question)
    assert all(0 <= s.hit <= 1 for s in (before, fused, after))
    assert fused.embedder.endswith(f"{trained.reranker}, fused") and after.embedder.endswith("alone")


class ConstantModel:
    """What a collapsed training leaves: the same score for every pair."""

    def predict(self, pairs, **_):  # type: ignore[no-untyped-def]
        return np.full(len(pairs), 0.504)

    def save(self, path: str) -> None:
        raise AssertionError("a model that learned nothing must not be saved")


def test_a_model_that_learned_nothing_is_not_saved(
    fictional: tuple[list[data.TrainingItem], list[Chunk]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items, chunks = fictional
    examples = question_examples(items, chunks, MineOptions(negatives=1, mining="bm25")).examples[:4]
    monkeypatch.setattr(reranker_training, "_fit", lambda *_: ConstantModel())
    with pytest.raises(ModelError, match=r"learned nothing.*keep more of the 6 layers \(this run kept 2\)"):
        train_reranker(examples, tmp_path / "dead", RerankHyper(layers=2), monitor=Monitor())
    assert not (tmp_path / "dead").exists() and list(tmp_path.iterdir()) == []


# --- the command ---------------------------------------------------------------------------------------------


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["finetune-reranker", *args])
    return code, capsys.readouterr().err


def test_the_command_says_what_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = ["--out", str(tmp_path / "m"), "--mining", "bm25"]
    assert run(["--dataset", str(tmp_path / "nowhere"), *out], capsys) == (
        2,
        f"error: No BEIR folder at {tmp_path / 'nowhere'}: give a folder with corpus.jsonl and qrels/.\n",
    )
    code, err = run(["--questions", str(FICTIONAL_QUESTIONS), *out], capsys)
    assert code == 2 and "--questions needs --corpus" in err
    code, err = run(["--questions", str(FICTIONAL_QUESTIONS), "--title-queries", "5", *out], capsys)
    assert code == 2 and "--title-queries needs --dataset" in err
    with pytest.raises(SystemExit):  # neither --dataset nor --questions: argparse says so
        main(["finetune-reranker", *out])
    assert "one of the arguments --dataset --questions is required" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_the_command_never_trains_on_heldout_questions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--questions", str(FICTIONAL_QUESTIONS), "--corpus", str(FICTIONAL_DOCS), "--heldout"]
    code, err = run(
        [*args, str(FICTIONAL_QUESTIONS), "--out", str(tmp_path / "m"), "--mining", "bm25"], capsys
    )
    assert code == 2 and "training questions are held out" in err and not (tmp_path / "m").exists()


# --- the background job --------------------------------------------------------------------------------------


def test_the_job_keeps_the_previous_model_when_training_fails(
    tmp_path: Path, fictional: tuple[list[data.TrainingItem], list[Chunk]]
) -> None:
    items, chunks = fictional
    settings = Settings(data_dir=tmp_path / "data")
    previous = registry.models_dir(settings) / "mine"
    staging = registry.staging_dir(previous)
    (staging / "model.safetensors").write_bytes(b"the previous weights")
    registry.install(staging, previous, {"kind": "reranker", "trained_on": "before"})
    data.save_items(tmp_path / "train.jsonl", items[:6])
    params = {
        "name": "mine",
        "items": str(tmp_path / "train.jsonl"),
        "chunks": str(save_chunks(tmp_path / "chunks.jsonl", chunks)),
        "hyper": {"negatives": 1, "max_length": 64},
        "base_path": str(tmp_path / "not-a-model"),  # training cannot start from here
    }
    done = jobs.wait(settings, jobs.start_job(settings, "reranker", params).job_id, timeout_s=300)
    assert done.status == "failed" and "No model folder" in done.reason
    assert "previous models are unchanged" in done.reason and "Traceback" not in done.reason
    assert (previous / "model.safetensors").read_bytes() == b"the previous weights"
    assert registry.trained_rerankers(settings) == [f"ce:{previous}"]
    assert sorted(p.name for p in previous.parent.iterdir()) == ["mine"]  # no half-written folder left


TITLES = {"d1": "Glass kettles", "d2": "Grow lamps", "d4": "The water tank"}


def test_titles_become_questions_for_their_texts_without_giving_the_title_away(beir_dir: Path) -> None:
    examples = title_examples(beir_dir, MineOptions(negatives=2, mining="bm25"))
    by_title = {e.question: e for e in examples}
    # d3 and d5 have no title; "Glass kettles" and "Grow lamps" share no word with another text, so BM25 finds
    # them no hard negative and they would teach nothing about ranking
    assert set(by_title) == {"The water tank"}
    tank = by_title["The water tank"]
    assert tank.positives == ("The water tank holds forty litres and is refilled once a month.",)
    assert tank.negatives and not any(n.startswith("The water tank") for n in tank.negatives)
    picked = title_examples(beir_dir, MineOptions(negatives=1, mining="bm25"), limit=2)
    assert {e.question for e in picked} <= set(by_title)
    for judged in (beir_dir / "qrels").iterdir():
        judged.unlink()  # titles read no query and no judgement: a corpus alone is enough
    assert len(title_examples(beir_dir, MineOptions(negatives=1, mining="bm25"))) == 1


CLOZE_TEXTS = {  # every sentence shares a word with another passage, so BM25 finds each a hard negative
    "pump": "The rain pump lifts water every night from the cellar. It fills the water tank in about two "
    "hours. The caretaker cleans the water filter of the pump every spring.",
    "tank": "The water tank on the roof holds forty litres of rain. Its lid keeps leaves out of the water "
    "each autumn. A float switch stops the pump when the water tank is full.",
    "garden": "The garden beds get water from the tank by hand. Tomatoes grow in the garden beside the "
    "water butt. Mulch keeps the garden soil damp when the rain stops.",
    "short": "The shed has one door.",
}


def test_a_sentence_taken_out_of_a_passage_is_a_question_for_the_rest_of_it() -> None:
    chunks = [Chunk(name, name, text, 0, len(text)) for name, text in CLOZE_TEXTS.items()]
    examples = sentence_examples(chunks, MineOptions(negatives=2, mining="bm25"))
    by_source = {e.qid.removeprefix("sentence:"): e for e in examples}
    assert set(by_source) <= {"pump", "tank", "garden"} and len(by_source) >= 2  # "short" has no 3 sentences
    for name, example in by_source.items():
        assert example.question in CLOZE_TEXTS[name]  # one of the passage's own sentences...
        (positive,) = example.positives
        assert positive == " ".join(
            CLOZE_TEXTS[name].replace(example.question, "").split()
        )  # ...for the rest
        assert example.negatives and all(n not in CLOZE_TEXTS[name] for n in example.negatives)
    again = sentence_examples(chunks, MineOptions(negatives=2, mining="bm25"))
    assert again == examples  # the seed picks the sentences
    kept = sentence_examples(chunks, MineOptions(negatives=2, mining="bm25"), keep=1.0)
    assert kept and all(e.positives == (CLOZE_TEXTS[e.qid.removeprefix("sentence:")],) for e in kept)
    assert len(sentence_examples(chunks, MineOptions(negatives=1, mining="bm25"), limit=1)) <= 1


def test_sentences_of_a_corpus_never_come_from_a_heldout_questions_evidence(
    fictional: tuple[list[data.TrainingItem], list[Chunk]],
) -> None:
    heldout, chunks = fictional  # the sample's questions, held out, and the chunks holding their evidence
    options = MineOptions(negatives=1, mining="bm25")
    found = corpus_examples(
        GENERATED, FICTIONAL_DOCS, options, heldout_file=FICTIONAL_QUESTIONS, sentences=1000
    )
    sources = {e.qid.removeprefix("sentence:") for e in found.examples if e.qid.startswith("sentence:")}
    evidence = {i.chunk_id for i in heldout}
    assert sources and not sources & evidence
    assert sources <= {c.chunk_id for c in chunks}


def test_a_jobs_sentences_never_come_from_a_heldout_items_evidence(
    fictional: tuple[list[data.TrainingItem], list[Chunk]], tmp_path: Path
) -> None:
    heldout, chunks = fictional
    data.save_items(tmp_path / "train.jsonl", [])
    data.save_items(tmp_path / "heldout.jsonl", heldout)
    files = (tmp_path / "train.jsonl", save_chunks(tmp_path / "chunks.jsonl", chunks))
    hyper = RerankHyper(negatives=1)
    found = examples_from_files(
        *files, hyper, Settings(data_dir=tmp_path), sentences=1000, heldout_file=tmp_path / "heldout.jsonl"
    )
    sources = {e.qid.removeprefix("sentence:") for e in found.examples}
    assert all(e.qid.startswith("sentence:") for e in found.examples)  # no question: sentences alone
    assert sources and not sources & {i.chunk_id for i in heldout}
    none = examples_from_files(*files, hyper, Settings(data_dir=tmp_path))
    assert none.examples == []  # no items, no sentences asked for


@pytest.mark.slow
def test_a_job_trains_a_reranker_on_sentences_alone(
    fictional: tuple[list[data.TrainingItem], list[Chunk]], tmp_path: Path
) -> None:
    """What the Fine-tune page starts when the user has no question set: the corpus's own sentences."""
    heldout, chunks = fictional
    settings = Settings(data_dir=tmp_path / "data")
    data.save_items(tmp_path / "train.jsonl", [])
    data.save_items(tmp_path / "heldout.jsonl", heldout[:3])
    params = {
        "name": "from-sentences",
        "items": str(tmp_path / "train.jsonl"),
        "heldout": str(tmp_path / "heldout.jsonl"),
        "sentences": 16,
        "chunks": str(save_chunks(tmp_path / "chunks.jsonl", chunks)),
        "hyper": {"negatives": 1, "max_length": 64, "epochs": 2, "batch_size": 8, "learning_rate": 3e-4},
    }
    done = jobs.wait(settings, jobs.start_job(settings, "reranker", params).job_id, timeout_s=600)
    assert done.status == "succeeded", done.reason
    meta = json.loads((registry.models_dir(settings) / "from-sentences" / registry.META_FILE).read_text())
    assert 2 <= meta["sentence_queries"] <= 16
    assert registry.trained_rerankers(settings) == [done.result["model"]]


@pytest.mark.slow
def test_the_command_trains_on_a_corpus_with_its_sentences_as_questions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model"
    args = [
        "--questions",
        str(GENERATED),
        "--corpus",
        str(FICTIONAL_DOCS),
        "--heldout",
        str(FICTIONAL_QUESTIONS),
    ]
    small = ["--mining", "bm25", "--negatives", "1", "--max-length", "48", "--batch-size", "16"]
    code = main(["finetune-reranker", *args, *small, "--sentence-queries", "6", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)
    assert result["sentence_queries"] == 6 and result["title_queries"] == 0
    assert "and 6 sentences taken out of their texts as questions" in captured.err
    assert json.loads((out / registry.META_FILE).read_text())["sentence_queries"] == 6


@pytest.fixture
def beir_dir(tmp_path: Path) -> Path:
    """Five documents; four train queries, one of them the test query again (it must not train)."""
    docs = {
        "d1": "Glass kettles boil water in three minutes and show the water level.",
        "d2": "Grow lamps give herbs and plants light for twelve hours a day.",
        "d3": "Nutrient pods feed herbs for six weeks before they need replacing.",
        "d4": "The water tank holds forty litres and is refilled once a month.",
        "d5": "Three shelves fit twelve plants each, and the water tank sits below them.",
    }
    queries = {
        "q1": "How fast does a glass kettle boil water?",
        "q2": "How long do grow lamps give plants light?",
        "q3": "When do nutrient pods for herbs need replacing?",
        "q4": "How many plants fit on the shelves?",
        "t1": "How many plants fit on the shelves?",
    }
    folder = tmp_path / "tiny"
    (folder / "qrels").mkdir(parents=True)
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": k, "title": TITLES.get(k, ""), "text": v}) + "\n" for k, v in docs.items())
    )
    (folder / "queries.jsonl").write_text(
        "".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in queries.items())
    )
    header = "query-id\tcorpus-id\tscore\n"
    (folder / "qrels" / "train.tsv").write_text(header + "q1\td1\t1\nq2\td2\t1\nq3\td3\t1\nq4\td5\t1\n")
    (folder / "qrels" / "test.tsv").write_text(header + "t1\td5\t1\n")
    return folder


@pytest.mark.slow
def test_the_command_trains_on_a_beir_folder_without_its_test_queries(
    beir_dir: Path, tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model"
    args = ["--dataset", str(beir_dir), "--out", str(out), "--mining", "bm25", "--negatives", "1"]
    code = main(
        ["finetune-reranker", *args, "--max-length", "48", "--batch-size", "4", "--title-queries", "2"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)
    assert result["reranker"] == f"ce:{out.resolve()}" and result["questions"] == 3  # q4 is the test query
    assert result["title_queries"] == 1 and "3 questions (and 1 document titles as questions)" in captured.err
    assert (result["heldout"], result["dropped"], result["pairs"], result["steps"]) == (1, 1, 8, 2)
    meta = json.loads((out / registry.META_FILE).read_text())
    assert meta["kind"] == "reranker" and meta["heldout"] == "test" and meta["mining"] == "bm25"
    assert meta["title_queries"] == 1
    assert len(get_reranker(result["reranker"]).score("kettle?", ["Glass kettles boil", "Grow lamps"])) == 2
