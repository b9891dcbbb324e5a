"""Model names: one parser and printer (`playground.models.names`), the registry that resolves them, the one
OpenAI client factory, and a scan of the code base for model names parsed or built anywhere else."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from playground.core.errors import MissingApiKeyError, UnknownModelError
from playground.core.settings import Settings
from playground.models import registry
from playground.models.fake import FakeLLM
from playground.models.names import (
    ModelName,
    compatible_model_name,
    cross_encoder_name,
    known_models,
    local_model_name,
    lora_model_name,
    openai_model_name,
    parse_model_name,
    rerank_server_name,
    st_model_name,
    try_parse_model_name,
)
from playground.models.openai_client import OPENAI_URL, openai_client
from playground.models.registry import get_embedder, get_llm

from .conftest import FAST_LOCAL_MODEL, ROOT
from .openai_stub import openai_stub

FORMS = [
    ("local:qwen2.5-0.5b", ModelName("local", "qwen2.5-0.5b")),
    ("local:/models/mine.gguf", ModelName("local", "/models/mine.gguf")),
    (
        "local:qwen2.5-0.5b+lora:/data/models/run-1/adapter.gguf",
        ModelName("local", "qwen2.5-0.5b", lora=Path("/data/models/run-1/adapter.gguf")),
    ),
    ("local:all-minilm-l6-v2", ModelName("local", "all-minilm-l6-v2")),
    ("openai:gpt-4o-mini", ModelName("openai", "gpt-4o-mini")),
    (
        "openai:ft:gpt-4o-mini-2024-07-18:acme::abc123",
        ModelName("openai", "ft:gpt-4o-mini-2024-07-18:acme::abc123"),
    ),
    (
        "openai-compatible:llama3.2:latest@http://localhost:11434/v1",
        ModelName("openai-compatible", "llama3.2:latest", base_url="http://localhost:11434/v1"),
    ),
    ("st:/data/models/minilm-tuned", ModelName("st", "/data/models/minilm-tuned")),
    ("fake:extractive", ModelName("fake", "extractive")),
    ("ce:/data/models/my-reranker", ModelName("ce", "/data/models/my-reranker")),
    (
        "rerank:BAAI/bge-reranker-v2-m3@http://localhost:8000",
        ModelName("rerank", "BAAI/bge-reranker-v2-m3", base_url="http://localhost:8000"),
    ),
]


@pytest.mark.parametrize("text, expected", FORMS)
def test_every_form_parses_and_prints_back(text: str, expected: ModelName) -> None:
    assert parse_model_name(text) == expected
    assert str(expected) == text
    assert parse_model_name(f"  {text}\n") == expected  # pasted with spaces around


def test_what_a_name_says_about_its_model(tmp_path: Path) -> None:
    hosted = [parse_model_name(t).is_hosted for t, _ in FORMS]
    assert hosted == [False] * 4 + [True] * 3 + [False] * 3 + [True]
    assert [parse_model_name(t).is_reranker for t, _ in FORMS] == [False] * 9 + [True] * 2
    lora = parse_model_name(FORMS[2][0])
    assert lora.is_catalogued and lora.is_local_llm and str(lora.base) == "local:qwen2.5-0.5b"
    assert (
        parse_model_name("local:/m/x.gguf").is_gguf_file
        and not parse_model_name("local:/m/x.gguf").is_catalogued
    )
    assert not parse_model_name("local:all-minilm-l6-v2").is_local_llm
    assert parse_model_name("st:/x").is_sentence_transformers
    assert all(parse_model_name(n) for n in known_models()) and "fake:extractive" in known_models()


def test_builders_give_the_canonical_text(tmp_path: Path) -> None:
    adapter = tmp_path / "adapter.gguf"
    assert str(local_model_name("qwen2.5-1.5b")) == "local:qwen2.5-1.5b"
    assert str(lora_model_name("local:qwen2.5-0.5b", adapter)) == f"local:qwen2.5-0.5b+lora:{adapter}"
    assert lora_model_name(local_model_name("qwen2.5-0.5b"), adapter).lora == adapter
    assert str(openai_model_name("gpt-4o")) == "openai:gpt-4o"
    assert str(compatible_model_name("m", "https://h/v1")) == "openai-compatible:m@https://h/v1"
    assert str(st_model_name(tmp_path)) == f"st:{tmp_path}"
    assert str(cross_encoder_name(tmp_path)) == f"ce:{tmp_path}"
    assert str(rerank_server_name("bge", "http://h:8000")) == "rerank:bge@http://h:8000"
    with pytest.raises(UnknownModelError, match=r"should look like rerank:<model>@http://host:port"):
        rerank_server_name("bge", "h:8000")
    with pytest.raises(UnknownModelError, match="should look like"):
        lora_model_name("openai:gpt-4o-mini", adapter)  # only a local model takes an adapter
    with pytest.raises(UnknownModelError, match="http://host:port/v1"):
        compatible_model_name("m", "localhost:8000")


@pytest.mark.parametrize(
    "text, message",
    [
        ("gpt-4o-mini", r"Unknown model 'gpt-4o-mini'\. Use local:qwen2\.5-0\.5b.*openai:<model>"),
        ("azure:gpt-4o", r"Unknown model 'azure:gpt-4o'\. Use .*openai-compatible:<model>@http"),
        ("", r"Unknown model ''"),
        ("openai:", r"'openai:' names no model\. Write it as openai:<model>, e\.g\. openai:gpt-4o-mini"),
        ("openai: gpt-4o", r"spaces around the model's name: remove them"),
        (
            "local:llama-9b",
            r"Unknown local model 'local:llama-9b'\. Use local:qwen2\.5-0\.5b.*local:<file\.gguf>",
        ),
        (
            "openai-compatible:llama3.2",
            r"should look like openai-compatible:<model>@http://host:port/v1, e\.g\.",
        ),
        ("openai-compatible:llama3.2@localhost:11434", r"should look like openai-compatible:<model>@http"),
        ("openai-compatible:@http://h/v1", r"names no model"),
        ("local:qwen2.5-0.5b+lora:", r"should look like 'local:qwen2\.5-0\.5b\+lora:<adapter\.gguf>'"),
        ("local:all-minilm-l6-v2+lora:/a.gguf", r"should look like 'local:qwen2\.5-0\.5b\+lora:"),
        ("cohere:rerank-v3", r"Use .*ce:<cross-encoder folder> or rerank:<model>@http://host:port"),
        ("ce:", r"'ce:' names no model\. Write it as ce:<cross-encoder folder>"),
        ("rerank:bge", r"'rerank:bge' should look like rerank:<model>@http://host:port, e\.g\."),
        ("rerank:bge@localhost:8000", r"should look like rerank:<model>@http"),
    ],
)
def test_a_bad_name_says_which_forms_are_accepted(text: str, message: str) -> None:
    with pytest.raises(UnknownModelError, match=message):
        parse_model_name(text)
    assert try_parse_model_name(text) is None


# --- the registry -------------------------------------------------------------------------------------------


def test_the_registry_resolves_by_provider_and_kind(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert isinstance(get_llm("fake:extractive", settings), FakeLLM)
    assert get_llm(parse_model_name("fake:extractive"), settings).name == "fake:extractive"
    with pytest.raises(UnknownModelError, match="is an embedder, not a chat model"):
        get_llm("local:all-minilm-l6-v2", settings)
    with pytest.raises(UnknownModelError, match="'st:/x' is not a chat model"):
        get_llm("st:/x", settings)
    with pytest.raises(UnknownModelError, match=r"'ce:/x' is not a chat model \(a reranker"):
        get_llm("ce:/x", settings)
    with pytest.raises(UnknownModelError, match="'ce:/x' is not an embedder"):
        get_embedder("ce:/x", settings)
    with pytest.raises(UnknownModelError, match="is a chat model, not an embedder"):
        get_embedder("local:qwen2.5-0.5b", settings)
    with pytest.raises(UnknownModelError, match="'fake:extractive' is not an embedder"):
        get_embedder("fake:extractive", settings)
    scripted = FakeLLM(name="fake:scripted", rules=[(".", "scripted")])
    monkeypatch.setitem(registry._LLMS, "fake", lambda name, s, client: scripted)
    assert get_llm("fake:scripted", settings) is scripted  # a registered factory replaces the built-in one


def test_a_local_model_loads_once_whatever_spelling_names_it(settings: Settings) -> None:
    """The real 0.5B model through the registry: text and parsed name reach the same loaded model."""
    llm = get_llm(FAST_LOCAL_MODEL, settings)
    loaded = llm.load()  # type: ignore[attr-defined]  # a local model loads on its first call; here, now
    assert get_llm(f" {FAST_LOCAL_MODEL} ", settings).load() is loaded  # type: ignore[attr-defined]
    assert get_llm(parse_model_name(FAST_LOCAL_MODEL), settings).load() is loaded  # type: ignore[attr-defined]
    reply = llm.chat([{"role": "user", "content": "Say yes."}], max_tokens=3)
    assert reply.model == FAST_LOCAL_MODEL and reply.completion_tokens > 0


# --- the OpenAI client factory ------------------------------------------------------------------------------


def test_the_client_follows_the_settings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, openai_api_key="sk-test", request_timeout_s=7.5, max_retries=5)
    client = openai_client(settings)
    assert (client.timeout, client.max_retries, client.api_key) == (7.5, 5, "sk-test")
    assert str(client.base_url).rstrip("/") == OPENAI_URL
    proxy = dataclasses.replace(settings, openai_base_url="http://127.0.0.1:9/v1")
    assert str(openai_client(proxy).base_url).rstrip("/") == "http://127.0.0.1:9/v1"
    keyless = Settings(data_dir=tmp_path)
    server = openai_client(keyless, base_url="http://127.0.0.1:9/v1")  # a compatible server needs no key
    assert server.api_key == "not-needed" and str(server.base_url).rstrip("/") == "http://127.0.0.1:9/v1"
    with pytest.raises(MissingApiKeyError, match=r"'openai:x' needs an OpenAI API key.*Settings page"):
        openai_client(keyless, needed_by="'openai:x'")


def test_the_key_comes_only_from_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK would read OPENAI_API_KEY itself; a session's settings without a key must not borrow it."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://elsewhere.example/v1")
    with pytest.raises(MissingApiKeyError):
        get_llm("openai:gpt-4o-mini", Settings(data_dir=tmp_path))
    client = openai_client(Settings(data_dir=tmp_path), base_url="http://127.0.0.1:9/v1")
    assert client.api_key == "not-needed"


def test_embedders_honour_the_retry_setting(settings: Settings) -> None:
    """Embeddings used to ignore the timeout and retry settings (a fixed 120 s, 2 retries)."""
    with openai_stub() as (url, state):
        strict = dataclasses.replace(settings, max_retries=0)
        state.faults = ["500"]
        with pytest.raises(Exception, match="embedding failed"):
            get_embedder(f"openai-compatible:emb@{url}", strict).embed_documents(["a"])
        state.faults = ["500"]
        patient = dataclasses.replace(settings, max_retries=1)
        assert get_embedder(f"openai-compatible:emb@{url}", patient).embed_documents(["a"]).shape == (1, 3)
        assert len(state.requests) == 3


def test_a_client_can_be_passed_in(settings: Settings) -> None:
    with openai_stub() as (url, state):
        client = openai_client(settings, base_url=url)
        llm = get_llm("openai:stub-model", settings, client=client)  # no key needed: the client is given
        assert llm.chat([{"role": "user", "content": "hi"}]).text == "stub answer"
        assert state.requests[0]["model"] == "stub-model"


# --- no model name parsed or built anywhere else ------------------------------------------------------------

STRAY = re.compile(
    r"""["']\+lora:|\+lora:\{"""  # a LoRA name taken apart or put together
    r"""|\.r?partition\(["'][:@]["']"""  # provider:rest, model@url
    r"""|\w*(model|name|embedder)\w*\W*\.r?split\(["'][:@]["']"""  # the same with split
    r"""|\.(startswith|removeprefix)\(\(?\s*["'](local|openai|st|ce|rerank|fake)\b"""  # a provider by prefix
    r"""|f["'](local|st|ce|rerank|openai|openai-compatible|fake):\{"""  # a name built with an f-string
    r"""|["'](local|st|ce|rerank|openai|openai-compatible|fake):["']"""  # a bare provider prefix
    r"""|split_compatible|split_lora"""
)
# Lines that match but do not read model names, and why.
ALLOWED = {
    ("playground/finetune/worker.py", 'str(spec["target"]).partition(":")'): "a job target `module:function`",
    ("playground/models/pricing.py", 'name.split(":")[1]'): "OpenAI's own `ft:<base>:<org>::<id>` model id",
}


