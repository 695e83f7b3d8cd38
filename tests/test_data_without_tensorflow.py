"""keras_gans without TensorFlow: the NumPy pipeline serves arrays and
folders, and TensorFlow-only features say what they need. The check runs
in its own Python process, with TensorFlow blocked."""

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

