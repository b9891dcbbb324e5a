"""Background jobs: a real worker process runs trivial targets; status, losses, stop and failures are read
back from the job's files, also after "a page reload" (a reader that did not start the job)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from playground.core.errors import InputError
from playground.core.settings import ROOM_SECRET_ENV, Settings
from playground.finetune import jobs

COUNT = "tests.finetune_targets:count"


@pytest.fixture
def job_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def start(settings: Settings, **params: object) -> jobs.JobStatus:
    return jobs.start_job(settings, "count", dict(params), title="counting", target=COUNT)


def test_a_job_runs_in_its_own_process_and_reports_every_loss(job_settings: Settings) -> None:
    started = start(job_settings, steps=4)
    assert started.status == "queued" and started.pid
    done = jobs.wait(job_settings, started.job_id, timeout_s=60)
    assert done.status == "succeeded", done.reason
    assert done.losses == [[1, 1.0], [2, 0.5], [3, 1 / 3], [4, 0.25]] and (done.step, done.total) == (4, 4)
    assert done.result == {"model": "counted", "data_dir": str(job_settings.data_dir)}
    assert done.title == "counting" and done.pid == started.pid
    assert "succeeded" in (jobs.jobs_dir(job_settings) / started.job_id / "log.txt").read_text()


def test_a_worker_never_inherits_the_rooms_secret(
    job_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ROOM_SECRET_ENV, "signs-the-room-cookies")
    monkeypatch.setenv("PLAYGROUND_TEST_VISIBLE", "1")
    names = [ROOM_SECRET_ENV, "PLAYGROUND_TEST_VISIBLE"]
    started = jobs.start_job(
        job_settings, "env", {"names": names}, target="tests.finetune_targets:environment"
    )
    done = jobs.wait(job_settings, started.job_id, timeout_s=60)
    assert done.status == "succeeded", done.reason
    assert done.result["present"] == ["PLAYGROUND_TEST_VISIBLE"]


@pytest.mark.parametrize(
    "params, status, reason",
    [
        ({"nan_at": 2, "steps": 5}, "diverged", "loss became nan at step 2 of 5"),
        ({"fail": True}, "failed", "the input was bad The previous models are unchanged."),
        ({"unexpected": True}, "failed", "Unexpected error (RuntimeError: boom)"),
        ({"crash": True}, "failed", "ended unexpectedly"),
    ],
)
def test_failures_end_with_a_status_and_a_reason(
    job_settings: Settings, params: dict[str, object], status: str, reason: str
) -> None:
    done = jobs.wait(job_settings, start(job_settings, **params).job_id, timeout_s=60)
    assert done.status == status and reason in done.reason


def test_unexpected_errors_leave_their_traceback_in_the_log_only(job_settings: Settings) -> None:
    done = jobs.wait(job_settings, start(job_settings, unexpected=True).job_id, timeout_s=60)
    assert "Traceback" not in done.reason
    assert "Traceback" in (jobs.jobs_dir(job_settings) / done.job_id / "log.txt").read_text()


def wait_for_step(settings: Settings, job_id: str, step: int) -> jobs.JobStatus:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = jobs.read_job(settings, job_id)
        if status.step >= step or status.finished:
            return status
        time.sleep(0.05)
    raise AssertionError("the job made no progress")


def test_a_stop_request_stops_the_job_before_its_next_step(job_settings: Settings) -> None:
    job = start(job_settings, steps=1000, sleep=0.05)
    assert wait_for_step(job_settings, job.job_id, 2).status == "running"
    jobs.request_stop(job_settings, job.job_id)
    done = jobs.wait(job_settings, job.job_id, timeout_s=30)
    assert done.status == "stopped" and "previous models are unchanged" in done.reason
    assert 2 <= done.step < 1000 and done.stop_requested


def test_terminate_ends_a_worker_that_ignores_the_stop_file(job_settings: Settings) -> None:
    job = jobs.start_job(job_settings, "stubborn", {"sleep": 120}, target="tests.finetune_targets:stubborn")
    wait_for_step(job_settings, job.job_id, 1)
    done = jobs.terminate(job_settings, job.job_id)
    done = jobs.wait(job_settings, job.job_id, timeout_s=30)
    assert done.status == "stopped", done.reason


def test_a_reload_finds_the_running_job_and_its_progress(
    job_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = start(job_settings, steps=1000, sleep=0.05)
    wait_for_step(job_settings, job.job_id, 3)
    monkeypatch.setattr(jobs, "_CHILDREN", {})  # a new session or server process knows only the files
    found = jobs.active_job(job_settings)
    assert found is not None and found.job_id == job.job_id and found.status == "running" and found.step >= 3
    assert [j.job_id for j in jobs.list_jobs(job_settings)] == [job.job_id]
    jobs.request_stop(job_settings, job.job_id)
    assert jobs.wait(job_settings, job.job_id, timeout_s=30).status == "stopped"
    assert jobs.active_job(job_settings) is None


def test_unknown_kinds_and_jobs_say_so(job_settings: Settings) -> None:
    with pytest.raises(InputError, match="Unknown job kind"):
        jobs.start_job(job_settings, "nonsense", {})
    with pytest.raises(InputError, match="No training job"):
        jobs.read_job(job_settings, "missing")
    assert jobs.list_jobs(job_settings) == []
