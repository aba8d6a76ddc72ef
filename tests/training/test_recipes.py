"""Every paper recipe holds the papers' figures, written here with their sources (not read from the package),
and a recipe is overridable flag by flag."""
import pytest

from sr_keras.checks import ConfigError
from sr_keras.training import PAPER_RECIPES, RECIPES, TRAINABLE_MODELS, make_config

# Lim et al. 2017, "Enhanced Deep Residual Networks for Single Image Super-Resolution", section 4.2: L1 loss,
# Adam, lr 1e-4 halved every 2e5 minibatch updates, batch 16, 48x48 LR patches; EDSR-PyTorch src/option.py:
# 300 epochs of 1000 updates. EDSR: 32 blocks, 256 features, residual scaling 0.1; baseline 16 x 64; MDSR 80 x 64.
# EDSR-PyTorch src/utility.py make_optimizer: torch.optim.Adam; src/loss: L1 on the [0, 255] images (rgb_range 255).
# wdsr_ntire2018 trains in EDSR-PyTorch's framework, the same.
EDSR_PYTORCH = dict(optimizer="torch_adam", loss_range=255)
EDSR_TRAINING = dict(EDSR_PYTORCH, loss="l1", learning_rate=1e-4, decay_steps=(200_000,), decay_factor=0.5,
                     batch_size=16, crop_size=48, steps=300_000)
# Yu et al. 2018, "Wide Activation for Efficient and Accurate Image Super-Resolution" (seed 002): 96px HR crops
# (24px LR at x4), L1, Adam, lr 1e-3 halved at 2e5 steps, batch 16; 32 blocks of 32 features.
WDSR_TRAINING = dict(EDSR_PYTORCH, loss="l1", learning_rate=1e-3, decay_steps=(200_000,), decay_factor=0.5,
                     batch_size=16, crop_size=24, steps=300_000, num_filters=32, num_res_blocks=32)
# Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution Using a GAN", section 3.2: 16 blocks of 64,
# batch 16, 96px HR crops (24px LR at x4); SRResNet MSE for 1e6 updates at lr 1e-4; SRGAN from SRResNet, VGG54 +
# 1e-3 adversarial, 1e5 updates at 1e-4 then 1e5 at 1e-5.
SRGAN_SIZE = dict(num_filters=64, num_res_blocks=16, batch_size=16, crop_size=24)
# BasicSR models/sr_model.py and srgan_model.py: torch.optim.Adam, losses on [0, 1], the generator updated
# before the discriminator. Seed 000's code is TensorFlow (its Adam), the discriminator first.
BASICSR = dict(optimizer="torch_adam", loss_range=1, gan_order="g_first")
SEED000 = dict(optimizer="keras_adam", loss_range=1, gan_order="d_first")
EXPECTED = {
    "edsr_paper": dict(EDSR_TRAINING, num_filters=256, num_res_blocks=32),
    "edsr_baseline_paper": dict(EDSR_TRAINING, num_filters=64, num_res_blocks=16),
    # EDSR-PyTorch src/template.py: MDSR trains 650 epochs of 1000 updates; src/option.py: decay '200' (one
    # milestone), gamma 0.5.
    "mdsr_paper": dict(EDSR_TRAINING, num_filters=64, num_res_blocks=80, scales=(2, 3, 4), steps=650_000),
    "mdsr_baseline_paper": dict(EDSR_TRAINING, num_filters=64, num_res_blocks=16, scales=(2, 3, 4),
                                steps=650_000),
    "wdsr_a_paper": WDSR_TRAINING,
    "wdsr_b_paper": WDSR_TRAINING,
    "srresnet_paper": dict(SRGAN_SIZE, **BASICSR, loss="mse", learning_rate=1e-4, decay_steps=(), steps=1_000_000),
    "srgan_paper": dict(SRGAN_SIZE, **BASICSR, content_loss="vgg54", adv_weight=1e-3, learning_rate=1e-4,
                        decay_steps=(100_000,), decay_factor=0.1, steps=200_000),
    # Pathak et al. 2018 (seed 000) Table 1: SRGAN_MSE, 3e4 steps, 24px crops; "the learning rate used in
    # Tables 3, 4, and 5 is 1e-4".
    "srgan_mse_seed000": dict(SRGAN_SIZE, **SEED000, content_loss="mse", adv_weight=1e-3, learning_rate=1e-4,
                              steps=30_000),
    # Seed 000 Table 3: A-SRResNet 1e6 global steps, A-SRGAN_MSE 1e5; crop 72 (section 4); FSA pool 4 at test time.
    "a_srresnet_paper": dict(SRGAN_SIZE, **SEED000, crop_size=72, loss="mse", learning_rate=1e-4,
                             steps=1_000_000, pool_size=1, eval_pool_size=4),
    "a_srgan_paper": dict(SRGAN_SIZE, **SEED000, crop_size=72, content_loss="mse", adv_weight=1e-3,
                          learning_rate=1e-4, steps=100_000, pool_size=1, eval_pool_size=4),
    # Seed 000 Table 4: the 96px row, 3e4 steps on 8 GPUs.
    "a_srgan_mse_seed000": dict(SRGAN_SIZE, **SEED000, crop_size=96, content_loss="mse", learning_rate=1e-4,
                                steps=30_000, pool_size=1, eval_pool_size=4),
}
# Wang et al. 2018 (ESRGAN) section 4.1: PSNR-oriented RRDBNet, L1, lr 2e-4 halved every 2e5 updates, batch 16,
# 128px HR crops; BasicSR train_RRDBNet_PSNR_x4.yml: 1e6 iterations, [0, 1], torch.optim.Adam.
EXPECTED["rrdbnet_psnr_paper"] = dict(BASICSR, scale=4, loss="l1", learning_rate=2e-4,
                                      decay_steps=(200_000, 400_000, 600_000, 800_000), decay_factor=0.5,
                                      batch_size=16, crop_size=32, steps=1_000_000)
