"""The training progress line's ETA comes from the recent speed, not from an average that counts the first
step's graph tracing."""
import io
import types

from sr_keras import progress as base
from sr_keras.training import progress


def test_eta_ignores_the_first_steps_tracing(monkeypatch):
    clock = {"now": 0.0}
    monkeypatch.setattr(base, "time", types.SimpleNamespace(monotonic=lambda: clock["now"]))
    stream = io.StringIO()
    bar = progress.Progress(100, every=10, stream=stream)
    clock["now"] = 10.0            # step 1: 10 s of tracing
    bar.update(1, {"loss": 1.0})
    for step in range(2, 21):      # then 0.1 s per step
        clock["now"] += 0.1
        bar.update(step, {"loss": 1.0})
    last = stream.getvalue().splitlines()[-1]
    assert last.startswith("step 20/100") and "10.00 steps/s" in last, last
    assert last.endswith(("ETA 7s", "ETA 8s")), last  # 80 steps at 10/s; the whole-run average said 50 s
