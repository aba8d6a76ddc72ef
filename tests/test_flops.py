"""Tests of sr_keras.flops: the FLOP counts behind every effective-GFLOP/s figure the benchmarks report.

The expected counts are written out by hand from the architectures (2 FLOPs per multiply-add), so a layer
missed or counted twice, or a shape taken from the wrong tensor, changes the number.
"""
import math

import numpy as np
import pytest

from sr_keras.flops import conv_workload, forward_flops, forward_flops_for_size, matmul_gflops
from sr_keras.layers import SelfAttention2D
from sr_keras.models import build_model


def _conv(k, c_in, c_out, batch, height, width):
    return 2 * k * k * c_in * c_out * batch * height * width


def _tiny_edsr(scale):
    return build_model("edsr", scale=scale, num_filters=8, num_res_blocks=2)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_edsr_forward_flops_equal_a_hand_count(scale):
    batch, h, w, f = 2, 17, 23, 8
    expected = _conv(3, 3, f, batch, h, w)  # head
    expected += 2 * 2 * _conv(3, f, f, batch, h, w)  # two residual blocks of two convs
    expected += _conv(3, f, f, batch, h, w)  # body end, before the global skip
    if scale == 3:
        expected += _conv(3, f, 9 * f, batch, h, w)
    else:
        for step in range(int(math.log2(scale))):  # conv F -> 4F, then shuffle x2
            expected += _conv(3, f, 4 * f, batch, h * 2 ** step, w * 2 ** step)
    expected += _conv(3, f, 3, batch, h * scale, w * scale)  # tail
    lr = np.random.default_rng(0).uniform(0, 255, (batch, h, w, 3)).astype("float32")
    assert forward_flops(_tiny_edsr(scale), lr) == expected


def test_conv_workload_lists_every_convolution_in_order_with_its_shapes():
    model = _tiny_edsr(4)
    lr = np.zeros((2, 17, 23, 3), "float32")
    workload = conv_workload(model, lr)
    assert sum(conv["flops"] for conv in workload) == forward_flops(model, lr)
    assert len(workload) == 1 + 2 * 2 + 1 + 2 + 1
    assert workload[0]["input_shape"] == (2, 17, 23, 3)
    assert workload[0]["kernel_shape"] == (3, 3, 3, 8)
    # The second upsampling conv reads the x2 shuffled map; the tail reads the x4 map.
    assert workload[-2]["input_shape"] == (2, 34, 46, 8) and workload[-2]["kernel_shape"] == (3, 3, 8, 32)
    assert workload[-1]["input_shape"] == (2, 68, 92, 8) and workload[-1]["kernel_shape"] == (3, 3, 8, 3)
    assert all(conv["strides"] == (1, 1) and conv["padding"] == "SAME" for conv in workload)


def test_discriminator_counts_strided_convolutions_and_dense_layers():
    model = build_model("srgan_discriminator", hr_size=32)
    workload = conv_workload(model, np.zeros((1, 32, 32, 3), "float32"))
    strided = [conv for conv in workload if conv["strides"] == (2, 2)]
    assert len(strided) == 4
    conv_total = sum(conv["flops"] for conv in workload)
    dense = 2 * (2 * 2 * 512) * 1024 + 2 * 1024 * 1  # flatten of 2x2x512 -> 1024 -> 1
    assert forward_flops(model, np.zeros((1, 32, 32, 3), "float32")) == conv_total + dense


def test_size_scaled_count_equals_the_count_at_that_size():
    model = _tiny_edsr(2)
    direct = forward_flops(model, np.zeros((1, 30, 41, 3), "float32"))
    assert forward_flops_for_size(model, 30, 41, probe=(12, 16)) == direct


@pytest.mark.parametrize("pool_size", [1, 2, 4])
def test_attention_is_counted_at_the_real_size_with_its_pool(pool_size):
    model = build_model("a_srresnet", scale=2, pool_size=pool_size, num_filters=16, num_res_blocks=1)
    h, w = 21, 30
    direct = forward_flops(model, np.zeros((1, h, w, 3), "float32"))
    assert abs(forward_flops_for_size(model, h, w, probe=(8, 12)) - direct) <= 1
    # The two attention products alone, by hand: N^2 (C/8 + C/2) multiply-adds over the pooled positions.
    attention = [layer for layer in model.layers if isinstance(layer, SelfAttention2D)]
    assert len(attention) == 1
    n = math.ceil(h / pool_size) * math.ceil(w / pool_size)
    without = build_model("srresnet", scale=2, num_filters=16, num_res_blocks=1)
    convs_without = forward_flops(without, np.zeros((1, h, w, 3), "float32"))
    c = 16
    one_by_one = 2 * n * c * (2 * (c // 8) + c // 2) + 2 * n * (c // 2) * c
    assert direct == convs_without + one_by_one + 2 * n * n * (c // 8 + c // 2)


def test_matmul_ceiling_is_a_positive_rate():
    rate = matmul_gflops(size=256, repeats=2)
    assert np.isfinite(rate) and rate > 0
