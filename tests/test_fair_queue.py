"""A shared model lets its callers through in turns: round-robin between parties, in order within one.

Threads are started one at a time and each is waited for until the gate holds its call (while the gate is held,
so nothing moves meanwhile): the orders checked here are the only ones possible, not the likely ones.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from playground.core.config import VariantConfig
from playground.core.settings import Settings
from playground.evaluation import runner
from playground.evaluation.runner import RunOptions, run_evaluation
from playground.ingest.questions import load_questions
from playground.models.fair_queue import ANONYMOUS, CALLER, FairGate, OnWait, calling_as
from playground.models.fake import FakeLLM
from playground.models.llms import Completion, Message
from playground.storage import cached_models
from playground.storage.cached_models import CachedLLM
from playground.storage.response_cache import ResponseCache
from tests.conftest import FAST_LOCAL_MODEL, FICTIONAL_QUESTIONS

HELLO = [{"role": "user", "content": "hello"}]
WAIT_S = 10.0  # how long a test waits for a thread to get somewhere before it fails instead of hanging


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "a thread never got where the test waits for it"
        time.sleep(0.005)


class GatedModel(FakeLLM):
    """A fake local model behind a fair gate: each call records its party and may be held until let go."""

    def __init__(self) -> None:
        super().__init__(name="local:gated", rules=[("hello", "hi there")])
        self.gate = FairGate()
        self.parties: list[str] = []
        self.seconds = 0.0  # how long each call takes
        self.hold = threading.Event()  # calls block in their turn until this is set
        self.hold.set()
        self.entered = threading.Event()  # set when a call has its turn

    def chat(self, messages: list[Message], **kwargs: Any) -> Completion:
        with self.gate.turn():
            self.parties.append(CALLER.get())
            self.entered.set()
            assert self.hold.wait(WAIT_S)
            time.sleep(self.seconds)
            return super().chat(messages, **kwargs)


def as_party(party: str, call: Callable[[], object], on_wait: OnWait | None = None) -> threading.Thread:
    """A thread (not started) that makes `call` as `party`."""

    def run() -> None:
        with calling_as(party, on_wait):
            call()

    return threading.Thread(target=run, daemon=True)


def start_in_order(gate: FairGate, calls: list[tuple[str, Callable[[], object]]]) -> list[threading.Thread]:
    """Start the calls one by one, each once the one before is in the gate (so the order of arrival is known)."""
    threads = []
    for party, call in calls:
        held = gate.queued(party)
        threads.append(as_party(party, call))
        threads[-1].start()
        wait_until(lambda p=party, n=held: gate.queued(p) > n)  # type: ignore[misc]
    return threads


def join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(WAIT_S)
    assert not any(t.is_alive() for t in threads)


def test_parties_take_turns_and_each_party_keeps_its_order() -> None:
    """A's first call is being served when A queues two more and B and C queue theirs: B and C go before A's
    second, and B's second before A's third."""
    model = GatedModel()
    model.hold.clear()
    threads = start_in_order(model.gate, [(p, lambda: model.chat(HELLO)) for p in "AAABBC"])
    assert model.parties == ["A"]  # the first call went straight in
    assert [model.gate.place(p) for p in "ABC"] == [0, 1, 2]
    model.hold.set()
    join(threads)
    assert model.parties == ["A", "B", "C", "A", "B", "A"] == model.gate.served_order()


def test_a_party_that_was_idle_earns_no_extra_turns() -> None:
    """A ran alone for a while; when B comes, they alternate (B does not get A's past turns back)."""
    gate = FairGate()
    order: list[str] = []

    def call() -> None:
        with gate.turn():
            order.append(CALLER.get())

    with calling_as("A"):
        for _ in range(3):
            call()
    with calling_as("hold"), gate.turn():
        threads = start_in_order(gate, [(p, call) for p in "AABB"])
        assert [gate.place(p) for p in "AB"] == [1, 2]  # B waits behind A's first only
    join(threads)
    assert order == ["A", "A", "A", "A", "B", "A", "B"]


def test_a_waiting_call_hears_its_place_and_wait_until_its_turn() -> None:
    model = GatedModel()
    model.seconds = 0.2
    with calling_as("A"):
        model.chat(HELLO)  # one timed call: the estimates count 0.2 s or more a call
    model.seconds = 0.0
    assert model.gate.place("A") is None and model.gate.estimate_wait_s("A") is None  # no call queued
    model.hold.clear()
    model.entered.clear()
    threads = start_in_order(model.gate, [(p, lambda: model.chat(HELLO)) for p in "AB"])
    heard: list[tuple[int, float]] = []
    waiter = as_party("C", lambda: model.chat(HELLO), on_wait=lambda *told: heard.append(told))
    waiter.start()
    wait_until(lambda: bool(heard))
    assert heard[0][0] == 2 == model.gate.place("C")  # behind A's call being served and B's waiting one
    estimate = model.gate.estimate_wait_s("C")
    assert estimate is not None and 0.2 <= estimate <= 1.0 and 0.2 <= heard[0][1] <= 1.0
    model.hold.set()
    join([*threads, waiter])
    assert heard[-1] == (0, 0.0)  # told once more, when its turn came
    places = [place for place, _ in heard[:-1]]
    assert places == sorted(places, reverse=True) and set(places) <= {1, 2}


class Stopped(BaseException):
    """As a page's stop request, which lands wherever the script is."""


def test_a_call_that_raises_in_its_turn_or_in_the_queue_gives_its_place_up() -> None:
    gate = FairGate()
    with pytest.raises(RuntimeError, match="model broke"), gate.turn():
        raise RuntimeError("model broke")

    def stop(place: int, wait_s: float) -> None:
        raise Stopped

    raised: list[BaseException] = []

    def stopped_call() -> None:
        try:
            with gate.turn():
                pass
        except Stopped as err:
            raised.append(err)

    with calling_as("hold"), gate.turn():  # B must wait, so it hears its place, and stops there
        stopper = as_party("B", stopped_call, on_wait=stop)
        stopper.start()
        join([stopper])
        assert len(raised) == 1 and gate.queued("B") == 0  # the stopped call left the queue
    with gate.turn():  # nothing is held: a later call goes straight through
        assert gate.place(ANONYMOUS) == 0
    assert gate.served_order() == [ANONYMOUS, "hold", ANONYMOUS]


def test_a_nested_call_on_the_thread_being_served_goes_straight_through() -> None:
    gate = FairGate()
    with gate.turn(), gate.turn():
        assert gate.queued(ANONYMOUS) == 1
    assert gate.served_order() == [ANONYMOUS]


def test_the_sweep_calls_the_model_as_the_party_that_started_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answers run on the sweep's worker threads, yet the model hears whose sweep it is."""
    monkeypatch.setattr(runner, "semantic_embed", lambda *args, **kwargs: None)  # no embedder to load
    model = GatedModel()
    questions = load_questions(FICTIONAL_QUESTIONS).subset(3)
    variants = [VariantConfig(name=n, model="fake:extractive", use_retrieval=False) for n in ("a", "b")]
    options = RunOptions(use_cache=False, concurrency=2)
    with calling_as("alice"):
        run = run_evaluation(variants, None, questions, settings, llm=model, options=options)
    assert all(r.error is None for v in run.variants for r in v.rows)
    assert model.parties == ["alice"] * 6
    assert CALLER.get() == ANONYMOUS  # and the party does not leak out of its block


def test_the_same_call_from_two_parties_at_once_is_computed_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second party waits for the first's answer in flight instead of queueing for the model again."""
    model = GatedModel()
    model.hold.clear()
    claims: list[bool] = []
    real_claim = cached_models.claim

    def counted_claim(*args: Any) -> Any:
        owner, future = real_claim(*args)
        claims.append(owner)
        return owner, future

    monkeypatch.setattr(cached_models, "claim", counted_claim)
    cache = ResponseCache(settings)
    answers: list[str] = []
    threads = [
        as_party(p, lambda: answers.append(CachedLLM(model, cache, "gated").chat(HELLO).text)) for p in "AB"
    ]
    threads[0].start()
    assert model.entered.wait(WAIT_S)
    threads[1].start()
    wait_until(lambda: len(claims) == 2)  # B found A's call in flight, before its answer arrived
    model.hold.set()
    join(threads)
    assert claims == [True, False] and answers == ["hi there", "hi there"]
    assert model.parties == ["A"] and len(model.calls) == 1


@pytest.mark.slow
def test_the_real_local_model_serves_two_parties_in_turn(settings: Settings) -> None:
    """The 0.5B llama.cpp model, asked three times each by two parties on two threads, answers them alternately."""
    from playground.models.llamacpp import LlamaCppLLM
    from playground.models.registry import get_llm

    llm = get_llm(FAST_LOCAL_MODEL, settings)
    loaded = llm.load()  # type: ignore[attr-defined]
    assert isinstance(loaded, LlamaCppLLM)
    before = len(loaded.gate.served_order())
    texts: dict[str, list[str]] = {"A": [], "B": []}

    def three_calls(party: str) -> Callable[[], None]:
        def run() -> None:
            for n in range(3):
                question = [{"role": "user", "content": f"Say the number {n} ({party})."}]
                texts[party].append(llm.chat(question, max_tokens=4).text)

        return run

    with calling_as("hold"), loaded.gate.turn():  # both parties queue before either is served
        threads = start_in_order(loaded.gate, [("A", three_calls("A")), ("B", three_calls("B"))])
    for thread in threads:
        thread.join(60)
    assert [len(t) for t in texts.values()] == [3, 3]
    assert [p for p in loaded.gate.served_order()[before:] if p != "hold"] == ["A", "B"] * 3


def test_a_page_says_the_place_and_wait_in_words_and_calls_as_its_session() -> None:
    from ui import queue_status

    assert [queue_status.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 102)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "102nd",
    ]  # fmt: skip
    assert queue_status.waiting_text(2, 15.2) == "Waiting for the shared model: 2nd in the queue, about 15 s"
    assert queue_status.waiting_text(1, 0.0) == "Waiting for the shared model: 1st in the queue"
    assert queue_status.waiting_text(3, 150.0).endswith("about 2 min")
    assert queue_status.party() == ANONYMOUS  # outside a browser session
    assert queue_status.as_session(CALLER.get)() == ANONYMOUS
