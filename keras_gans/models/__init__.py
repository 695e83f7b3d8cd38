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
    TranslationGrid,
    patchgan_discriminator,
    resnet_generator,
)
from keras_gans.models.cogan import CoGAN, cogan_discriminator, cogan_generator
