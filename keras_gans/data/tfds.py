"""TensorFlow Datasets sources: names, loading, and failing fast offline.

`tensorflow_datasets` (and with it TensorFlow) is imported only when a TFDS
dataset is loaded. A download that cannot reach its hosts is refused after a
short probe: TFDS itself retries a dead connection for minutes (urllib3's
10 retries with exponential backoff) before it gives up.
"""

import pathlib
import queue
import re
import socket
import threading
import time
import urllib.parse
import urllib.request

# `image_dataset` accepts a TFDS name like "mnist", "cycle_gan/horse2zebra" or
# "mnist:3.*.*": a builder name, an optional config and an optional version.
_TFDS_NAME = re.compile(r"[a-z][a-z0-9_]*(/[A-Za-z0-9_.\-]+)?(:[0-9.*]+)?")

# Seconds to wait for a download host (DNS resolution and TCP connect)
# before deciding that the machine is offline.
PROBE_TIMEOUT = 3.0

# TFDS releases that fetch prepared datasets from their GCS mirror try it
# before the dataset's own URLs (4.9.x has the mirror switched off).
_GCS_MIRROR = "https://storage.googleapis.com/tfds-data/"


class DatasetDownloadError(RuntimeError):
    """A TensorFlow Datasets download (or preparation) failed."""


def is_tfds_name(text):
    """Whether `text` has the form of a TFDS name: a builder name, an
    optional config and an optional version.

    Args:
        text: a string.

    Returns:
        True for text of that form. Whether TFDS has such a dataset is only
        known when it is loaded.

    Example:

    >>> is_tfds_name("cycle_gan/horse2zebra"), is_tfds_name("mnist:3.*.*")
    (True, True)
    >>> is_tfds_name("Flowers"), is_tfds_name("./photos")
    (False, False)
    """
    return bool(_TFDS_NAME.fullmatch(text))


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def download_addresses(builder):
    """The `(host, port)` pairs that a TFDS download of `builder` connects to
    first: the hosts of the dataset's URLs (from its checksums file) and of
    the GCS mirror, or the HTTP(S) proxy that serves them.

    Args:
        builder: a `tfds.core.DatasetBuilder`.

    Returns:
        A sorted list of `(host, port)`; empty when the dataset's URLs are not
        known ahead (no checksums file), so that nothing is probed.

    Example:

    >>> download_addresses(tfds.builder("tf_flowers"))
    [('download.tensorflow.org', 80), ('storage.googleapis.com', 443)]
    """
    urls = list(builder.url_infos or ())
    if not urls:
        return []
    proxies = urllib.request.getproxies()  # what requests reads too: *_proxy
    addresses = set()
    for url in [*urls, _GCS_MIRROR]:
        parts = urllib.parse.urlsplit(url)
        proxy = proxies.get(parts.scheme) or proxies.get("all")
        if proxy and not urllib.request.proxy_bypass(parts.hostname):
            parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        addresses.add((parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)))
    return sorted(addresses)


def probe_connection(addresses, timeout=PROBE_TIMEOUT):
    """Tries a TCP connection (DNS resolution included) to each address at
    once, for at most `timeout` seconds in all.

    Args:
        addresses: `(host, port)` pairs.
        timeout: seconds.

    Returns:
        None as soon as one address accepts a connection; else the OSError
        of the first that failed, or a TimeoutError when none answered.

    Example:

    >>> probe_connection([("storage.googleapis.com", 443)])  # offline
    gaierror(-2, 'Name or service not known')
    """
    results = queue.SimpleQueue()

    def connect(address):
        try:
            socket.create_connection(address, timeout=timeout).close()
            results.put(None)
        except OSError as error:
            results.put(error)

    # Daemon threads: a resolver stuck past the deadline must not hold up
    # the caller, nor the interpreter's exit.
    for address in addresses:
        threading.Thread(target=connect, args=(address,), daemon=True).start()
    deadline = time.monotonic() + timeout
    first_error = None
    for _ in addresses:
        try:
            error = results.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if error is None:
            return None
        first_error = first_error or error
    return first_error or TimeoutError(f"no answer within {timeout:g} s")


