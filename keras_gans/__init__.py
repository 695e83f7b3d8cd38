"""keras-gans: generative adversarial networks for Keras 3."""

__version__ = "0.1.0"

from keras_gans import backend, callbacks, data, distribute, export, images, losses, models
from keras_gans import export_cyclegan, metrics
from keras_gans.gan import GAN
from keras_gans import layers
from keras_gans.models import DCGAN, ConditionalGAN, CycleGAN, VanillaGAN
