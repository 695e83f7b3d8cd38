"""`ImagePool`: a history of generated images for discriminator updates."""

import keras
from keras import ops

from keras_gans.saving import SavesSeedState


@keras.saving.register_keras_serializable(package="keras_gans")
class ImagePool(SavesSeedState, keras.layers.Layer):
    """Keeps the last `pool_size` generated images and sometimes returns them.

    Shrivastava et al. (2017) and CycleGAN update the discriminator on a
    history of generated images instead of only the newest ones, which damps
    oscillation between the two networks. This follows the CycleGAN code's
    `ImagePool.query`, image by image: while the pool fills, each image is
    stored and returned unchanged; once it is full, with probability 1/2 the
    image replaces a random stored one and that *past* image is returned,
    otherwise the image itself is returned and the pool is unchanged.

    The pool and its fill count are non-trainable Keras variables, so the
    layer works inside a jitted step and under JAX's functional state, and
    a `.keras` checkpoint resumes with the pool (and random state) it had.
    A batch is queried as if image by image: an image stored earlier in the
    batch can be returned later in the same batch, as in the sequential
    original.

    Args:
        pool_size: images to keep; 0 turns the pool off (images pass through).
        seed: seed of the layer's own `SeedGenerator`, used when `call` gets
            no `seed` (models pass theirs, so one generator draws everything).
        **kwargs: passed to `keras.layers.Layer` (e.g. `name`).

    Call arguments:
        images: a batch `(batch, height, width, channels)`.
        seed: a `keras.random.SeedGenerator` (or seed) to draw from.
        training: the pool is only queried (and updated) when training;
            otherwise images pass through.

    Example:

    >>> pool = ImagePool(pool_size=50, seed=0)
    >>> pool.build((None, 32, 32, 3))
    >>> mixed = pool(fake_images, training=True)  # same shape as fake_images
    """

    def __init__(self, pool_size=50, seed=None, **kwargs):
        super().__init__(**kwargs)
        if int(pool_size) < 0:
            raise ValueError(f"pool_size must be >= 0, got {pool_size}.")
        self.pool_size = int(pool_size)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="image_pool_seed_generator")

    def build(self, input_shape):
        self.images = self.add_weight(
            shape=(max(self.pool_size, 1), *input_shape[1:]),
            initializer="zeros",
            trainable=False,
            name="images",
        )
        self.count = self.add_weight(
            shape=(), initializer="zeros", dtype="int32", trainable=False, name="count"
        )

    def call(self, images, seed=None, training=True):
        if self.pool_size == 0 or not training:
            return images
        seed = self.seed_generator if seed is None else seed
        images = ops.cast(images, self.images.dtype)
        pool, count = self.images.value, self.count.value
        batch_size = ops.shape(images)[0]
        index = ops.arange(batch_size, dtype="int32")

        # The sequential query, image i at a time, computed for the whole
        # batch at once (a traced loop would cost more than the pool).
        # While filling, image i goes to slot count + i and is returned.
        filling = count + index < self.pool_size
        use_past = keras.random.uniform((batch_size,), seed=seed) < 0.5
        random_slot = keras.random.randint((batch_size,), 0, self.pool_size, seed=seed, dtype="int32")
        slot = ops.where(filling, count + index, random_slot)
        swap = ops.logical_and(ops.logical_not(filling), use_past)
        writes = ops.logical_or(filling, swap)

        def as_mask(flags):  # (n,) -> (n, 1, 1, 1), to select whole images
            return ops.reshape(flags, (-1,) + (1,) * (len(images.shape) - 1))

        def last_writer(same_slot):
            # 1 + the latest writing image among the candidates, 0 if none.
            return ops.max(ops.where(same_slot, index[:, None] + 1, 0), axis=0)

        # A swapped image gets its slot's content as left by the images
        # before it in the batch, or else the pool's.
        earlier = ops.logical_and(
            ops.equal(slot[:, None], slot[None, :]), index[:, None] < index[None, :]
        )
        writer = last_writer(ops.logical_and(earlier, writes[:, None]))
        past = ops.where(
            as_mask(writer > 0),
            ops.take(images, ops.maximum(writer - 1, 0), axis=0),
            ops.take(pool, slot, axis=0),
        )
        returned = ops.where(as_mask(swap), past, images)

        # Each slot ends up with its last writer's image.
        slots = ops.arange(self.pool_size, dtype="int32")
        writer = last_writer(
            ops.logical_and(ops.equal(slot[:, None], slots[None, :]), writes[:, None])
        )
        pool = ops.where(
            as_mask(writer > 0), ops.take(images, ops.maximum(writer - 1, 0), axis=0), pool
        )
        self.images.assign(pool)
        self.count.assign(ops.minimum(count + batch_size, self.pool_size))
        return returned

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "seed": self.seed}
