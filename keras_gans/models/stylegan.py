"""StyleGAN (Karras et al. 2019) and StyleGAN2 (Karras et al. 2020) on the shared trainer.

The generator is two networks (`StyleGANGenerator`):

- **mapping**: z, pixel-normalized -> w through `mapping_layers` (8)
  equalized dense layers with a learning-rate multiplier of 0.01, leaky
  ReLU (0.2), as `G_mapping` in the papers' code.
- **synthesis**: a learned constant 4x4 input, then per resolution two 3x3
  convolutions, each followed by per-pixel noise (`NoiseInjection`, a
  learned per-channel strength starting at 0) and a style from w. It takes
  one w per style layer, `ws` of shape `(batch, num_ws, w_dim)`, so styles
  can be mixed and truncated per layer:

  * `architecture="stylegan2"` (the default): modulated convolutions with
    weight demodulation (`ModulatedConv2D`), skip-connection toRGB outputs
    (`ModulatedToRGB`, summed over resolutions, the coarser one upsampled
    bilinearly) and a residual discriminator; no progressive growing. It
    takes `num_ws = 2 log2(size) - 2` styles, numbered as in the official
    code: block 4x4 uses w0 (conv) and w1 (toRGB); block i > 0 uses
    w(2i - 1), w(2i) (its convs) and w(2i + 1) (its toRGB).
  * `architecture="stylegan"`: the original form (`StyleGANSynthesis`):
    per style layer a convolution, noise, leaky ReLU and AdaIN (instance
    normalization, then `x * (1 + y_s) + y_b` from w); ProGAN's
    discriminator; progressive growing with ProGAN's schedule
    (`ProgressiveStyleGAN`, a `keras_gans.growing.GrowingGAN`), R1 every
    step and Adam 1e-3.

The discriminator (`stylegan2_discriminator`) is StyleGAN2's residual one:
a 1x1 fromRGB at the full resolution, per resolution two 3x3 convolutions
and a 2x downsampling, with a 1x1 linear skip path, the sum scaled by
1/sqrt(2); at 4x4 the minibatch standard deviation (group 4), a 3x3
convolution, a dense layer and a linear score. The official code
downsamples with a [1, 3, 3, 1] blur and a stride-2 convolution; here it is
a 2x2 average pooling after the convolution (ProGAN's), the same low-pass
idea with a smaller filter.

Training (`compile()` defaults): the non-saturating logistic loss; R1 on
reals with gamma 10, every 16 discriminator steps (lazy, `kg.losses.R1(10,
interval=16)`), with the discriminator's Adam adjusted as StyleGAN2's code
does for lazy regularization (learning rate and betas raised to the power
c = 16/17); Adam(2e-3, beta_1=0, beta_2=0.99, epsilon=1e-8); style mixing
with probability 0.9 (one crossover layer per batch, as in the code); a
generator EMA (0.999 with StyleGAN2-ADA's ramp-up 0.05); the running mean
of w (decay 0.995) tracked after every generator update and saved with the
generator (`StyleGANGenerator.w_avg`).

Sampling: `generate(n, truncation_psi=0.7, truncation_cutoff=8,
noise="random" | "const")` moves the first `truncation_cutoff` styles
towards the mean w; `style_mix` and `truncation_grid` draw the papers'
grids; `keras_gans.export_stylegan.export_stylegan` writes `mapping` and
`synthesis` signatures beside the usual ones.

Optional: StyleGAN2's path length regularization (`path_length_weight=2`,
off by default; `keras_gans.losses.PathLength`), a generator phase of its
own every 4 steps on half a batch, with the generator's Adam adjusted as the
discriminator's is (c = 4/5).
"""

import math

import numpy as np

import keras
from keras import ops

from keras_gans import growing
from keras_gans import losses as gan_losses
from keras_gans.gan import GAN
from keras_gans.images import make_grid, save_image, to_uint8
from keras_gans.layers import (
    AdaIN,
    EqualizedConv2D,
    EqualizedDense,
    MinibatchStdDev,
    ModulatedConv2D,
    ModulatedToRGB,
    NoiseInjection,
    PixelNorm,
)
from keras_gans.models.progan import ProGANDiscriminator, progan_filters

ARCHITECTURES = ("stylegan2", "stylegan")
START_RESOLUTION = 4


def num_styles(image_size):
    """The number of styles (ws) a synthesis network of `image_size` takes:
    two per resolution from 4x4 up, `2 log2(image_size) - 2`.

    Example:

    >>> num_styles(32), num_styles(1024)
    (8, 18)
    """
    return 2 * len(growing.resolutions(image_size, START_RESOLUTION))


def mix_styles(ws_a, ws_b, cutoff):
    """Style mixing: the styles of `ws_a` below layer `cutoff`, those of
    `ws_b` from it on.

    Args:
        ws_a, ws_b: styles `(batch, num_ws, w_dim)`.
        cutoff: an int or an int scalar tensor (drawn in the training step);
            `num_ws` keeps `ws_a` whole.

    Example:

    >>> a, b = keras.ops.zeros((1, 4, 2)), keras.ops.ones((1, 4, 2))
    >>> keras.ops.convert_to_numpy(mix_styles(a, b, 1))[0, :, 0].tolist()
    [0.0, 1.0, 1.0, 1.0]
    """
    layer = ops.arange(ws_a.shape[1])[None, :, None]
    return ops.where(layer < cutoff, ws_a, ws_b)


