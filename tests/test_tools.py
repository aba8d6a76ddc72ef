"""The training benchmark runs end to end on a tiny configuration and writes a consistent JSON report.

The real figures come from `python tools/bench_train.py` on an idle machine (README); this only guards the
tool itself: every model row, the per-round pairing with the matmul ceiling and the kernel bound.
"""
import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_bench_train_writes_a_consistent_report(tmp_path):
    output = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "tools/bench_train.py", "--models=edsr_baseline,wdsr_b", "--batch_size=2",
         "--crop_size=12", "--steps=1", "--rounds=2", "--kernel_repeats=1", "--matmul_size=256",
         f"--output={output}"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(output.read_text())
    assert [row["model"] for row in report["rows"]] == ["edsr_baseline", "wdsr_b"]
    assert len(report["matmul_gflops_measurements"]) == 4  # one per round per model
    for row in report["rows"]:
        assert len(row["rounds_fixed_s"]) == len(row["rounds_percent_of_matmul"]) == 2
        # Each round's share is its own step time against the matmul measured right before it.
        for seconds, ceiling, share in zip(row["rounds_fixed_s"], row["rounds_matmul_gflops"],
                                           row["rounds_percent_of_matmul"]):
            expected = 100 * 3 * row["forward_flops"] / 1e9 / seconds / ceiling
            assert share == pytest.approx(expected, rel=0.01)
    edsr = report["rows"][0]
    assert "pipeline_cost_percent" in edsr and "pipeline_cost_percent" not in report["rows"][1]
    bound = edsr["kernel_bound"]
    kinds = ("forward", "backward_data", "backward_weights")
    assert bound["step_s"] == pytest.approx(sum(bound[kind]["seconds"] for kind in kinds), abs=1e-3)
    assert all(bound[kind]["gflops"] > 0 for kind in kinds)
    assert "convolution kernels alone" in result.stdout
