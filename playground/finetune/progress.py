"""What every training loop reports: the loss per step (for the live chart), a stop request, divergence.

A loss that is not a finite number means training has diverged: the loop stops at once and nothing is saved,
so the previous model stays in use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from playground.core.errors import PlaygroundError, StoppedError

LossCallback = Callable[[int, float, int], None]


class DivergedError(PlaygroundError):
    """The training loss became NaN or infinite."""


@dataclass
class Monitor:
    """Collects (step, loss) points, passes each to `on_loss(step, loss, total)` and answers stop requests."""

    on_loss: LossCallback | None = None
    should_stop: Callable[[], bool] | None = None
    on_metric: Callable[[str, int, float], None] | None = None
    losses: list[tuple[int, float]] = field(default_factory=list)
    metrics: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    def record(self, step: int, loss: float, total: int) -> None:
        """Keep one point; raise DivergedError when the loss is not a finite number."""
        self.losses.append((step, loss))
        if self.on_loss:
            self.on_loss(step, loss, total)
        if not math.isfinite(loss):
            raise DivergedError(
                f"Training diverged: the loss became {loss} at step {step} of {total}. Nothing was saved; "
                "the previous models are unchanged. Lower the learning rate (try 10x smaller), train again."
            )

    def metric(self, name: str, step: int, value: float) -> None:
        """Another curve beside the training loss (e.g. the validation loss)."""
        self.metrics.setdefault(name, []).append((step, value))
        if self.on_metric:
            self.on_metric(name, step, value)

    def check(self, step: int, total: int) -> None:
        """Raise StoppedError when a stop was requested (checked before every step)."""
        if self.should_stop and self.should_stop():
            raise StoppedError(
                f"Stopped by request after {step} of {total} steps. Nothing was saved; the "
                "previous models are unchanged."
            )


def run_steps(step: Callable[[int], float], total: int, monitor: Monitor) -> list[tuple[int, float]]:
    """Call `step(i)` for i = 1..total (each returns its loss), checking stop before and divergence after."""
    for i in range(1, total + 1):
        monitor.check(i - 1, total)
        monitor.record(i, float(step(i)), total)
    return monitor.losses
