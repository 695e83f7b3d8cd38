"""Model families: builders for the networks and `GAN` subclasses."""

from keras_gans.models.dcgan import DCGAN, dcgan_discriminator, dcgan_generator
from keras_gans.models.vanilla import VanillaGAN, mlp_discriminator, mlp_generator
from keras_gans.models.cgan import (
    ConditionalGAN,
    cgan_dcgan_discriminator,
    cgan_dcgan_generator,
    cgan_mlp_discriminator,
    cgan_mlp_generator,
)
from keras_gans.models.cyclegan import (
    CycleGAN,
    patchgan_discriminator,
    resnet_generator,
)
from keras_gans.models.cogan import CoGAN, cogan_discriminator, cogan_generator
from keras_gans.models.progan import (
    ProGAN,
    ProGANDiscriminator,
    ProGANGenerator,
    progan_filters,
)
from keras_gans.models.sagan import (
    SAGAN,
    BlockLayers,
    dcgan_down_block,
    dcgan_up_block,
    discriminator_blocks,
    discriminator_output,
    discriminator_widths,
    generator_blocks,
    generator_output,
    generator_widths,
    residual_down_block,
    residual_up_block,
    sagan_discriminator,
    sagan_generator,
    split_attention,
)
from keras_gans.models.wgan import WGAN, WGANGP, toy_mlp_critic, toy_mlp_generator
from keras_gans.models.biggan import (
    BigGAN,
    LatentChunks,
    biggan_block_layers,
    biggan_discriminator,
    biggan_discriminator_downsamples,
    biggan_discriminator_widths,
    biggan_generator,
    biggan_generator_widths,
)
from keras_gans.models.stylegan import (
    ProgressiveStyleGAN,
    StyleGAN,
    StyleGAN2Synthesis,
    StyleGANGenerator,
    StyleGANSynthesis,
    mix_styles,
    num_styles,
    style_mixing_grid,
    stylegan2_discriminator,
    stylegan_mapping,
    truncation_grid,
)
