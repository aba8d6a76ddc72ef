"""BasicSR's EDSR training step in PyTorch, for `tools/bench_train.py`'s comparison row.

Written from BasicSR's `basicsr/archs/edsr_arch.py` (EDSR: conv_first, `num_block` ResidualBlockNoBN
(conv-ReLU-conv, times `res_scale`, plus the input), conv_after_body plus the head's output, Upsample (for x4 two
conv 4C + PixelShuffle(2)), conv_last; the input scaled by `img_range` 255 around `rgb_mean`) and
`basicsr/models/sr_model.py` (`SRModel.optimize_parameters`: zero_grad, forward, L1Loss (mean), backward, Adam
step). BasicSR's EDSR configs train with Adam lr 1e-4, betas (0.9, 0.99), on [0, 1] images. PyTorch is imported
here only, never by the sr_keras package.
"""
import math

import torch
from torch import nn

RGB_MEAN = (0.4488, 0.4371, 0.4040)


class ResidualBlockNoBN(nn.Module):
    def __init__(self, num_feat, res_scale):
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.relu = nn.ReLU(inplace=True)
        self.res_scale = res_scale

    def forward(self, x):
        return x + self.conv2(self.relu(self.conv1(x))) * self.res_scale


class EDSR(nn.Module):
    def __init__(self, num_feat=64, num_block=16, upscale=4, res_scale=1.0, img_range=255.0):
        super().__init__()
        self.img_range = img_range
        self.register_buffer("mean", torch.tensor(RGB_MEAN).view(1, 3, 1, 1))
        self.conv_first = nn.Conv2d(3, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[ResidualBlockNoBN(num_feat, res_scale) for _ in range(num_block)])
        self.conv_after_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        upsample = []
        if upscale & (upscale - 1) == 0:
            for _ in range(int(math.log2(upscale))):
                upsample += [nn.Conv2d(num_feat, 4 * num_feat, 3, 1, 1), nn.PixelShuffle(2)]
        else:
            upsample += [nn.Conv2d(num_feat, upscale * upscale * num_feat, 3, 1, 1), nn.PixelShuffle(upscale)]
        self.upsample = nn.Sequential(*upsample)
        self.conv_last = nn.Conv2d(num_feat, 3, 3, 1, 1)

    def forward(self, x):
        x = (x - self.mean) * self.img_range
        x = self.conv_first(x)
        x = self.conv_after_body(self.body(x)) + x
        x = self.conv_last(self.upsample(x))
        return x / self.img_range + self.mean


class SRModelStep:
    """`SRModel.optimize_parameters` on one fixed batch: `step()` runs one update and returns the loss."""

    def __init__(self, batch_size=16, crop_size=48, scale=4, num_feat=64, num_block=16, seed=0):
        torch.manual_seed(seed)
        self.net_g = EDSR(num_feat, num_block, scale)
        self.net_g.train()
        self.cri_pix = nn.L1Loss(reduction="mean")
        self.optimizer_g = torch.optim.Adam(self.net_g.parameters(), lr=1e-4, betas=(0.9, 0.99))
        self.lq = torch.rand(batch_size, 3, crop_size, crop_size)
        self.gt = torch.rand(batch_size, 3, crop_size * scale, crop_size * scale)

    def parameters(self):
        return sum(p.numel() for p in self.net_g.parameters())

    def step(self):
        self.optimizer_g.zero_grad()
        output = self.net_g(self.lq)
        l_pix = self.cri_pix(output, self.gt)
        l_pix.backward()
        self.optimizer_g.step()
        return l_pix.item()  # BasicSR logs the loss with .item() (reduce_loss_dict)


def serve(connection, threads, **kwargs):
    """A child process's loop: builds `SRModelStep(**kwargs)`, sends its parameter count, then for each number
    n received runs 2 warm-up steps once and n timed steps, and sends back the mean seconds per step; None
    ends it. Run apart from TensorFlow so that neither library's thread pools wait on the other's."""
    import time

    torch.set_num_threads(threads)
    bench = SRModelStep(**kwargs)
    connection.send(bench.parameters())
    bench.step()
    bench.step()
    while (steps := connection.recv()) is not None:
        start = time.perf_counter()
        for _ in range(steps):
            bench.step()
        connection.send((time.perf_counter() - start) / steps)
