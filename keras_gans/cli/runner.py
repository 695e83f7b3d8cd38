"""The training runner every training script shares: `train(args, build, dataset)`.

The sequence: seed -> `--strategy` scope -> the run folder checked (a
resume's checkpoint read) -> the data -> the model built or resumed -> `fit`
with the run folder's callbacks -> export -> where the files went. A
family's script holds only its arguments, its builder and its dataset (see
`train`'s example).

Importing this module loads Keras, TensorFlow and every keras_gans module,
without TensorFlow's C++ start-up chatter (`startup.import_library`).

Data order and resuming. Training reads a *stream*: the family's dataset
built with a seed, repeated; its batches come in the same order whenever
it is built again with that seed (in a fresh process: tf.data's shuffle
and flips are seeded, and Keras' global seed is set from the run's seed).
A run starts a stream at its first epoch, seeded `seed + epoch`, and a new
one at the end of every epoch in which a checkpoint was written mid-epoch.
Each checkpoint records its stream and how many of its batches were read,
so `--resume` rebuilds that stream and skips exactly the batches the
checkpoint has trained (at most about one epoch's, with mid-epoch
checkpoints; none at an epoch's end), trains the rest of the epoch, and
then goes on with new streams.
"""

import os
import sys

from keras_gans.cli import startup

startup.import_library()  # Before Keras: without TensorFlow's start-up chatter.

import keras  # noqa: E402

from keras_gans import callbacks as gan_callbacks  # noqa: E402
from keras_gans import data as gan_data  # noqa: E402
from keras_gans import export as gan_export  # noqa: E402
from keras_gans.callbacks import SampleGrid  # noqa: E402
from keras_gans.cli import run_folder  # noqa: E402
from keras_gans.cli.strategies import run_dir, strategy_scope  # noqa: E402


# -- optimizers ------------------------------------------------------------------


def optimizer_from_args(args, learning_rate, name, default=None):
    """`--optimizer` (Adam with `--beta1`, `--beta2`, or RMSprop) at
    `learning_rate`, named `name` (Keras logs each rate by its name).

    When `default` (the model's own optimizer for `name`) is of that kind,
    it is the starting point: the flags set its rate (and betas), and the
    rest of the family's setting (WGAN's RMSprop rho and epsilon) stays."""
    kinds = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}
    options = {"learning_rate": learning_rate, "name": name}
    kind = kinds[args.optimizer]
    # isinstance: on PyTorch, keras.optimizers.Adam() is a torch subclass of it.
    keep = isinstance(default, kind)
    if args.optimizer == "adam":
        # A beta not given keeps the model's own where it has an Adam
        # (StyleGAN2 raises beta_2 to k / (k + 1) with lazy regularization).
        given = getattr(args, "betas_given", (True, True))
        for key, value, was_given in (("beta_1", args.beta1, given[0]),
                                      ("beta_2", args.beta2, given[1])):
            if was_given or not keep:
                options[key] = value
    if keep:
        return kind.from_config({**default.get_config(), **options})
    return kind(**options)


def compile_from_args(gan, args, **options):
    """`gan.compile` with the flags of `arguments.add_gan_args`: an
    optimizer per network (`--optimizer` at `--d-lr`/`--g-lr`), `--loss`,
    `--d-steps`, `--g-steps` and `--jit`, and any other `compile`
    `options` of the family (`penalties=...`). Returns `gan`.

    Example:

    ```python
    def build():
        return compile_from_args(kg.DCGAN(image_size=64, seed=args.seed), args)
    ```
    """
    gan.compile(
        d_optimizer=optimizer_from_args(args, args.d_lr, "d_optimizer",
                                        gan.default_optimizer("d_optimizer")),
        g_optimizer=optimizer_from_args(args, args.g_lr, "g_optimizer",
                                        gan.default_optimizer("g_optimizer")),
        loss=args.loss,
        d_steps=args.d_steps,
        g_steps=args.g_steps,
        jit_compile="auto" if args.jit is None else args.jit,
        **options,
    )
    return gan


def resume_learning_rates(gan, args):
    """On `--resume`, set the rates given as `--lr`, `--d-lr` or `--g-lr`
    (a checkpoint otherwise keeps its own: e.g. to go on from the last
    good checkpoint of a diverged run at a lower rate)."""
    if getattr(args, "lr_given", False):
        gan.d_optimizer.learning_rate = args.d_lr
        gan.g_optimizer.learning_rate = args.g_lr
        print(f"Learning rates from the command line: D {args.d_lr:g}, G {args.g_lr:g}.")


# -- data --------------------------------------------------------------------------


