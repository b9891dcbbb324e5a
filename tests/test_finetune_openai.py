"""OpenAI fine-tuning against a local stand-in for the files and fine-tuning endpoints."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import openai
import pytest

from playground.core.errors import MissingApiKeyError, ModelError, StoppedError
from playground.core.settings import Settings
from playground.finetune import chatfile, jobs, openai_ft
from playground.finetune.data import TrainingItem
from playground.finetune.openai_ft import LossPoint, OpenAIHyper
from playground.finetune.progress import Monitor
from tests.openai_ft_stub import openai_ft_stub

TRAIN = chatfile.to_chat_jsonl(
    [TrainingItem(f"q{i}", f"Question {i}?", f"Answer {i}") for i in range(10)]
).encode()


def client(url: str) -> openai.OpenAI:
    return openai.OpenAI(api_key="test-key", base_url=url, max_retries=0)


def test_a_finetune_uploads_creates_polls_and_returns_the_model() -> None:
    with openai_ft_stub() as (url, state):
        monitor = Monitor()
        result = openai_ft.run_finetune(
            client(url),
            TRAIN,
            "gpt-4o-mini-2024-07-18",
            OpenAIHyper(n_epochs=3, learning_rate_multiplier=0.5),
            monitor,
            validation=TRAIN,
            suffix="tansy",
            poll_s=0.01,
        )
    assert result == {
        "model": "openai:ft:gpt-4o-mini-2024-07-18:stub::abc123",
        "job_id": "ftjob-1",
        "trained_tokens": 1234,
    }
    assert state.files["file-1"] == TRAIN and len(state.files) == 2
    created = json.loads(
        next(body for method, path, body in state.requests if path == "/v1/fine_tuning/jobs")
    )
    assert created["training_file"] == "file-1" and created["validation_file"] == "file-2"
    assert created["suffix"] == "tansy"
    assert created["method"]["supervised"]["hyperparameters"] == {
        "n_epochs": 3,
        "batch_size": "auto",
        "learning_rate_multiplier": 0.5,
    }
    assert monitor.losses == [(1, 2.0), (2, 1.5), (3, 1.0), (4, 0.5)]
    assert monitor.metrics["valid_loss"] == [(1, 2.1), (2, 1.6), (3, 1.1), (4, 0.6)]


def test_a_failed_remote_job_says_why() -> None:
    with openai_ft_stub() as (url, state):
        state.fail_with = "Line 3 has no assistant message."
        with pytest.raises(ModelError, match="ended as 'failed': Line 3 has no assistant message"):
            openai_ft.run_finetune(
                client(url), TRAIN, "gpt-4o-mini-2024-07-18", OpenAIHyper(), Monitor(), poll_s=0.01
            )


def test_stop_cancels_the_remote_job() -> None:
    with openai_ft_stub() as (url, state):
        with pytest.raises(StoppedError, match="cancelled"):
            openai_ft.run_finetune(
                client(url), TRAIN, "m", OpenAIHyper(), Monitor(should_stop=lambda: True), poll_s=0.01
            )
        assert state.jobs["ftjob-1"]["status"] == "cancelled"


def test_errors_from_the_server_become_model_errors() -> None:
    with openai_ft_stub() as (url, _), pytest.raises(ModelError, match="Reading the fine-tuning job failed"):
        openai_ft.job_state(client(url), "ftjob-missing")
    with pytest.raises(ModelError, match="cannot reach the server"):
        openai_ft.upload(client("http://127.0.0.1:9/v1"), TRAIN)


@pytest.mark.parametrize(
    "event, expected",
    [
        (
            SimpleNamespace(
                data={"step": 7, "train_loss": 0.8, "valid_loss": 0.9, "total_steps": 30}, message=""
            ),
            LossPoint(7, 0.8, 0.9, 30),
        ),
        (
            SimpleNamespace(data=None, message="Step 12/40: training loss=1.25, validation loss=1.5"),
            LossPoint(12, 1.25, 1.5, 40),
        ),
        (SimpleNamespace(data={}, message="step 3: train_loss: 0.5"), LossPoint(3, 0.5, None, None)),
        (SimpleNamespace(data=None, message="Fine-tuning job started"), None),
        (SimpleNamespace(data={"step": 2}, message="Step 2/9 done"), None),
    ],
)
def test_losses_are_read_from_event_data_or_the_message(
    event: SimpleNamespace, expected: LossPoint | None
) -> None:
    assert openai_ft.parse_loss(event) == expected


def test_no_key_and_no_base_url_is_a_clear_error() -> None:
    with pytest.raises(MissingApiKeyError, match="API key"):
        openai_ft.client_for(Settings())


def test_the_openai_job_runs_in_the_background_with_the_key_kept_out_of_files(tmp_path: Path) -> None:
    training = tmp_path / "train.jsonl"
    training.write_bytes(TRAIN)
    with openai_ft_stub() as (url, _):
        settings = Settings(data_dir=tmp_path / "data", openai_base_url=url)
        job = jobs.start_job(
            settings,
            "openai",
            {"file": str(training), "model": "gpt-4o-mini", "poll_s": 0.01},
            env={"OPENAI_API_KEY": "sk-secret-test"},
        )
        done = jobs.wait(settings, job.job_id, timeout_s=60)
    assert done.status == "succeeded", done.reason
    assert done.result["model"] == "openai:ft:gpt-4o-mini:stub::abc123"
    assert [p[0] for p in done.losses] == [1, 2, 3, 4] and len(done.extra["valid_loss"]) == 4
    for file in (jobs.jobs_dir(settings) / job.job_id).iterdir():
        assert "sk-secret-test" not in file.read_text()
