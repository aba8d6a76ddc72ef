"""The training progress line, `sr_keras.progress.Progress` with the losses:
`step 120/300000 | 5.12 steps/s | loss 10.2 | ETA 16h15m00s`.

A line every `every` steps when the stream is not a terminal (logs, CI); the speed, and so the ETA, is measured
from the first step on, whose time includes tracing the graph.
"""
from sr_keras import progress
from sr_keras.progress import format_duration

__all__ = ["Progress", "format_duration"]


class Progress(progress.Progress):
    """Progress of a loop from `start` to `total` steps.

    Args:
        total: the last step.
        start: the step already done (resumed runs start there); settable until the first update.
        every: print a line every `every` steps when the stream is not a terminal.
        stream: where to write (stderr by default).
    """

    def __init__(self, total, start=0, every=10, stream=None):
        super().__init__(total, start=start, every=every, stream=stream)
        self.values = {}

    def update(self, step, values=None, final=False):
        """Reports that `step` is done with these named scalar values."""
        self.values = values or {}
        super().update(step, final=final)

    def describe(self, done, rate, eta):
        shown = " ".join(f"{k} {v:.4g}" for k, v in self.values.items())
        return f"step {done}/{self.total} | {rate:.2f} steps/s | {shown} | ETA {eta}"
