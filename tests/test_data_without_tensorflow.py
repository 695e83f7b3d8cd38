"""keras_gans without TensorFlow: the NumPy pipeline serves arrays and
folders, TensorFlow-only features say what they need, and on JAX and
PyTorch `import keras_gans` does not import TensorFlow. Each check runs in
its own Python process, with its own backend."""

import os
import subprocess
import sys

import pytest


NO_TF_CLIENT = """
import sys
sys.modules["tensorflow"] = None  # as if TensorFlow were not installed
import numpy as np
import keras_gans as kg
ds = kg.data.image_dataset(np.zeros((8, 8, 8, 3), "uint8"), image_size=8, batch_size=4)
print("pipeline:", type(ds).__name__, ds[0].shape)
for call in (lambda: kg.data.image_dataset("mnist"),
             lambda: kg.data.unpaired_dataset("a", "b"),
             lambda: kg.export.export_generator(kg.DCGAN(16, 1, 8, 4, 4), "/tmp/x/1")):
    try:
        call()
    except ImportError as e:
        print("ImportError:", e)
"""


@pytest.mark.single_backend
def test_without_tensorflow_arrays_load_and_tf_features_say_so():
    env = dict(os.environ, KERAS_BACKEND="jax")
    out = subprocess.run([sys.executable, "-c", NO_TF_CLIENT], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines[0] == "pipeline: ImageBatches (4, 8, 8, 3)"
    errors = [line for line in lines if line.startswith("ImportError")]
    assert len(errors) == 3, out.stdout
    assert "TensorFlow Datasets name" in errors[0]
    assert "needs TensorFlow" in errors[1] and "needs TensorFlow" in errors[2]


@pytest.mark.single_backend
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_import_on_jax_and_torch_leaves_tensorflow_out(backend):
    # TensorFlow is installed here; only the tf.data pipeline, TFDS and
    # exports import it, when they are used.
    pytest.importorskip(backend)
    check = "import sys, keras_gans; print(sorted(m for m in sys.modules if m.startswith('tensorflow')))"
    env = dict(os.environ, KERAS_BACKEND=backend)
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
