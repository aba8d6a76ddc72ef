"""The papers' training recipes as named data: `--recipe=<name>`, overridable setting by setting.

    python -m sr_keras.train --recipe=edsr_baseline_paper --data=div2k --data_dir=data/div2k
    python -m sr_keras.train --recipe=wdsr_b_paper --steps=1000          # any field still overrides

A recipe fixes what a paper fixes (model size, scale, crop, batch, loss, optimiser schedule, steps, GAN
losses) and nothing about where the run happens (data location, devices, directories, cadence of logs). When
no recipe is named, the model's paper recipe applies: the first its `ModelSpec` lists (`PAPER_RECIPES`, checked
against `RECIPES` on import). Every value is written once, here; `experiments/*.flags` only add the run settings.
"""
import dataclasses

from sr_keras.checks import ConfigError
from sr_keras.models import MODELS


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One paper configuration.

    Attributes:
        name: the `--recipe` value.
        model: the trained model (`--model`); None for a training recipe that applies to any generator (the
            user names it with `--model`).
        source: where the values come from (paper, section or table, original code).
        values: flat training settings (field names of `sr_keras.training.config`).
    """

    name: str
    model: str
    source: str
    values: dict


# Optimizer and loss conventions of the originals' code (docs/TRAINING_EQUIVALENCE.md): EDSR-PyTorch and
# wdsr_ntire2018 (trained in EDSR-PyTorch's framework) take L1 on [0, 255] with torch.optim.Adam; BasicSR
# (SRResNet/SRGAN's training here, Real-ESRGAN) takes its losses on [0, 1] with torch.optim.Adam and updates
# the generator before the discriminator; seed 000's TensorFlow code uses TensorFlow's Adam and updates the
# discriminator first.
_TORCH_255 = dict(optimizer="torch_adam", loss_range=255)
_BASICSR = dict(optimizer="torch_adam", loss_range=1, gan_order="g_first")
_SEED000 = dict(optimizer="keras_adam", loss_range=1, gan_order="d_first")
_EDSR = dict(_TORCH_255, scale=4, loss="l1", learning_rate=1e-4, decay_steps=(200_000,), decay_factor=0.5,
             batch_size=16, crop_size=48, steps=300_000)
_EDSR_SOURCE = ("Lim et al. 2017 (EDSR/MDSR) section 4.2: L1, Adam (0.9, 0.999, 1e-8), lr 1e-4 halved every "
                "2e5 updates, batch 16, 48x48 LR patches; EDSR-PyTorch src/option.py: 300 epochs of 1000 updates")
# EDSR-PyTorch src/template.py sets epochs = 650 for MDSR (and patch_size 48, the LR patch for multi-scale
# training); src/option.py keeps decay '200' (one MultiStepLR milestone at epoch 200, gamma 0.5) and 1000
# updates per epoch (test_every), so 6.5e5 updates with the learning rate halved once, at 2e5.
_MDSR = dict(_EDSR, scales=(2, 3, 4), steps=650_000)
_MDSR_SOURCE = ("Lim et al. 2017 (MDSR): one scale per batch, 48x48 LR patches, L1, Adam, lr 1e-4, batch 16; "
                "EDSR-PyTorch src/template.py (MDSR: 650 epochs) and src/option.py (decay '200', gamma 0.5, "
                "1000 updates per epoch)")
_WDSR = dict(_TORCH_255, scale=4, loss="l1", learning_rate=1e-3, decay_steps=(200_000,), decay_factor=0.5,
             batch_size=16, steps=300_000)  # crop: 96px HR (crop_size = 96 // scale, set by make_config)
_WDSR_SOURCE = ("Yu et al. 2018 (WDSR), seed 002: DIV2K, 96px HR crops, L1, Adam, lr 1e-3 halved at 2e5 steps, "
                "batch 16; 32 blocks of 32 features; JiahuiYu/wdsr_ntire2018 (EDSR-PyTorch's trainer): L1 on "
                "[0, 255], torch.optim.Adam")
_SRGAN_SIZE = dict(scale=4, num_filters=64, num_res_blocks=16, batch_size=16, crop_size=24)
# Real-ESRGAN (Wang et al. 2021), xinntao/Real-ESRGAN options/train_realesrnet_x4plus.yml and
# train_realesrgan_x4plus.yml: 4 GPUs x 12 = batch 48 of 256 px HR crops (LR 64 at x4, 128 at x2), a pool of
# 180 pairs per GPU (720 in all), Adam betas (0.9, 0.99), EMA 0.999, USM-sharpened targets. Their MultiStepLR
# milestone equals the last step, so the learning rate never decays.
_REALESRGAN_DATA = dict(_BASICSR, degradation="realesrgan", pair_pool=720, batch_size=48, beta_2=0.99,
                        ema_decay=0.999, usm_target=True, loss="l1", decay_steps=())
_REALESRNET_SOURCE = ("Wang et al. 2021 (Real-ESRGAN), options/train_realesrnet_x{s}plus.yml: Real-ESRNet, L1 on "
                      "the USM-sharpened HR, Adam lr 2e-4 betas (0.9, 0.99), EMA 0.999, 1e6 iterations, batch 48 "
                      "(4 GPUs x 12), 256 px HR crops, the second-order degradation and a 180-pair pool per GPU; "
                      "trains RRDBNet there, any generator here (--model)")
_REALESRGAN_SOURCE = ("Wang et al. 2021 (Real-ESRGAN), options/train_realesrgan_x{s}plus.yml: from Real-ESRNet "
                      "(--init_from), L1 + VGG19 perceptual (conv1_2..conv5_4 before ReLU, weights 0.1, 0.1, 1, 1, "
                      "1) + 0.1 x vanilla GAN with UNetDiscriminatorSN, generator step then discriminator step, "
                      "Adam lr 1e-4 betas (0.9, 0.99) for both, EMA 0.999, 4e5 iterations, batch 48; the generator "
                      "is --generator (RRDBNet in the original)")

_ESRGAN_PSNR_SOURCE = ("Wang et al. 2018 (ESRGAN) section 4.1: the PSNR-oriented RRDBNet, L1, Adam (0.9, 0.999), lr "
                       "2e-4 halved every 2e5 updates, batch 16, 128px HR crops; BasicSR options/train/ESRGAN/"
                       "train_RRDBNet_PSNR_x4.yml: 1e6 iterations, losses on [0, 1]")

RECIPES = {recipe.name: recipe for recipe in (
    Recipe("edsr_paper", "edsr", _EDSR_SOURCE + "; EDSR 32 blocks x 256 features, res_scale 0.1",
           dict(_EDSR, num_filters=256, num_res_blocks=32)),
    Recipe("edsr_baseline_paper", "edsr_baseline", _EDSR_SOURCE + "; baseline 16 blocks x 64 features",
           dict(_EDSR, num_filters=64, num_res_blocks=16)),
    Recipe("mdsr_paper", "mdsr", _MDSR_SOURCE + "; MDSR 80 blocks x 64 features",
           dict(_MDSR, num_filters=64, num_res_blocks=80)),
    Recipe("mdsr_baseline_paper", "mdsr_baseline", _MDSR_SOURCE + "; MDSR baseline 16 blocks x 64 features",
           dict(_MDSR, num_filters=64, num_res_blocks=16)),
    Recipe("wdsr_a_paper", "wdsr_a", _WDSR_SOURCE + ", expansion 4", dict(_WDSR, num_filters=32, num_res_blocks=32)),
    Recipe("wdsr_b_paper", "wdsr_b", _WDSR_SOURCE + ", expansion 6, low-rank 0.8",
           dict(_WDSR, num_filters=32, num_res_blocks=32)),
    Recipe("rrdbnet_psnr_paper", "rrdbnet", _ESRGAN_PSNR_SOURCE,
           dict(_BASICSR, scale=4, loss="l1", learning_rate=2e-4, decay_steps=(200_000, 400_000, 600_000, 800_000),
                decay_factor=0.5, batch_size=16, crop_size=32, steps=1_000_000)),
    Recipe("srresnet_paper", "srresnet",
           "Ledig et al. 2017 (SRGAN) section 3.2 and brade31919/SRGAN-tensorflow: SRResNet, MSE, lr 1e-4, "
           "1e6 updates, batch 16, 24px LR crops (96px HR); the step as BasicSR's SRModel: MSE on [0, 1], "
           "torch.optim.Adam",
           dict(_SRGAN_SIZE, **_BASICSR, loss="mse", learning_rate=1e-4, decay_steps=(), steps=1_000_000)),
    Recipe("srgan_paper", "srgan",
           "Ledig et al. 2017 (SRGAN) section 3.2: from the trained SRResNet, VGG54 content + 1e-3 adversarial, "
           "lr 1e-4 for 1e5 updates then 1e-5 for 1e5, batch 16, 24px LR crops; the step as BasicSR's "
           "SRGANModel: generator update, then discriminator update on the SR made before it, torch.optim.Adam",
           dict(_SRGAN_SIZE, **_BASICSR, loss="mse", content_loss="vgg54", adv_weight=1e-3, d_steps=1,
                learning_rate=1e-4, decay_steps=(100_000,), decay_factor=0.1, steps=200_000)),
    Recipe("srgan_mse_seed000", "srgan",
           "Pathak et al. 2018 (seed 000) Table 1: SRGAN_MSE from scratch, 3e4 steps, 24px crops, MSE content + "
           "1e-3 adversarial, lr 1e-4 (data parallel over 8 GPUs: add --gpus=8)",
           dict(_SRGAN_SIZE, **_SEED000, loss="mse", content_loss="mse", adv_weight=1e-3, d_steps=1,
                learning_rate=1e-4, decay_steps=(), steps=30_000, from_scratch=True)),
    Recipe("a_srresnet_paper", "a_srresnet",
           "Pathak et al. 2018 (seed 000) Table 3: A-SRResNet from scratch, 1e6 steps, lr 1e-4, 72px crops, MSE; "
           "FSA pool 1 in training and 4 at test time",
           dict(_SRGAN_SIZE, **_SEED000, crop_size=72, loss="mse", learning_rate=1e-4, decay_steps=(),
                steps=1_000_000, pool_size=1, eval_pool_size=4)),
    Recipe("a_srgan_paper", "a_srgan",
           "Pathak et al. 2018 (seed 000) Table 3: A-SRGAN_MSE from the trained A-SRResNet, 1e5 steps, lr 1e-4, "
           "72px crops, MSE content + 1e-3 adversarial; FSA pool 1 in training and 4 at test time",
           dict(_SRGAN_SIZE, **_SEED000, crop_size=72, loss="mse", content_loss="mse", adv_weight=1e-3, d_steps=1,
                learning_rate=1e-4, decay_steps=(), steps=100_000, pool_size=1, eval_pool_size=4)),
    Recipe("a_srgan_mse_seed000", "a_srgan",
           "Pathak et al. 2018 (seed 000) Tables 1 and 4: A-SRGAN_MSE from scratch, 3e4 steps, 96px crops, lr "
           "1e-4 (data parallel over 8 GPUs: add --gpus=8); FSA pool 1 in training and 4 at test time",
           dict(_SRGAN_SIZE, **_SEED000, crop_size=96, loss="mse", content_loss="mse", adv_weight=1e-3, d_steps=1,
                learning_rate=1e-4, decay_steps=(), steps=30_000, pool_size=1, eval_pool_size=4, from_scratch=True)),
) + tuple(
    Recipe(f"realesrnet_x{scale}plus", None, _REALESRNET_SOURCE.format(s=scale),
           dict(_REALESRGAN_DATA, scale=scale, crop_size=256 // scale, learning_rate=2e-4, steps=1_000_000))
    for scale in (4, 2)
) + tuple(
    Recipe(f"realesrgan_x{scale}plus", "realesrgan", _REALESRGAN_SOURCE.format(s=scale),
           dict(_REALESRGAN_DATA, scale=scale, crop_size=256 // scale, learning_rate=1e-4, steps=400_000,
                content_loss="perceptual", adv_weight=0.1))
    for scale in (4, 2)
)}


def paper_recipes(models):
    """{trainable model: the recipe that applies to it when no --recipe is given}, from the registry `models`
    (`sr_keras.models.MODELS`): the first of a generator's `ModelSpec.recipes` and of a GAN's `GANSpec.recipes`.

    Raises:
        ValueError: a spec names a recipe that does not exist, or one that trains another model.
    """
    listed = []  # (trained model, recipe names)
    for name, spec in models.items():
        listed.append((name, spec.recipes))
        if spec.gan:
            listed += [(spec.gan.name, spec.gan.recipes), (name, spec.gan.init_recipes)]
    papers = {}
    for model, names in listed:
        for recipe in names:
            if recipe not in RECIPES:
                raise ValueError(f"the registry lists the recipe {recipe!r} for {model}; there is no such recipe")
            if RECIPES[recipe].model not in (None, model):
                raise ValueError(f"the registry lists the recipe {recipe!r} for {model}; it trains "
                                 f"{RECIPES[recipe].model}")
        if names:
            papers.setdefault(model, names[0])
    return papers


PAPER_RECIPES = paper_recipes(MODELS)


def get(name):
    """The recipe called `name`; `ConfigError` listing the names otherwise."""
    if name not in RECIPES:
        raise ConfigError("recipe", f"unknown recipe {name!r}; recipes: {', '.join(RECIPES)}")
    return RECIPES[name]