def fit_verbosity(verbose=None):
    """`verbose`, or by default progress bars on a terminal and one line
    per epoch in logs (CI, files)."""
    if verbose is not None:
        return verbose
    return 1 if sys.stdout.isatty() else 2


def repeat_for_steps(dataset, steps_per_epoch=True):
    """Repeat a finite dataset (when `steps_per_epoch` is set), so that
    `fit` never runs out of batches. A closing `prefetch_to_device` stage
    stays last: the repeat goes before it, as tf.data requires."""
    return gan_data.repeat(dataset) if steps_per_epoch else dataset


def batches_per_pass(dataset):
    """The batches of one pass over `dataset` (a `tf.data.Dataset` or a
    `keras.utils.PyDataset`); a ValueError when it cannot tell."""
    count = len(dataset) if hasattr(dataset, "__getitem__") else int(dataset.cardinality())
    if count < 1:
        raise ValueError("could not count the batches per epoch; pass --steps-per-epoch")
    return count


class _SkippedBatches(keras.utils.PyDataset):
    """An endless `PyDataset` from its batch `skip` on."""

    def __init__(self, batches, skip):
        super().__init__(workers=batches.workers, use_multiprocessing=False)
        self.batches, self.skip = batches, skip

    @property
    def num_batches(self):
        return None

    def __getitem__(self, index):
        return self.batches[index + self.skip]


def skip_batches(stream, count):
    """`stream` (repeated) from its batch `count` on."""
    if not count:
        return stream
    if hasattr(stream, "skip"):  # tf.data
        return stream.skip(count)
    return _SkippedBatches(stream, count)


# -- the runner -------------------------------------------------------------------


def train(args, build, dataset, *, model_class=None, on_resume=None, samples=None,
          num_samples=64, export=None):
    """Train a model into the run folder of `args`: the whole script after
    its argument parsing.

    In order: the run's seed (`--seed`, the checkpoint's on `--resume`, or
    a new one; `args.seed` is set to it) seeds Keras; inside the
    `--strategy` scope the run folder is checked (a new run needs an empty
    `--out` or `--overwrite`; `--resume` loads its checkpoint); the first
    data stream is built, and `args.steps_per_epoch` set to one pass of it
    unless given; then a new model is built (and config.json written), or
    the resumed one given to `on_resume`; it is trained
    up to `args.epochs` epochs with the run folder's callbacks; then
    exported to `args.export`, if set; and the outputs are printed.

    Args:
        args: the parsed flags of `arguments.add_run_args` (and of
            `add_gan_args`, for `compile_from_args`).
        build: `build()` returns a new, compiled model; it may read
            `args.seed` and `args.steps_per_epoch`.
        dataset: `dataset(seed)` returns one pass of training batches (a
            `tf.data.Dataset` or `PyDataset`), shuffled and augmented by
            `seed`: the same seed, the same batches.
        model_class: refuse a checkpoint that holds another class.
        on_resume: `on_resume(model)` after loading a checkpoint: check it
            fits the flags (a one-line ValueError), adjust it.
        samples: `samples(directory)` returns the grid callback writing to
            `directory`; default `SampleGrid(directory, 1, num_samples)`.
        num_samples: images in the default grid.
        export: `export(model, path)` writes `args.export`; default
            `keras_gans.export.export_generator`.

    Returns:
        The trained (or, when it had trained `args.epochs` already, the
        loaded) model.

    Raises:
        DivergenceError: a loss or weight became NaN or infinite; the
            message says where, and how to go on (`run_main`: exit 3).

    Example (a whole training script, imports aside):

    ```python
    def build_parser():
        p = arguments.ArgumentParser(prog="train_wgan.py")
        p.add_argument("--data", default="mnist")
        arguments.add_common_training_args(
            p, out="runs/wgan", export=None, optimizer="rmsprop", lr=5e-5, d_steps=5,
            loss="wasserstein", losses=("wasserstein",))
        return p

    def main(argv=None):
        args = build_parser().parse_args(argv)
        from keras_gans.cli import runner
        import keras_gans as kg

        def build():
            return runner.compile_from_args(kg.WGAN(image_size=28, channels=1, seed=args.seed), args)

        def dataset(seed):
            return kg.data.image_dataset(args.data, image_size=28, channels=1,
                                         batch_size=args.batch_size, seed=seed)

        runner.train(args, build, dataset, model_class=kg.WGAN)

    if __name__ == "__main__":
        errors.run_main(main)
    ```
    """
    args.seed = run_folder.run_seed(args)
    keras.utils.set_random_seed(args.seed)
    with strategy_scope(args):
        position = run_folder.open_run(args)
        model = run_folder.load_checkpoint(args, model_class) if args.resume else None
        done = position.epoch >= args.epochs
        if done:
            print(f"{run_dir(args)} has trained {position.epoch} epochs already; raise "
                  "--epochs to continue.")
        else:
            resumed = position.batch > 0  # mid-epoch: the checkpoint's stream
            stream_seed = position.stream_seed if resumed else args.seed + position.epoch
            stream = dataset(stream_seed)
            if args.steps_per_epoch is None:
                args.steps_per_epoch = batches_per_pass(stream)
        if model is None:
            model = build()
            run_folder.write_config(args)
        else:
            resume_learning_rates(model, args)
            if on_resume is not None:
                on_resume(model)
        if not done:
            directory = os.path.join(args.out, "samples")
            grid = samples(directory) if samples else SampleGrid(directory, 1, num_samples)
            _fit(model, dataset, stream, stream_seed, args, position, grid)
    if args.export:
        (export or gan_export.export_generator)(model, args.export)
    run_folder.print_outputs(args, trained=not done)
    return model


