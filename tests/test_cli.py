"""keras_gans.cli: one-line errors, run folders, resume bookkeeping (in-process)."""

import argparse
import json
import os
import sys

import keras
import numpy as np
import pytest

from keras_gans import cli
from keras_gans import data as gan_data


def _exit_code(fn, *args):
    with pytest.raises(SystemExit) as info:
        fn(*args)
    return info.value.code


# -- argument parsing ---------------------------------------------------------


def test_parser_error_is_one_line(capsys):
    p = cli.ArgumentParser(prog="x.py")
    p.add_argument("--n", type=cli.positive_int, default=1)
    assert _exit_code(p.parse_args, ["--n", "abc"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("x.py: error: argument --n:") and "'abc'" in err


@pytest.mark.parametrize("text", ["0", "-3", "1.5", "abc"])
def test_positive_int_rejects(text):
    with pytest.raises(argparse.ArgumentTypeError):
        cli.positive_int(text)


def test_positive_float_and_export_dir():
    assert cli.positive_float("2e-4") == 2e-4
    with pytest.raises(argparse.ArgumentTypeError):
        cli.positive_float("0")
    assert cli.export_dir("saved_models/m/12") == "saved_models/m/12"
    assert cli.export_dir("saved_models/m/3/") == "saved_models/m/3/"
    with pytest.raises(argparse.ArgumentTypeError, match="integer version"):
        cli.export_dir("saved_models/m")


def test_common_training_args_defaults():
    p = cli.add_common_training_args(
        cli.ArgumentParser(), out="runs/x", export="sm/x/1", epochs=7, g_steps=2
    )
    args = p.parse_args([])
    assert (args.epochs, args.g_steps, args.d_steps, args.batch_size) == (7, 2, 1, 64)
    assert (args.out, args.export, args.jit, args.resume) == ("runs/x", "sm/x/1", None, False)
    assert p.parse_args(["--no-export"]).export is None
    assert p.parse_args(["--no-jit"]).jit is False
    assert (args.strategy, args.verbose, args.seed) == ("none", None, None)


def test_run_args_without_export_and_strategy_choices(capsys):
    p = cli.add_run_args(cli.ArgumentParser(prog="x.py"), out="runs/y", export=None, seed=0)
    args = p.parse_args([])
    assert (args.export, args.seed, args.strategy) == (None, 0, "none")
    assert p.parse_args(["--export", "sm/y/2"]).export == "sm/y/2"
    assert "(default: no export)" in " ".join(p.format_help().split())
    assert not any(o in p.format_help() for o in ("--loss", "--d-steps", "--lr"))
    # Every backend's names parse; strategy_scope checks them against the backend.
    for name in ("none", "mirrored", "multi_worker", "tpu", "data_parallel"):
        assert p.parse_args(["--strategy", name]).strategy == name
    assert _exit_code(p.parse_args, ["--strategy", "horovod"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "argument --strategy: invalid choice: 'horovod'" in err


# -- run_main -----------------------------------------------------------------


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

    assert _exit_code(cli.run_main, main, [], "prog.py") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("prog.py: error: ")
    assert " ".join(str(error).split()) in err


def test_run_main_traceback_env_reraises(monkeypatch):
    monkeypatch.setenv("KERAS_GANS_TRACEBACK", "1")

    def main(argv):
        raise ValueError("x")

    with pytest.raises(ValueError):
        cli.run_main(main, [])


def test_run_main_unexpected_error_propagates():
    def main(argv):
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        cli.run_main(main, [])


def _run_args(**kw):
    return argparse.Namespace(**{"strategy": "none", "batch_size": 8, **kw})


def test_strategy_scope(capsys):
    with cli.strategy_scope(_run_args()):
        pass
    assert capsys.readouterr().out == ""
    backend = keras.backend.backend()
    wrong = "mirrored" if backend == "jax" else "data_parallel"
    with pytest.raises(ValueError, match=f"Strategy '{wrong}' needs KERAS_BACKEND="):
        cli.strategy_scope(_run_args(strategy=wrong))


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="tf.distribute")
def test_strategy_scope_mirrored(capsys):
    import tensorflow as tf

    with cli.strategy_scope(_run_args(strategy="mirrored", batch_size=8)):
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

    monkeypatch.setattr(cli.distribute, "get_strategy", lambda name: TwoDevices())
    with pytest.raises(ValueError, match="--batch-size 7 is the global batch.*multiple of 2"):
        cli.strategy_scope(_run_args(strategy="mirrored", batch_size=7))


def test_run_main_interrupt_and_status(capsys):
    def interrupted(argv):
        raise KeyboardInterrupt("continue with --resume")

    assert _exit_code(cli.run_main, interrupted, [], "p") == 130
    assert capsys.readouterr().err == "p: interrupted: continue with --resume\n"
    assert _exit_code(cli.run_main, lambda argv: None, []) == 0
    assert _exit_code(cli.run_main, lambda argv: 3, []) == 3


# -- models and run folders -----------------------------------------------------


def _tiny_model():
    inputs = keras.Input((2,))
    return keras.Model(inputs, keras.layers.Dense(1)(inputs))


def test_find_model(tmp_path):
    with pytest.raises(FileNotFoundError):
        cli.find_model(tmp_path / "nope")
    (tmp_path / "m.h5").write_bytes(b"x")
    with pytest.raises(ValueError, match="not a .keras"):
        cli.find_model(tmp_path / "m.h5")
    (tmp_path / "m.keras").write_bytes(b"x")
    assert cli.find_model(tmp_path / "m.keras") == ("keras", str(tmp_path / "m.keras"))
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.keras").write_bytes(b"x")
    assert cli.find_model(run) == ("keras", os.path.join(run, "checkpoints", "last.keras"))
    for version in ("1", "10", "9"):
        (tmp_path / "sm" / version).mkdir(parents=True)
        (tmp_path / "sm" / version / "saved_model.pb").write_bytes(b"x")
    assert cli.find_model(tmp_path / "sm") == ("savedmodel", os.path.join(tmp_path / "sm", "10"))
    assert cli.find_model(tmp_path / "sm" / "9") == ("savedmodel", str(tmp_path / "sm" / "9"))
    with pytest.raises(ValueError, match="neither"):
        cli.find_model(tmp_path / "run" / "checkpoints")


def test_last_checkpoint_and_completed_epochs(tmp_path):
    model = _tiny_model()
    cb = cli.LastCheckpoint(tmp_path / "checkpoints" / "last.keras")
    cb.set_model(model)
    cb.on_epoch_end(4)
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["last.json", "last.keras"]
    assert json.loads((tmp_path / "checkpoints" / "last.json").read_text()) == {"epochs": 5}
    assert cli.completed_epochs(tmp_path) == 5
    # Without the .json, the CSV log's epochs count.
    os.remove(tmp_path / "checkpoints" / "last.json")
    (tmp_path / "log.csv").write_text("epoch,d_loss\n0,1.0\n1,0.5\n2,0.25\n")
    assert cli.completed_epochs(tmp_path) == 3
    os.remove(tmp_path / "log.csv")
    assert cli.completed_epochs(tmp_path) == 0


def test_resume_or_build(tmp_path):
    def args(**kw):
        base = dict(out=str(tmp_path), resume=False, overwrite=False, jit=None)
        return argparse.Namespace(**{**base, **kw})

    built = []

    def build():
        built.append(_tiny_model())
        return built[-1]

    with pytest.raises(FileNotFoundError, match="--resume: no checkpoint"):
        cli.resume_or_build(args(resume=True), build)
    (tmp_path / "checkpoint.keras").write_bytes(b"x")  # an older script's layout
    with pytest.raises(FileNotFoundError, match="move an older run's .*checkpoint.keras there"):
        cli.resume_or_build(args(resume=True), build)
    model, epoch = cli.resume_or_build(args(), build)
    assert model is built[-1] and epoch == 0
    assert json.loads((tmp_path / "config.json").read_text()) == {
        "out": str(tmp_path), "resume": False, "overwrite": False, "jit": None
    }

    cb = cli.LastCheckpoint(tmp_path / cli.CHECKPOINT)
    cb.set_model(model)
    cb.on_epoch_end(1)
    with pytest.raises(FileExistsError, match="--resume"):
        cli.resume_or_build(args(), build)
    loaded, epoch = cli.resume_or_build(args(resume=True, jit=False), build, keras.Model)
    assert epoch == 2 and len(built) == 1 and loaded.jit_compile is False
    with pytest.raises(ValueError, match="holds a Functional run, not a Sequential"):
        cli.resume_or_build(args(resume=True), build, keras.Sequential)
    np.testing.assert_allclose(loaded.get_weights()[0], model.get_weights()[0])
    fresh, epoch = cli.resume_or_build(args(overwrite=True), build)
    assert fresh is built[-1] and epoch == 0
    assert not os.path.exists(tmp_path / cli.CHECKPOINT)


def test_export_without_tensorflow_fails_before_training(tmp_path, monkeypatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tensorflow" else real_find_spec(name, *a))
    built = []
    args = argparse.Namespace(out=str(tmp_path / "run"), resume=False, overwrite=False, jit=None,
                              export="saved_models/x/1")
    with pytest.raises(ImportError, match=r"^--export saved_models/x/1: SavedModel export needs "
                       r"TensorFlow.*pass --no-export"):
        cli.resume_or_build(args, lambda: built.append(1))
    assert not built and not (tmp_path / "run").exists()  # refused before building
    args.export = None  # --no-export trains on
    cli.resume_or_build(args, lambda: built.append(1))
    assert built == [1]


def test_training_callbacks_resume_continues_log_and_plot(tmp_path):
    (tmp_path / "log.csv").write_text(
        "epoch,d_loss,g_loss,val_d_loss\n0,1.5,0.5,NA\n1,1.25,0.75,NA\n2,nan,0.5,NA\n"
    )
    callbacks = cli.training_callbacks(tmp_path, resume=True)
    names = [type(c).__name__ for c in callbacks]
    assert names == ["SampleGrid", "LossPlot", "LastCheckpoint", "CSVLogger"]
    plot, csv_logger = callbacks[1], callbacks[3]
    # A NaN loss keeps its place: the curves stay aligned with their epochs.
    assert plot.epochs == [1, 2, 3] and set(plot.history) == {"d_loss", "g_loss"}
    np.testing.assert_array_equal(plot.history["d_loss"], [1.5, 1.25, np.nan])
    assert plot.history["g_loss"] == [0.5, 0.75, 0.5]
    assert csv_logger.append is True
    assert cli.training_callbacks(tmp_path / "new")[3].append is False
    grid = keras.callbacks.Callback()
    assert cli.training_callbacks(tmp_path, samples=grid)[0] is grid


def test_fit_verbosity():
    assert cli.fit_verbosity(0) == 0
    assert cli.fit_verbosity() == (1 if sys.stdout.isatty() else 2)


def test_check_image_shape():
    class Gan:
        generator = keras.Sequential([keras.Input((2,)), keras.layers.Reshape((1, 1, 2))])

    cli.check_image_shape(Gan(), 1, 2)
    with pytest.raises(ValueError, match="makes 1x1x2 images; resume with --image-size 1 --channels 2"):
        cli.check_image_shape(Gan(), 28, 1)


def test_print_outputs(capsys):
    cli.print_outputs(argparse.Namespace(out="runs/x", export="sm/x/1"))
    out = capsys.readouterr().out
    for part in ("runs/x/samples", "runs/x/losses.png", "checkpoints/last.keras", "log.csv",
                 "runs/x/config.json", "sm/x/1"):
        assert part in out
    cli.print_outputs(argparse.Namespace(out="runs/x", export=None), trained=False)
    out = capsys.readouterr().out
    assert "samples" not in out and "export" not in out and "runs/x/log.csv" in out


def test_a_worker_that_is_not_the_chief_writes_to_scratch(capsys):
    args = argparse.Namespace(out="runs/x", export="sm/x/1", resume=True)
    scratch = cli.discard_worker_outputs(args)
    assert os.path.isdir(scratch)
    assert args.out == os.path.join(scratch, "run") and args.export == os.path.join(scratch, "export")
    assert cli.run_dir(args) == "runs/x"  # It resumes from the chief's run folder.
    capsys.readouterr()
    cli.print_outputs(args)
    assert capsys.readouterr().out.strip() == "Outputs: written by the chief worker to runs/x"
