"""The originals' published generators as `Preset`s: where their authors publish each file, its hash where they
publish one, its licence and the authors' own figure. `published_presets()` yields them in the table's order."""
from sr_keras.pretrained.preset import Preset

_EDSR_URL = "https://cv.snu.ac.kr/research/EDSR/models/"
_EDSR_PAGE = "https://github.com/sanghyun-son/EDSR-PyTorch"
_EDSR_PROTOCOL = "DIV2K 0801-0900, RGB, scale+2 border ignored (EDSR-PyTorch README)"
_EDSR_FILES = {  # name: (file, PSNR on DIV2K val as published)
    "edsr_baseline_x2": ("edsr_baseline_x2-1bc95232.pt", 34.61),
    "edsr_baseline_x3": ("edsr_baseline_x3-abf2a44e.pt", 30.92),
    "edsr_baseline_x4": ("edsr_baseline_x4-6b446fab.pt", 28.95), "edsr_x2": ("edsr_x2-0edfb8a3.pt", 35.03),
    "edsr_x3": ("edsr_x3-ea3ef2c6.pt", 31.26), "edsr_x4": ("edsr_x4-4f62e9ef.pt", 29.25),
}
_MDSR_FILES = {"mdsr_baseline": ("mdsr_baseline-a00cab12.pt", {2: 34.63, 3: 30.94, 4: 28.97}),
               "mdsr": ("mdsr-4a78bedf.pt", {2: 34.92, 3: 31.22, 4: 29.24})}


def _torch_hub_hash(filename):
    return filename.rsplit("-", 1)[1].split(".")[0]


def _edsr_pytorch():
    for name, (filename, psnr) in _EDSR_FILES.items():
        architecture, scale = name.rsplit("_x", 1)
        size = "16 blocks, 64 filters" if "baseline" in name else "32 blocks, 256 filters"
        yield Preset(name, architecture, int(scale), f"EDSR-PyTorch's {architecture.replace('_', ' ')} x{scale} "
                     f"({size})", licence="MIT (sanghyun-son/EDSR-PyTorch)", card=_EDSR_PAGE,
                     url=_EDSR_URL + filename, filename=filename, sha256=_torch_hub_hash(filename),
                     source="edsr_pytorch", published=f"{psnr:.2f} dB, {_EDSR_PROTOCOL}", page=_EDSR_PAGE)
    for architecture, (filename, figures) in _MDSR_FILES.items():
        for scale, psnr in figures.items():
            yield Preset(f"{architecture}_x{scale}", architecture, scale,
                         f"EDSR-PyTorch's {architecture.replace('_', ' ')}, its x{scale} path (one file, every scale)",
                         licence="MIT (sanghyun-son/EDSR-PyTorch)", card=_EDSR_PAGE, url=_EDSR_URL + filename,
                         filename=filename, sha256=_torch_hub_hash(filename), source="edsr_pytorch",
                         published=f"{psnr:.2f} dB, {_EDSR_PROTOCOL}", page=_EDSR_PAGE)


_DRIVE = "https://drive.usercontent.google.com/download?id={}&export=download&confirm=t"
_BASICSR_PAGE = "https://github.com/XPixelGroup/BasicSR/blob/master/docs/ModelZoo.md"
_BASICSR_FILES = {  # name: (file, Google Drive id as in BasicSR's scripts/download_pretrained_models.py, DIV2K100)
    "basicsr_edsr_m_x2": ("EDSR_Mx2_f64b16_DIV2K_official-3ba7b086.pth",
                          "1mREMGVDymId3NzIc2u90sl_X4-pb4ZcV", "34.6291"),
    "basicsr_edsr_m_x3": ("EDSR_Mx3_f64b16_DIV2K_official-6908f88a.pth",
                          "1EriqQqlIiRyPbrYGBbwr_FZzvb3iwqz5", "30.9438"),
    "basicsr_edsr_m_x4": ("EDSR_Mx4_f64b16_DIV2K_official-0c287733.pth",
                          "1bCK6cFYU01uJudLgUUe-jgx-tZ3ikOWn", "28.9679"),
    "basicsr_edsr_l_x2": ("EDSR_Lx2_f256b32_DIV2K_official-be38e77d.pth",
                          "15257lZCRZ0V6F9LzTyZFYbbPrqNjKyMU", "35.0495"),
    "basicsr_edsr_l_x3": ("EDSR_Lx3_f256b32_DIV2K_official-3660f70d.pth",
                          "18q_D434sLG_rAZeHGonAX8dkqjoyZ2su", "31.28"),
    "basicsr_edsr_l_x4": ("EDSR_Lx4_f256b32_DIV2K_official-76ee1c8f.pth",
                          "1GCi30YYCzgMCcgheGWGusP9aWKOAy5vl", "29.277"),
}


