"""Image datasets for GAN training.

`image_dataset()` turns a folder of images, an array, an `.npz` file or a
TensorFlow Datasets name into batches of images in `[-1, 1]`;
`unpaired_dataset()` gives CycleGAN's two unpaired domains.

The modules, each importable without TensorFlow (which is imported only when
a tf.data pipeline or a TFDS dataset is built):

- `files`: which files of a folder are images, their classes and EXIF
  orientations (`scan_image_folder`).
- `arrays`: image arrays and `.npz` archives.
- `tfds`: TFDS names and loading; a download that cannot reach its hosts
  fails within seconds (`DatasetDownloadError`).
- `tf_pipeline`: the tf.data pipeline (`image_dataset`, `unpaired_dataset`).
- `numpy_pipeline`: the pipeline without TensorFlow (`ImageBatches`), and
  the Pillow image reader `load_image`.

Example:

>>> from keras_gans import data
>>> ds = data.image_dataset("path/to/flowers", image_size=64, batch_size=32)
>>> images = next(iter(ds))  # (32, 64, 64, 3) float32 in [-1, 1]
"""

from keras_gans.data.domains import edge_map, mnist_domains, negative
from keras_gans.data.files import IMAGE_EXTENSIONS, ImageFolder, scan_image_folder
from keras_gans.data.numpy_pipeline import ImageBatches, load_image
from keras_gans.data.tf_pipeline import AUTOTUNE, image_dataset, repeat, unpaired_dataset
from keras_gans.data.tfds import DatasetDownloadError, is_tfds_name

__all__ = [
    "AUTOTUNE",
    "DatasetDownloadError",
    "IMAGE_EXTENSIONS",
    "ImageBatches",
    "ImageFolder",
    "image_dataset",
    "is_tfds_name",
    "load_image",
    "repeat",
    "scan_image_folder",
    "unpaired_dataset",
]
