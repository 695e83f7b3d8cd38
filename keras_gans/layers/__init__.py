"""Custom Keras layers of keras-gans (all serializable in `.keras` files)."""

from keras_gans.layers.attention import SelfAttention2D
from keras_gans.layers.conditional_batch_norm import ConditionalBatchNormalization
from keras_gans.layers.equalized import EqualizedConv2D, EqualizedDense
from keras_gans.layers.image_pool import ImagePool
from keras_gans.layers.noise import NoiseInjection
from keras_gans.layers.normalization import MinibatchStdDev, PixelNorm
from keras_gans.layers.reflection_padding import ReflectionPadding2D
from keras_gans.layers.spectral import spectral_norm
from keras_gans.layers.style import AdaIN, ModulatedConv2D, ModulatedToRGB
