"""The training benchmark runs end to end on a tiny configuration and writes a consistent JSON report.

The real figures come from `python tools/bench_train.py` on an idle machine (docs/benchmarks.md); this only
guards the tool itself: every model row, the per-round pairing with the matmul ceiling and the kernel bound.
"""
import json
import pathlib
import subprocess
import sys

import pytest

from tests import launch

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_bench_train_writes_a_consistent_report(tmp_path):
    """One model at a tiny batch: the step times per round against the matmul measured before each, the pipeline
    cost, the kernel bound and, where PyTorch is installed, BasicSR's step timed in the same rounds."""
    output = tmp_path / "bench.json"
    result = launch.run(
        [sys.executable, "tools/bench_train.py", "--models=edsr_baseline", "--batch_size=2", "--crop_size=12",
         "--steps=1", "--rounds=2", "--kernel_repeats=1", "--matmul_size=256", f"--output={output}"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(output.read_text())
    assert [row["model"] for row in report["rows"]] == ["edsr_baseline"]
    assert len(report["matmul_gflops_measurements"]) == 2  # one per round
    edsr = report["rows"][0]
    assert len(edsr["rounds_fixed_s"]) == len(edsr["rounds_percent_of_matmul"]) == 2
    # Each round's share is its own step time against the matmul measured right before it.
    for seconds, ceiling, share in zip(edsr["rounds_fixed_s"], edsr["rounds_matmul_gflops"],
                                       edsr["rounds_percent_of_matmul"]):
        expected = 100 * 3 * edsr["forward_flops"] / 1e9 / seconds / ceiling
        assert share == pytest.approx(expected, rel=0.01)
    assert "pipeline_cost_percent" in edsr
    bound = edsr["kernel_bound"]
    kinds = ("forward", "backward_data", "backward_weights")
    assert bound["step_s"] == pytest.approx(sum(bound[kind]["seconds"] for kind in kinds), abs=1e-3)
    assert all(bound[kind]["gflops"] > 0 for kind in kinds)
    assert "convolution kernels alone" in result.stdout
    try:
        import torch  # noqa: F401
    except ImportError:
        assert "no BasicSR row" in result.stderr
        return
    basicsr = edsr["basicsr"]
    assert basicsr["parameters"] == edsr["parameters"]  # the same EDSR on both sides
    assert len(basicsr["rounds_s"]) == 2 and basicsr["speedup"] == pytest.approx(
        basicsr["step_s"] / edsr["step_s_fixed_batch"], abs=0.01)
    assert "sr_keras is" in result.stdout


def test_bench_realesrgan_writes_every_row(tmp_path):
    """tools/bench_realesrgan.py at a tiny size (SRVGGNetCompact alone, each row being a process importing PyTorch
    or TensorFlow): Real-ESRGAN tile 0 and tiled, sr_keras default and tiled, each with positive times and memory;
    the same parameter count on both sides. At the benchmark's sizes, the PyTorch RRDBNet has RealESRGAN_x4plus's
    16,697,987 parameters, as `build_model("rrdbnet")` (tests/models/test_models.py)."""
    pytest.importorskip("torch")
    from tools.torch_esrgan import BasicSRRRDBNet

    assert sum(p.numel() for p in BasicSRRRDBNet(4).parameters()) == 16_697_987
    result = launch.run(
        [sys.executable, "tools/bench_realesrgan.py", "--size=40x32", "--models=srvgg_compact", "--num_conv=2",
         "--repeats=1", "--tile=24", "--fast_rows=false", f"--output_dir={tmp_path}",
         f"--work_dir={tmp_path / 'work'}"],
        capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "bench_realesrgan.json").read_text())
    configurations = [("realesrgan", 0), ("realesrgan", 24), ("sr_keras", None), ("sr_keras", 24)]
    assert [(row["model"], row["side"], row["tile"]) for row in report["rows"]] == [
        ("srvgg_compact", side, tile) for side, tile in configurations]
    for row in report["rows"]:
        assert "failed" not in row, row
        assert row["whole_s"] > 0 and row["first_call_s"] > 0 and row["call_s"] > 0 and row["peak_rss_mb"] > 0
        assert row["output_size"] == [160, 128]
    assert all(counts["sr_keras"] == counts["pytorch"] for counts in report["parameters"].values())
    table = [line for line in (tmp_path / "realesrgan.md").read_text().splitlines() if line.startswith("| ")]
    assert len(table) == 2 + 4 and table[2].endswith("| 1.00x / 1.00x | " + f"{report['rows'][0]['peak_rss_mb']:,} |")


def test_realesrgan_logic_tiles_as_the_original():
    """tools/torch_esrgan.py's RealESRGANer logic: without pre-pad it is the network's own pass; the reflect
    pre-pad changes only the bottom and right borders (within the receptive field, 4 LR pixels for 4 convolutions:
    16 output pixels); tiles with tile_pad 10 > 4 give the untiled output (to float rounding), so an error in the
    tiles' cutting, context or placement shows; x2 takes odd sizes (mod pad)."""
    torch = pytest.importorskip("torch")
    import numpy as np
    from skimage import data

    from tools.torch_esrgan import BasicSRRRDBNet, RealESRGANerLogic, SRVGGNetCompact

    torch.manual_seed(0)
    network = SRVGGNetCompact(2, 4, num_feat=16, prelu_seed=0).eval()
    bgr = data.coffee()[100:142, 200:250, ::-1]  # 42 x 50, as cv2.imread gives it
    with torch.no_grad():
        direct = network(torch.tensor(bgr[:, :, ::-1] / 255.0, dtype=torch.float32).permute(2, 0, 1)[None])
    direct = (direct[0].clamp(0, 1).permute(1, 2, 0).numpy()[:, :, ::-1] * 255.0).round().astype(np.uint8)

    def differ(a, b):
        return int(np.abs(a.astype(int) - b).max())

    assert differ(RealESRGANerLogic(network, 4, tile=0, pre_pad=0).enhance(bgr, outscale=4), direct) == 0
    whole = RealESRGANerLogic(network, 4, tile=0, tile_pad=10, pre_pad=10).enhance(bgr, outscale=4)
    assert whole.shape == (168, 200, 3) and whole.dtype == np.uint8
    assert differ(whole[:-16, :-16], direct[:-16, :-16]) == 0 and differ(whole, direct) > 2
    for tile in (16, 24):  # 52 x 60 after the pre-pad: 4 x 4 and 3 x 3 tiles, the last ones narrow
        tiled = RealESRGANerLogic(network, 4, tile=tile, tile_pad=10, pre_pad=10).enhance(bgr, outscale=4)
        assert differ(tiled, whole) <= 1 and (tiled != whole).mean() < 1e-3
    x2 = BasicSRRRDBNet(2, num_feat=8, num_block=1, num_grow_ch=4).eval()
    for tile in (0, 16):
        assert RealESRGANerLogic(x2, 2, tile=tile).enhance(bgr[:21, :27], outscale=2).shape == (42, 54, 3)


def test_bench_realesrgan_without_torch_says_how_to_install():
    code = ("import runpy, sys; sys.modules['torch'] = None; sys.argv = ['tools/bench_realesrgan.py']; "
            "runpy.run_path('tools/bench_realesrgan.py', run_name='__main__')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        "error: the Real-ESRGAN side needs PyTorch's CPU build: pip install torch==2.13.0"]