def stylegan_mapping(latent_dim=512, w_dim=512, num_layers=8, lr_multiplier=0.01,
                     name="mapping"):
    """StyleGAN's mapping network: z, pixel-normalized -> w.

    Args:
        latent_dim: size of z.
        w_dim: size of w (every layer's width).
        num_layers: equalized dense layers (8).
        lr_multiplier: their learning-rate multiplier (0.01: the mapping
            learns 100x slower than the synthesis network).
        name: the model's name.

    Example:

    >>> mapping = stylegan_mapping(16, 32, num_layers=2)
    >>> tuple(mapping(keras.random.normal((3, 16))).shape)
    (3, 32)
    """
    return keras.Sequential(
        [keras.Input((int(latent_dim),)), PixelNorm(name="normalize_z")]
        + [EqualizedDense(int(w_dim), activation="leaky_relu", lr_multiplier=lr_multiplier,
                          name=f"dense_{i}") for i in range(int(num_layers))],
        name=name,
    )


def _check_synthesis_inputs(synthesis, ws, noise):
    """A clear error for styles or noise maps a synthesis network cannot take."""
    if len(ws.shape) != 3 or ws.shape[1] != synthesis.num_ws or ws.shape[2] != synthesis.w_dim:
        raise ValueError(
            f"{synthesis.name} takes styles of shape (batch, {synthesis.num_ws}, "
            f"{synthesis.w_dim}) (one w per style layer); got {tuple(ws.shape)}. Broadcast a "
            "single w with StyleGANGenerator.styles(z)."
        )
    if noise is not None and len(noise) != len(synthesis.noises):
        raise ValueError(f"{synthesis.name} takes {len(synthesis.noises)} noise maps (one per "
                         f"style conv, shapes {synthesis.noise_shapes}); got {len(noise)}.")


def _const_input(const, ws):
    """The learned constant, one copy per sample of `ws`."""
    return ops.broadcast_to(ops.cast(const, ws.dtype)[None], (ops.shape(ws)[0], *const.shape))


@keras.saving.register_keras_serializable(package="keras_gans")
class StyleGAN2Synthesis(keras.Model):
    """StyleGAN2's synthesis network (skip architecture): styles -> images.

    Each style layer is a `ModulatedConv2D` (demodulated, no activation),
    then `NoiseInjection`, then a leaky ReLU (0.2); the first conv of each
    block upsamples 2x. Each block adds its `ModulatedToRGB` output to the
    previous image, upsampled bilinearly (the official [1, 3, 3, 1] filter).

    Args:
        image_size: the output resolution (a power of two, >= 4).
        channels: image channels.
        w_dim: size of each style.
        max_filters, fmap_base: widths, `progan_filters(r, max_filters,
            fmap_base)` per resolution (512 up to 32x32 by default).
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Call arguments:
        ws: styles `(batch, num_styles(image_size), w_dim)`.
        noise: optional list of noise maps, one per style conv
            (`noise_shapes`), each `(batch or 1, r, r, 1)`; None: every noise
            layer draws from its own saved SeedGenerator.

    Example:

    >>> synthesis = StyleGAN2Synthesis(image_size=8, channels=1, w_dim=16, max_filters=8)
    >>> tuple(synthesis(keras.random.normal((2, synthesis.num_ws, 16))).shape)
    (2, 8, 8, 1)
    """

    def __init__(self, image_size=64, channels=3, w_dim=512, max_filters=512, fmap_base=8192,
                 name="synthesis", **kwargs):
        super().__init__(name=name, **kwargs)
        self.image_size, self.channels, self.w_dim = int(image_size), int(channels), int(w_dim)
        self.max_filters, self.fmap_base = int(max_filters), int(fmap_base)
        self.resolutions = growing.resolutions(self.image_size, START_RESOLUTION)
        self.num_ws = num_styles(self.image_size)
        widths = [progan_filters(r, max_filters, fmap_base) for r in self.resolutions]
        self.const = self.add_weight(
            shape=(START_RESOLUTION, START_RESOLUTION, widths[0]),
            initializer=keras.initializers.RandomNormal(stddev=1.0), name="const")
        w_shape = (None, self.w_dim)
        self.convs, self.noises, self.to_rgbs = [], [], []
        width_in = widths[0]
        for block, (size, width) in enumerate(zip(self.resolutions, widths)):
            for upsample in ((False,) if block == 0 else (True, False)):
                conv = ModulatedConv2D(width, 3, upsample=upsample,
                                       name=f"conv_{size}_{len(self.convs)}")
                size_in = size // 2 if upsample else size
                conv.build([(None, size_in, size_in, width_in), w_shape])
                noise = NoiseInjection(name=f"noise_{len(self.noises)}")
                noise.build((None, size, size, width))
                self.convs.append(conv)
                self.noises.append(noise)
                width_in = width
            # Images in float32 under mixed precision, like every generator here.
            to_rgb = ModulatedToRGB(self.channels, dtype="float32", name=f"to_rgb_{size}")
            to_rgb.build([(None, size, size, width), w_shape])
            self.to_rgbs.append(to_rgb)
        self.built = True

    @property
    def noise_shapes(self):
        """`(height, width)` of each noise layer's map, in order."""
        return [(size, size) for size in self.resolutions
                for _ in range(1 if size == START_RESOLUTION else 2)]

    def call(self, ws, noise=None, training=False):
        _check_synthesis_inputs(self, ws, noise)
        x = _const_input(self.const, ws)
        image, layer = None, 0
        for block, to_rgb in enumerate(self.to_rgbs):
            for _ in range(1 if block == 0 else 2):
                # Style conv k of the network takes w_k; block b's toRGB, w_(2b + 1).
                x = self.convs[layer]([x, ws[:, layer]])
                x = self.noises[layer](x, noise=None if noise is None else noise[layer])
                x = keras.activations.leaky_relu(x, negative_slope=0.2)
                layer += 1
            rgb = to_rgb([x, ws[:, 2 * block + 1]])
            if image is not None:
                size = rgb.shape[1]
                image = ops.image.resize(image, (size, size), interpolation="bilinear",
                                         data_format="channels_last")
            image = rgb if image is None else image + rgb
        return image

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "image_size": self.image_size,
                "channels": self.channels, "w_dim": self.w_dim,
                "max_filters": self.max_filters, "fmap_base": self.fmap_base}


