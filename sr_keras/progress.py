"""One progress line for long jobs (downloads, upscaling tiles, training steps): done / total, rate, ETA.

On a terminal the line is rewritten in place (at most ten times a second) and cut to the terminal's width.
Elsewhere (a log file, CI) whole lines are written, rarely: every `every` units when it is given, otherwise at
most once per 10% of the work and once per second (every 10 s when the total is unknown). The line at the total
is always written. `quiet_for` keeps a job silent for its first seconds, so a quick one writes nothing (or only
its `final` line).

The rate, and so the ETA, is measured over the last `WINDOW` seconds, from the first update on: the first unit of
work often includes one-time costs (tracing a graph, opening a connection) that would otherwise stretch the ETA.

    from sr_keras.progress import Progress

    with Progress(total=140, label="upscale", unit="tiles") as bar:   # upscale: 12/140 tiles, 3.10 tiles/s, ETA 41s
        for batch in batches:
            ...
            bar.advance(len(batch))

Standard library only: `sr_keras.download` uses it.
"""
import collections
import math
import os
import sys
import time

WINDOW = 30.0  # seconds of recent updates the rate is measured over
REDRAW = 0.1  # seconds between two redraws on a terminal
NON_TTY_INTERVAL = 1.0  # seconds between two lines elsewhere, at least
UNKNOWN_TOTAL_INTERVAL = 10.0  # seconds between two lines elsewhere when the total is unknown


def format_duration(seconds):
    """`seconds` as "7s", "1m02s" or "1h02m03s" (rounded down; negative counts as 0); "?" when not finite."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    seconds = int(max(0, seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{seconds:02d}s"
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def _isatty(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _columns(stream):
    """The width of the terminal `stream` writes to, or None when unknown."""
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return None


class Progress:
    """A progress line for `total` units of work, `start` of them already done (a resumed job).

    `update(done)` reports the count done so far, `advance(count)` a count just finished. The line is
    `describe(done, rate, eta)`, by default "<label>: <done>/<total> <unit>, <rate> <unit>/s, ETA <eta>";
    a subclass changes it by overriding `describe`.

    Args:
        total: the units of the whole job, or None when unknown (no ETA then).
        start: units already done before this line began; settable until the first update.
        label: the line's first word(s), e.g. "upscale".
        unit: the units' name, e.g. "tiles".
        every: when not on a terminal, a line each time the count reaches a multiple of `every`; None: at most
            once per 10% of the total and once per second.
        quiet_for: seconds after creation during which nothing is written (except `final` lines).
        enabled: False writes nothing at all.
        stream: where to write, stderr by default.
    """

    def __init__(self, total, start=0, label="", unit="", every=None, quiet_for=0.0, enabled=True, stream=None):
        self.total = total
        self.start = start
        self.label = label
        self.unit = unit
        self.every = None if every is None else max(1, int(every))
        self.quiet_for = quiet_for
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = _isatty(self.stream)
        self.columns = _columns(self.stream) if self.tty else None
        self.began = time.monotonic()
        self.done = None  # the count of the last update
        self.samples = collections.deque()  # (time, done) of the updates of the last WINDOW seconds
        self.shown = None  # the count of the last line written
        self.last_write = None  # when it was written
        self.width = 0  # the length of the terminal line shown
        self.open = False  # a terminal line without its newline

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.end_line()

    # ------------------------------------------------------------------------------------------------ the numbers

    def rate(self):
        """Units per second over the recent updates; 0.0 before any progress."""
        if len(self.samples) >= 2:
            (then, first), (now, last) = self.samples[0], self.samples[-1]
        elif self.samples:  # one update: its time counts from creation
            (then, first), (now, last) = (self.began, self.start), self.samples[-1]
        else:
            return 0.0
        return (last - first) / (now - then) if now > then else 0.0

    def eta(self, rate):
        """The seconds left at `rate`: 0.0 when done, inf when unknown."""
        if self.total is None:
            return math.inf
        left = self.total - (self.done if self.done is not None else self.start)
        if left <= 0:
            return 0.0
        return left / rate if rate > 0 else math.inf

    def describe(self, done, rate, eta):
        """The text of the line (`eta` is formatted, "?" when unknown)."""
        total = "?" if self.total is None else self.total
        return f"{self.label}: {done}/{total} {self.unit}, {rate:.2f} {self.unit}/s, ETA {eta}"

    # ------------------------------------------------------------------------------------------------ reporting

    def advance(self, count=1):
        """Reports that `count` more units are done."""
        self.update((self.start if self.done is None else self.done) + count)

    def update(self, done, final=False):
        """Reports that `done` units are done; `final` writes the line now (quiet or not), as the last one."""
        now = time.monotonic()
        self.done = done
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[1][0] >= WINDOW:
            self.samples.popleft()
        if not self.enabled:
            return
        finished = final or (self.total is not None and done >= self.total)
        if final:
            if self.shown == done and not self.open:
                return  # the line at the total was written already
        elif not self._due(done, now, finished):
            return
        rate = self.rate()
        self._write(self.describe(done, rate, format_duration(self.eta(rate))), finished, now)
        self.shown = done

    def _due(self, done, now, finished):
        if now - self.began < self.quiet_for:
            return False
        if finished:
            return self.shown != done
        since = math.inf if self.last_write is None else now - self.last_write
        if self.tty:
            return since >= REDRAW
        shown = self.start if self.shown is None else self.shown
        if self.every is not None:
            return done // self.every > shown // self.every
        if self.total is None:
            return since >= UNKNOWN_TOTAL_INTERVAL
        return since >= NON_TTY_INTERVAL and done * 10 // self.total > shown * 10 // self.total

    def _write(self, line, finished, now):
        if self.tty:
            if self.columns:
                line = line[:max(20, self.columns - 1)]
            self.stream.write("\r" + line.ljust(self.width) + ("\n" if finished else ""))
            self.width = 0 if finished else len(line)
            self.open = not finished
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self.last_write = now

    def message(self, text):
        """Writes `text` on lines of its own, below a terminal line left open."""
        self.end_line()
        self.stream.write(text + "\n")
        self.stream.flush()

    def end_line(self):
        """Ends a terminal line left open, so that what is written next starts on a line of its own."""
        if self.open:
            self.stream.write("\n")
            self.stream.flush()
            self.open = False
            self.width = 0