# xinntao/Real-ESRGAN options/train_realesrnet_x4plus.yml (x2plus: scale 2): 4 GPUs x batch_size_per_gpu 12,
# gt_size 256, queue_size 180 per GPU, Adam lr 2e-4 betas [0.9, 0.99], ema_decay 0.999, L1, gt_usm True,
# total_iter 1e6 with its only MultiStepLR milestone at 1e6; train_realesrgan_x4plus.yml: lr 1e-4 for G and D,
# 4e5 iterations, perceptual weight 1 + GAN (vanilla) weight 0.1, l1/percep_gt_usm True.
REAL_ESRGAN = dict(BASICSR, degradation="realesrgan", pair_pool=720, batch_size=48, beta_2=0.99, ema_decay=0.999,
                   usm_target=True, loss="l1", decay_steps=())
for _scale in (4, 2):
    EXPECTED[f"realesrnet_x{_scale}plus"] = dict(REAL_ESRGAN, scale=_scale, crop_size=256 // _scale,
                                                  learning_rate=2e-4, steps=1_000_000)
    EXPECTED[f"realesrgan_x{_scale}plus"] = dict(REAL_ESRGAN, scale=_scale, crop_size=256 // _scale,
                                                  learning_rate=1e-4, steps=400_000, content_loss="perceptual",
                                                  adv_weight=0.1)


def test_every_recipe_is_checked_and_every_model_has_one():
    assert set(RECIPES) == set(EXPECTED)
    assert set(PAPER_RECIPES) == set(TRAINABLE_MODELS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recipe_values_are_the_papers(name, tmp_path):
    model = "wdsr_b" if RECIPES[name].model is None else None  # Real-ESRNet's recipe trains any generator
    config = make_config(model, recipe=name, model_dir=str(tmp_path), from_scratch=True)  # GANs: no pretrained
    values = config.flat()
    for key, expected in EXPECTED[name].items():
        assert values[key] == pytest.approx(expected), (name, key)
    assert values["scale"] == EXPECTED[name].get("scale", 4) and values["model"] == (RECIPES[name].model or model)
    # seed 000's Table 1 / Table 4 GANs train from scratch; the papers' SRGAN / A-SRGAN start from a pretrained
    # generator (make_config refuses them without --init_from)
    assert RECIPES[name].values.get("from_scratch", False) == name.endswith("seed000")


def test_a_recipe_is_overridable_setting_by_setting(tmp_path):
    config = make_config(recipe="edsr_baseline_paper", model_dir=str(tmp_path), steps=7, crop_size=24, scale=2)
    assert (config.optim.steps, config.data.crop_size, config.model.scale) == (7, 24, 2)
    assert config.optim.learning_rate == 1e-4 and config.model.num_res_blocks == 16


def test_without_a_recipe_the_models_paper_recipe_applies(tmp_path):
    assert make_config("wdsr_b", str(tmp_path)).flat() == dict(
        make_config(recipe="wdsr_b_paper", model_dir=str(tmp_path)).flat(), recipe=None)


def test_library_errors_name_the_setting_not_a_flag(tmp_path):
    with pytest.raises(ConfigError) as error:
        make_config("edsr_baseline", str(tmp_path), batch_size=0)
    assert error.value.field == "batch_size" and "--" not in str(error.value)
    with pytest.raises(ConfigError, match="contradicts recipe"):
        make_config("srresnet", str(tmp_path), recipe="edsr_paper")
    with pytest.raises(ConfigError, match="unknown recipe"):
        make_config(recipe="edsr_v2", model_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="is not a training setting"):
        make_config("edsr", str(tmp_path), num_blocks=4)


@pytest.mark.parametrize("changes,field", [
    (dict(loss_range=2), "loss_range"),
    (dict(optimizer="sgd"), "optimizer"),
    (dict(gan_order="g_last"), "gan_order"),
])
def test_training_conventions_are_checked(changes, field, tmp_path):
    with pytest.raises(ConfigError) as error:
        make_config("srgan", str(tmp_path), from_scratch=True, **changes)
    assert error.value.field == field


def test_realesrgan_keeps_its_own_order(tmp_path):
    """RealESRGANTrainer updates the generator first, as Real-ESRGAN; d_first is refused, not ignored."""
    with pytest.raises(ConfigError, match="generator first") as error:
        make_config("realesrgan", str(tmp_path), from_scratch=True, gan_order="d_first")
    assert error.value.field == "gan_order"
