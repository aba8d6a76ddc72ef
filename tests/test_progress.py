"""The one progress line: in place on a terminal, rare whole lines elsewhere, silent while quiet. (Lines in a
log by 10% and the ETA of a download are tested in test_download.py, the `every` rule and the ETA after a
slow first step in training/test_progress.py.)"""
import io
import types

import pytest

from sr_keras import progress
from sr_keras.progress import Progress, format_duration


class _Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def clock(monkeypatch):
    now = types.SimpleNamespace(value=0.0)
    monkeypatch.setattr(progress, "time", types.SimpleNamespace(monotonic=lambda: now.value))
    return now


def test_format_duration():
    assert [format_duration(s) for s in (0, 7.9, 62, 3723, -3)] == ["0s", "7s", "1m02s", "1h02m03s", "0s"]
    assert format_duration(float("inf")) == "?"


def test_a_terminal_line_is_rewritten_at_most_ten_times_a_second_and_ended_at_the_total(clock):
    stream = _Terminal()
    bar = Progress(40, label="upscale", unit="tiles", stream=stream)
    for _ in range(40):  # 40 tiles, 0.02 s each: 0.8 s
        clock.value += 0.02
        bar.advance(1)
    out = stream.getvalue()
    draws = out.split("\r")[1:]
    assert 8 <= len(draws) <= 10, draws
    assert "\n" not in "".join(draws[:-1]) and draws[-1].endswith("\n")
    assert draws[-1].startswith("upscale: 40/40 tiles, 50.00 tiles/s, ETA 0s")
    assert all(len(d.rstrip("\n")) >= len(p) for p, d in zip(draws, draws[1:]))  # padded over the last one
    bar.message("done")
    assert stream.getvalue() == out + "done\n"  # no empty line: the progress line was ended


def test_message_ends_an_open_line(clock):
    stream = _Terminal()
    with Progress(10, stream=stream) as bar:
        clock.value = 1.0
        bar.update(3)
        bar.message("note")
        assert stream.getvalue().endswith("3/10 , 3.00 /s, ETA 2s\nnote\n")
        clock.value = 2.0
        bar.update(4)
    assert stream.getvalue().endswith("\n") and not bar.open


def test_quiet_jobs_write_nothing_but_a_final_line(clock):
    stream = io.StringIO()
    bar = Progress(4, quiet_for=3.0, stream=stream)
    for _ in range(4):
        clock.value += 0.5
        bar.advance()
    assert stream.getvalue() == ""
    bar.update(4, final=True)
    assert stream.getvalue().startswith(": 4/4")
    unknown = Progress(None, label="x", stream=stream)  # no total: a line at once, then every 10 s; no ETA
    for _ in range(25):
        clock.value += 1.0
        unknown.advance()
    assert [line.split("/")[0] for line in stream.getvalue().splitlines()[1:]] == ["x: 1", "x: 11", "x: 21"]
    assert stream.getvalue().endswith("ETA ?\n")