@keras.saving.register_keras_serializable(package="keras_gans")
class StyleGANSynthesis(growing.ProgressiveGenerator):
    """The original StyleGAN's synthesis network, growing progressively.

    Per style layer: a 3x3 equalized convolution (the first of each block
    after a nearest-neighbour 2x upsampling; 4x4 starts from the learned
    constant instead), `NoiseInjection`, a leaky ReLU (0.2) and `AdaIN`
    with that layer's w (`layer_epilogue` in `networks_stylegan.py`); a
    linear 1x1 toRGB per resolution, faded in as ProGAN's
    (`keras_gans.growing.ProgressiveGenerator`). The official code blurs
    after each upsampling ([1, 2, 1]) and adds a bias to the constant; the
    bias is left out (a learned constant plus a per-channel bias is a
    learned constant), and so is the blur. Style layer k takes w_k: 2 per
    resolution, `num_styles(image_size)` in all; a stage uses the first
    `2 (stage + 1)`.

    Args:
        image_size, channels, w_dim, max_filters, fmap_base: as for
            `StyleGAN2Synthesis`.
        stage: the stage to start in; default the last.
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Call arguments:
        ws, noise: as for `StyleGAN2Synthesis`.

    Example:

    >>> synthesis = StyleGANSynthesis(image_size=8, channels=1, w_dim=16, max_filters=8)
    >>> synthesis.stage = 0
    >>> tuple(synthesis(keras.random.normal((2, synthesis.num_ws, 16))).shape)
    (2, 4, 4, 1)
    """

    def __init__(self, image_size=64, channels=3, w_dim=512, max_filters=512, fmap_base=8192,
                 stage=None, name="synthesis", **kwargs):
        super().__init__(image_size, START_RESOLUTION, stage=stage, name=name, **kwargs)
        self.image_size, self.channels, self.w_dim = int(image_size), int(channels), int(w_dim)
        self.max_filters, self.fmap_base = int(max_filters), int(fmap_base)
        self.num_ws = num_styles(self.image_size)
        widths = [progan_filters(r, max_filters, fmap_base) for r in self.resolutions]
        self.const = self.add_weight(shape=(START_RESOLUTION, START_RESOLUTION, widths[0]),
                                     initializer="ones", name="const")
        self.convs, self.noises, self.adains = [], [], []  # convs: style layers 1, 2, ...
        width_in = widths[0]
        for size, width in zip(self.resolutions, widths):
            for _ in range(2):
                layer = len(self.noises)
                if layer > 0:
                    conv = EqualizedConv2D(width, 3, name=f"conv_{layer}")
                    conv.build((None, size, size, width_in))
                    self.convs.append(conv)
                noise = NoiseInjection(name=f"noise_{layer}")
                noise.build((None, size, size, width))
                adain = AdaIN(name=f"adain_{layer}")
                adain.build([(None, size, size, width), (None, self.w_dim)])
                self.noises.append(noise)
                self.adains.append(adain)
                width_in = width
        # Images in float32 under mixed precision, like every generator here.
        self.to_images = [EqualizedConv2D(self.channels, 1, gain=1.0, dtype="float32",
                                          name=f"to_rgb_{size}") for size in self.resolutions]
        for to_image, size, width in zip(self.to_images, self.resolutions, widths):
            to_image.build((None, size, size, width))
        self.built = True

    @property
    def noise_shapes(self):
        """`(height, width)` of each noise layer's map, in order."""
        return [(size, size) for size in self.resolutions for _ in range(2)]

    @property
    def active_styles(self):
        """The style layers the current stage uses."""
        return 2 * (self.stage + 1)

    def call(self, ws, noise=None, training=False):
        _check_synthesis_inputs(self, ws, noise)
        return super().call((ws, noise), training=training)

    def prepare(self, inputs):
        ws, noise = inputs
        return _const_input(self.const, ws), (ws, noise)

    def run_block(self, index, x, context, training=False):
        ws, noise = context
        for layer in (2 * index, 2 * index + 1):
            if layer > 0:
                x = self.convs[layer - 1](growing.upscale(x, 2) if layer == 2 * index else x)
            x = self.noises[layer](x, noise=None if noise is None else noise[layer])
            x = self.adains[layer]([keras.activations.leaky_relu(x, negative_slope=0.2),
                                    ws[:, layer]])
        return x

    def get_config(self):
        return {**super().get_config(), "image_size": self.image_size,
                "channels": self.channels, "w_dim": self.w_dim,
                "max_filters": self.max_filters, "fmap_base": self.fmap_base}