def _stray_lines(text: str, path: str) -> list[str]:
    return [
        f"{path}:{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), 1)
        if STRAY.search(line) and not any(p == path and snippet in line for p, snippet in ALLOWED)
    ]


def test_the_scan_finds_the_ways_names_used_to_be_parsed() -> None:
    """The scan below passes only if it can fail: each of these (from the code before names.py) is caught."""
    before = [
        'provider, _, rest = name.partition(":")',
        'base, sep, lora = name.partition("+lora:")',
        'model, sep, url = rest.partition("@")',
        'model = variant.model.split(":")[1]',
        'kind = str(cfg.get("embedder", "")).split(":")[0]',
        'hosted = all(v.model.startswith(("openai:", "openai-compatible:")) for v in variants)',
        'key = base_model.removeprefix("local:")',
        'return FineTunedModel(folder.name, kind, folder, f"st:{folder}", meta)',
        'return f"{base_model}+lora:{adapter}"',
        "HOSTED_PROVIDERS = ('openai:', 'openai-compatible:')",
        'not str(index.get("embedder", "")).startswith("st:")',
        'return FineTunedModel(folder.name, kind, folder, f"ce:{folder}", meta)',
        'if name.startswith("rerank:"):',
    ]
    assert all(_stray_lines(line, "x.py") for line in before)
    assert not _stray_lines('text.removeprefix("\\ufeff"); source.removeprefix("sample:")', "x.py")
    assert not _stray_lines("title = sample.label.split(':')[0]", "x.py")


def test_model_names_are_parsed_only_in_names_py() -> None:
    files = [ROOT / "app.py", *(p for d in ("playground", "ui", "pages") for p in (ROOT / d).rglob("*.py"))]
    found = [
        hit
        for f in files
        if f != ROOT / "playground" / "models" / "names.py"
        for hit in _stray_lines(f.read_text(encoding="utf-8"), f.relative_to(ROOT).as_posix())
    ]
    assert not found, "Parse or build model names with playground.models.names:\n" + "\n".join(found)


def test_a_compatible_server_never_gets_the_openai_key(tmp_path: Path) -> None:
    """An `openai-compatible:` server may be anyone's: it gets its own key or none, not the user's OpenAI key."""
    settings = Settings(data_dir=tmp_path, openai_api_key="sk-openai-secret")
    assert openai_client(settings, base_url="http://127.0.0.1:9/v1").api_key == "not-needed"
    with_own_key = dataclasses.replace(settings, compatible_api_key="vllm-key")
    assert openai_client(with_own_key, base_url="http://127.0.0.1:9/v1").api_key == "vllm-key"
    assert openai_client(with_own_key).api_key == "sk-openai-secret"  # OpenAI itself still gets its key
