import dataclasses

import pytest

from playground.core.errors import ConfigError, MissingApiKeyError, ModelError, UnknownModelError
from playground.core.settings import Settings
from playground.models.fake import FakeLLM
from playground.models.registry import get_embedder, get_llm

from .openai_stub import openai_stub


def test_unknown_model_lists_the_choices(settings):
    with pytest.raises(UnknownModelError, match=r"local:qwen2\.5-0\.5b"):
        get_llm("gpt-9", settings)
    with pytest.raises(UnknownModelError, match="openai-compatible:<model>@http"):
        get_llm("openai-compatible:nourl", settings)


def test_openai_without_key_says_how_to_add_one(settings):
    with pytest.raises(MissingApiKeyError, match=r"OPENAI_API_KEY.*Settings page"):
        get_llm("openai:gpt-4o-mini", settings)
    with pytest.raises(MissingApiKeyError):
        get_embedder("openai:text-embedding-3-small", settings)


def test_fake_llm_rules_and_extraction():
    llm = FakeLLM(rules=[("capital", "Paris")])
    assert llm.chat([{"role": "user", "content": "What is the capital?"}]).text == "Paris"
    reply = llm.chat(
        [{"role": "user", "content": "Context:\nThe fee is 6 euros. Cats purr.\n\nQuestion: What fee?"}]
    )
    assert reply.text == "The fee is 6 euros."
    assert llm.chat([{"role": "user", "content": "Question: anything"}]).text == "not in the documents"
    assert len(llm.calls) == 3


def test_openai_compatible_server_chat_and_embeddings(settings):
    with openai_stub() as (url, state):
        llm = get_llm(f"openai-compatible:tiny@{url}", settings)
        out = llm.chat([{"role": "user", "content": "hi"}], max_tokens=5)
        assert out.text == "stub answer" and out.prompt_tokens == 11 and out.completion_tokens == 3
        assert state.requests[0]["model"] == "tiny" and state.requests[0]["max_tokens"] == 5
        vectors = get_embedder(f"openai-compatible:emb@{url}", settings).embed_documents(["a", "bb"])
        assert vectors.shape == (2, 3)
        assert abs(float((vectors[0] ** 2).sum()) - 1.0) < 1e-5


@pytest.mark.parametrize(
    "fault, message",
    [
        ("401", "API key was rejected"),
        ("404", "does not know the model"),
        ("500", "server returned an error"),
        ("malformed", "not valid OpenAI JSON"),
    ],
)
def test_server_errors_become_clear_messages(settings, fault, message):
    with openai_stub() as (url, state):
        state.faults = [fault] * 5
        llm = get_llm(f"openai-compatible:tiny@{url}", Settings(data_dir=settings.data_dir))
        with pytest.raises(ModelError, match=message):
            llm.chat([{"role": "user", "content": "hi"}])


def test_rate_limit_is_retried(settings):
    with openai_stub() as (url, state):
        state.faults = ["429"]
        out = get_llm(f"openai-compatible:tiny@{url}", settings).chat([{"role": "user", "content": "hi"}])
        assert out.text == "stub answer" and len(state.requests) == 2


def _flaky(settings, url, **kw):
    """A model on the stub with a short timeout and one retry, so each fault test takes about a second."""
    fast = dataclasses.replace(settings, request_timeout_s=0.5, max_retries=1, **kw)
    return get_llm(f"openai-compatible:tiny@{url}", fast)


@pytest.mark.parametrize(
    "fault, message",
    [
        ("timeout", "did not answer within 0.5 s \\(tried 2 times\\).*lower the concurrency"),
        ("drop", "closed the connection before the answer was complete \\(tried 2 times\\)"),
        ("500", "server returned an error"),
    ],
)
def test_a_fault_once_is_retried_and_a_lasting_one_is_explained(settings, fault, message):
    with openai_stub() as (url, state):
        state.timeout_delay_s = 1.5
        state.faults = [fault]
        assert _flaky(settings, url).chat([{"role": "user", "content": "hi"}]).text == "stub answer"
        assert len(state.requests) == 2
        state.faults = [fault] * 2
        with pytest.raises(ModelError, match=message):
            _flaky(settings, url).chat([{"role": "user", "content": "hi"}])
        assert len(state.requests) == 4


def test_retry_after_is_waited_for(settings):
    with openai_stub() as (url, state):
        state.faults, state.retry_after = ["429"], "1"
        assert _flaky(settings, url).chat([{"role": "user", "content": "hi"}]).text == "stub answer"
        (first, fault), (second, _) = state.times
        assert fault == "429" and second - first >= 0.95


def test_connection_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_REQUEST_TIMEOUT_S", "2.5")
    monkeypatch.setenv("PLAYGROUND_MAX_RETRIES", "0")
    monkeypatch.setenv("PLAYGROUND_CONCURRENCY", "8")
    monkeypatch.setenv("PLAYGROUND_CHROMA_URL", "http://127.0.0.1:8000")
    settings = Settings.from_env()
    assert (settings.request_timeout_s, settings.max_retries, settings.concurrency) == (2.5, 0, 8)
    assert settings.chroma_url == "http://127.0.0.1:8000"
    monkeypatch.setenv("PLAYGROUND_CONCURRENCY", "0")
    with pytest.raises(ConfigError, match="PLAYGROUND_CONCURRENCY='0' is not valid"):
        Settings.from_env()


def test_unreachable_server(settings):
    llm = get_llm(
        "openai-compatible:tiny@http://127.0.0.1:9/v1",
        Settings(data_dir=settings.data_dir, request_timeout_s=2),
    )
    with pytest.raises(ModelError, match="cannot reach"):
        llm.chat([{"role": "user", "content": "hi"}])


def test_missing_local_model_file_names_the_setup_command(tmp_path, monkeypatch):
    from playground.models import llamacpp

    monkeypatch.setenv("PLAYGROUND_MODELS_DIR", str(tmp_path))
    monkeypatch.setattr(llamacpp, "_LOCAL_MODELS", {})
    llm = get_llm("local:qwen2.5-0.5b")  # naming it loads nothing: the file is looked for at its first call
    with pytest.raises(ModelError, match="make run"):
        llm.chat([{"role": "user", "content": "hi"}])


def test_corrupt_local_model_file(tmp_path):
    from playground.models.llamacpp import LlamaCppLLM

    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 100)
    with pytest.raises(ModelError, match="corrupt"):
        LlamaCppLLM("local:bad", bad)