@keras.saving.register_keras_serializable(package="keras_gans")
class StyleGANGenerator(keras.Model):
    """A StyleGAN generator: `mapping` (z -> w) and `synthesis` (styles ->
    images), and the running mean of w (`w_avg`, a saved non-trainable
    weight) that truncation moves towards.

    Called on z it maps, broadcasts w to every style layer and synthesizes
    (what the trainer, `predict` and the export's `serving_default` run).

    Args:
        image_size, channels: the images.
        latent_dim: size of z (512).
        w_dim: size of w (512).
        mapping_layers: depth of the mapping network (8).
        mapping_lr_multiplier: its learning-rate multiplier (0.01).
        max_filters, fmap_base: the synthesis network's widths.
        architecture: "stylegan2" (`StyleGAN2Synthesis`) or "stylegan" (the
            original, growing `StyleGANSynthesis`).
        **kwargs: passed to `keras.Model` (e.g. `name`).

    Example:

    >>> g = StyleGANGenerator(image_size=8, channels=1, latent_dim=16, w_dim=16,
    ...                       mapping_layers=2, max_filters=8)
    >>> tuple(g(keras.random.normal((2, 16))).shape)
    (2, 8, 8, 1)
    """

    def __init__(self, image_size=64, channels=3, latent_dim=512, w_dim=512, mapping_layers=8,
                 mapping_lr_multiplier=0.01, max_filters=512, fmap_base=8192,
                 architecture="stylegan2", name="stylegan_generator", **kwargs):
        super().__init__(name=name, **kwargs)
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}.")
        self.architecture = architecture
        self.image_size, self.channels = int(image_size), int(channels)
        self.latent_dim, self.w_dim = int(latent_dim), int(w_dim)
        self.mapping_layers = int(mapping_layers)
        self.mapping_lr_multiplier = float(mapping_lr_multiplier)
        self.max_filters, self.fmap_base = int(max_filters), int(fmap_base)
        self.mapping = stylegan_mapping(latent_dim, w_dim, mapping_layers, mapping_lr_multiplier)
        synthesis = StyleGAN2Synthesis if architecture == "stylegan2" else StyleGANSynthesis
        self.synthesis = synthesis(image_size, channels, w_dim, max_filters, fmap_base)
        self.num_ws = self.synthesis.num_ws
        self.w_avg = self.add_weight(shape=(self.w_dim,), initializer="zeros", trainable=False,
                                     name="w_avg", aggregation="only_first_replica")
        self.built = True

    def styles(self, z, truncation_psi=1.0, truncation_cutoff=None):
        """The styles `(batch, num_ws, w_dim)` of latents `z`: w for every
        layer, truncated (`truncate`) unless `truncation_psi` is 1."""
        ws = ops.repeat(self.mapping(z)[:, None, :], self.num_ws, axis=1)
        return self.truncate(ws, truncation_psi, truncation_cutoff)

    def truncate(self, ws, truncation_psi=1.0, truncation_cutoff=None):
        """The truncation trick in W: `w_avg + psi * (w - w_avg)` for the
        styles below layer `truncation_cutoff` (None: every layer)."""
        if truncation_psi == 1.0:
            return ws
        w_avg = ops.cast(self.w_avg, ws.dtype)
        truncated = w_avg + truncation_psi * (ws - w_avg)
        if truncation_cutoff is None:
            return truncated
        return mix_styles(truncated, ws, truncation_cutoff)

    def call(self, z, training=False):
        return self.synthesis(self.styles(z), training=training)

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable, "image_size": self.image_size,
                "channels": self.channels, "latent_dim": self.latent_dim, "w_dim": self.w_dim,
                "mapping_layers": self.mapping_layers,
                "mapping_lr_multiplier": self.mapping_lr_multiplier,
                "max_filters": self.max_filters, "fmap_base": self.fmap_base,
                "architecture": self.architecture}


def _conv(filters, kernel_size, name, **kwargs):
    return EqualizedConv2D(filters, kernel_size, activation="leaky_relu", name=name, **kwargs)


