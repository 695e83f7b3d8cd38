"""Model families: builders for the networks and `GAN` subclasses."""

from keras_gans.models.dcgan import DCGAN, dcgan_discriminator, dcgan_generator
from keras_gans.models.vanilla import VanillaGAN, mlp_discriminator, mlp_generator
