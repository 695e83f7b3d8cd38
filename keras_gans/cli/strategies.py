"""`--strategy`: the devices a script trains on, and who writes the files."""

import atexit
import contextlib
import os
import shutil
import tempfile

from keras_gans.cli import startup

startup.import_library()  # Before Keras: without TensorFlow's start-up chatter.

from keras_gans import distribute  # noqa: E402


def strategy_scope(args):
    """`keras_gans.distribute.strategy_scope(args.strategy)`: build (or
    load), compile and fit the model inside it. `args.batch_size` is the
    global batch: it must split evenly over the devices, and this says how
    it does. A strategy of another backend raises a one-line ValueError.

    Example:

    ```python
    with strategy_scope(args):
        gan = build()
        gan.fit(dataset)
    ```
    """
    strategy = distribute.get_strategy(args.strategy)
    if strategy is None:
        return contextlib.nullcontext()
    devices = distribute.num_replicas(strategy)
    if args.batch_size % devices:
        raise ValueError(
            f"--batch-size {args.batch_size} is the global batch and must split evenly "
            f"over the {devices} devices of --strategy {args.strategy}; use a multiple "
            f"of {devices}"
        )
    print(f"--strategy {args.strategy}: {devices} device(s), {args.batch_size // devices} "
          f"image(s) each of a global batch of {args.batch_size}.")
    if not distribute.is_chief(strategy):
        discard_worker_outputs(args)
    return strategy.scope()


def discard_worker_outputs(args):
    """Point a non-chief worker's writes at a scratch folder, removed at exit.

    Every worker of a cluster runs the whole script, but only the chief
    writes `--out` and `--export`; the others keep reading the chief's run
    folder (`args.run_dir`) to resume, and write their copies to scratch.
    Returns the scratch folder.
    """
    scratch = tempfile.mkdtemp(prefix="keras_gans_worker_")
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    args.run_dir = args.out
    args.out = os.path.join(scratch, "run")
    if getattr(args, "export", None):
        args.export = os.path.join(scratch, "export")
    print(f"This worker is not the chief: the chief writes {args.run_dir}; this "
          f"worker's copies go to {scratch} (removed at exit).")
    return scratch


def run_dir(args):
    """The run folder to read (resume) from: the chief's `--out` on every worker."""
    return getattr(args, "run_dir", None) or args.out
