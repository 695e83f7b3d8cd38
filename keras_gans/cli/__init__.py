"""What the training scripts in `scripts/` share, one concern per module.

| module | what | imports Keras |
|---|---|---|
| `arguments` | `ArgumentParser` (one-line errors), the flags: `add_run_args`, `add_gan_args` | no |
| `errors` | `run_main(main)`: one line and exit status 2 (3 on divergence, 130 on Ctrl-C) | no |
| `startup` | loading Keras and TensorFlow without their C++ start-up chatter | no |
| `strategies` | `strategy_scope(args)`: the devices of `--strategy`; non-chief workers | yes |
| `run_folder` | the run folder: checkpoints, resume, `log.csv`, callbacks, `find_model` | yes |
| `runner` | `train(args, build, dataset)`: the whole script after argument parsing | yes |

A script parses its arguments with the first two (so that `--help` answers
before TensorFlow loads), then imports `runner`. The names most used are
also here, loaded on first use: `cli.run_main`, `cli.ArgumentParser`,
`cli.positive_int`, `cli.find_model`, ...
"""

import importlib

_HOMES = {
    "arguments": ("ArgumentParser", "positive_int", "positive_float", "export_dir",
                  "add_run_args", "add_gan_args", "add_common_training_args", "STRATEGIES"),
    "errors": ("run_main", "one_line"),
    "run_folder": ("find_model", "completed_epochs", "check_image_shape", "print_outputs"),
    "runner": ("train", "compile_from_args", "repeat_for_steps", "fit_verbosity"),
    "strategies": ("strategy_scope", "run_dir"),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name):
    if name not in _HOME:
        raise AttributeError(f"module 'keras_gans.cli' has no attribute {name!r}")
    return getattr(importlib.import_module(f"keras_gans.cli.{_HOME[name]}"), name)
