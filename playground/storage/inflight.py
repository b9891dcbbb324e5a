"""Model calls being computed right now, so the same call is paid for once even when asked twice at once.

When two variants send the same prompt at the same time (a sweep against a hosted model runs several answers in
parallel), the second waits for the first's answer instead of paying again. Calls are told apart by (cache file,
key), so two data folders never share an answer.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from pathlib import Path

from playground.models.llms import Completion

_IN_FLIGHT: dict[tuple[str, str], Future[Completion]] = {}
_IN_FLIGHT_LOCK = threading.Lock()


def claim(path: Path, key: str) -> tuple[bool, Future[Completion]]:
    """(whether this caller computes the call, the future its answer arrives in)."""
    with _IN_FLIGHT_LOCK:
        found = _IN_FLIGHT.get((str(path), key))
        if found is not None:
            return False, found
        future: Future[Completion] = Future()
        _IN_FLIGHT[(str(path), key)] = future
        return True, future


def release(
    path: Path,
    key: str,
    future: Future[Completion],
    completion: Completion | None = None,
    error: BaseException | None = None,
) -> None:
    """Hand the owner's answer (or its error) to every caller waiting on the call, and forget the call."""
    with _IN_FLIGHT_LOCK:
        _IN_FLIGHT.pop((str(path), key), None)
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(completion)  # type: ignore[arg-type]
