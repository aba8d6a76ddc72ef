"""Real-ESRGAN's PyTorch side, for `tools/bench_realesrgan.py` and `tests/convert/test_esrgan.py`: the two
generator families and the image-level logic of `RealESRGANer.enhance`. PyTorch is imported here only, never by
the sr_keras package.

Written after the originals, so the state dicts carry the original keys and the forward passes compute what the
originals compute ([0, 1] in and out), LeakyReLU in place as there:
- BasicSR 1.4.2 `basicsr/archs/rrdbnet_arch.py` RRDBNet (`BasicSRRRDBNet`; RealESRGAN_x4plus: 64 features,
  23 blocks, growth 32, x4; x2 and x1 pixel-unshuffle the input by 2 and 4);
- `basicsr/archs/srvgg_arch.py` / `realesrgan/archs/srvgg_arch.py` SRVGGNetCompact with PReLU
  (realesr-general-x4v3: 32 body convolutions; realesr-animevideov3: 16);
- `realesrgan/utils.py` `RealESRGANer` (`RealESRGANerLogic`): pre_process, process, tile_process, post_process
  and enhance for 3-channel 8-bit or 16-bit images, fp32 (the original's `half=False`).
"""
import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def _identity(conv):
    return conv


class ResidualDenseBlock(nn.Module):
    """ResidualDenseBlock: conv1..conv5 (`wrap` puts each in the original's container), LeakyReLU 0.2; the
    fifth convolution's output scaled by 0.2 and added to the input."""

    def __init__(self, num_feat, num_grow_ch, wrap=_identity):
        super().__init__()
        for i in range(5):
            conv = nn.Conv2d(num_feat + i * num_grow_ch, num_feat if i == 4 else num_grow_ch, 3, 1, 1)
            setattr(self, f"conv{i + 1}", wrap(conv))

    def forward(self, x):
        features = [x]
        for i in range(1, 5):
            features.append(F.leaky_relu(getattr(self, f"conv{i}")(torch.cat(features, 1)), 0.2, inplace=True))
        return getattr(self, "conv5")(torch.cat(features, 1)) * 0.2 + x


class RRDB(nn.Module):
    """Three dense blocks named `names`; their output scaled by 0.2 and added to the input."""

    def __init__(self, names, num_feat, num_grow_ch, wrap=_identity):
        super().__init__()
        self.names = names
        for name in names:
            setattr(self, name, ResidualDenseBlock(num_feat, num_grow_ch, wrap))

    def forward(self, x):
        out = x
        for name in self.names:
            out = getattr(self, name)(out)
        return out * 0.2 + x


class BasicSRRRDBNet(nn.Module):
    """basicsr/archs/rrdbnet_arch.py RRDBNet; x2 and x1 pixel-unshuffle the input by 2 and 4."""

    def __init__(self, scale, num_feat=64, num_block=23, num_grow_ch=32):
        super().__init__()
        self.scale = scale
        in_ch = 3 * {4: 1, 2: 4, 1: 16}[scale]
        self.conv_first = nn.Conv2d(in_ch, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(("rdb1", "rdb2", "rdb3"), num_feat, num_grow_ch)
                                    for _ in range(num_block)])
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr, self.conv_last = nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.Conv2d(num_feat, 3, 3, 1, 1)

    def forward(self, x):
        if self.scale != 4:
            x = F.pixel_unshuffle(x, 4 // self.scale)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = F.leaky_relu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2, inplace=True)
        feat = F.leaky_relu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2, inplace=True)
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), 0.2, inplace=True))


class SRVGGNetCompact(nn.Module):
    """basicsr/archs/srvgg_arch.py SRVGGNetCompact with PReLU: conv + PReLU, `num_conv` x (conv + PReLU), conv to
    3 * scale^2 channels, pixel shuffle, plus the nearest-upsampled input. The PReLU slopes are PyTorch's 0.25,
    or drawn uniformly from [0, 0.5) with a generator seeded by `prelu_seed`."""

    def __init__(self, num_conv, scale, num_feat=64, prelu_seed=None):
        super().__init__()
        self.scale = scale
        layers = [nn.Conv2d(3, num_feat, 3, 1, 1), nn.PReLU(num_feat)]
        for _ in range(num_conv):
            layers += [nn.Conv2d(num_feat, num_feat, 3, 1, 1), nn.PReLU(num_feat)]
        layers.append(nn.Conv2d(num_feat, 3 * scale * scale, 3, 1, 1))
        self.body = nn.ModuleList(layers)
        if prelu_seed is not None:
            generator = torch.Generator().manual_seed(prelu_seed)
            with torch.no_grad():
                for layer in self.body:
                    if isinstance(layer, nn.PReLU):
                        layer.weight.copy_(torch.rand(num_feat, generator=generator) * 0.5)

    def forward(self, x):
        out = x
        for layer in self.body:
            out = layer(out)
        out = F.pixel_shuffle(out, self.scale)
        out += F.interpolate(x, scale_factor=self.scale, mode="nearest")
        return out


