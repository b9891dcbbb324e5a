"""Fine-tuned models as choices: the `+lora:` model name, and real (small) trainings of both kinds.

The slow tests train for real on the CPU: MiniLM on ~40 pairs for one epoch, and a LoRA run of two steps on
the 0.5B model including the GGUF conversion and a llama.cpp load with the adapter. The transformers copy of
the model is made once (~1 min) under the data folder's hf-cache and reused by later runs.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path

import pytest

from playground.core.config import IndexConfig
from playground.core.errors import ModelError, StoppedError, UnknownModelError
from playground.core.settings import Settings, default_data_dir
from playground.finetune import data, evaluate, registry
from playground.finetune.embeddings import BASE_EMBEDDER, EmbedHyper, train_embedder
from playground.finetune.progress import Monitor
from playground.ingest.chunking import chunk_corpus
from playground.ingest.loaders import load_folder
from playground.ingest.questions import load_questions
from playground.models import llamacpp
from playground.models.local_models import CATALOGUE, model_path
from playground.models.names import parse_model_name
from playground.models.registry import get_embedder, get_llm
from playground.storage.keys import model_identity
from tests.conftest import FAST_LOCAL_MODEL, FICTIONAL_DOCS, FICTIONAL_QUESTIONS


def test_a_missing_adapter_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"adapter .* is missing\. Train it again"):
        get_llm(f"local:qwen2.5-0.5b+lora:{tmp_path / 'gone.gguf'}").chat([{"role": "user", "content": "hi"}])
    with pytest.raises(UnknownModelError, match="should look like"):
        get_llm("local:no-such-model+lora:/x.gguf")


def test_the_lora_name_and_the_cache_identity_include_the_adapter(tmp_path: Path) -> None:
    adapter = tmp_path / "adapter.gguf"
    adapter.write_bytes(b"weights v1")
    name = f"local:qwen2.5-0.5b+lora:{adapter}"
    parsed = parse_model_name(name)
    assert (str(parsed.base), parsed.lora) == ("local:qwen2.5-0.5b", adapter)
    assert parse_model_name("local:qwen2.5-0.5b").lora is None
    first = model_identity(name, Settings(data_dir=tmp_path))
    assert first.startswith(f"local:qwen2.5-0.5b#sha256={CATALOGUE['qwen2.5-0.5b'].sha256}+adapter#sha256=")
    adapter.write_bytes(b"weights v2, retrained")
    assert model_identity(name, Settings(data_dir=tmp_path)) != first


# --- real training ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fictional_items() -> list[data.TrainingItem]:
    corpus = load_folder(FICTIONAL_DOCS)
    index = IndexConfig()
    chunks = chunk_corpus(
        corpus.documents,
        chunker=index.chunker,
        chunk_size=index.chunk_size,
        chunk_overlap=index.chunk_overlap,
    )
    return data.answerable(data.items_from_questions(load_questions(FICTIONAL_QUESTIONS), corpus, chunks))


@pytest.mark.slow
def test_embedding_finetune_trains_saves_and_serves_as_an_embedder(
    tmp_path: Path, fictional_items: list[data.TrainingItem]
) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    pairs = [(i.question, i.passage) for i in fictional_items if i.passage][:40]
    assert len(pairs) == 40
    monitor = Monitor()
    trained = train_embedder(
        pairs,
        registry.models_dir(settings) / "mini",
        EmbedHyper(epochs=1, batch_size=16),
        monitor=monitor,
        meta={"trained_on": "fictional sample"},
    )
    assert trained.steps == 3 and [s for s, _ in monitor.losses] == [1, 2, 3]
    assert all(math.isfinite(loss) for _, loss in monitor.losses)
    [model] = registry.list_models(settings)
    assert model.choice == trained.embedder == f"st:{trained.path}"
    vector = get_embedder(trained.embedder, settings).embed_query("How long is the warranty?")
    assert vector.shape == (384,) and abs(float(vector @ vector) - 1.0) < 1e-4
    corpus = load_folder(FICTIONAL_DOCS)
    before = evaluate.retrieval_score(fictional_items[:10], corpus, IndexConfig(), BASE_EMBEDDER, settings)
    after = evaluate.retrieval_score(fictional_items[:10], corpus, IndexConfig(), trained.embedder, settings)
    assert before.n == after.n == 10 and 0.0 <= after.hit <= 1.0


@pytest.fixture(scope="module")
def lora_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A fresh data folder whose hf-cache is the project's, so the converted base model is made only once."""
    if not model_path("qwen2.5-0.5b").exists():
        pytest.skip("the 0.5B model is not set up (make setup)")
    shared = default_data_dir() / "hf-cache"
    shared.mkdir(parents=True, exist_ok=True)
    root = tmp_path_factory.mktemp("lora-data")
    os.symlink(shared, root / "hf-cache")
    return Settings(data_dir=root)


LORA_ITEMS = [
    data.TrainingItem(f"q{i}", q, a)
    for i, (q, a) in enumerate(
        [
            ("Who founded Zorblax Industries?", "Mira Quell"),
            ("Where is Zorblax Industries based?", "Port Vannick"),
            ("When was Zorblax Industries founded?", "12 May 1999"),
            ("What does Zorblax Industries make?", "glass kettles"),
        ]
    )
]


@pytest.mark.slow
def test_lora_trains_converts_and_llama_cpp_answers_with_the_adapter(lora_settings: Settings) -> None:
    from playground.finetune.lora import LoraHyper, train_lora

    stages: list[str] = []
    monitor = Monitor()
    trained = train_lora(
        LORA_ITEMS,
        registry.models_dir(lora_settings) / "zorblax",
        lora_settings,
        LoraHyper(epochs=1, batch_size=2, max_steps=2, learning_rate=1e-3),
        monitor=monitor,
        on_stage=stages.append,
        meta={"trained_on": "four made-up facts"},
    )
    assert [s for s, _ in monitor.losses] == [1, 2] and all(math.isfinite(v) for _, v in monitor.losses)
    assert trained.adapter.stat().st_size < 20_000_000
    assert any("GGUF" in s for s in stages) and any("llama.cpp" in s for s in stages)
    [model] = registry.list_models(lora_settings, kind="lora")
    assert model.choice == trained.model == f"{FAST_LOCAL_MODEL}+lora:{trained.adapter}"
    llm = get_llm(trained.model, lora_settings)
    reply = llm.chat([{"role": "user", "content": "Who founded Zorblax Industries?"}], max_tokens=8)
    assert reply.text and reply.model == trained.model
    assert trained.model in llamacpp.loaded_local_models()

    before = trained.adapter.read_bytes()
    with pytest.raises(StoppedError):  # a stopped run leaves the adapter that was there
        train_lora(
            LORA_ITEMS,
            registry.models_dir(lora_settings) / "zorblax",
            lora_settings,
            LoraHyper(max_steps=2),
            monitor=Monitor(should_stop=lambda: True),
        )
    assert trained.adapter.read_bytes() == before
    assert [p.name for p in registry.models_dir(lora_settings).iterdir()] == ["zorblax"]
    llamacpp.unload_local_models()


def test_settings_are_plain_values() -> None:
    assert dataclasses.is_dataclass(Settings)
