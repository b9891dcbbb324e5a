from pathlib import Path

import pytest

from playground.core.config import (
    IndexConfig,
    VariantConfig,
    dump_variant_set,
    load_variant_set,
    load_variant_set_text,
    variant_from_dict,
)
from playground.core.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_configs_are_frozen_hashable_and_diffable():
    a = VariantConfig(name="a", use_retrieval=True, top_k=3)
    b = a.model_copy(update={"top_k": 5})
    with pytest.raises(ValueError):
        a.top_k = 9  # type: ignore[misc]
    assert a.key() != b.key()
    assert a.index.key() == b.index.key(), "a change of top_k keeps the index"
    assert a.diff(b) == {"top_k": (3, 5)}
    c = a.model_copy(update={"index": IndexConfig(chunk_size=300)})
    assert c.diff(a) == {"index.chunk_size": (300, 200)}


def test_behaviour_key_ignores_the_name():
    assert VariantConfig(name="x").behaviour_key() == VariantConfig(name="y").behaviour_key()


def test_unknown_key_is_an_error_that_names_it():
    with pytest.raises(ConfigError, match="unknown key 'topk'"):
        variant_from_dict({"name": "v", "topk": 3})
    with pytest.raises(ConfigError, match=r"index\.chunk_sise"):
        variant_from_dict({"name": "v", "index": {"chunk_sise": 3}})


def test_wrong_types_and_ranges_are_errors():
    with pytest.raises(ConfigError, match="top_k"):
        variant_from_dict({"name": "v", "top_k": "many"})
    with pytest.raises(ConfigError, match="chunk_overlap"):
        variant_from_dict({"name": "v", "index": {"chunk_size": 50, "chunk_overlap": 60}})


def test_yaml_round_trip(tmp_path: Path):
    variants = [
        VariantConfig(name="base"),
        VariantConfig(name="rag", use_retrieval=True, top_k=6, variables={"tone": "formal"}),
    ]
    path = tmp_path / "v.yaml"
    path.write_text(dump_variant_set(variants, corpus="docs", questions="q.jsonl"))
    loaded = load_variant_set(path)
    assert list(loaded.variants) == variants
    assert loaded.corpus == (tmp_path / "docs").resolve()


def test_defaults_merge_and_file_errors(tmp_path: Path):
    text = "defaults: {top_k: 7, index: {chunk_size: 100}}\nvariants:\n - {name: a, index: {chunk_overlap: 10}}\n"
    vset = load_variant_set_text(text, tmp_path)
    assert vset.variants[0].top_k == 7 and vset.variants[0].index.chunk_size == 100
    with pytest.raises(ConfigError, match="unknown key 'variant'"):
        load_variant_set_text("variant: []\nvariants: [{name: a}]", tmp_path)
    with pytest.raises(ConfigError, match="unique"):
        load_variant_set_text("variants: [{name: a}, {name: a}]", tmp_path)
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_variant_set_text("variants: [", tmp_path)
    with pytest.raises(ConfigError, match="not found"):
        load_variant_set(tmp_path / "missing.yaml")


def test_shipped_ladder_loads():
    vset = load_variant_set(ROOT / "sample_corpus" / "variants" / "ladder.yaml")
    assert {"baseline", "rag"} <= set(vset.names())
    assert vset.corpus is not None and vset.corpus.is_dir()
    assert vset.questions is not None and vset.questions.exists()
    assert not vset.get("baseline").use_retrieval and vset.get("rag").use_retrieval
