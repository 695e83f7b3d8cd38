"""The training scripts' flags, parsed before Keras is imported.

This module imports neither Keras nor TensorFlow, so that `--help` and a bad
argument answer in a fraction of a second; the scripts import it with
`KERAS_GANS_DEFER_IMPORTS=1` (see `keras_gans/__init__.py`), then import
`keras_gans.cli.runner`, which loads the rest.

- `ArgumentParser`: argparse whose errors are one line (exit status 2).
- `add_run_args(parser, ...)`: the flags of every training script (epochs,
  batches, run folder, checkpoints, resume, export, devices, ...).
- `add_gan_args(parser, ...)`: the optimizer, loss and steps flags of the
  GAN scripts, with each script's defaults (WGAN: `optimizer="rmsprop",
  lr=5e-5, d_steps=5`; SAGAN: `d_lr=4e-4, g_lr=1e-4, beta1=0.0, beta2=0.9`).
"""

import argparse
import os

#: `--strategy` choices: the names of every backend's strategies. A name of
#: another backend than the current one fails in `strategies.strategy_scope`,
#: saying which. The same names as `keras_gans.distribute.STRATEGIES`, which
#: imports Keras (tests/test_cli.py keeps the two equal).
STRATEGIES = ("none", "mirrored", "multi_worker", "tpu", "data_parallel")