def _basicsr():
    for name, (filename, drive_id, psnr) in _BASICSR_FILES.items():
        scale = int(name[-1])
        architecture = "edsr" if "_l_" in name else "edsr_baseline"
        yield Preset(name, architecture, scale, f"BasicSR's EDSR_{'L' if '_l_' in name else 'M'}x{scale} "
                     "(EDSR-PyTorch's official weights in BasicSR's layout)",
                     licence="Apache-2.0 (XPixelGroup/BasicSR)",
                     card=_BASICSR_PAGE, url=_DRIVE.format(drive_id), filename=filename,
                     sha256=_torch_hub_hash(filename), source="basicsr",
                     published=f"{psnr} dB, DIV2K100, RGB, scale border cropped (BasicSR ModelZoo)", page=_BASICSR_PAGE)


_YCHFAN_PAGE = "https://github.com/ychfan/wdsr"
_YCHFAN_FILES = {  # name: (url, archive, DIV2K val, parameters)
    "wdsr_a_x2": ("https://github.com/ychfan/wdsr/files/4176974/wdsr_x2.zip", "34.76", "1,190,100"),
    "wdsr_a_x3": ("https://github.com/ychfan/wdsr/files/4176981/wdsr_x3.zip", "31.03", "1,195,605"),
    "wdsr_a_x4": ("https://github.com/ychfan/wdsr/files/4176985/wdsr_x4.zip", "29.04", "1,203,312"),
    "wdsr_a_large_x2": (_DRIVE.format("10OsQD--qWZIBinFignAWwppHw5z9LPMI"), "35.06", "37,808,180"),
    "wdsr_a_large_x3": (_DRIVE.format("10Yh0mI2825k69vChRZRGMsAC7C-M5hbk"), "31.34", "37,826,645"),
    "wdsr_a_large_x4": (_DRIVE.format("10sYc5F63-o3eovtGCG5SSawk4otEHIxe"), "29.33", "37,852,496"),
}


def _ychfan():
    for name, (url, psnr, params) in _YCHFAN_FILES.items():
        scale = int(name[-1])
        large = "large" in name
        size = "32 blocks, 128 filters" if large else "16 blocks, 32 filters"
        yield Preset(name, "wdsr_a", scale, f"the WDSR authors' WDSR-A x{scale} ({size}, {params} parameters; "
                     f"ychfan/wdsr, mean 0.5 folded in)", licence="MIT (ychfan/wdsr)", card=_YCHFAN_PAGE, url=url,
                     filename=f"wdsr{'_large' if large else ''}_x{scale}.zip", member="epoch_30.pth",
                     source="wdsr_ychfan", published=f"{psnr} dB, DIV2K val, RGB (ychfan/wdsr README)",
                     page=_YCHFAN_PAGE)


_KRASSERM_PAGE = "https://github.com/krasserm/super-resolution"


def _krasserm():
    specs = (("krasserm_edsr_baseline_x4", "edsr_baseline", "weights-edsr-16-x4.tar.gz", "edsr-16-x4/weights.h5",
              "krasserm's EDSR baseline x4 (Keras, 16 blocks, 64 filters)",
              "28.89 dB, DIV2K 801-900, RGB, border included (krasserm README)"),
             ("krasserm_wdsr_b_x4", "wdsr_b", "weights-wdsr-b-32-x4.tar.gz", "wdsr-b-32-x4/weights.h5",
              "krasserm's WDSR-B x4 (Keras, 32 blocks, 32 filters, expansion 6)",
              "28.91 dB, DIV2K 801-900, RGB, border included (krasserm README)"),
             ("krasserm_srgan_x4", "srresnet", "weights-srgan.tar.gz", "srgan/gan_generator.h5",
              "krasserm's SRGAN generator x4 (SRResNet after GAN training, VGG54 content loss)",
              "no PSNR published (a perceptual model)"))
    for name, architecture, filename, member, description, published in specs:
        yield Preset(name, architecture, 4, description, licence="Apache-2.0 (krasserm/super-resolution)",
                     card=_KRASSERM_PAGE, url=f"https://martin-krasser.de/sisr/{filename}", filename=filename,
                     member=member, source="krasserm", published=published, page=_KRASSERM_PAGE)


