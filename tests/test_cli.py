"""keras_gans.cli: flags, one-line errors, run folders, checkpoints, resume bookkeeping
(in-process; the scripts themselves run in test_scripts.py)."""

import argparse
import json
import os
import sys
import zipfile

import keras
import numpy as np
import pytest

from keras_gans import data as gan_data
from keras_gans import distribute
from keras_gans.callbacks import DivergenceError
from keras_gans.cli import arguments, errors, run_folder, runner, startup, strategies
from keras_gans.cli.run_folder import Position


def _exit_code(fn, *args):
    with pytest.raises(SystemExit) as info:
        fn(*args)
    return info.value.code


# -- argument parsing ---------------------------------------------------------


@pytest.mark.single_backend
def test_parser_error_is_one_line(capsys):
    p = arguments.ArgumentParser(prog="x.py")
    p.add_argument("--n", type=arguments.positive_int, default=1)
    assert _exit_code(p.parse_args, ["--n", "abc"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("x.py: error: argument --n:") and "'abc'" in err


@pytest.mark.single_backend
@pytest.mark.parametrize("text", ["0", "-3", "1.5", "abc"])
def test_positive_int_rejects(text):
    with pytest.raises(argparse.ArgumentTypeError):
        arguments.positive_int(text)


@pytest.mark.single_backend
def test_number_types_and_export_dir():
    assert arguments.positive_float("2e-4") == 2e-4
    assert arguments.beta("0") == 0.0 and arguments.beta("0.9") == 0.9
    for bad in ("1", "-0.1", "x"):
        with pytest.raises(argparse.ArgumentTypeError, match=r"\[0, 1\)"):
            arguments.beta(bad)
    with pytest.raises(argparse.ArgumentTypeError):
        arguments.positive_float("0")
    assert arguments.export_dir("saved_models/m/12") == "saved_models/m/12"
    assert arguments.export_dir("saved_models/m/3/") == "saved_models/m/3/"
    with pytest.raises(argparse.ArgumentTypeError, match="integer version"):
        arguments.export_dir("saved_models/m")


def _gan_parser(**defaults):
    return arguments.add_common_training_args(
        arguments.ArgumentParser(prog="x.py"), out="runs/x", export="sm/x/1", epochs=7, **defaults
    )


@pytest.mark.single_backend
def test_common_training_args_defaults():
    p = _gan_parser(g_steps=2)
    args = p.parse_args([])
    assert (args.epochs, args.g_steps, args.d_steps, args.batch_size) == (7, 2, 1, 64)
    assert (args.out, args.export, args.jit, args.resume) == ("runs/x", "sm/x/1", None, False)
    assert (args.optimizer, args.d_lr, args.g_lr, args.beta1, args.beta2) == (
        "adam", 2e-4, 2e-4, 0.5, 0.999)
    assert (args.checkpoint_every, args.tensorboard, args.lr_given) == (None, False, False)
    assert p.parse_args(["--no-export"]).export is None
    assert p.parse_args(["--no-jit"]).jit is False
    assert (args.strategy, args.verbose, args.seed) == ("none", None, None)


@pytest.mark.single_backend
def test_learning_rate_flags_and_script_defaults(capsys):
    # SAGAN's two timescales: --lr sets both, --d-lr / --g-lr one side.
    p = _gan_parser(d_lr=4e-4, g_lr=1e-4, beta1=0.0, beta2=0.9)
    rates = lambda argv: (lambda a: (a.d_lr, a.g_lr, a.lr_given))(p.parse_args(argv))  # noqa: E731
    assert rates([]) == (4e-4, 1e-4, False)
    assert rates(["--lr", "1e-3"]) == (1e-3, 1e-3, True)
    assert rates(["--lr", "1e-3", "--g-lr", "5e-5"]) == (1e-3, 5e-5, True)
    assert rates(["--d-lr", "2e-4"]) == (2e-4, 1e-4, True)
    assert "(default D 0.0004, G 0.0001)" in " ".join(p.format_help().split())
    args = p.parse_args(["--beta2", "0.99"])
    assert (args.beta1, args.beta2) == (0.0, 0.99)
    # WGAN: RMSprop has no betas.
    wgan = _gan_parser(optimizer="rmsprop", lr=5e-5, d_steps=5)
    args = wgan.parse_args([])
    assert (args.optimizer, args.d_lr, args.d_steps, args.beta1) == ("rmsprop", 5e-5, 5, None)
    assert _exit_code(wgan.parse_args, ["--beta1", "0.5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--beta1 and --beta2 are Adam's; --optimizer rmsprop" in err


def test_compile_from_args_builds_the_flags_optimizers():
    import keras_gans as kg

    gan = kg.VanillaGAN(data_shape=(4,), latent_dim=2, seed=0)
    args = _gan_parser(optimizer="rmsprop", lr=5e-5).parse_args(["--g-lr", "1e-4",
                                                                "--d-steps", "5"])
    runner.compile_from_args(gan, args)
    assert type(gan.d_optimizer).__name__ == "RMSprop" and gan.d_steps == 5
    assert np.isclose(float(gan.d_optimizer.learning_rate), 5e-5)
    assert np.isclose(float(gan.g_optimizer.learning_rate), 1e-4)
    args = _gan_parser().parse_args(["--beta1", "0", "--beta2", "0.9", "--loss", "hinge"])
    runner.compile_from_args(gan, args)
    assert (gan.d_optimizer.beta_1, gan.g_optimizer.beta_2) == (0.0, 0.9)
    assert gan.d_optimizer.name != gan.g_optimizer.name  # their learning_rate logs stay apart
    # On --resume, a rate given on the command line replaces the checkpoint's.
    runner.resume_learning_rates(gan, _gan_parser().parse_args(["--d-lr", "1e-5"]))
    assert np.isclose(float(gan.d_optimizer.learning_rate), 1e-5)
    assert np.isclose(float(gan.g_optimizer.learning_rate), 2e-4)


def test_betas_not_given_keep_the_models_own():
    from keras_gans.models.stylegan import StyleGAN

    # StyleGAN2 raises D's beta_2 to 16/17 for lazy R1, G's to 4/5 for lazy
    # path length regularization; the script's plain 0.99 must not undo it.
    parser = _gan_parser(lr=2e-3, beta1=0.0, beta2=0.99)

    def betas(argv):
        gan = StyleGAN(image_size=8, channels=1, latent_dim=8, w_dim=8, mapping_layers=2,
                       max_filters=8, path_length_weight=2.0, seed=0)
        runner.compile_from_args(gan, parser.parse_args(argv))
        return [(o.beta_1, o.beta_2) for o in (gan.d_optimizer, gan.g_optimizer)]

    (d1, d2), (g1, g2) = betas([])
    assert (d1, g1) == (0.0, 0.0)
    assert np.isclose(d2, 0.99 ** (16 / 17)) and np.isclose(g2, 0.99 ** (4 / 5))
    assert betas(["--beta2", "0.9"]) == [(0.0, 0.9), (0.0, 0.9)]


def test_run_args_without_export_and_strategy_choices(capsys):
    p = arguments.add_run_args(arguments.ArgumentParser(prog="x.py"), out="runs/y", export=None,
                               seed=0)
    args = p.parse_args([])
    assert (args.export, args.seed, args.strategy) == (None, 0, "none")
    assert p.parse_args(["--export", "sm/y/2"]).export == "sm/y/2"
    assert p.parse_args(["--checkpoint-every", "500"]).checkpoint_every == 500
    assert "(default: no export)" in " ".join(p.format_help().split())
    assert not any(o in p.format_help() for o in ("--loss", "--d-steps", "--lr"))
    # Every backend's names parse (the same names as keras_gans.distribute's);
    # strategy_scope checks them against the backend.
    assert set(arguments.STRATEGIES) == {n for ns in distribute.STRATEGIES.values() for n in ns}
    for name in arguments.STRATEGIES:
        assert p.parse_args(["--strategy", name]).strategy == name
    assert _exit_code(p.parse_args, ["--strategy", "horovod"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "argument --strategy: invalid choice: 'horovod'" in err


# -- run_main -----------------------------------------------------------------


@pytest.mark.single_backend
@pytest.mark.parametrize(
    "error",
    [
        FileNotFoundError("No such file or folder: /nope"),
        ValueError("bad\nvalue  spread over lines"),
        ImportError("No module named 'tensorflow_datasets'"),
        gan_data.DatasetDownloadError("The download of TFDS dataset 'x' failed"),
    ],
)
def test_run_main_expected_error_is_one_line(capsys, monkeypatch, error):
    monkeypatch.delenv("KERAS_GANS_TRACEBACK", raising=False)

    def main(argv):
        raise error

    assert _exit_code(errors.run_main, main, [], "prog.py") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("prog.py: error: ")
    assert " ".join(str(error).split()) in err


@pytest.mark.single_backend
def test_run_main_divergence_exits_3(capsys, monkeypatch):
    monkeypatch.delenv("KERAS_GANS_TRACEBACK", raising=False)

    def main(argv):
        raise DivergenceError("training diverged at step 3: d_loss is nan; try ...", "d_loss is nan")

    assert _exit_code(errors.run_main, main, [], "p.py") == 3
    assert capsys.readouterr().err == "p.py: error: training diverged at step 3: d_loss is nan; try ...\n"


@pytest.mark.single_backend
def test_run_main_traceback_env_reraises(monkeypatch):
    monkeypatch.setenv("KERAS_GANS_TRACEBACK", "1")

    def main(argv):
        raise ValueError("x")

    with pytest.raises(ValueError):
        errors.run_main(main, [])


@pytest.mark.single_backend
def test_run_main_unexpected_error_propagates():
    def main(argv):
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        errors.run_main(main, [])


@pytest.mark.single_backend
def test_run_main_interrupt_and_status(capsys):
    def interrupted(argv):
        raise KeyboardInterrupt("continue with --resume")

    assert _exit_code(errors.run_main, interrupted, [], "p") == 130
    assert capsys.readouterr().err == "p: interrupted: continue with --resume\n"
    assert _exit_code(errors.run_main, lambda argv: None, []) == 0
    assert _exit_code(errors.run_main, lambda argv: 3, []) == 3


# -- start-up chatter -------------------------------------------------------------

_STARTUP = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796122462.030629    9087 port.cc:153] oneDNN custom operations are on.
I0000 00:00:1796122462.030992    9087 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.
I0000 00:00:1796123304.136805   22533 cpu_feature_guard.cc:227] This TensorFlow binary is optimized.
To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with the appropriate compiler flags.
E0000 00:00:1796122468.724120    9181 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)
E0000 00:00:1796122468.724120    9181 cuda_dnn.cc:8310] Unable to register cuDNN factory: Attempting to register factory for plugin cuDNN when one has already been registered
"""


@pytest.mark.single_backend
def test_startup_chatter_is_dropped_and_the_rest_kept():
    mine = ["UserWarning: something the user should see\n",
            "E0000 00:00:1.0 1 op_kernel.cc:1] a real error\n"]
    assert startup.user_lines(_STARTUP + "".join(mine)) == mine
    # Without "no cuda drivers" a failing cuInit is news (a broken GPU driver).
    cuinit = _STARTUP.splitlines(keepends=True)[5]
    assert startup.user_lines(cuinit) == [cuinit]


@pytest.mark.single_backend
def test_native_stderr_filtered_captures_file_descriptor_2(capfd, monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    with startup.native_stderr_filtered():
        os.write(2, _STARTUP.encode() + b"kept\n")  # as C++ writes, below sys.stderr
    assert capfd.readouterr().err == "kept\n"
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")  # the user asked for everything
    with startup.native_stderr_filtered():
        os.write(2, _STARTUP.encode())
    assert capfd.readouterr().err == _STARTUP


# -- strategies -------------------------------------------------------------------


def _run_args(**kw):
    return argparse.Namespace(**{"strategy": "none", "batch_size": 8, **kw})


def test_strategy_scope(capsys):
    with strategies.strategy_scope(_run_args()):
        pass
    assert capsys.readouterr().out == ""
    backend = keras.backend.backend()
    wrong = "mirrored" if backend == "jax" else "data_parallel"
    with pytest.raises(ValueError, match=f"Strategy '{wrong}' needs KERAS_BACKEND="):
        strategies.strategy_scope(_run_args(strategy=wrong))


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.distribute")
def test_strategy_scope_mirrored(capsys):
    import tensorflow as tf

    with strategies.strategy_scope(_run_args(strategy="mirrored", batch_size=8)):
        assert type(tf.distribute.get_strategy()).__name__ == "MirroredStrategy"
    assert not tf.distribute.has_strategy()
    devices = len(tf.config.list_logical_devices("GPU")) or 1
    assert capsys.readouterr().out == (
        f"--strategy mirrored: {devices} device(s), {8 // devices} image(s) each of a "
        f"global batch of 8.\n"
    )


def test_strategy_scope_refuses_an_uneven_batch(monkeypatch):
    # Two devices, without needing them: the batch check comes first.
    class TwoDevices:
        num_replicas_in_sync = 2

        def scope(self):
            raise AssertionError("not entered")

    monkeypatch.setattr(strategies.distribute, "get_strategy", lambda name: TwoDevices())
    with pytest.raises(ValueError, match="--batch-size 7 is the global batch.*multiple of 2"):
        strategies.strategy_scope(_run_args(strategy="mirrored", batch_size=7))


@pytest.mark.single_backend
def test_a_worker_that_is_not_the_chief_writes_to_scratch(capsys):
    args = argparse.Namespace(out="runs/x", export="sm/x/1", resume=True)
    scratch = strategies.discard_worker_outputs(args)
    assert os.path.isdir(scratch)
    assert args.out == os.path.join(scratch, "run") and args.export == os.path.join(scratch, "export")
    assert strategies.run_dir(args) == "runs/x"  # It resumes from the chief's run folder.
    capsys.readouterr()
    run_folder.print_outputs(args)
    assert capsys.readouterr().out.strip() == "Outputs: written by the chief worker to runs/x"


# -- models and run folders -----------------------------------------------------


def _tiny_model():
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="adam", loss="mse")
    model.optimizer.build(model.trainable_variables)
    return model


@pytest.mark.single_backend
def test_find_model(tmp_path):
    with pytest.raises(FileNotFoundError):
        run_folder.find_model(tmp_path / "nope")
    (tmp_path / "m.h5").write_bytes(b"x")
    with pytest.raises(ValueError, match="not a .keras"):
        run_folder.find_model(tmp_path / "m.h5")
    (tmp_path / "m.keras").write_bytes(b"x")
    assert run_folder.find_model(tmp_path / "m.keras") == ("keras", str(tmp_path / "m.keras"))
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.keras").write_bytes(b"x")
    assert run_folder.find_model(run) == ("keras", os.path.join(run, "checkpoints", "last.keras"))
    for version in ("1", "10", "9"):
        (tmp_path / "sm" / version).mkdir(parents=True)
        (tmp_path / "sm" / version / "saved_model.pb").write_bytes(b"x")
    assert run_folder.find_model(tmp_path / "sm") == ("savedmodel", os.path.join(tmp_path / "sm", "10"))
    assert run_folder.find_model(tmp_path / "sm" / "9") == ("savedmodel", str(tmp_path / "sm" / "9"))
    with pytest.raises(ValueError, match="neither"):
        run_folder.find_model(tmp_path / "run" / "checkpoints")


def _checkpoint(tmp_path, model, steps_per_epoch=4, every_steps=None, position=None):
    callback = run_folder.RunCheckpoint(tmp_path, position or Position(stream_seed=7),
                                        steps_per_epoch, {"seed": 7}, every_steps=every_steps)
    callback.set_model(model)
    callback.set_params({"epochs": 3, "steps": steps_per_epoch})
    return callback


def _train(callback, epoch, batches):
    """What fit calls on `callback` for `batches` batches of `epoch` (and its end
    when the epoch is complete)."""
    callback.on_epoch_begin(epoch)
    for batch in range(batches):
        callback.on_train_batch_end(batch)
    if callback.position.batch == callback.steps_per_epoch:
        callback.on_epoch_end(epoch)


def test_checkpoints_every_n_steps_record_the_position(tmp_path):
    model = _tiny_model()
    callback = _checkpoint(tmp_path, model, every_steps=3)
    _train(callback, 0, 4)  # steps 1-4: a checkpoint at step 3, mid-epoch
    state = run_folder.read_state(tmp_path)
    assert (state["step"], state["epoch"], state["batch"], state["epochs"]) == (3, 0, 3, 0)
    assert state["stream"] == {"seed": 7, "batches": 3} and state["seed"] == 7
    # last.json says the same, for people and tools.
    assert json.loads((tmp_path / run_folder.CHECKPOINT_STATE).read_text()) == state
    # The epoch had a mid-epoch checkpoint: fit ends there, for a new stream.
    assert callback.restart_stream and model.stop_training
    callback.begin_stream(8)
    model.stop_training = False
    _train(callback, 1, 4)  # steps 5-8: step 6; the epoch's end is no checkpoint
    assert run_folder.read_state(tmp_path)["step"] == 6
    callback.on_train_end()  # but the end of training is
    state = run_folder.read_state(tmp_path)
    assert (state["step"], state["epoch"], state["batch"]) == (8, 2, 0)
    assert state["stream"] == {"seed": 8, "batches": 4}
    # The checkpoint before is kept, whole.
    previous = keras.models.load_model(tmp_path / run_folder.PREVIOUS)
    with zipfile.ZipFile(tmp_path / run_folder.PREVIOUS) as archive:
        assert json.loads(archive.read(run_folder.STATE_ENTRY))["step"] == 6
    np.testing.assert_allclose(previous.get_weights()[0], model.get_weights()[0])


def test_checkpoints_after_every_epoch_and_every_30_minutes(tmp_path, monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(run_folder.time, "monotonic", lambda: clock[0])
    callback = _checkpoint(tmp_path, _tiny_model())
    callback.on_epoch_begin(0)
    callback.on_train_batch_end(0)
    assert not (tmp_path / run_folder.CHECKPOINT).exists()
    clock[0] = 30 * 60  # half an hour into a long epoch
    callback.on_train_batch_end(1)
    assert run_folder.read_state(tmp_path)["step"] == 2
    callback.on_train_batch_end(2)
    callback.on_train_batch_end(3)
    callback.on_epoch_end(0)
    assert run_folder.read_state(tmp_path)["step"] == 4 and callback.written == 2


def test_a_checkpoint_is_never_written_from_nonfinite_weights(tmp_path):
    model = _tiny_model()
    callback = _checkpoint(tmp_path, model)
    _train(callback, 0, 4)
    good = model.get_weights()
    kernel = model.layers[-1].kernel
    kernel.assign(np.full(kernel.shape, np.nan, "float32"))
    with pytest.raises(DivergenceError, match=r"at step 8: .*kernel holds NaN or infinite values"):
        _train(callback, 1, 4)
    assert run_folder.read_state(tmp_path)["step"] == 4
    kept = keras.models.load_model(tmp_path / run_folder.CHECKPOINT)
    np.testing.assert_array_equal(kept.get_weights()[0], good[0])


@pytest.mark.single_backend
@pytest.mark.parametrize("stage", ["saved", "rotated", "committed"])
def test_a_checkpoint_write_killed_at_any_stage_leaves_a_whole_one(tmp_path, monkeypatch, stage):
    class Killed(BaseException):
        pass

    def kill(point):
        if point == f"checkpoint 2 {stage}":
            raise Killed

    monkeypatch.setattr(run_folder, "_kill_if_asked", kill)
    model = _tiny_model()
    callback = _checkpoint(tmp_path, model, steps_per_epoch=8, every_steps=2)
    callback.on_epoch_begin(0)
    callback.on_train_batch_end(0)
    callback.on_train_batch_end(1)  # checkpoint 1: step 2
    callback.on_train_batch_end(2)
    with pytest.raises(Killed):
        callback.on_train_batch_end(3)  # checkpoint 2: step 4, killed
    # The checkpoint and its state agree: step 2 until the rename, step 4 after.
    state = run_folder.read_state(tmp_path)
    assert state["step"] == (4 if stage == "committed" else 2)
    keras.models.load_model(tmp_path / run_folder.CHECKPOINT)
    position = run_folder.open_run(argparse.Namespace(out=str(tmp_path), resume=True, export=None))
    assert (position.step, position.epoch, position.batch) == (state["step"], 0, state["step"])


@pytest.mark.single_backend
def test_a_cut_short_checkpoint_fails_in_one_line_naming_the_fix(tmp_path):
    model = _tiny_model()
    for step in (1, 2):  # two checkpoints: last.keras and previous.keras
        run_folder.write_checkpoint(model, tmp_path, {"step": step, "epoch": 0, "batch": step})
    last = tmp_path / run_folder.CHECKPOINT
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    args = argparse.Namespace(out=str(tmp_path), resume=True, export=None)
    with pytest.raises(ValueError) as info:
        run_folder.open_run(args)
    message = str(info.value)
    assert message.startswith(f"{last} is not a whole checkpoint (")
    assert message.endswith(f"start afresh with --overwrite, or resume from the checkpoint "
                            f"before it: mv {tmp_path / run_folder.PREVIOUS} {last}")
    os.replace(tmp_path / run_folder.PREVIOUS, last)  # as the message says
    assert run_folder.open_run(args).step == 1


def test_open_run_resume_and_overwrite(tmp_path):
    def args(**kw):
        base = dict(out=str(tmp_path), resume=False, overwrite=False, jit=None, export=None)
        return argparse.Namespace(**{**base, **kw})

    with pytest.raises(FileNotFoundError, match="--resume: no checkpoint"):
        run_folder.open_run(args(resume=True))
    (tmp_path / "checkpoint.keras").write_bytes(b"x")  # an older script's layout
    with pytest.raises(FileNotFoundError, match="move an older run's .*checkpoint.keras there"):
        run_folder.open_run(args(resume=True))
    assert run_folder.open_run(args()) == Position()
    run_folder.write_config(args(seed=3))
    assert json.loads((tmp_path / "config.json").read_text())["seed"] == 3

    model = _tiny_model()
    run_folder.write_checkpoint(model, tmp_path, {"step": 8, "epoch": 2, "batch": 0, "seed": 3,
                                                  "stream": {"seed": 5, "batches": 8}})
    with pytest.raises(FileExistsError, match="--resume"):
        run_folder.open_run(args())
    assert run_folder.open_run(args(resume=True)) == Position(8, 2, 0, 5, 8)
    assert run_folder.run_seed(args(resume=True, seed=None)) == 3  # the checkpoint's
    loaded = run_folder.load_checkpoint(args(resume=True, jit=False), keras.Model)
    assert loaded.jit_compile is False
    np.testing.assert_allclose(loaded.get_weights()[0], model.get_weights()[0])
    with pytest.raises(ValueError, match="holds a Functional run, not a Sequential"):
        run_folder.load_checkpoint(args(resume=True), keras.Sequential)
    (tmp_path / run_folder.STEPS).write_text("step,epoch,d_loss\n1,0,1.0\n")
    assert run_folder.open_run(args(overwrite=True)) == Position()
    assert not any((tmp_path / name).exists()
                   for name in (run_folder.CHECKPOINT, run_folder.PREVIOUS, run_folder.STEPS))


@pytest.mark.single_backend
def test_old_checkpoints_and_new_seeds(tmp_path):
    # A run folder of an earlier version: last.json with the epochs alone.
    model = _tiny_model()
    (tmp_path / "checkpoints").mkdir()
    model.save(tmp_path / run_folder.CHECKPOINT)
    (tmp_path / run_folder.CHECKPOINT_STATE).write_text('{"epochs": 5}')
    assert run_folder.completed_epochs(tmp_path) == 5
    os.remove(tmp_path / run_folder.CHECKPOINT_STATE)
    (tmp_path / "log.csv").write_text("epoch,d_loss\n0,1.0\n1,0.5\n2,0.25\n")
    assert run_folder.completed_epochs(tmp_path) == 3
    assert run_folder.completed_epochs(tmp_path / "nothing") == 0
    # Without --seed a seed is drawn (and config.json records it).
    seeds = {run_folder.run_seed(argparse.Namespace(resume=False, seed=None)) for _ in range(3)}
    assert len(seeds) == 3 and all(0 <= s < 2**31 for s in seeds)
    assert run_folder.run_seed(argparse.Namespace(resume=False, seed=4)) == 4


@pytest.mark.single_backend
def test_export_or_tensorboard_without_tensorflow_fail_before_training(tmp_path, monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("tensorflow", "tensorboard")
                        else real_find_spec(name, *a))
    args = argparse.Namespace(out=str(tmp_path / "run"), resume=False, overwrite=False,
                              export="saved_models/x/1", tensorboard=False)
    with pytest.raises(ImportError, match=r"^--export saved_models/x/1: SavedModel export needs "
                       r"TensorFlow.*pass --no-export"):
        run_folder.open_run(args)
    args.export, args.tensorboard = None, True
    with pytest.raises(ImportError, match="^--tensorboard writes TensorFlow event files.*pip "
                       "install tensorflow tensorboard"):
        run_folder.open_run(args)
    args.tensorboard = False  # --no-export trains on
    assert run_folder.open_run(args) == Position()


@pytest.mark.single_backend
def test_trim_logs_cuts_back_to_the_checkpoint(tmp_path):
    # A run killed at step 7, whose checkpoint is at step 6 (epoch 1, batch 2 of 4).
    (tmp_path / "steps.csv").write_text("step,epoch,d_loss\n" + "".join(
        f"{s},{(s - 1) // 4},{s}.0\n" for s in range(1, 8)) + "8,1,")  # a line cut short
    (tmp_path / "log.csv").write_text("epoch,d_loss\n0,2.5\n1,6.0\n")
    rows, partial = run_folder.trim_logs(tmp_path, Position(step=6, epoch=1, batch=2))
    assert [r["epoch"] for r in rows] == ["0"]
    assert partial == {"steps": 2, "sums": {"d_loss": 11.0}}  # steps 5 and 6
    assert (tmp_path / "steps.csv").read_text().splitlines()[-1] == "6,1,6.0"
    assert (tmp_path / "log.csv").read_text().splitlines() == ["epoch,d_loss", "0,2.5"]
    # The resumed epoch's row averages the steps before the kill with those after.
    log = run_folder.EpochLog(tmp_path / "log.csv", rows, partial)
    log.set_params({"steps": 2})
    log.on_epoch_end(1, {"d_loss": 7.5})  # steps 7 and 8
    assert (tmp_path / "log.csv").read_text().splitlines() == ["epoch,d_loss", "0,2.5", "1,6.5"]


@pytest.mark.single_backend
def test_epoch_log_has_no_columns_that_are_always_empty(tmp_path):
    log = run_folder.EpochLog(tmp_path / "log.csv")
    log.on_epoch_end(0, {"g_loss": 0.5, "d_loss": 1.25})
    assert (tmp_path / "log.csv").read_text() == "epoch,d_loss,g_loss\n0,1.25,0.5\n"
    log.on_epoch_end(1, {"g_loss": 0.25, "d_loss": 1.0, "fid": 40.0})  # a late key
    assert (tmp_path / "log.csv").read_text().splitlines() == [
        "epoch,d_loss,fid,g_loss", "0,1.25,,0.5", "1,1,40,0.25"]


def test_run_callbacks_order(tmp_path):
    def args(**kw):
        return argparse.Namespace(**{"out": str(tmp_path), "resume": False, "checkpoint_every": None,
                                     "tensorboard": False, **kw})

    from keras_gans.callbacks import SampleGrid

    grid = SampleGrid(tmp_path / "samples")
    names = [type(c).__name__ for c in run_folder.run_callbacks(args(), Position(), 4, grid, 0)]
    assert names == ["LossPlot", "StopOnDivergence", "SampleGrid", "RunCheckpoint", "EpochLog"]
    names = [type(c).__name__ for c in run_folder.run_callbacks(args(tensorboard=True),
                                                                Position(), 4, grid, 0)]
    assert names[-2:] == ["TensorBoard", "TensorBoardGrids"]


@pytest.mark.single_backend
def test_skip_batches_of_a_numpy_pipeline():
    from keras_gans.data import ImageBatches

    images = np.arange(6 * 2 * 2, dtype="uint8").reshape(6, 2, 2, 1)
    stream = ImageBatches(images, None, 2, seed=1, dtype="uint8").repeat()
    assert runner.batches_per_pass(ImageBatches(images, None, 2, seed=1)) == 3
    skipped = runner.skip_batches(stream, 4)
    for i in range(3):
        np.testing.assert_array_equal(skipped[i], stream[4 + i])
    assert skipped.num_batches is None


def test_fit_verbosity():
    assert runner.fit_verbosity(0) == 0
    assert runner.fit_verbosity() == (1 if sys.stdout.isatty() else 2)


@pytest.mark.single_backend
def test_check_image_shape():
    class Gan:
        generator = keras.Sequential([keras.Input((2,)), keras.layers.Reshape((1, 1, 2))])

    run_folder.check_image_shape(Gan(), 1, 2)
    with pytest.raises(ValueError, match="makes 1x1x2 images; resume with --image-size 1 --channels 2"):
        run_folder.check_image_shape(Gan(), 28, 1)


@pytest.mark.single_backend
def test_print_outputs(capsys):
    run_folder.print_outputs(argparse.Namespace(out="runs/x", export="sm/x/1", tensorboard=True))
    out = capsys.readouterr().out
    for part in ("runs/x/samples", "runs/x/losses.png", "steps.csv", "checkpoints/last.keras",
                 "log.csv", "runs/x/config.json", "runs/x/tensorboard", "sm/x/1"):
        assert part in out
    run_folder.print_outputs(argparse.Namespace(out="runs/x", export=None), trained=False)
    out = capsys.readouterr().out
    assert "samples" not in out and "export" not in out and "runs/x/log.csv" in out
