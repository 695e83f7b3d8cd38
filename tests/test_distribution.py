"""Multi-device data parallel training on two virtual CPU devices.

Each check runs in a subprocess: TensorFlow's logical devices and JAX's
host device count must be set before the framework initializes.

"The same losses" means: from the same initial weights, one device and two
replicas given the same global batches report the same d_loss, g_loss,
d_real, d_fake and end with the same weights. This holds because
- the GAN has no BatchNorm and no dropout (per-replica statistics/masks),
- each replica draws its rows of the global batch's noise and of the
  gradient penalty's mixing weights (`sampling.replica_rows`), so the fakes
  and the penalty equal one device's,
- a lazy phase (R1 every 2 steps, on JAX) runs on the same steps,
- each replica's loss is divided by the number of replicas before its
  gradients are all-reduced with SUM (`backend.scale_loss_for_replicas`);
  SGD makes a missing division visible (Adam would hide a constant factor).
The batch's two halves (one per replica) are far apart, so a metric taken
from one replica instead of the global batch would differ.
"""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import keras
import pytest

from keras_gans import distribute
from test_scripts import log_epochs

ROOT = pathlib.Path(__file__).resolve().parents[1]

COMMON = textwrap.dedent(
    """
    import json
    import numpy as np
    import keras
    import keras_gans as kg
    from keras_gans import distribute

    # Seeded: the checks below need the two halves' D(x) apart, which an
    # unlucky initialization can bring within 0.01.
    keras.utils.set_random_seed(0)

    def make_gan():
        return kg.VanillaGAN(data_shape=(4,), latent_dim=3, generator_units=(16,),
                             discriminator_units=(16,), dropout=0.0, seed=0)

    def compile_gan(gan):
        # With a gradient penalty (alphas drawn per sample) and R1 (lazily,
        # a conditional phase, where the backend allows it) the replicas
        # must still match one device.
        gan.compile(d_optimizer=keras.optimizers.SGD(0.05),
                    g_optimizer=keras.optimizers.SGD(0.05), jit_compile=False,
                    penalties=[kg.losses.GradientPenalty(0.5), kg.losses.R1(0.2, R1_INTERVAL)])

    # 2 global batches of 8; in each, rows 0-3 (replica 0) near +2, rows 4-7
    # (replica 1) near -2.
    rng = np.random.default_rng(0)
    x = rng.normal(0, 0.3, (16, 4)).astype("float32")
    x[np.arange(16) % 8 < 4] += 2.0
    x[np.arange(16) % 8 >= 4] -= 2.0

    reference = make_gan()
    compile_gan(reference)
    initial = reference.get_weights()
    d_real = keras.ops.convert_to_numpy(
        keras.ops.sigmoid(reference.discriminator(x[:8]))).ravel()
    # fit, not train_on_batch: Keras' train_on_batch under MirroredStrategy
    # feeds every replica the whole batch. Unshuffled: the gradient penalty
    # pairs real and fake rows, so their order matters.
    first_step = reference.fit(x[:8], batch_size=8, shuffle=False, verbose=0).history
    reference.set_weights(initial)
    reference_history = reference.fit(x, batch_size=8, epochs=1, shuffle=False,
                                      verbose=0).history
    result = {
        "d_real_global": float(d_real.mean()),
        "d_real_halves": [float(d_real[:4].mean()), float(d_real[4:].mean())],
        "reference_first_step": {k: float(v[0]) for k, v in first_step.items()},
        "reference_history": {k: float(v[0]) for k, v in reference_history.items()},
    }

    def run_distributed(scope):
        with scope:
            gan = make_gan()
            gan.set_weights(initial)
            compile_gan(gan)
            first = gan.fit(x[:8], batch_size=8, shuffle=False, verbose=0).history
            gan.set_weights(initial)
            history = gan.fit(x, batch_size=8, epochs=1, shuffle=False, verbose=0).history
        result["first_step"] = {k: float(v[0]) for k, v in first.items()}
        result["history"] = {k: float(v[0]) for k, v in history.items()}
        result["max_weight_diff"] = max(
            float(np.abs(a - b).max()) for a, b in zip(reference.get_weights(), gan.get_weights()))
        result["iterations"] = [
            int(keras.ops.convert_to_numpy(opt.iterations)) for opt in (gan.d_optimizer, gan.g_optimizer)]
        result["lazy"] = "r1" in [phase.name for phase in gan.phases]
        return gan
    """
)