def _fit(model, dataset, stream, stream_seed, args, position, grid):
    """`fit` in segments, one per data stream (see the module's docstring)."""
    steps = args.steps_per_epoch
    callbacks = run_folder.run_callbacks(args, position, steps, grid, args.seed)
    plot, checkpoint = callbacks[0], callbacks[3]
    if position.epoch or position.batch:
        batch = f", batch {position.batch + 1}" if position.batch else ""
        print(f"Resuming {run_dir(args)} at epoch {position.epoch + 1}{batch} of {args.epochs}.")
    try:
        while position.epoch < args.epochs:
            if stream is None:  # a new stream, at the start of an epoch
                stream_seed = args.seed + position.epoch
                stream = dataset(stream_seed)
            partial = position.batch > 0
            skip = position.stream_batches if partial else 0
            checkpoint.begin_stream(stream_seed, skip)
            model.fit(
                skip_batches(repeat_for_steps(stream), skip),
                epochs=position.epoch + 1 if partial else args.epochs,
                initial_epoch=position.epoch,
                steps_per_epoch=steps - position.batch,
                verbose=fit_verbosity(args.verbose),
                shuffle=False,  # The dataset brings its order.
                callbacks=callbacks,
            )
            stream = None
            if not (partial or checkpoint.restart_stream):
                break  # done, or a callback stopped training
    except gan_callbacks.DivergenceError as e:
        plot.draw()  # the curves up to the bad step
        raise gan_callbacks.DivergenceError(
            _diverged(e, plot, checkpoint, args), e.what, *_where(e, plot, checkpoint)
        ) from None
    except KeyboardInterrupt:
        path = os.path.join(args.out, run_folder.CHECKPOINT)
        if os.path.isfile(path):
            raise KeyboardInterrupt(
                f"continue with --resume (checkpoint {path}, step {checkpoint.written_step})"
            ) from None
        raise


def _where(error, plot, checkpoint):
    """The global step, epoch and batch (from 0; None: at the epoch's end)
    of a `DivergenceError`."""
    position = checkpoint.position
    if error.batch is not None and plot.steps:
        # The plot records a step before the check that raises on it.
        return plot.steps[-1], error.epoch, position.batch + (plot.steps[-1] - position.step) - 1
    if position.batch == 0:  # raised after the epoch's end was counted
        return position.step, position.epoch - 1, None
    if position.batch >= checkpoint.steps_per_epoch:
        return position.step, position.epoch, None
    return position.step, position.epoch, position.batch - 1


def _diverged(error, plot, checkpoint, args):
    step, epoch, batch = _where(error, plot, checkpoint)
    where = f"at step {step} (epoch {epoch + 1}, " + (
        f"batch {batch + 1})" if batch is not None else "its end)")
    path = os.path.join(args.out, run_folder.CHECKPOINT)
    good = checkpoint.written_step or args.resume
    if hasattr(args, "lr_given"):  # add_gan_args: --resume takes new rates
        rates = f"--lr (now D {args.d_lr:g}, G {args.g_lr:g})"
        fix = (f"try a lower {rates} with --resume, which continues from the last good "
               f"checkpoint, {path} (step {checkpoint.written_step})")
    else:  # a schedule of the checkpoint's, which --resume keeps
        rates = f"--lr (now {args.learning_rate:g})"
        fix = (f"the last good checkpoint is {path} (step {checkpoint.written_step}); try a "
               f"lower {rates} in a new run (--overwrite or another --out)")
    if not good:
        fix = f"no checkpoint was written before it: start again with a lower {rates} and --overwrite"
    return f"training diverged {where}: {error.what}; {fix}"
