"""A-SRResNet and the A-SRGAN discriminator: Pathak et al., "Efficient Super Resolution For Large-Scale Image
Using Attentional GAN", 2018 (seed 000), section 2.4 and Fig. 3.

A-SRGAN makes two changes to SRGAN: a Flexible Self Attention (FSA) layer in the generator and in the
discriminator, and spectral normalisation on every convolution and dense layer of both.

Our reading of Fig. 3 (the figure's image is not in the text we have; its caption, section 2.4 and the only
public port, victorca25/traiNNer ASRResNet_arch.py, agree with it):
- generator: one FSA on the 64-channel feature map right after the elementwise sum of the head output and the
  residual body (the SRGAN "B residual blocks + skip" output), before the sub-pixel upsampling. That is the
  last point where the map is at LR size, which keeps the attention map smallest, and "Learnable Sum" in the
  figure is SAGAN's `x + gamma * o`;
- discriminator: one FSA after the (256 filters, stride 2) block, on the 256-channel map at 1/8 of the HR
  size, before the two 512-filter blocks;
- batch normalisation stays where SRGAN has it (the paper adds spectral normalisation, it removes nothing);
- the FSA's deconvolution back to the input size is parameter-free (the seed: FSA "does not add any new
  variables"), so the pool size can change between training (p = 1, plain attention on crops) and testing
  (p = 4 on 2000px images).
"""
from sr_keras.models.generator import generator_builder
from sr_keras.models.srgan import build_discriminator, build_srresnet


@generator_builder
def a_srresnet(scale=4, num_filters=64, num_res_blocks=16, pool_size=1, name=None):
    """A-SRResNet, the A-SRGAN generator (Pathak et al., 2018): SRResNet + FSA + spectral normalisation.

    Args:
        scale: 2, 3, 4 or 8.
        num_filters: feature channels.
        num_res_blocks: residual blocks.
        pool_size: FSA pool size p (1 = plain self-attention, for training on crops; 4 for 2000px images).
            Can be changed later with `sr_keras.layers.set_pool_size`.
        name: model name, default "a_srresnet_x<scale>".

    Returns:
        A functional Keras model (`SRGenerator`, recording architecture, scale and these arguments) from
        float RGB [0, 255] of any size to RGB [0, 255] at `scale` times the size.
    """
    return build_srresnet(scale, num_filters, num_res_blocks, True, pool_size, "a_srresnet",
                          name or f"a_srresnet_x{scale}")


def a_srgan_discriminator(hr_size=96, num_filters=64, num_layers=8, pool_size=1, name="a_srgan_discriminator"):
    """A-SRGAN discriminator (Pathak et al., 2018): the SRGAN discriminator + FSA + spectral normalisation.

    Args:
        hr_size: side of the square HR crop.
        num_filters: filters of the first conv; the blocks scale with it.
        num_layers: number of conv layers, 1 to 8.
        pool_size: FSA pool size p.
        name: model name.

    Returns:
        A functional Keras model from [batch, hr_size, hr_size, 3] in [0, 255] to the probability [batch, 1].
    """
    return build_discriminator(hr_size, num_filters, num_layers, True, pool_size, "a_srgan_discriminator", name)