class ArgumentParser(argparse.ArgumentParser):
    """`argparse.ArgumentParser` whose errors are one line (exit status 2),
    and which runs the checks of `add_check` after parsing.

    Example:

    ```python
    parser = ArgumentParser(prog="train.py")
    add_run_args(parser, out="runs/x", export=None)
    args = parser.parse_args()
    ```
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._checks = []

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")

    def add_check(self, check):
        """Run `check(parser, args)` on parsed arguments: it may fill in
        derived values, and calls `parser.error` on a bad combination."""
        self._checks.append(check)

    def parse_args(self, args=None, namespace=None):
        parsed = super().parse_args(args, namespace)
        for check in self._checks:
            check(self, parsed)
        return parsed


def _number(text, convert, kind, accept):
    try:
        value = convert(text)
    except ValueError:
        value = None
    if value is None or not accept(value):
        raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}")
    return value


def positive_int(text):
    """argparse type: an int >= 1."""
    return _number(text, int, "a positive integer", lambda v: v >= 1)


def positive_float(text):
    """argparse type: a float > 0."""
    return _number(text, float, "a positive number", lambda v: v > 0)


def beta(text):
    """argparse type: an Adam beta, a float in [0, 1)."""
    return _number(text, float, "a number in [0, 1)", lambda v: 0 <= v < 1)


def export_dir(text):
    """argparse type: a TF Serving version folder `<base>/<model>/<int>`,
    checked before training rather than after it."""
    version = os.path.basename(os.path.normpath(text))
    if not version.isdigit():
        raise argparse.ArgumentTypeError(
            f"{text!r} must end in an integer version folder (TF Serving's "
            f"<model>/<version>/ layout), e.g. {os.path.join(text, '1')!r}"
        )
    return text


def add_run_args(parser, *, out, export, epochs=50, batch_size=64, seed=None):
    """Add the flags of a run folder, the data and the devices, which every
    training script shares; the keyword arguments are the script's
    defaults (`export=None`: no export unless --export is given)."""
    add = parser.add_argument
    n, d = {"type": positive_int, "metavar": "N"}, {"metavar": "DIR"}
    add("--epochs", default=epochs, **n,
        help=f"total epochs; --resume trains up to this count (default {epochs})")
    add("--batch-size", default=batch_size, **n,
        help=f"images per batch over all devices: the global batch, split evenly across "
        f"the devices of --strategy (default {batch_size})")
    add("--steps-per-epoch", default=None, **n,
        help="batches per epoch, repeating the data as needed (default: one pass)")
    add("--seed", type=int, default=seed, metavar="INT",
        help="seed of weights, noise, data order and flips "
        + ("(default: one is drawn and recorded in config.json)" if seed is None
           else f"(default {seed})"))
    add("--out", default=out, **d,
        help="run folder: samples/, losses.png, steps.csv, log.csv, checkpoints/, "
        f"config.json (default {out})")
    add("--checkpoint-every", default=None, **n,
        help="write checkpoints/last.keras every N steps (default: after every epoch); "
        "also at least every 30 minutes, and at the end")
    add("--resume", action="store_true",
        help="continue the run in --out from checkpoints/last.keras (weights, optimizer "
        "state, noise, and the place in the data, mid-epoch too)")
    add("--overwrite", action="store_true", help="start afresh in an --out that holds a run")
    add("--export", type=export_dir, default=export, **d,
        help="write a TF Serving SavedModel <model>/<version> after training "
        + (f"(default {export})" if export else "(default: no export)"))
    add("--no-export", dest="export", action="store_const", const=None, help="skip the export")
    add("--tensorboard", action="store_true",
        help="also write TensorBoard logs and the sample grids to --out/tensorboard "
        "(needs TensorFlow, with any backend)")
    add("--jit", action=argparse.BooleanOptionalAction, default=None,
        help="XLA-compile the train step (default: compile's 'auto': on with JAX, on with "
        "TensorFlow when a GPU is visible and no --strategy is given)")
    add("--strategy", choices=STRATEGIES, default="none", metavar="NAME",
        help="devices to train on: none (one device); mirrored (all local GPUs), "
        "multi_worker (a cluster described by TF_CONFIG) or tpu with "
        "KERAS_BACKEND=tensorflow; data_parallel (all devices) with KERAS_BACKEND=jax "
        "(default none)")
    add("--verbose", type=int, choices=(0, 1, 2), default=None,
        help="Keras fit verbosity (default: a progress bar on a terminal, else 2: one "
        "line per epoch)")
    add("--data-dir", default=None, **d,
        help="TensorFlow Datasets directory (default ~/tensorflow_datasets)")
    return parser


def add_gan_args(
    parser,
    *,
    optimizer="adam",
    lr=2e-4,
    d_lr=None,
    g_lr=None,
    beta1=0.5,
    beta2=0.999,
    d_steps=1,
    g_steps=1,
    loss="non_saturating",
    losses=("minimax", "non_saturating", "least_squares", "hinge"),
):
    """Add the optimizer, loss and steps flags (`runner.compile_from_args`
    reads them). The keyword arguments are the script's defaults;
    `d_lr`/`g_lr` default to `lr`. After parsing, `args.d_lr` and
    `args.g_lr` hold each network's rate (`--d-lr`/`--g-lr`, else `--lr`,
    else the script's), `args.lr_given` whether any of these flags was
    given, and `args.beta1`, `args.beta2` Adam's betas (None for RMSprop,
    which has none), `args.betas_given` which of the two was given."""
    add = parser.add_argument
    n = {"type": positive_int, "metavar": "N"}
    d_lr, g_lr = d_lr or lr, g_lr or lr
    rates = f"{lr:g}" if d_lr == g_lr == lr else f"D {d_lr:g}, G {g_lr:g}"
    add("--optimizer", choices=("adam", "rmsprop"), default=optimizer,
        help=f"optimizer of both networks (default {optimizer})")
    add("--lr", type=positive_float, default=None, metavar="LR",
        help=f"learning rate of both networks (default {rates})")
    add("--d-lr", type=positive_float, default=None, metavar="LR",
        help=f"the discriminator's learning rate, overriding --lr (default {d_lr:g})")
    add("--g-lr", type=positive_float, default=None, metavar="LR",
        help=f"the generator's learning rate, overriding --lr (default {g_lr:g})")
    add("--beta1", type=beta, default=None, help=f"Adam beta_1 (default {beta1:g})")
    add("--beta2", type=beta, default=None, help=f"Adam beta_2 (default {beta2:g})")
    add("--d-steps", default=d_steps, **n,
        help=f"discriminator updates per batch (default {d_steps})")
    add("--g-steps", default=g_steps, **n, help=f"generator updates per batch (default {g_steps})")
    add("--loss", choices=list(losses), default=loss, help=f"GAN loss (default {loss})")

    def resolve(parser, args):
        if args.optimizer != "adam" and (args.beta1 is not None or args.beta2 is not None):
            parser.error(f"--beta1 and --beta2 are Adam's; --optimizer {args.optimizer} has none")
        # Betas not given keep the model's own (StyleGAN2's lazy-R1 beta_2).
        args.betas_given = (args.beta1 is not None, args.beta2 is not None)
        if args.optimizer == "adam":
            args.beta1 = beta1 if args.beta1 is None else args.beta1
            args.beta2 = beta2 if args.beta2 is None else args.beta2
        # On --resume, rates given on the command line replace the checkpoint's.
        args.lr_given = any(v is not None for v in (args.lr, args.d_lr, args.g_lr))
        args.d_lr = args.d_lr or args.lr or d_lr
        args.g_lr = args.g_lr or args.lr or g_lr

    parser.add_check(resolve)
    return parser


def add_common_training_args(parser, *, out, export, epochs=50, batch_size=64, seed=None,
                             **gan_args):
    """Add the flags the GAN training scripts share: `add_run_args` and
    `add_gan_args` (whose keyword arguments `gan_args` takes).

    Example:

    ```python
    p = ArgumentParser(prog="train_wgan.py")
    add_common_training_args(p, out="runs/wgan", export=None, optimizer="rmsprop",
                             lr=5e-5, d_steps=5, loss="wasserstein", losses=("wasserstein",))
    ```
    """
    add_run_args(parser, out=out, export=export, epochs=epochs, batch_size=batch_size, seed=seed)
    return add_gan_args(parser, **gan_args)
