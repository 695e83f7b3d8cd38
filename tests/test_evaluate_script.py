"""scripts/evaluate.py, run in process on a tiny generator and tiny data."""

import importlib.util
import json
import pathlib

import keras
import numpy as np
import pytest
from PIL import Image

import keras_gans as kg
from keras_gans import cli

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_script():
    spec = importlib.util.spec_from_file_location("evaluate_script", ROOT / "scripts" / "evaluate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


evaluate_script = load_script()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A tiny DCGAN .keras, a tiny classifier .keras, an .npz and a folder."""
    root = tmp_path_factory.mktemp("evaluate")
    keras.utils.set_random_seed(0)
    gan = kg.DCGAN(image_size=16, channels=1, latent_dim=8, generator_width=4, discriminator_width=4, seed=0)
    gan.save(root / "gan.keras")
    classifier = keras.Sequential(
        [
            keras.Input((16, 16, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(name="features"),
            keras.layers.Dense(3, name="logits"),
        ]
    )
    classifier.save(root / "clf.keras")
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (48, 16, 16)).astype("uint8")
    np.savez(root / "data.npz", x_train=x, x_test=x[:20])
    folder = root / "images" / "a"
    folder.mkdir(parents=True)
    for i in range(12):
        Image.fromarray(x[i]).resize((24, 24)).save(folder / f"{i}.png")
    return root


def run(files, *extra, out="results.json"):
    argv = [
        "--generator", str(files / "gan.keras"), "--data", str(files / "data.npz"),
        "--extractor", str(files / "clf.keras"), "--num-samples", "24", "--batch-size", "8",
        "--cache-dir", str(files / "cache"), "--out", str(files / out), *extra,
    ]
    assert evaluate_script.main(argv) == 0
    with open(files / out) as f:
        return json.load(f)


def test_all_metrics_table_and_json(files, capsys):
    report = run(files)
    table = capsys.readouterr().out
    for label in ("FID", "KID", "IS", "precision", "recall"):
        assert label in table
    metrics = report["metrics"]
    assert set(metrics) == {"fid", "kid", "kid_std", "is", "is_std", "precision", "recall"}
    assert all(np.isfinite(v) for v in metrics.values())
    assert metrics["fid"] >= 0 and 1.0 <= metrics["is"] <= 3.0 and 0 <= metrics["precision"] <= 1
    assert report["layer"] == "features" and report["logits_layer"] == "logits"
    assert report["num_samples"] == 24 and report["seed"] == 0
    assert list((files / "cache").glob("real_stats_*.npz"))
    # Seeded: the same command gives the same numbers (real stats from the cache).
    assert run(files, out="again.json")["metrics"] == pytest.approx(metrics)
    assert run(files, "--seed", "1", out="seed1.json")["metrics"]["fid"] != metrics["fid"]


def test_metric_subset_split_and_folder(files):
    report = run(files, "--metrics", "fid,kid", "--split", "test", out="subset.json")
    assert set(report["metrics"]) == {"fid", "kid", "kid_std"}
    folder = run(files, "--metrics", "fid", "--data", str(files / "images"), out="folder.json")
    assert np.isfinite(folder["metrics"]["fid"])


def test_conditional_keras_generator(files):
    cgan = pytest.importorskip("keras_gans.models.cgan")
    gan = cgan.ConditionalGAN(num_classes=3, image_size=16, channels=1, latent_dim=8,
                              generator_width=4, discriminator_width=4, seed=0)
    gan.save(files / "cgan.keras")
    report = run(files, "--generator", str(files / "cgan.keras"), "--metrics", "fid,is", out="cgan.json")
    assert "3 classes" in report["generator_kind"] and np.isfinite(report["metrics"]["is"])


@pytest.mark.single_backend
def test_saved_model_generator_uses_sample_signature(files):
    gan = keras.models.load_model(files / "gan.keras", compile=False)
    export = kg.export.export_generator(gan, str(files / "export" / "1"))
    report = run(files, "--generator", str(files / "export"), "--metrics", "fid,kid", out="sm.json")
    assert report["generator_kind"] == "SavedModel" and report["generator"] == export
    assert np.isfinite(report["metrics"]["fid"])
    with pytest.raises(ValueError, match="not conditional"):
        evaluate_script.main(["--generator", export, "--data", str(files / "data.npz"),
                              "--extractor", str(files / "clf.keras"), "--num-classes", "3"])


def one_line_error(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        cli.run_main(evaluate_script.main, argv, prog="evaluate.py")
    assert exit_info.value.code == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("evaluate.py")]
    assert len(err) == 1
    return err[0]


def test_missing_files_are_one_line_errors(files, capsys, monkeypatch):
    monkeypatch.delenv("KERAS_GANS_TRACEBACK", raising=False)
    base = ["--data", str(files / "data.npz"), "--extractor", str(files / "clf.keras")]
    line = one_line_error(capsys, ["--generator", str(files / "nope.keras"), *base])
    assert "nope.keras" in line
    line = one_line_error(capsys, ["--generator", str(files / "gan.keras"), "--data", str(files / "no.npz"),
                                   "--extractor", str(files / "clf.keras")])
    assert "no.npz" in line
    line = one_line_error(capsys, ["--generator", str(files / "gan.keras"), "--data", str(files / "data.npz"),
                                   "--extractor", str(files / "missing.keras")])
    assert "missing.keras" in line
    line = one_line_error(capsys, ["--generator", str(files / "gan.keras"), *base, "--split", "val"])
    assert "x_val" in line


def test_offline_inception_says_to_pass_extractor(files, capsys, monkeypatch):
    monkeypatch.delenv("KERAS_GANS_TRACEBACK", raising=False)

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: no network")

    monkeypatch.setattr(keras.utils, "get_file", offline)
    line = one_line_error(capsys, ["--generator", str(files / "gan.keras"), "--data", str(files / "data.npz")])
    # The whole fix survives the one-line cut: both ways out, and the file to fetch.
    assert "no network" in line and line.endswith("such as evaluators/mnist.keras")
    assert "download inception_v3_weights_tf_dim_ordering_tf_kernels.h5 elsewhere" in line
    assert "--inception-weights PATH" in line and "--extractor PATH.keras" in line


def test_inception_weights_errors_name_the_file(files, capsys, monkeypatch):
    monkeypatch.delenv("KERAS_GANS_TRACEBACK", raising=False)
    base = ["--generator", str(files / "gan.keras"), "--data", str(files / "data.npz")]
    missing = files / "nowhere" / "inception.h5"
    line = one_line_error(capsys, [*base, "--inception-weights", str(missing)])
    assert line == f"evaluate.py: error: --inception-weights: no such file: {missing}"
    (files / "bogus.h5").write_text("not HDF5")
    line = one_line_error(capsys, [*base, "--inception-weights", str(files / "bogus.h5"),
                                   "--extractor", str(files / "clf.keras")])
    assert "applies to --extractor inception, not" in line
    # A file that is no InceptionV3 weights (the network is built, ~3 s, then fails to load).
    line = one_line_error(capsys, [*base, "--inception-weights", str(files / "bogus.h5"),
                                   "--metrics", "fid"])
    assert line.startswith(f"evaluate.py: error: --inception-weights {files / 'bogus.h5'} does not "
                           "load into InceptionV3")
    assert line.endswith("pass inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5")


def test_data_dir_reaches_tfds(files, monkeypatch):
    seen = {}

    def image_dataset(source, **kwargs):
        seen.update(kwargs, source=source)
        raise ValueError("stop here")

    monkeypatch.setattr(kg.data, "image_dataset", image_dataset)
    with pytest.raises(ValueError, match="stop here"):
        evaluate_script.main(["--generator", str(files / "gan.keras"), "--data", "mnist",
                              "--data-dir", str(files / "tfds"), "--extractor", str(files / "clf.keras")])
    assert seen["source"] == "mnist" and seen["data_dir"] == str(files / "tfds")


def test_bad_metric_is_an_argument_error(files, capsys):
    with pytest.raises(SystemExit) as exit_info:
        evaluate_script.main(["--generator", "x", "--data", "y", "--metrics", "fid,bogus"])
    assert exit_info.value.code == 2
    assert "bogus" in capsys.readouterr().err
