"""Shared pytest setup for keras-gans."""

import os

# Before anything imports Keras or TensorFlow.
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pathlib  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def data_root():
    """The folder of real datasets named by $KERAS_GANS_DATA (flowers128/,
    mnist/mnist.npz, cyclegan128/); tests using it skip when it is unset."""
    value = os.environ.get("KERAS_GANS_DATA")
    if not value:
        pytest.skip("KERAS_GANS_DATA is not set")
    # Resolved: a relative path (CI passes ../shared/data) would otherwise
    # break links and paths a test makes from inside its tmp_path.
    root = pathlib.Path(value).expanduser().resolve()
    if not root.is_dir():
        pytest.skip(f"KERAS_GANS_DATA={value} is not a folder")
    return root


@pytest.fixture(autouse=True)
def _seeded_randomness():
    """Every test starts from the same global seed (Python, NumPy, the
    backend): weight initializations and Keras' shuffling repeat from run
    to run, so a learning check cannot pass or fail by the draw."""
    import keras

    keras.utils.set_random_seed(0)