def stylegan2_discriminator(image_size=64, channels=3, max_filters=512, fmap_base=8192,
                            mbstd_group_size=4, name="stylegan2_discriminator"):
    """StyleGAN2's residual discriminator (see the module docstring).

    Args:
        image_size: the input resolution (a power of two, >= 4).
        channels: image channels.
        max_filters, fmap_base: the widths, as for the synthesis network.
        mbstd_group_size: the minibatch standard deviation's group (4).
        name: the model's name.

    Example:

    >>> d = stylegan2_discriminator(image_size=16, channels=1, max_filters=8)
    >>> tuple(d(keras.random.normal((4, 16, 16, 1))).shape)
    (4, 1)
    """
    sizes = growing.resolutions(image_size, START_RESOLUTION)
    widths = {size: progan_filters(size, max_filters, fmap_base) for size in sizes}
    images = keras.Input((int(image_size), int(image_size), int(channels)), name="images")
    x = _conv(widths[sizes[-1]], 1, f"from_rgb_{sizes[-1]}")(images)
    for size in reversed(sizes[1:]):
        narrower = widths[size // 2]
        pool = keras.layers.AveragePooling2D(2, data_format="channels_last",
                                             name=f"pool_{size}")
        y = _conv(widths[size], 3, f"conv0_{size}")(x)
        y = pool(_conv(narrower, 3, f"conv1_{size}")(y))
        skip = EqualizedConv2D(narrower, 1, gain=1.0, use_bias=False, name=f"skip_{size}")(
            keras.layers.AveragePooling2D(2, data_format="channels_last",
                                          name=f"skip_pool_{size}")(x))
        # The sum of two unit-variance paths, back to unit variance.
        x = keras.layers.Rescaling(1.0 / math.sqrt(2.0), name=f"residual_{size}")(
            keras.layers.Add(name=f"add_{size}")([y, skip]))
    x = MinibatchStdDev(int(mbstd_group_size), name="minibatch_stddev")(x)
    x = _conv(widths[START_RESOLUTION], 3, f"conv_{START_RESOLUTION}")(x)
    x = EqualizedDense(widths[START_RESOLUTION], activation="leaky_relu", name="dense")(
        keras.layers.Flatten()(x))
    # The score in float32 under mixed precision.
    logits = EqualizedDense(1, gain=1.0, dtype="float32", name="score")(x)
    return keras.Model(images, logits, name=name)


NOISE_MODES = ("random", "const")
TRUNCATION_PSIS = (1.0, 0.75, 0.5, 0.25, 0.0)


def _save_grid(images, columns, path):
    grid = make_grid(to_uint8(images), ncols=columns)
    if path is not None:
        save_image(grid, path)
    return grid


def style_mixing_grid(row_styles, col_styles, synthesize, layers=None, path=None):
    """The papers' style-mixing grid from styles and a synthesis function.

    The first row holds the columns' images, the first column the rows';
    cell (i, j) is row i's styles with those of `layers` from column j. The
    top-left corner is blank. `StyleGAN.style_mix` and scripts/style_mix.py
    (from a SavedModel) draw it.

    Args:
        row_styles, col_styles: NumPy styles `(n, num_ws, w_dim)`.
        synthesize: `synthesize(ws) -> images` in [-1, 1], NumPy.
        layers: the style layers the columns give; default the coarse half.
        path: write the grid there as a PNG.

    Returns:
        The grid, uint8 `(H, W, C)`.

    Example:

    ```python
    grid = style_mixing_grid(gan.mapped_styles([1, 2]), gan.mapped_styles([3, 4, 5]),
                             lambda ws: gan.generate(ws=ws, noise="const"))
    ```
    """
    num_ws = row_styles.shape[1]
    layers = list(range(num_ws // 2) if layers is None else layers)
    if not layers or min(layers) < 0 or max(layers) >= num_ws:
        raise ValueError(f"layers must name style layers in [0, {num_ws}); got {layers}.")
    rows, cols = np.asarray(row_styles), np.asarray(col_styles)
    mixed = np.repeat(rows[:, None], len(cols), axis=1)  # (rows, cols, num_ws, w_dim)
    mixed[:, :, layers] = cols[None, :, layers]
    images = synthesize(np.concatenate([cols, rows, mixed.reshape(-1, *rows.shape[1:])]))
    header, lefts, cells = np.split(images, [len(cols), len(cols) + len(rows)])
    tiles = [np.ones_like(images[:1]), header]
    for i, left in enumerate(lefts):
        tiles += [left[None], cells[i * len(cols):(i + 1) * len(cols)]]
    return _save_grid(np.concatenate(tiles), len(cols) + 1, path)


def truncation_grid(styles, w_avg, synthesize, psis=TRUNCATION_PSIS, cutoff=None, path=None):
    """The truncation grid: each row's styles (rows) at each psi (columns,
    from 1 to 0: the last column is the mean w's image in every row).

    Args:
        styles: NumPy styles `(n, num_ws, w_dim)`.
        w_avg: the mean w `(w_dim,)`.
        synthesize: `synthesize(ws) -> images` in [-1, 1], NumPy.
        psis: the columns' truncation psis.
        cutoff: truncate only the styles below this layer (None: all).
        path: write the grid there as a PNG.

    Returns:
        The grid, uint8 `(H, W, C)`.

    Example:

    ```python
    grid = truncation_grid(gan.mapped_styles([1, 2]), keras.ops.convert_to_numpy(
        gan.ema_generator.w_avg), lambda ws: gan.generate(ws=ws, noise="const"))
    ```
    """
    styles = np.asarray(styles, "float32")
    layers = slice(None, cutoff)
    columns = []
    for psi in psis:
        truncated = styles.copy()
        truncated[:, layers] = w_avg + psi * (styles[:, layers] - w_avg)
        columns.append(synthesize(truncated))
    images = np.stack(columns, axis=1)
    return _save_grid(images.reshape(-1, *images.shape[2:]), len(psis), path)


def _mb_ratio(interval, on):
    """StyleGAN2's `mb_ratio`, k / (k + 1), for a regularizer that is on and
    runs every k > 1 steps; else 1."""
    return interval / (interval + 1) if on and interval > 1 else 1.0


@keras.saving.register_keras_serializable(package="keras_gans")
class StyleGAN(GAN):
    """StyleGAN: a mapping network, style modulation, per-layer noise, style
    mixing and truncation in W, on the shared trainer (see the module
    docstring for the networks and the training setting).

    Args:
        image_size: the image resolution (a power of two, >= 8).
        channels: image channels.
        latent_dim: size of z (512).
        w_dim: size of w (512).
        mapping_layers: depth of the mapping network (8).
        architecture: "stylegan2" (default) or "stylegan", the original form:
            AdaIN, ProGAN's discriminator and progressive growing (a
            `ProgressiveStyleGAN`, which `StyleGAN(architecture="stylegan")`
            returns; its growth arguments `images_per_stage`, `fade_images`,
            `batch_sizes` are `ProGAN`'s).
        max_filters, fmap_base: widths (`progan_filters`).
        style_mixing: the probability of style mixing in each training
            batch (0.9; 0: off).
        r1_gamma: R1's gamma (10).
        r1_interval: apply R1 every this many steps (default 16 for
            StyleGAN2, lazy; 1, every step, for the original).
        path_length_weight: StyleGAN2's path length regularization
            (`keras_gans.losses.PathLength`) with this weight (the paper's
            2); 0, the default, is off. StyleGAN2 form only.
        path_length_interval: run it every this many steps (4, lazy; the
            generator's Adam then gets StyleGAN2's k / (k + 1) adjustment).
        w_avg_decay: the decay of w's running mean (0.995).
        mbstd_group_size: the minibatch standard deviation's group (4).
        ema_decay, ema_rampup: the generator EMA (0.999, ramp-up 0.05).
        seed: seed of the model's SeedGenerator.
        generator, discriminator: built networks to use instead (a
            `StyleGANGenerator` and any image -> logit model).
        **kwargs: `keras_gans.GAN`'s other arguments (`augment`,
            `ada_target`, `name`, ...).

    Example:

    ```python
    gan = kg.models.StyleGAN(image_size=64, latent_dim=256, w_dim=256)
    gan.compile()               # non-saturating + lazy R1 (10, every 16), Adam(2e-3, 0, 0.99)
    gan.fit(flowers_dataset, epochs=50)
    images = gan.generate(16, seed=0, truncation_psi=0.7)
    grid = gan.style_mix([1, 2, 3], [4, 5, 6, 7], path="mix.png")
    ```
    """

    def __new__(cls, *args, architecture="stylegan2", **kwargs):
        # The original form grows: a GrowingGAN, so another class.
        if cls is StyleGAN and architecture == "stylegan":
            cls = ProgressiveStyleGAN
        return super().__new__(cls, *args, architecture=architecture, **kwargs)

    def __init__(self, image_size=64, channels=3, latent_dim=512, w_dim=512, mapping_layers=8,
                 architecture="stylegan2", max_filters=512, fmap_base=8192, style_mixing=0.9,
                 r1_gamma=10.0, r1_interval=None, path_length_weight=0.0,
                 path_length_interval=4, w_avg_decay=0.995, mbstd_group_size=4,
                 ema_decay=0.999, ema_rampup=0.05, seed=None, generator=None,
                 discriminator=None, **kwargs):
        self._given_networks = generator is not None or discriminator is not None
        if generator is not None:
            if not isinstance(generator, StyleGANGenerator):
                raise TypeError("StyleGAN's generator must be a StyleGANGenerator (mapping and "
                                f"synthesis), got {type(generator).__name__}.")
            image_size, channels = generator.image_size, generator.channels
            latent_dim, w_dim = generator.latent_dim, generator.w_dim
            mapping_layers, architecture = generator.mapping_layers, generator.architecture
            max_filters, fmap_base = generator.max_filters, generator.fmap_base
        if architecture not in ARCHITECTURES:
            raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}.")
        if float(path_length_weight) > 0 and architecture != "stylegan2":
            raise ValueError("Path length regularization is StyleGAN2's: use "
                             "architecture='stylegan2', or path_length_weight=0.")
        if not 0.0 <= float(style_mixing) <= 1.0:
            raise ValueError(f"style_mixing is a probability in [0, 1], got {style_mixing}.")
        generator = generator or StyleGANGenerator(
            image_size, channels, latent_dim, w_dim, mapping_layers, max_filters=max_filters,
            fmap_base=fmap_base, architecture=architecture)
        if discriminator is None:
            build = stylegan2_discriminator if architecture == "stylegan2" else \
                ProGANDiscriminator
            discriminator = build(image_size, channels, max_filters, fmap_base,
                                  mbstd_group_size)
        super().__init__(generator, discriminator, latent_dim=latent_dim, seed=seed,
                         ema_decay=ema_decay, ema_rampup=ema_rampup, **kwargs)
        self.channels = int(channels)
        self.w_dim, self.mapping_layers = int(w_dim), int(mapping_layers)
        self.architecture = architecture
        self.max_filters, self.fmap_base = int(max_filters), int(fmap_base)
        self.style_mixing = float(style_mixing)
        if r1_interval is None:
            r1_interval = 16 if architecture == "stylegan2" else 1
        self.r1_gamma, self.r1_interval = float(r1_gamma), int(r1_interval)
        self.path_length_weight = float(path_length_weight)
        self.path_length_interval = int(path_length_interval)
        # PathLength's running mean of the lengths, saved with the model.
        self.path_length_mean = keras.Variable(0.0, dtype="float32", trainable=False,
                                               name="path_length_mean")
        self.w_avg_decay = float(w_avg_decay)
        self.mbstd_group_size = int(mbstd_group_size)

    @property
    def image_size(self):
        """The (final) image resolution."""
        return self.generator.image_size

    @property
    def num_ws(self):
        """The number of styles the synthesis network takes."""
        return self.generator.num_ws

    @property
    def active_styles(self):
        """The style layers the networks use now: all of them, or the
        current stage's while the original form grows."""
        return getattr(self.generator.synthesis, "active_styles", self.num_ws)

    # -- the paper's training setting --------------------------------------------------

    def compile_defaults(self):
        return {"loss": "non_saturating", "d_steps": 1, "g_steps": 1}

    def default_optimizer(self, name):
        """Adam(2e-3 (StyleGAN2) or 1e-3 (original), beta_1=0, beta_2=0.99,
        epsilon=1e-8); the
        discriminator's, with lazy R1 every k steps, has its learning rate and
        betas raised to c = k / (k + 1), as StyleGAN2's code does
        (`mb_ratio`): its R1 steps are extra updates of the same optimizer."""
        ratio = self.lazy_ratio if name == "d_optimizer" else self.generator_lazy_ratio
        rate = 2e-3 if self.architecture == "stylegan2" else 1e-3
        return keras.optimizers.Adam(rate * ratio, beta_1=0.0, beta_2=0.99**ratio,
                                     epsilon=1e-8, name=name)

    @property
    def lazy_ratio(self):
        """StyleGAN2's `mb_ratio` for the discriminator's Adam: k / (k + 1)
        with lazy R1 every k > 1 steps, else 1."""
        return _mb_ratio(self.r1_interval, self.r1_gamma > 0)

    @property
    def generator_lazy_ratio(self):
        """The same for the generator's Adam, with lazy path length
        regularization every k > 1 steps."""
        return _mb_ratio(self.path_length_interval, self.path_length_weight > 0)

    def default_penalties(self):
        """R1 with `r1_gamma`, every `r1_interval` steps (none at gamma 0),
        and path length regularization where `path_length_weight` > 0."""
        penalties = []
        if self.r1_gamma > 0:
            penalties.append(gan_losses.R1(self.r1_gamma, interval=self.r1_interval))
        if self.path_length_weight > 0:
            penalties.append(gan_losses.PathLength(self.path_length_weight,
                                                   interval=self.path_length_interval))
        return penalties

    def path_length_styles(self, n):
        """The w of `n` images as the step draws them (style mixing
        included), for `keras_gans.losses.PathLength`."""
        return self.input_styles(self.draw_inputs(n))

    def synthesize(self, ws):
        """Training images from styles `ws` (random noise maps)."""
        return self.generator.synthesis(ws, training=True)

    # -- styles in the step -----------------------------------------------------------

    def draw_inputs(self, batch_size, conditions=None):
        """z, and for style mixing a second z and the batch's crossover layer:
        with probability `style_mixing` a layer in [1, active_styles), else
        num_ws (no mixing), drawn from the model's SeedGenerator."""
        inputs = super().draw_inputs(batch_size, conditions)
        if self.style_mixing > 0:
            seed = self.seed_generator
            inputs["z_mix"] = keras.random.normal((batch_size, self.latent_dim), seed=seed)
            layer = keras.random.randint((), 1, self.active_styles, seed=seed, dtype="int32")
            mixes = keras.random.uniform((), seed=seed) < self.style_mixing
            inputs["mix_cutoff"] = ops.where(mixes, layer, self.num_ws)
        return inputs

    def generate_images(self, inputs, training=False, network=None):
        """Images from `inputs`: `z` (and in training `z_mix`/`mix_cutoff`,
        mixed with `mix_styles`), or the styles `ws` themselves; `noise`
        optional (see `StyleGAN2Synthesis`)."""
        network = self.generator if network is None else network
        return network.synthesis(self.input_styles(inputs, network), noise=inputs.get("noise"),
                                 training=training)

    def input_styles(self, inputs, network=None):
        """The styles of `draw_inputs`' `inputs`: `ws` as given, or the
        mapped `z`, mixed with `z_mix` at `mix_cutoff` when drawn."""
        network = self.generator if network is None else network
        ws = inputs["ws"] if "ws" in inputs else network.styles(inputs["z"])
        if "z_mix" in inputs:
            ws = mix_styles(ws, network.styles(inputs["z_mix"]), inputs["mix_cutoff"])
        return ws

    def after_update(self, phase_name):
        """After each generator update, the running mean of w
        (`update_w_avg`), then the trainer's hooks (the EMA, which copies
        w_avg into the average generator)."""
        hooks = [self.update_w_avg] if phase_name == "generator" else []
        return hooks + super().after_update(phase_name)

    def update_w_avg(self, step):
        """`w_avg <- lerp(mean w, w_avg, w_avg_decay)` over the w of the
        step's latents. The official code takes the mean of the w its
        generator pass computed; here the mapping runs again after the
        update (one cheap forward pass, outside the gradient)."""
        z = step.inputs["z"] if step.inputs is not None else self.sample_noise(step.batch_size)
        mean = ops.mean(ops.stop_gradient(self.generator.mapping(z)), axis=0)
        w_avg = self.generator.w_avg
        w_avg.assign(ops.cast(mean + self.w_avg_decay * (w_avg - mean), w_avg.dtype))

    # -- sampling -------------------------------------------------------------------

    def noise_maps(self, n, noise="random", seed=None):
        """Noise maps for `n` images as NumPy arrays, one per style conv.

        Args:
            n: number of images.
            noise: "random" (a draw per image, from `seed`) or "const" (one
                fixed draw shared by every image and every call).
            seed: an int for reproducible random noise; otherwise one is
                drawn from the model's SeedGenerator.
        """
        if noise not in NOISE_MODES:
            raise ValueError(f"noise must be one of {NOISE_MODES} (or a list of noise maps), "
                             f"got {noise!r}.")
        if noise == "const":
            rng, n = np.random.default_rng(0), 1
        else:
            if seed is None:
                seed = int(ops.convert_to_numpy(keras.random.randint(
                    (), 0, 2**31 - 1, seed=self.seed_generator, dtype="int32")))
            rng = np.random.default_rng([int(seed), 1])  # another stream than z's
        return [rng.standard_normal((n, h, w, 1)).astype("float32")
                for h, w in self.generator.synthesis.noise_shapes]

    def generate(self, n=None, seed=None, labels=None, inputs=None, z=None, truncation=None,
                 batch_size=256, use_ema=None, truncation_psi=1.0, truncation_cutoff=None,
                 noise="random", ws=None):
        """Generate images as a NumPy array in [-1, 1].

        Args:
            n, seed, labels, inputs, z, truncation, batch_size, use_ema: as
                for `keras_gans.GAN.generate` (`truncation` truncates z, the
                BigGAN trick; StyleGAN's is `truncation_psi`).
            truncation_psi: move the styles towards the mean w by this factor
                (1: off; 0: every image is the mean w's).
            truncation_cutoff: truncate only the styles below this layer
                (None: all; the papers use 8 at 1024x1024).
            noise: "random", "const" (one fixed draw for every image: a grid
                then changes only with w), or a list of maps (`noise_maps`).
            ws: styles `(n, num_ws, w_dim)` to synthesize instead of z
                (then truncated likewise).

        Example:

        ```python
        gan.generate(16, seed=0, truncation_psi=0.7, truncation_cutoff=8, noise="const")
        ```
        """
        network = self.sampling_generator(use_ema)
        if ws is None:
            z = self._resolve_inputs(n, seed, labels, inputs, z, truncation)["z"]
        else:
            ws = np.asarray(ops.convert_to_numpy(ws), "float32")
            if ws.ndim != 3 or ws.shape[1:] != (self.num_ws, self.w_dim):
                raise ValueError(f"ws must have shape (n, {self.num_ws}, {self.w_dim}); got "
                                 f"{ws.shape}.")
        count = len(z if ws is None else ws)
        maps = self.noise_maps(count, noise, seed) if isinstance(noise, str) else list(noise)
        parts = []
        for i in range(0, count, batch_size):
            rows = slice(i, i + batch_size)
            styles = network.styles(z[rows]) if ws is None else ops.convert_to_tensor(ws[rows])
            styles = network.truncate(styles, float(truncation_psi), truncation_cutoff)
            batch_noise = [m if len(m) == 1 else m[rows] for m in maps]
            images = network.synthesis(styles, noise=[ops.convert_to_tensor(m)
                                                      for m in batch_noise])
            parts.append(ops.convert_to_numpy(images))
        return np.concatenate(parts).astype("float32")

    def mapped_styles(self, seeds, use_ema=None):
        """The styles `(len(seeds), num_ws, w_dim)` of one z per seed (z drawn
        as `generate(1, seed=s)` draws it), as a NumPy array."""
        network = self.sampling_generator(use_ema)
        z = np.concatenate([self.sample_inputs(1, seed=int(s))["z"] for s in seeds])
        return ops.convert_to_numpy(network.styles(z))

    def style_mix(self, row_seeds, col_seeds, layers=None, path=None, truncation_psi=1.0,
                  noise="const", use_ema=None):
        """The papers' style-mixing grid (`style_mixing_grid`): row seed i's
        image with the styles of `layers` taken from column seed j.

        Args:
            row_seeds, col_seeds: seeds of the z's (`generate(1, seed=s)`).
            layers: the style layers the columns give (default the coarse
                half: pose and shape from the columns, colour and detail from
                the rows).
            path: write the grid there as a PNG.
            truncation_psi: truncation of every style (1: off).
            noise: "const" (default: the grid changes only with the styles)
                or "random".
            use_ema: as for `generate`.

        Returns:
            The grid, uint8 `(H, W, C)`.

        Example:

        ```python
        gan.style_mix([1, 2, 3], [10, 11, 12, 13], layers=range(0, 4), path="mix.png")
        ```
        """
        def synthesize(ws):
            return self.generate(ws=ws, noise=noise, seed=0, truncation_psi=truncation_psi,
                                 use_ema=use_ema)

        return style_mixing_grid(self.mapped_styles(row_seeds, use_ema),
                                 self.mapped_styles(col_seeds, use_ema), synthesize, layers, path)

    def truncation_grid(self, seeds, psis=TRUNCATION_PSIS, path=None, truncation_cutoff=None,
                        noise="const", use_ema=None):
        """The same seeds (rows) at each truncation psi (`truncation_grid`).

        Returns:
            The grid, uint8 `(H, W, C)`; written as a PNG to `path` if given.

        Example:

        ```python
        gan.truncation_grid([0, 1, 2, 3], path="truncation.png")
        ```
        """
        network = self.sampling_generator(use_ema)
        return truncation_grid(
            self.mapped_styles(seeds, use_ema), ops.convert_to_numpy(network.w_avg),
            lambda ws: self.generate(ws=ws, noise=noise, seed=0, use_ema=use_ema),
            psis, truncation_cutoff, path)

    # -- serialization ------------------------------------------------------------

    def get_config(self):
        config = super().get_config()
        config.update(image_size=self.image_size, channels=self.channels, w_dim=self.w_dim,
                      mapping_layers=self.mapping_layers, architecture=self.architecture,
                      max_filters=self.max_filters, fmap_base=self.fmap_base,
                      style_mixing=self.style_mixing, r1_gamma=self.r1_gamma,
                      r1_interval=self.r1_interval,
                      path_length_weight=self.path_length_weight,
                      path_length_interval=self.path_length_interval,
                      w_avg_decay=self.w_avg_decay,
                      mbstd_group_size=self.mbstd_group_size, ema_decay=self.ema_decay,
                      ema_rampup=self.ema_rampup)
        return config if self._given_networks else self.without_networks(config)


@keras.saving.register_keras_serializable(package="keras_gans")
class ProgressiveStyleGAN(StyleGAN, growing.GrowingGAN):
    """The original StyleGAN: AdaIN synthesis (`StyleGANSynthesis`) and
    ProGAN's discriminator, growing from 4x4 by ProGAN's schedule
    (`keras_gans.growing`), with everything else of `StyleGAN` (mapping,
    style mixing over the current stage's styles, w_avg, truncation, the
    grids, R1, the EMA). What `StyleGAN(architecture="stylegan")` returns.

    Args:
        images_per_stage, fade_images, batch_sizes, reset_optimizers, phase:
            the growth, as for `keras_gans.models.ProGAN` (600k images per
            stage and fade-in by default).
        **kwargs: `StyleGAN`'s arguments.

    Example:

    ```python
    gan = kg.models.StyleGAN(architecture="stylegan", image_size=32, images_per_stage=20_000)
    gan.compile()       # non-saturating + R1 (10, every step), Adam(1e-3, 0, 0.99)
    gan.fit(mnist_32, batch_size=16, epochs=gan.schedule.total_images // 60_000)
    ```
    """

    def __init__(self, images_per_stage=600_000, fade_images=None, batch_sizes=None,
                 reset_optimizers=True, phase=None, architecture="stylegan", **kwargs):
        if architecture != "stylegan":
            raise ValueError("ProgressiveStyleGAN is the original form (architecture="
                             f"'stylegan'); got {architecture!r}: use StyleGAN for StyleGAN2.")
        image_size = kwargs.get("image_size", 64)
        if kwargs.get("generator") is not None:
            image_size = kwargs["generator"].image_size
        schedule = growing.GrowthSchedule(image_size, START_RESOLUTION, images_per_stage,
                                          fade_images, batch_sizes)
        super().__init__(architecture=architecture, schedule=schedule,
                         reset_optimizers=reset_optimizers, phase=phase, **kwargs)
        self.images_per_stage = schedule.hold_images
        self.fade_images = schedule.fade_images

    def get_config(self):
        config = super().get_config()
        config.pop("schedule")  # it follows from the arguments below
        config.update(images_per_stage=self.images_per_stage, fade_images=self.fade_images,
                      batch_sizes=self.schedule.batch_sizes or None)
        return config
