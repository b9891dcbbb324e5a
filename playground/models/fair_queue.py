"""A gate that lets calls to one shared model through one at a time, taking turns between the parties calling it.

In a workshop a dozen browser sessions share one loaded local model. A plain lock lets whoever grabs it next go
first, so one participant's long evaluation can starve the others. This gate serves the parties round-robin (party
A's third call waits behind party B's first) and each party's calls in the order they came. The calling party is
read from a context variable, so the library code in between needs no extra argument:

    gate = FairGate()
    with calling_as("alice", on_wait=lambda place, wait_s: print(place, wait_s)):
        with gate.turn():  # waits for alice's turn; on_wait hears (2, 15.0): "2nd in the queue, about 15 s"
            ...  # the model call

Context variables do not follow work onto another thread by themselves: submit it through
`contextvars.copy_context().run` (the sweep does).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

log = logging.getLogger(__name__)
ANONYMOUS = "anonymous"  # the party of every call made outside `calling_as`: they share their turns

# Told `(place, wait_s)` while a call waits: its place in the queue (1 = next) and the estimated wait in seconds
# (0.0 before any call has been timed); told `(0, 0.0)` once, when a call that was told it waits is let through.
OnWait = Callable[[int, float], None]

CALLER: ContextVar[str] = ContextVar("playground_caller", default=ANONYMOUS)
ON_WAIT: ContextVar[OnWait | None] = ContextVar("playground_on_wait", default=None)


@contextmanager
def calling_as(party: str, on_wait: OnWait | None = None) -> Iterator[None]:
    """Calls to a shared model made inside the block queue as `party`; `on_wait` hears while one waits."""
    caller, waiter = CALLER.set(party), ON_WAIT.set(on_wait)
    try:
        yield
    finally:
        ON_WAIT.reset(waiter)
        CALLER.reset(caller)


@dataclass(frozen=True, eq=False)
class _Ticket:
    """One call's place: served in order of (round, seq); a party's k-th queued call is in its k-th round."""

    party: str
    round: int
    seq: int
    thread: int

    def order(self) -> tuple[int, int]:
        return (self.round, self.seq)


class FairGate:
    """Serves calls one at a time, round-robin between parties and first come first served within one.

    Thread-safe; a call that raises (inside its turn or while waiting, its callback included) gives its place up.
    A call made while its own thread already holds the turn goes straight through (a lock would deadlock there).
    """

    def __init__(self, history: int = 1000, poll_s: float = 1.0) -> None:
        self._changed = threading.Condition()
        self._waiting: list[_Ticket] = []  # a few dozen at most, so a list scanned in full is fast enough
        self._serving: _Ticket | None = None
        self._serving_since = 0.0
        # The round of the call served last: a party that was idle starts there, with no credit for idling.
        self._round = 0
        self._seq = itertools.count()
        self._durations: deque[float] = deque(maxlen=20)
        self._served: deque[str] = deque(maxlen=history)
        self._poll_s = poll_s  # how often a waiting call re-tells its callback (the estimate counts down)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Wait for the calling party's turn (`CALLER`), then hold the gate for the block, however it ends."""
        if self._held_here():
            yield
            return
        on_wait = ON_WAIT.get()
        ticket = self._enqueue(CALLER.get())
        try:
            if self._wait_for(ticket, on_wait) and on_wait is not None:
                on_wait(0, 0.0)
            yield
        finally:
            self._leave(ticket)  # whether it waited, was served, or raised on the way: the next call goes on

    def place(self, party: str) -> int | None:
        """Where `party`'s next call is: 0 being served, 1 next, 2 after one more...; None when it has none."""
        with self._changed:
            if self._serving is not None and self._serving.party == party:
                return 0
            ticket = next((t for t in self._queue() if t.party == party), None)
            return None if ticket is None else self._place_of(ticket)

    def queued(self, party: str) -> int:
        """How many of `party`'s calls the gate holds, waiting or being served."""
        with self._changed:
            serving = self._serving is not None and self._serving.party == party
            return int(serving) + sum(1 for t in self._waiting if t.party == party)

    def estimate_wait_s(self, party: str) -> float | None:
        """Seconds until `party`'s next call is served, from the mean time of recent calls; None when it has no
        call or no call has been timed yet."""
        with self._changed:
            if not self._durations:
                return None
            at = self.place(party)  # the condition is reentrant
            return None if at is None else self._estimate(at)

    def served_order(self) -> list[str]:
        """The parties of the last calls let through, oldest first (what a test checks the turns against)."""
        with self._changed:
            return list(self._served)

    # --- under the condition's lock ---------------------------------------------------------------------------

    def _queue(self) -> list[_Ticket]:
        return sorted(self._waiting, key=_Ticket.order)

    def _place_of(self, ticket: _Ticket) -> int:
        return 1 + self._queue().index(ticket)

    def _estimate(self, place: int) -> float:
        if place == 0 or not self._durations:
            return 0.0
        mean = sum(self._durations) / len(self._durations)
        left = max(0.0, mean - (time.perf_counter() - self._serving_since)) if self._serving else 0.0
        return left + (place - 1) * mean

    def _next_round(self, party: str) -> int:
        """One round after the party's last call still held, else the current round (its k-th call waits for
        everyone else's k-th)."""
        mine = [t.round for t in self._waiting if t.party == party]
        if self._serving is not None and self._serving.party == party:
            mine.append(self._serving.round)
        return max([self._round, *(r + 1 for r in mine)])

    def _try_grant(self, ticket: _Ticket) -> bool:
        if self._serving is not None or min(self._waiting, key=_Ticket.order) is not ticket:
            return False
        self._waiting.remove(ticket)
        self._serving, self._serving_since, self._round = ticket, time.perf_counter(), ticket.round
        self._served.append(ticket.party)
        waiting = sorted({t.party for t in self._waiting})
        log.info("serving a call for %s; waiting: %s", ticket.party, ", ".join(waiting) or "nobody")
        return True

    # --- taking turns -----------------------------------------------------------------------------------------

    def _held_here(self) -> bool:
        with self._changed:
            return self._serving is not None and self._serving.thread == threading.get_ident()

    def _enqueue(self, party: str) -> _Ticket:
        with self._changed:
            ticket = _Ticket(party, self._next_round(party), next(self._seq), threading.get_ident())
            self._waiting.append(ticket)
            return ticket

    def _wait_for(self, ticket: _Ticket, on_wait: OnWait | None) -> bool:
        """Block until `ticket` is let through; returns whether `on_wait` was told a place on the way."""
        told = False
        while True:
            with self._changed:
                if self._try_grant(ticket):
                    return told
                if told or on_wait is None:
                    # Woken at every call's end; the timeout re-tells the callback and guards a missed wake.
                    self._changed.wait(self._poll_s)
                    if self._try_grant(ticket):
                        return told
                place = self._place_of(ticket)
                wait_s = self._estimate(place)
            if on_wait is not None:  # told outside the lock: the callback may be slow (a page redrawing)
                on_wait(place, wait_s)
                told = True

    def _leave(self, ticket: _Ticket) -> None:
        """Give up the ticket's place, or its turn (timing the call it served)."""
        with self._changed:
            if ticket in self._waiting:
                self._waiting.remove(ticket)
            if self._serving is ticket:
                self._durations.append(time.perf_counter() - self._serving_since)
                self._serving = None
            self._changed.notify_all()