TF_SCRIPT = textwrap.dedent(
    """
    R1_INTERVAL = 1  # lazy phases need JAX under multi-device training
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    """
) + COMMON + textwrap.dedent(
    """
    scope = distribute.strategy_scope("mirrored", devices=["/cpu:0", "/cpu:1"])
    gan = run_distributed(scope)
    result["replicas"] = int(gan.distribute_strategy.num_replicas_in_sync)
    result["jit_compile"] = bool(gan.jit_compile)
    # A lazy penalty compiled under the strategy joins the loss every step.
    with distribute.strategy_scope("mirrored", devices=["/cpu:0", "/cpu:1"]):
        lazy = make_gan()
        lazy.compile(penalties=[kg.losses.R1(1.0, interval=4)], jit_compile=False)
        logs = lazy.fit(x, batch_size=8, epochs=1, verbose=0).history
    result["lazy_under_strategy"] = [[p.name for p in lazy.phases], bool(logs["r1"][0] > 0)]

    # float16 loss scaling under the strategy: LossScaleOptimizer's
    # cross-replica finite check and update.
    keras.config.set_dtype_policy("mixed_float16")
    with distribute.strategy_scope("mirrored", devices=["/cpu:0", "/cpu:1"]):
        gan = make_gan()
        gan.compile(jit_compile=False)
        history = gan.fit(x, batch_size=8, epochs=1, verbose=0).history
    result["float16"] = {
        "losses": [float(v[0]) for v in history.values()],
        "optimizer": type(gan.g_optimizer).__name__,
        "step_counter": int(keras.ops.convert_to_numpy(gan.g_optimizer.step_counter)),
    }
    print(json.dumps(result))
    """
)

JAX_SCRIPT = "R1_INTERVAL = 2\n" + COMMON + textwrap.dedent(
    """
    import jax
    scope = distribute.strategy_scope("data_parallel")
    gan = run_distributed(scope)
    sharding = gan.generator.weights[0].value.sharding
    result["replicas"] = len(sharding.device_set)
    print(json.dumps(result))
    """
)