class RealESRGANerLogic:
    """What `RealESRGANer(scale, model=..., tile, tile_pad, pre_pad, half=False).enhance(img, outscale)` does
    around the network on the CPU, for an H x W x 3 BGR uint8 (or uint16) image as `cv2.imread` gives:

    - to float32 / 255 (/ 65535 when the maximum exceeds 256), BGR -> RGB, to a 1 x 3 x H x W tensor viewing
      the array (`torch.from_numpy` of the transposed array, as the original: its strides are channels-last);
    - `pre_pad` rows and columns reflect-padded at the bottom and right; for scale 2 and 1 also padded
      (reflect) to a multiple of 2 and 4;
    - tile 0: one pass of the model; tile T: a zero output of the padded size x scale filled tile by tile in
      row-major order, each T x T tile of the padded input (smaller at the right and bottom) cut with `tile_pad`
      more pixels on each side that lie inside the image, and only its own part of the model's output kept;
    - the padding cropped off the output (mod pad first, then pre-pad), clamped to [0, 1], RGB -> BGR, x 255,
      rounded, to uint8 (uint16 for 16-bit inputs); resized to int(W * outscale) x int(H * outscale) with
      Lanczos when `outscale` differs from the scale (the original uses OpenCV's INTER_LANCZOS4; PIL's LANCZOS
      here, OpenCV not being a dependency).

    All under `torch.no_grad()` as `enhance` is. Not covered: gray and RGBA inputs, half precision, devices.
    """

    def __init__(self, model, scale, tile=0, tile_pad=10, pre_pad=10):
        self.model = model.eval()
        self.scale, self.tile, self.tile_pad, self.pre_pad = scale, tile, tile_pad, pre_pad
        self.mod_scale = {2: 2, 1: 4}.get(scale)
        self.mod_pad = (0, 0)
        self.img = self.output = None

    def pre_process(self, rgb):
        """`rgb`: H x W x 3 float32 in [0, 1]; sets `self.img`, the padded 1 x 3 x H' x W' tensor."""
        img = torch.from_numpy(np.transpose(rgb, (2, 0, 1))).float().unsqueeze(0)
        if self.pre_pad:
            img = F.pad(img, (0, self.pre_pad, 0, self.pre_pad), "reflect")
        if self.mod_scale is not None:
            height, width = img.shape[2:]
            self.mod_pad = ((-height) % self.mod_scale, (-width) % self.mod_scale)
            img = F.pad(img, (0, self.mod_pad[1], 0, self.mod_pad[0]), "reflect")
        self.img = img

    def process(self):
        self.output = self.model(self.img)

    def tile_process(self):
        """The padded input cut into tiles of `tile` (plus `tile_pad` of context where the image has it), each
        upscaled alone; the output keeps from each tile the part that belongs to it."""
        batch, channels, height, width = self.img.shape
        size, pad, scale = self.tile, self.tile_pad, self.scale
        self.output = self.img.new_zeros((batch, channels, height * scale, width * scale))
        for top in range(0, math.ceil(height / size) * size, size):
            for left in range(0, math.ceil(width / size) * size, size):
                bottom, right = min(top + size, height), min(left + size, width)
                context_top, context_left = max(top - pad, 0), max(left - pad, 0)
                context_bottom, context_right = min(bottom + pad, height), min(right + pad, width)
                with torch.no_grad():
                    upscaled = self.model(self.img[:, :, context_top:context_bottom, context_left:context_right])
                row, column = (top - context_top) * scale, (left - context_left) * scale
                self.output[:, :, top * scale:bottom * scale, left * scale:right * scale] = upscaled[
                    :, :, row:row + (bottom - top) * scale, column:column + (right - left) * scale]

    def post_process(self):
        output = self.output
        if self.mod_scale is not None:
            height, width = output.shape[2:]
            output = output[:, :, :height - self.mod_pad[0] * self.scale, :width - self.mod_pad[1] * self.scale]
        if self.pre_pad:
            height, width = output.shape[2:]
            output = output[:, :, :height - self.pre_pad * self.scale, :width - self.pre_pad * self.scale]
        return output

    @torch.no_grad()
    def enhance(self, img, outscale=None):
        """`img`: H x W x 3 BGR uint8 / uint16. Returns the H*scale x W*scale x 3 BGR result of the same type
        (or the `outscale` size)."""
        height, width = img.shape[:2]
        img = img.astype(np.float32)
        max_range = 65535 if np.max(img) > 256 else 255
        rgb = np.ascontiguousarray((img / max_range)[:, :, ::-1])  # cv2.cvtColor(BGR2RGB): a new array
        self.pre_process(rgb)
        if self.tile > 0:
            self.tile_process()
        else:
            self.process()
        result = self.post_process().squeeze().float().cpu().clamp_(0, 1).numpy()
        result = np.transpose(result[[2, 1, 0], :, :], (1, 2, 0))
        dtype = np.uint16 if max_range == 65535 else np.uint8
        result = (result * float(max_range)).round().astype(dtype)
        if outscale is not None and outscale != float(self.scale):
            from PIL import Image

            size = (int(width * outscale), int(height * outscale))
            result = np.stack([np.asarray(Image.fromarray(result[:, :, c]).resize(size, Image.LANCZOS))
                               for c in range(3)], axis=-1)
        return result