_REALESRGAN_RELEASES = "https://github.com/xinntao/Real-ESRGAN/releases/download/"
_REALESRGAN_PAGE = "https://github.com/xinntao/Real-ESRGAN"
_REALESRGAN_LICENCE = "BSD-3-Clause (xinntao/Real-ESRGAN)"
_PERCEPTUAL = "no PSNR published: a GAN model for real-world photos, judged by eye (Real-ESRGAN README)"
_REALESRGAN_FILES = (  # name, architecture, scale, release/file, description, published
    ("realesrgan_x4plus", "rrdbnet", 4, "v0.1.0/RealESRGAN_x4plus.pth",
     "Real-ESRGAN x4plus (RRDBNet, 23 blocks): real-world photos", _PERCEPTUAL),
    ("realesrnet_x4plus", "rrdbnet", 4, "v0.1.1/RealESRNet_x4plus.pth",
     "Real-ESRNet x4plus (RRDBNet, 23 blocks, L1 only: smoother than Real-ESRGAN)",
     "no PSNR published (Real-ESRGAN README)"),
    ("realesrgan_x2plus", "rrdbnet", 2, "v0.2.1/RealESRGAN_x2plus.pth",
     "Real-ESRGAN x2plus (RRDBNet, 23 blocks, pixel-unshuffled input)", _PERCEPTUAL),
    ("realesrgan_x4plus_anime_6b", "rrdbnet", 4, "v0.2.2.4/RealESRGAN_x4plus_anime_6B.pth",
     "Real-ESRGAN x4plus anime (RRDBNet, 6 blocks): anime illustrations", _PERCEPTUAL),
    ("realesr_animevideov3", "srvgg_compact", 4, "v0.2.5.0/realesr-animevideov3.pth",
     "Real-ESRGAN animevideo v3 (SRVGGNetCompact, 16 convs): anime video frames", _PERCEPTUAL),
    ("realesr_general_x4v3", "srvgg_compact", 4, "v0.2.5.0/realesr-general-x4v3.pth",
     "Real-ESRGAN general v3 (SRVGGNetCompact, 32 convs): real-world photos, fast; --denoise_strength",
     _PERCEPTUAL),
    ("realesr_general_wdn_x4v3", "srvgg_compact", 4, "v0.2.5.0/realesr-general-wdn-x4v3.pth",
     "Real-ESRGAN general v3, weak denoising (--denoise_strength=0 of realesr_general_x4v3)", _PERCEPTUAL),
)


def _realesrgan():
    for name, architecture, scale, path, description, published in _REALESRGAN_FILES:
        filename = path.split("/")[1]
        yield Preset(name, architecture, scale, description, licence=_REALESRGAN_LICENCE, card=_REALESRGAN_PAGE,
                     url=_REALESRGAN_RELEASES + path, filename=filename, source="realesrgan", published=published,
                     page=_REALESRGAN_PAGE,
                     companion="realesr_general_wdn_x4v3" if name == "realesr_general_x4v3" else None)


_ESRGAN_PAGE = "https://github.com/xinntao/ESRGAN"


def _esrgan():
    """ESRGAN's official x4 models in BasicSR's layout (BasicSR's scripts/download_pretrained_models.py)."""
    files = (("esrgan_x4", "ESRGAN_SRx4_DF2KOST_official-ff704c30.pth",
              _REALESRGAN_RELEASES + "v0.1.1/ESRGAN_SRx4_DF2KOST_official-ff704c30.pth",
              "ESRGAN x4 (RRDBNet, 23 blocks; the 2018 RRDB_ESRGAN_x4 in BasicSR's layout)"),
             ("esrgan_psnr_x4", "ESRGAN_PSNR_SRx4_DF2K_official-150ff491.pth",
              _DRIVE.format("1swaV5iBMFfg-DL6ZyiARztbhutDCWXMM"),
              "ESRGAN's PSNR-oriented RRDBNet x4 (the 2018 RRDB_PSNR_x4 in BasicSR's layout)"))
    for name, filename, url, description in files:
        yield Preset(name, "rrdbnet", 4, description, licence="Apache-2.0 (xinntao/ESRGAN, XPixelGroup/BasicSR)",
                     card=_ESRGAN_PAGE, url=url, filename=filename, sha256=_torch_hub_hash(filename),
                     source="realesrgan", published="figures in the ESRGAN paper (Wang et al. 2018), not quoted here",
                     page=_BASICSR_PAGE)


_KAIR_RELEASES = "https://github.com/cszn/KAIR/releases/download/v1.0/"


def _bsrgan():
    for name, filename, description in (
            ("bsrgan_x4", "BSRGAN.pth", "BSRGAN x4 (RRDBNet, 23 blocks; BSRGAN's degradations, GAN)"),
            ("bsrnet_x4", "BSRNet.pth", "BSRNet x4 (RRDBNet, 23 blocks; BSRGAN's degradations, PSNR-oriented)")):
        yield Preset(name, "rrdbnet", 4, description, licence="MIT (cszn/KAIR, which publishes the files)",
                     card="https://github.com/cszn/BSRGAN", url=_KAIR_RELEASES + filename, filename=filename,
                     source="bsrgan", published="figures in the BSRGAN paper (Zhang et al. 2021), not quoted here",
                     page="https://github.com/cszn/BSRGAN")


def published_presets():
    """Every preset of the originals' published files."""
    yield from _edsr_pytorch()
    yield from _basicsr()
    yield from _ychfan()
    yield from _krasserm()
    yield from _realesrgan()
    yield from _esrgan()
    yield from _bsrgan()