def _download_failed(name, reason, advice):
    return DatasetDownloadError(
        f"The download of TFDS dataset {name!r} failed ({reason}). The machine "
        f"may be offline. {advice}"
    )


def load_tfds(name, *, split="train", data_dir=None, image_key=None, label_key=None,
              with_labels=False, download=True):
    """A TFDS dataset's images (and labels), downloaded and prepared first if
    it is not prepared in `data_dir` yet.

    A prepared dataset loads without any network access. Otherwise, before
    the download starts, its hosts are probed (`PROBE_TIMEOUT` seconds): if
    none answers, this fails at once instead of after TFDS' minutes of
    retries.

    Args:
        name: a TFDS name, e.g. "mnist" or "cycle_gan/horse2zebra".
        split: the TFDS split, e.g. "train" or "train[:10%]".
        data_dir: the TFDS data directory (default `~/tensorflow_datasets`).
        image_key: the image feature (default "image").
        label_key: the label feature (default "label").
        with_labels: yield `(image, label)` pairs.
        download: let TFDS download a dataset that is not prepared yet.

    Returns:
        `(dataset, count)`: a `tf.data.Dataset` of images, or of
        `(image, label)` pairs, as TFDS stores them, and the number of
        examples (None if TFDS does not know it).

    Raises:
        FileNotFoundError: `tensorflow_datasets` is not installed (the name
            is more often a mistyped folder).
        ValueError: an unknown name, or a missing image or label feature.
        DatasetDownloadError: the download is off, cannot reach its hosts,
            or failed; the message names the dataset and the fix.

    Example:

    >>> ds, count = load_tfds("mnist", split="test", with_labels=True)
    >>> count
    10000
    """
    try:
        import tensorflow_datasets as tfds  # Heavy to import, and optional.
    except ImportError:  # More often a mistyped folder than a missing package.
        raise FileNotFoundError(
            f"No such file or folder: {pathlib.Path(name).expanduser()} (if you meant "
            f"the TFDS dataset {name!r}: pip install tensorflow-datasets)"
        ) from None

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except ValueError as e:  # Includes tfds' DatasetNotFoundError.
        raise ValueError(
            f"{name!r} is neither an existing file or folder nor a TensorFlow "
            f"Datasets name ({_first_line(e)}). See `tfds.list_builders()` for "
            f"the names, or pass a folder of images."
        ) from None

    features = builder.info.features
    image_key = image_key or "image"
    label_key = label_key or "label"
    if image_key not in features:
        raise ValueError(
            f"TFDS dataset {name!r} has no feature {image_key!r}; its features "
            f"are {list(features)}. Pass image_key=."
        )
    if with_labels and label_key not in features:
        raise ValueError(
            f"TFDS dataset {name!r} has no labels (no feature {label_key!r}; "
            f"its features are {list(features)}). Pass with_labels=False, or "
            f"label_key=."
        )

    if not builder.is_prepared():
        advice = (
            f"Pass a local folder of images (or an .npz file) instead, or "
            f"data_dir= pointing to a TFDS directory where {name!r} is already "
            f"prepared (run `tfds.builder({name!r}).download_and_prepare()` on "
            f"a machine with network access and copy the directory)."
        )
        if not download:
            raise DatasetDownloadError(
                f"TFDS dataset {name!r} is not prepared in {builder.data_dir} "
                f"and download=False. {advice}"
            )
        addresses = download_addresses(builder)
        # PROBE_TIMEOUT read now, so that setting it takes effect.
        error = probe_connection(addresses, PROBE_TIMEOUT) if addresses else None
        if error is not None:
            hosts = ", ".join(f"{host}:{port}" for host, port in addresses)
            raise _download_failed(name, f"cannot reach {hosts}: {_first_line(error)}",
                                   advice) from error
        try:
            # What tfds.load() does; done here so that a failure can say why.
            builder.download_and_prepare()
        except Exception as e:  # Network errors come in many classes.
            raise _download_failed(name, f"{type(e).__name__}: {_first_line(e)}", advice) from e

    ds = builder.as_dataset(split=split)
    count = int(ds.cardinality())
    if with_labels:
        ds = ds.map(lambda example: (example[image_key], example[label_key]))
    else:
        ds = ds.map(lambda example: example[image_key])
    return ds, (count if count >= 0 else None)
