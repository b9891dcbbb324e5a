"""Chat JSONL export and validation (by line), token counts, the cost table; the training progress monitor;
the model registry's all-or-nothing install."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from playground.core.errors import InputError, StoppedError
from playground.core.settings import Settings
from playground.finetune import chatfile, registry
from playground.finetune.data import TrainingItem
from playground.finetune.progress import DivergedError, Monitor, run_steps
from playground.rag.prompts import DEFAULT_SYSTEM

ITEMS = [
    TrainingItem(f"q{i}", f"What is fact number {i}?", f"answer {i}", f"passage {i}", f"c{i}", "d")
    for i in range(12)
]


def words(text: str) -> int:
    return len(text.split())


def test_export_is_the_no_retrieval_prompt_plus_the_answer() -> None:
    lines = chatfile.to_chat_jsonl(ITEMS[:2]).splitlines()
    first = json.loads(lines[0])["messages"]
    assert [m["role"] for m in first] == ["system", "user", "assistant"]
    assert first[0]["content"] == DEFAULT_SYSTEM and first[1]["content"] == "Question: What is fact number 0?"
    assert first[2]["content"] == "answer 0"
    assert [json.loads(line) for line in chatfile.to_pairs_jsonl(ITEMS[:1]).splitlines()] == [
        {"anchor": "What is fact number 0?", "positive": "passage 0"}
    ]
    no_passage = TrainingItem("x", "Q?", "A")
    assert chatfile.to_pairs([no_passage, *ITEMS[:1]]) == [("What is fact number 0?", "passage 0")]


def test_validation_reports_broken_lines_by_number_and_keeps_the_good_ones() -> None:
    good = chatfile.to_chat_jsonl(ITEMS[:3]).splitlines()
    lines = [
        good[0],
        '{"messages": [{"role": "user", "content": "hi"}',  # 2: broken JSON
        '{"prompt": "old format", "completion": "x"}',  # 3: no messages
        '{"messages": [{"role": "robot", "content": "hi"}]}',  # 4: bad role
        '{"messages": [{"role": "user", "content": "only a question"}]}',  # 5: nothing to learn
        "",  # 6: blank lines are fine
        good[1],
        '["a", "list"]',  # 8: not an object
        '{"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "x"}]}',  # 9
        good[2],
    ]
    report = chatfile.validate_chat_jsonl("\n".join(lines).encode(), count=words, counting="words")
    assert report.lines == [1, 7, 10]
    assert [(i.line, i.message.split(" (")[0]) for i in report.issues] == [
        (2, "not valid JSON"),
        (3, "no 'messages' list"),
        (4, "message 1 has role 'robot'; use one of system, developer, user, assistant, tool"),
        (5, "no assistant message to learn from"),
        (8, "not a JSON object"),
        (9, "message 1"),
    ]
    assert len(report.good_jsonl().splitlines()) == 3


def test_too_few_examples_say_the_minimum() -> None:
    nine = chatfile.validate_chat_jsonl(chatfile.to_chat_jsonl(ITEMS[:9]), count=words)
    assert not nine.enough and "at least 10" in nine.verdict()
    ten = chatfile.validate_chat_jsonl(chatfile.to_chat_jsonl(ITEMS[:10]), count=words)
    assert ten.enough and "Quality matters more than quantity" in ten.verdict()


def test_token_counts_add_the_chat_overhead() -> None:
    example = {
        "messages": [{"role": "user", "content": "one two three"}, {"role": "assistant", "content": "four"}]
    }
    assert chatfile.example_tokens(example, words) == 3 + (4 + 3) + (4 + 1)
    assert chatfile.estimate_tokens("one two three four five six seven eight nine ten") == 13
    count, how = chatfile.local_token_counter()
    assert count("Tansywick Growworks ships to eleven countries.") > 3 and how


def test_cost_is_tokens_times_epochs_times_price() -> None:
    assert chatfile.training_cost(1_000_000, 3, 3.0) == pytest.approx(9.0)
    table = chatfile.cost_table(200_000, 2, {"model-a": 5.0, "model-b": 25.0})
    assert [r["estimated cost (USD)"] for r in table] == [2.0, 10.0]
    assert table[0]["training tokens"] == 400_000
    assert all(price > 0 for price in chatfile.DEFAULT_PRICES.values())


# --- progress -----------------------------------------------------------------------------------------------


def test_a_nan_loss_stops_training_as_diverged() -> None:
    calls: list[int] = []

    def step(i: int) -> float:
        calls.append(i)
        return math.nan if i == 3 else 1.0 / i

    seen: list[tuple[int, float]] = []
    monitor = Monitor(on_loss=lambda s, loss, total: seen.append((s, loss)))
    with pytest.raises(DivergedError, match=r"step 3 of 10.*learning rate"):
        run_steps(step, 10, monitor)
    assert calls == [1, 2, 3] and len(seen) == 3 and math.isnan(monitor.losses[-1][1])


def test_a_stop_request_ends_before_the_next_step() -> None:
    asked = iter([False, False, True])
    monitor = Monitor(should_stop=lambda: next(asked))
    with pytest.raises(StoppedError, match="after 2 of 5"):
        run_steps(lambda i: 0.5, 5, monitor)
    assert len(monitor.losses) == 2


def test_monitor_keeps_extra_curves() -> None:
    got: list[tuple[str, int, float]] = []
    monitor = Monitor(on_metric=lambda *a: got.append(a))
    monitor.metric("valid_loss", 4, 0.5)
    assert monitor.metrics == {"valid_loss": [(4, 0.5)]} and got == [("valid_loss", 4, 0.5)]


# --- registry -----------------------------------------------------------------------------------------------


def test_install_replaces_a_model_only_when_the_new_one_is_complete(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    final = registry.models_dir(settings) / "mine"
    first = registry.staging_dir(final)
    (first / "weights").write_text("v1")
    registry.install(first, final, {"kind": "embeddings", "trained_on": "the sample"})
    broken = registry.staging_dir(final)  # a second run that fails half-way never calls install
    (broken / "weights").write_text("half")
    assert (final / "weights").read_text() == "v1"
    [model] = registry.list_models(settings)
    assert model.choice == f"st:{final}" and "fine-tuned on the sample" in model.label
    second = registry.staging_dir(final)
    (second / "weights").write_text("v2")
    registry.install(second, final, {"kind": "embeddings"})
    assert (final / "weights").read_text() == "v2"
    assert [p.name for p in final.parent.iterdir() if not p.name.startswith(".mine.partial")] == ["mine"]


def test_list_models_knows_lora_adapters_and_skips_unfinished_folders(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    folder = registry.models_dir(settings) / "tuned"
    staging = registry.staging_dir(folder)
    (staging / registry.ADAPTER_FILE).write_bytes(b"gguf")
    registry.install(staging, folder, {"kind": "lora", "base_model": "local:qwen2.5-0.5b"})
    (registry.models_dir(settings) / "no-meta").mkdir()
    [model] = registry.list_models(settings, kind="lora")
    assert model.choice == f"local:qwen2.5-0.5b+lora:{folder / registry.ADAPTER_FILE}"
    assert registry.list_models(settings, kind="embeddings") == []


@pytest.mark.parametrize("name", ["", "../escape", "a b", "x" * 65, ".hidden"])
def test_model_names_must_be_safe_folder_names(name: str) -> None:
    with pytest.raises(InputError):
        registry.check_name(name)
