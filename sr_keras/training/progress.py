"""A progress line for long runs: step, steps/s, losses, ETA. Redraws in place on a terminal (at most ten times a
second), prints a line every `every` steps otherwise (logs, CI).

The speed, and so the ETA, is measured over the last `WINDOW` seconds of steps, starting after the first step:
the first step traces the graph (seconds to minutes) and would otherwise stretch the ETA of a short run (a run of
2m25s was announced as 5m44s).
"""
import collections
import sys
import time

WINDOW = 30.0


def format_duration(seconds):
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"


class Progress:
    """Progress of a loop from `start` to `total` steps.

    Args:
        total: the last step.
        start: the step already done (resumed runs start there).
        every: print a line every `every` steps when the stream is not a terminal.
        stream: where to write (stderr by default).
    """

    def __init__(self, total, start=0, every=10, stream=None):
        self.total = total
        self.start = start
        self.every = max(1, every)
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.began = time.perf_counter()
        self.rate = None
        self.samples = collections.deque()  # (time, step) since the first step finished
        self.last_draw = None
        self.open_line = False  # a redrawn line waits for its newline

    def update(self, step, values):
        """Reports that `step` is done with these named scalar values."""
        now = time.perf_counter()
        self.samples.append((now, step))
        while len(self.samples) > 2 and now - self.samples[1][0] >= WINDOW:
            self.samples.popleft()
        (then, first), elapsed = self.samples[0], now - self.began
        if step > first and now > then:
            self.rate = (step - first) / (now - then)
        else:  # the first step: its time includes tracing the graph
            self.rate = (step - self.start) / elapsed if elapsed > 0 else 0.0
        if not self.tty and step % self.every and step != self.total:
            return
        if self.tty and step != self.total and self.last_draw is not None and now - self.last_draw < 0.1:
            return
        self.last_draw = now
        eta = (self.total - step) / self.rate if self.rate else float("inf")
        shown = " ".join(f"{k} {v:.4g}" for k, v in values.items())
        line = (f"step {step}/{self.total} | {self.rate:.2f} steps/s | {shown} | "
                f"ETA {format_duration(eta) if eta != float('inf') else '?'}")
        if self.tty:
            self.stream.write("\r" + line.ljust(100)[:160])
            self.open_line = step != self.total
            if not self.open_line:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def message(self, text):
        """Prints a line without breaking the progress line."""
        self.stream.write(("\n" if self.tty else "") + text + "\n")
        self.stream.flush()
        self.open_line = False

    def end_line(self):
        """Ends a redrawn progress line, so that what others print next starts on a line of its own."""
        if self.open_line:
            self.stream.write("\n")
            self.stream.flush()
            self.open_line = False
