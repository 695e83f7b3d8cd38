"""Multi-device training: one name per strategy, for `--strategy` flags.

`strategy_scope(name)` returns a context manager; build, compile **and** fit
the GAN inside it:

```python
with kg.distribute.strategy_scope(args.strategy):
    gan = kg.DCGAN(...)
    gan.compile(...)
    gan.fit(dataset, ...)   # batch_size is the global batch
```

| name             | backend    | what it sets up                                   |
|------------------|------------|---------------------------------------------------|
| `"none"`         | any        | nothing (one device)                              |
| `"mirrored"`     | tensorflow | `tf.distribute.MirroredStrategy()`: all local GPUs |
| `"multi_worker"` | tensorflow | `tf.distribute.MultiWorkerMirroredStrategy()` (`TF_CONFIG`) |
| `"tpu"`          | tensorflow | `tf.distribute.TPUStrategy` via `TPUClusterResolver` |
| `"data_parallel"`| jax        | `keras.distribution.DataParallel()`: all devices  |

Keyword arguments go to the strategy (e.g. `devices=[...]` for "mirrored"
and "data_parallel", `tpu="name-or-grpc-address"` for "tpu"). On a cluster
every worker runs the same program; `is_chief(strategy)` says which one
writes files.
"""

import contextlib

import keras

STRATEGIES = {
    "tensorflow": ("none", "mirrored", "multi_worker", "tpu"),
    "jax": ("none", "data_parallel"),
    "torch": ("none",),
}


def names(backend=None):
    """The strategy names `strategy_scope` accepts on `backend` (default:
    the current Keras backend)."""
    return STRATEGIES.get(backend or keras.backend.backend(), ("none",))


def _check(name):
    name = "none" if name in (None, "", False) else str(name).lower().replace("-", "_")
    backend = keras.backend.backend()
    if name in names(backend):
        return name, backend
    fits = [b for b, allowed in STRATEGIES.items() if name in allowed]
    if not fits:
        known = sorted({n for allowed in STRATEGIES.values() for n in allowed})
        raise ValueError(f"Unknown strategy {name!r}; use one of {known}.")
    raise ValueError(
        f"Strategy {name!r} needs KERAS_BACKEND={' or '.join(fits)}; the backend "
        f"is {backend!r}, where the strategies are {list(names(backend))}."
        + (
            " (keras-gans has no multi-device training on torch.)"
            if backend == "torch"
            else ""
        )
    )


def get_strategy(name, **kwargs):
    """The `tf.distribute.Strategy` or `keras.distribution.Distribution`
    for `name`, or None for "none". Raises ValueError for a name that does
    not fit the backend."""
    name, _ = _check(name)
    if name == "none":
        return None
    if name == "data_parallel":
        return keras.distribution.DataParallel(**kwargs)
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy(**kwargs)
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy(**kwargs)
    # name == "tpu"
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(**kwargs)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


def num_replicas(strategy):
    """How many devices share each global batch under `strategy`."""
    if strategy is None:
        return 1
    if hasattr(strategy, "num_replicas_in_sync"):
        return int(strategy.num_replicas_in_sync)
    return int(strategy.device_mesh.devices.size)


def is_chief(strategy):
    """Whether this process should write checkpoints, logs, samples and exports.

    True on one machine; on a cluster, only for the chief: the TensorFlow
    strategy's `extended.should_checkpoint` (worker 0, or the "chief" task
    of `TF_CONFIG`), or on JAX the first process. The other workers run the
    same steps (their collectives need them) but their files are discarded.
    """
    if strategy is None:
        return True
    extended = getattr(strategy, "extended", None)
    if extended is not None:
        try:
            return bool(extended.should_checkpoint)
        except NotImplementedError:
            return True
    import jax

    return jax.process_index() == 0


def strategy_scope(name, **kwargs):
    """A context manager that runs model building, `compile` and `fit`
    under the strategy `name` (see the module docstring); "none" (or None)
    gives a `contextlib.nullcontext`."""
    strategy = get_strategy(name, **kwargs)
    if strategy is None:
        return contextlib.nullcontext()
    return strategy.scope()