def subprocess_env(backend, extra_env=None):
    """The environment of a child Python on `backend` that imports this checkout."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra_env or {})
    return env


def run_script(script, backend, extra_env=None):
    env = subprocess_env(backend, extra_env)
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600,
        cwd=ROOT, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def check_same_as_one_device(result):
    assert result["replicas"] == 2
    # The reported metrics are the global batch's, not one replica's.
    assert result["first_step"]["d_real"] == pytest.approx(result["d_real_global"], abs=1e-5)
    for half in result["d_real_halves"]:
        assert abs(half - result["d_real_global"]) > 0.02
    for key, value in result["reference_first_step"].items():
        assert result["first_step"][key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
    for key, value in result["reference_history"].items():
        assert result["history"][key] == pytest.approx(value, rel=1e-5, abs=1e-6), key
    # Same weights after two SGD steps of both networks: gradients are the
    # global batch's mean, not the sum over replicas.
    assert result["max_weight_diff"] < 1e-5
    # One update per step, not per replica, plus a lazy R1's on steps 0 of
    # the one-step fit and of the two-step one (set_weights resets progress).
    assert result["iterations"] == [3 + (2 if result["lazy"] else 0), 3]
    assert result["history"]["r1"] > 0 and result["history"]["gradient_penalty"] > 0


# Runs in a subprocess on its own backend: once, in the first backend's pass.
@pytest.mark.single_backend
def test_tensorflow_mirrored_strategy_matches_one_device():
    result = run_script(TF_SCRIPT, "tensorflow")
    assert not result["jit_compile"]  # "auto" gives no XLA under tf.distribute
    check_same_as_one_device(result)
    assert result["lazy_under_strategy"] == [["discriminator", "generator"], True]
    float16 = result["float16"]
    assert float16["optimizer"] == "LossScaleOptimizer" and float16["step_counter"] == 2
    assert all(abs(v) < 100 for v in float16["losses"])  # finite and unscaled


# Runs in a subprocess on its own backend: once, in the first backend's pass.
@pytest.mark.single_backend
def test_jax_data_parallel_matches_one_device():
    result = run_script(
        JAX_SCRIPT, "jax", {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    )
    check_same_as_one_device(result)


def test_strategy_names_and_errors():
    backend = keras.backend.backend()
    with distribute.strategy_scope("none"):
        pass
    with distribute.strategy_scope(None):
        pass
    assert distribute.num_replicas(distribute.get_strategy("none")) == 1
    assert set(distribute.names("tensorflow")) == {"none", "mirrored", "multi_worker", "tpu"}
    assert set(distribute.names("jax")) == {"none", "data_parallel"}
    wrong = "data_parallel" if backend != "jax" else "mirrored"
    with pytest.raises(ValueError, match="needs KERAS_BACKEND="):
        distribute.strategy_scope(wrong)
    with pytest.raises(ValueError, match="Unknown strategy"):
        distribute.strategy_scope("horovod")


def test_only_the_chief_writes():
    class Extended:
        def __init__(self, chief):
            self.chief = chief

        @property
        def should_checkpoint(self):
            if self.chief is None:
                raise NotImplementedError  # tf.distribute's base class
            return self.chief

    class Strategy:
        def __init__(self, chief):
            self.extended = Extended(chief)

    assert distribute.is_chief(None)
    assert distribute.is_chief(Strategy(True))
    assert not distribute.is_chief(Strategy(False))
    assert distribute.is_chief(Strategy(None))
    if keras.backend.backend() == "jax":  # one process: the first
        assert distribute.is_chief(keras.distribution.DataParallel())


def _free_ports(n):
    import socket

    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_cluster(args, workers=2):
    """Run scripts/train_gan_mnist.py as every worker of a local
    MultiWorkerMirroredStrategy cluster; returns each worker's process."""
    cluster = {"worker": [f"localhost:{port}" for port in _free_ports(workers)]}
    env = subprocess_env("tensorflow")
    procs = []
    for index in range(workers):
        config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        procs.append(subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "train_gan_mnist.py"), *map(str, args)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env=dict(env, TF_CONFIG=json.dumps(config)),
        ))
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        results.append((proc.returncode, out, err))
    return results


# Two local TensorFlow workers in subprocesses: once, in the first backend's pass.
@pytest.mark.single_backend
def test_multi_worker_cluster_trains_resumes_and_only_the_chief_writes(tmp_path):
    import numpy as np

    data = tmp_path / "mnist.npz"
    rng = np.random.default_rng(0)
    np.savez(data, x_train=rng.integers(0, 256, (64, 28, 28), dtype=np.uint8),
             y_train=np.arange(64) % 10)
    out = tmp_path / "run"
    base = ["--data", data, "--steps-per-epoch", "2", "--batch-size", "16", "--no-export",
            "--out", out, "--strategy", "multi_worker", "--verbose", "2", "--seed", "0"]
    for extra in (["--epochs", "1"], ["--epochs", "2", "--resume"]):
        results = run_cluster(base + extra)
        for code, stdout, stderr in results:
            assert code == 0, stderr[-3000:]
            assert "2 device(s), 8 image(s) each of a global batch of 16" in stdout

        def epoch_lines(stdout):
            return [line.split(" - ", 2)[-1] for line in stdout.splitlines() if "/step - " in line]

        (_, chief, _), (_, worker, _) = results
        # The logged losses are all-reduced: both workers print the same ones.
        assert epoch_lines(chief) and epoch_lines(chief) == epoch_lines(worker)
        assert "not the chief" not in chief
        assert f"the chief writes {out}" in worker
        scratch = worker.split("copies go to ", 1)[1].split(" ", 1)[0]
        assert not os.path.exists(scratch)  # removed at exit
        if "--resume" in extra:
            for stdout in (chief, worker):  # both read the chief's checkpoint
                assert f"Resuming {out} at epoch 2 of 2" in stdout
    assert log_epochs(out) == [0, 1]
    state = json.loads((out / "checkpoints" / "last.json").read_text())
    # The chief's checkpoint records where the two-epoch run ended.
    assert (state["epochs"], state["epoch"], state["step"], state["batch"]) == (2, 2, 4, 0)
