"""The few lines of keras-gans that depend on the Keras backend.

Everything else in the library is written once, statefully, in `keras.ops`:
it reads variables, calls models and assigns new values. This module gives
that code the three things backends do differently:

- `value_and_grad(fn, variables)`: run `fn()` -> `(loss, aux)` and return the
  loss, aux and the gradients of the loss with respect to `variables`
  (`tf.GradientTape`, `torch.autograd.grad`, or `jax.value_and_grad`).
- `value_and_input_grad(fn, x)` and `forward_and_pullback(fn, variables)`:
  a loss's gradient with respect to an input, and a forward pass whose
  vector-Jacobian product is applied later. Together they let the generator
  phase reuse the discriminator phase's generator forward pass.
- `input_gradients(fn, inputs)`: gradients of `sum(fn(inputs))` with respect
  to the inputs, kept differentiable for gradient penalties (WGAN-GP, R1).
- `stateless_step(model, step_fn, state, data)`: how the JAX trainer calls a
  step. JAX's `fit()` passes all model, optimizer and metric state in and
  expects the new state back; we run the same stateful step under a
  `keras.StatelessScope` that maps every variable to its traced value, then
  read the updated values out. This is what lets one `train_step` serve all
  three backends, with both optimizers' state carried (not captured as
  constants) through jit.
- `apply_gradients(optimizer, grads, variables, after)`: `optimizer.apply`
  (on TensorFlow ordered after the forward pass's `after` tensors), except
  a float16 `LossScaleOptimizer` on JAX, applied functionally.
- `run_if(condition, fn, log_names)`: run a stateful update only on
  the steps where a traced condition holds (lazy regularization): `tf.cond`,
  or `jax.lax.cond` carrying the whole trainer state, or a Python `if`;
  `run_repeated(count, fn, log_names)`, the same for a traced number of
  updates (a loop).
- `replica_info()` and `scale_loss_for_replicas(loss)`: the `tf.distribute`
  replica running the step, and the 1/replicas loss scaling that makes the
  optimizers' SUM all-reduce give the global batch's mean gradient.
"""

import contextlib

import keras
from keras import ops
from keras.src.backend.common import stateless_scope as _stateless

BACKEND = keras.backend.backend()


class _RecordingScope(keras.StatelessScope):
    """A StatelessScope that starts from another mapping and remembers which
    variables were assigned (so updates can be passed back out).

    `variables` maps `id(variable)` to the variable for every entry of the
    mapping that the trainer knows (the step's state groups); nested scopes
    inherit it, so `run_if` can write a branch's updates back by variable.
    """

    def __init__(self, base_mapping, overrides=(), variables=None):
        super().__init__()
        self.state_mapping = dict(base_mapping)
        self.assigned = {}
        parent = _stateless.get_stateless_scope()
        self.variables = dict(getattr(parent, "variables", {}) if variables is None else variables)
        for variable, value in overrides:
            self.state_mapping[id(variable)] = value
            self.variables[id(variable)] = variable

    def add_update(self, update):
        variable, value = update
        self.assigned[id(variable)] = variable
        self.state_mapping[id(variable)] = value


def _current_mapping():
    scope = _stateless.get_stateless_scope()
    return {} if scope is None else scope.state_mapping


def _write_back(updated_variables, values):
    """Assign new values into the enclosing scope (or the variables)."""
    for variable, value in zip(updated_variables, values):
        variable.assign(value)


def value_and_grad(fn, variables):
    """Return `(loss, aux, grads)` for `fn() -> (loss, aux)`.

    Args:
        fn: a no-argument callable computing a scalar loss (and any auxiliary
            outputs) from the current variable values. Variable updates made
            inside (BatchNorm statistics, seed-generator state) are kept.
        variables: the variables to differentiate with respect to.

    Returns:
        `(loss, aux, grads)`, with one gradient per variable (zeros where the
        loss does not depend on a variable).
    """
    variables = list(variables)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss, aux = fn()
        grads = tape.gradient(loss, variables)
    elif BACKEND == "torch":
        import torch

        loss, aux = fn()
        grads = torch.autograd.grad(
            loss, [v.value for v in variables], allow_unused=True
        )
        loss = loss.detach()
        aux = keras.tree.map_structure(
            lambda t: t.detach() if isinstance(t, torch.Tensor) else t, aux
        )
    elif BACKEND == "jax":
        import jax

        base = _current_mapping()
        record = {}

        def pure(values):
            scope = _RecordingScope(base, zip(variables, values))
            with scope:
                loss, aux = fn()
            record["variables"] = list(scope.assigned.values())
            updates = [scope.state_mapping[id(v)] for v in record["variables"]]
            return loss, (aux, updates)

        values = [v.value for v in variables]
        (loss, (aux, updates)), grads = jax.value_and_grad(pure, has_aux=True)(values)
        _write_back(record["variables"], updates)
    else:  # pragma: no cover - numpy/openvino backends cannot train
        raise NotImplementedError(
            f"keras-gans cannot train on the {BACKEND!r} backend: use "
            "tensorflow, jax or torch (KERAS_BACKEND)."
        )
    grads = [ops.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
    return loss, aux, grads


def value_and_input_grad(fn, inputs):
    """Return `(value, aux, grads)` for `fn(inputs) -> (value, aux)`, with
    gradients taken with respect to `inputs` only (not model weights).

    Variable updates inside `fn` (BatchNorm statistics) are kept. The
    generator update uses this to get d(loss)/d(fake images) cheaply, then
    pulls it back through the generator (`forward_and_pullback`).
    """
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(inputs)
            value, aux = fn(inputs)
        return value, aux, tape.gradient(value, inputs)
    if BACKEND == "torch":
        import torch

        inputs = inputs.detach().requires_grad_(True)
        value, aux = fn(inputs)
        (grads,) = torch.autograd.grad(value, [inputs])
        aux = keras.tree.map_structure(
            lambda t: t.detach() if isinstance(t, torch.Tensor) else t, aux
        )
        return value.detach(), aux, grads
    if BACKEND == "jax":
        import jax

        base = _current_mapping()
        record = {}

        def pure(x):
            with _RecordingScope(base) as scope:
                value, aux = fn(x)
            record["variables"] = list(scope.assigned.values())
            return value, (aux, [scope.state_mapping[id(v)] for v in record["variables"]])

        (value, (aux, updates)), grads = jax.value_and_grad(pure, has_aux=True)(inputs)
        _write_back(record["variables"], updates)
        return value, aux, grads
    raise NotImplementedError(f"No gradients on the {BACKEND!r} backend.")


def forward_and_pullback(fn, variables):
    """Run `outputs = fn()` and return `(outputs, pullback)`, where
    `pullback(cotangent)` gives the gradients of `sum(outputs * cotangent)`
    with respect to `variables` (a vector-Jacobian product).

    This is how a GAN step reuses one generator forward pass for both
    phases, as the PyTorch DCGAN does: the discriminator phase consumes the
    outputs with gradients stopped, the generator phase pulls the
    discriminator's input gradients back through the saved forward pass.
    Variable updates inside `fn` (BatchNorm statistics) are kept.
    """
    variables = list(variables)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch([v.value for v in variables])
            outputs = fn()

        def pullback(cotangent):
            grads = tape.gradient(outputs, [v.value for v in variables], output_gradients=cotangent)
            return [ops.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]

        return outputs, pullback
    if BACKEND == "torch":
        import torch

        outputs = fn()

        def pullback(cotangent):
            grads = torch.autograd.grad(
                outputs, [v.value for v in variables], grad_outputs=cotangent, allow_unused=True
            )
            return [ops.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]

        return outputs, pullback
    if BACKEND == "jax":
        import jax

        base = _current_mapping()
        record = {}

        def pure(values):
            with _RecordingScope(base, zip(variables, values)) as scope:
                outputs = fn()
            record["variables"] = list(scope.assigned.values())
            return outputs, [scope.state_mapping[id(v)] for v in record["variables"]]

        outputs, vjp_fn, updates = jax.vjp(pure, [v.value for v in variables], has_aux=True)
        _write_back(record["variables"], updates)
        return outputs, lambda cotangent: list(vjp_fn(cotangent)[0])
    raise NotImplementedError(f"No gradients on the {BACKEND!r} backend.")


def input_gradients(fn, inputs, scale=None):
    """Gradients of `sum(fn(inputs))` with respect to `inputs`, in float32.

    The result stays differentiable with respect to model variables, so a
    penalty built from it (e.g. `(||grad|| - 1)^2`) can itself be minimised.

    Args:
        fn: maps `inputs` to outputs (a discriminator's logits).
        inputs: the tensor to differentiate with respect to.
        scale: an optional scalar the summed outputs are multiplied by before
            differentiating, the result divided by it after. Under float16 the
            backward pass through the network underflows without it, as a
            loss does without loss scaling: pass the optimizer's loss scale.

    Variable updates inside `fn` (BatchNorm's moving statistics under
    `training=True`) are discarded on JAX but kept on TensorFlow and
    PyTorch; critics with gradient penalties normally have no BatchNorm
    (WGAN-GP uses layer normalization), so this rarely matters.
    """

    def total(x):
        value = ops.sum(ops.cast(fn(x), "float32"))
        return value if scale is None else value * ops.cast(scale, "float32")

    if BACKEND == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(inputs)
            value = total(inputs)
        grads = tape.gradient(value, inputs)
    elif BACKEND == "torch":
        import torch

        inputs = inputs.detach().requires_grad_(True)
        (grads,) = torch.autograd.grad(total(inputs), inputs, create_graph=True)
    elif BACKEND == "jax":
        import jax

        base = _current_mapping()

        def pure(x):
            with _RecordingScope(base):
                return total(x)

        grads = jax.grad(pure)(inputs)
    else:
        raise NotImplementedError(f"No input gradients on the {BACKEND!r} backend.")
    grads = ops.cast(grads, "float32")
    return grads if scale is None else grads / ops.cast(scale, "float32")


def _after(tf, outputs):
    """A context in which TensorFlow ops run after `outputs` are computed.

    `tf.function` orders each variable's forward reads before its update by
    control edges, and Grappler's dependency optimizer drops such an edge
    when another path implies it; a later pass may fold that path away (a
    shape computation), so the update could run first and the forward pass,
    with every gradient taken through it, see the new value. A linear
    layer's kernel gradient needs its input, not its kernel, so nothing else
    holds the order: where two networks share a layer, about 1 step in 10
    took the shared layer's gradient through the twin's updated kernel
    (tests/test_gan.py). The loss and logs depend on every forward read the
    gradients do; the updates wait for them through an always-true Assert,
    because Grappler keeps control edges from stateful ops and dropped them
    from the stateless tensors themselves.
    """
    tensors = [t for t in tf.nest.flatten(outputs) if tf.is_tensor(t)]
    if not tensors or tf.executing_eagerly():
        return contextlib.nullcontext()
    done = tf.raw_ops.Assert(condition=tf.constant(True), data=tensors)
    return tf.control_dependencies([done])


def apply_gradients(optimizer, grads, variables, after=None):
    """`optimizer.apply(grads, variables)`, for variables that `optimizer`
    was built on, run after the tensors `after` (the forward pass's loss and
    logs) on TensorFlow, which might otherwise reorder them (`_after`).

    On JAX a `LossScaleOptimizer` is applied through its functional
    `stateless_apply`: its stateful `apply` assigns variables inside
    `lax.cond` branches, which leaks tracers from a traced step.
    """
    if BACKEND == "tensorflow" and after is not None:
        import tensorflow as tf

        with _after(tf, after):
            optimizer.apply(grads, variables)
        return
    if BACKEND == "jax" and isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        variables = list(variables)
        if [id(v) for v in variables] != [id(v) for v in optimizer._trainable_variables]:
            raise ValueError(
                "A LossScaleOptimizer on JAX must update exactly the variables "
                "it was built on, in the same order."
            )
        optimizer_variables = list(optimizer.variables)
        new_values, new_optimizer_values = optimizer.stateless_apply(
            [v.value for v in optimizer_variables], list(grads), [v.value for v in variables]
        )
        _write_back(variables, new_values)
        _write_back(optimizer_variables, new_optimizer_values)
        return
    optimizer.apply(grads, variables)


def run_if(condition, fn, log_names):
    """Run the stateful `fn() -> logs` only where `condition` holds.

    Lazy regularization runs a phase every k steps inside one compiled
    step, so the branch must carry state: its variable updates (weights,
    optimizer moments, the seed) happen on the steps it runs and on no other.

    - TensorFlow: `tf.cond`. Not under a multi-replica `tf.distribute`
      strategy, whose optimizers cannot synchronise replicas inside a
      conditional (`GAN.compile` then runs lazy penalties every step at
      their plain weight instead).
    - JAX: `jax.lax.cond` over every variable of the trainer state (the
      mapping of the enclosing `stateless_step`).
    - PyTorch, and any backend outside a traced step: a Python `if`.

    Args:
        condition: a boolean scalar (tensor or Python bool).
        fn: a no-argument stateful callable returning a dict of scalar logs
            whose keys are exactly `log_names`.
        log_names: the names of `fn`'s logs; skipped steps log zeros.

    Returns:
        `(logs, ran)`: the logs (zeros when skipped) and `ran`, 1.0 on the
        steps `fn` ran and 0.0 otherwise (a tracker's sample weight).
    """
    log_names = tuple(log_names)

    def checked(logs):
        if set(logs) != set(log_names):
            raise ValueError(
                f"A conditional update returned logs {sorted(logs)}; it declared {sorted(log_names)}."
            )
        return {name: ops.cast(logs[name], "float32") for name in log_names}

    def skipped():
        return {name: ops.zeros((), "float32") for name in log_names}

    if BACKEND == "tensorflow":
        import tensorflow as tf

        if not tf.is_tensor(condition) or tf.executing_eagerly():
            return _python_if(condition, lambda: checked(fn()), skipped)
        condition = tf.cast(condition, tf.bool)
        if replica_info()[1] > 1:
            raise ValueError(
                "An update every k steps cannot run under a multi-replica tf.distribute "
                "strategy (its optimizers synchronise replicas, which TensorFlow does not "
                "allow inside a conditional); run it every step there, or use JAX's "
                "data_parallel."
            )
        logs = tf.cond(condition, lambda: checked(fn()), skipped)
        return logs, tf.cast(condition, tf.float32)
    if BACKEND == "jax":
        import jax

        scope = _stateless.get_stateless_scope()
        if not isinstance(condition, jax.core.Tracer) or not isinstance(scope, _RecordingScope):
            return _python_if(condition, lambda: checked(fn()), skipped)
        keys = list(scope.state_mapping)
        assigned = {}

        def taken(values):
            inner = _RecordingScope(dict(zip(keys, values)), variables=scope.variables)
            with inner:
                logs = checked(fn())
            assigned.update(inner.assigned)
            return logs, [inner.state_mapping[k] for k in keys]

        def not_taken(values):
            return skipped(), list(values)

        logs, values = jax.lax.cond(
            condition, taken, not_taken, [scope.state_mapping[k] for k in keys]
        )
        scope.state_mapping.update(zip(keys, values))
        # A branch's assignment to a variable outside the trainer state is not
        # carried out of the conditional: stateless_step reports it.
        scope.assigned.update(assigned)
        return logs, ops.cast(condition, "float32")
    return _python_if(condition, lambda: checked(fn()), skipped)


def run_repeated(count, fn, log_names):
    """Run the stateful `fn(i) -> logs` for `i = 0 .. count - 1`, with a
    count known only inside the step (WGAN's 100 critic updates on some
    steps, 5 on others), as a loop whose body is traced once.

    - TensorFlow: `tf.while_loop` (not under a multi-replica strategy, whose
      optimizers cannot synchronise replicas inside a loop: there the count
      must be a Python int).
    - JAX: `jax.lax.while_loop` over every variable of the trainer state.
    - PyTorch, and any backend outside a traced step: a Python loop.

    Returns the logs of the last run (zeros when `count` is 0); their keys
    must be exactly `log_names`.
    """
    log_names = tuple(log_names)

    def checked(logs):
        if set(logs) != set(log_names):
            raise ValueError(
                f"A repeated update returned logs {sorted(logs)}; it declared {sorted(log_names)}."
            )
        return {name: ops.cast(logs[name], "float32") for name in log_names}

    def python_loop():
        logs = {name: ops.zeros((), "float32") for name in log_names}
        for i in range(int(ops.convert_to_numpy(count))):
            logs = checked(fn(i))
        return logs

    if BACKEND == "tensorflow":
        import tensorflow as tf

        if not tf.is_tensor(count) or tf.executing_eagerly():
            return python_loop()
        if replica_info()[1] > 1:
            raise ValueError(
                "A number of updates known only inside the step cannot run under a "
                "multi-replica tf.distribute strategy (its optimizers synchronise "
                "replicas, which TensorFlow does not allow inside a loop); use a fixed "
                "number of updates there, or JAX's data_parallel."
            )
        zeros = {name: tf.zeros((), tf.float32) for name in log_names}
        _, logs = tf.while_loop(
            lambda i, logs: i < tf.cast(count, tf.int32),
            lambda i, logs: (i + 1, checked(fn(i))),
            (tf.constant(0), zeros),
        )
        return logs
    if BACKEND == "jax":
        import jax

        scope = _stateless.get_stateless_scope()
        if not isinstance(count, jax.core.Tracer) or not isinstance(scope, _RecordingScope):
            return python_loop()
        keys = list(scope.state_mapping)
        assigned = {}

        def body(carry):
            i, values, _ = carry
            inner = _RecordingScope(dict(zip(keys, values)), variables=scope.variables)
            with inner:
                logs = checked(fn(i))
            assigned.update(inner.assigned)
            return i + 1, [inner.state_mapping[k] for k in keys], logs

        zeros = {name: ops.zeros((), "float32") for name in log_names}
        _, values, logs = jax.lax.while_loop(
            lambda carry: carry[0] < count, body,
            (0, [scope.state_mapping[k] for k in keys], zeros),
        )
        scope.state_mapping.update(zip(keys, values))
        scope.assigned.update(assigned)
        return logs
    return python_loop()


def _python_if(condition, fn, skipped):
    ran = bool(ops.convert_to_numpy(condition)) if not isinstance(condition, bool) else condition
    return (fn() if ran else skipped()), ops.convert_to_tensor(float(ran), "float32")


def replica_info():
    """`(replica_id, num_replicas)` of the `tf.distribute` replica running
    this code; `(0, 1)` outside a multi-replica strategy and on JAX/torch
    (JAX's `DataParallel` runs one global program, with no replicas in it)."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        context = tf.distribute.get_replica_context()
        if context is not None and context.num_replicas_in_sync > 1:
            return context.replica_id_in_sync_group, context.num_replicas_in_sync
    return 0, 1


def scale_loss_for_replicas(loss):
    """Divide a per-replica loss by the number of `tf.distribute` replicas.

    Keras' TensorFlow optimizers all-reduce gradients with SUM across
    replicas; a loss averaged over the replica's share of the batch, divided
    by the number of replicas, makes the sum the gradient of the global
    batch's mean loss (what Keras' own `train_step` does). A no-op on one
    replica.
    """
    _, num_replicas = replica_info()
    if num_replicas > 1:
        loss = loss * ops.cast(1.0 / num_replicas, loss.dtype)
    return loss


def conditional_updates_supported():
    """False under a multi-replica `tf.distribute` strategy, where an
    optimizer cannot run inside a conditional or a loop (see `run_if`)."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        strategy = tf.distribute.get_strategy()
        return strategy.num_replicas_in_sync == 1
    return True


def logs_for_replica_reduction(logs):
    """Give scalar logs the leading axis that Keras reduces across workers.

    Under `tf.distribute.MultiWorkerMirroredStrategy`, Keras 3's TensorFlow
    trainer reduces every log with `strategy.reduce("MEAN", value, axis=0)`,
    which fails for scalars ("Invalid reduction dimension 0 for input with
    0 dimensions"; tensorflow/tensorflow#72388). Shaped `(1,)` they reduce
    to their mean over the workers. Other strategies and backends get the
    logs unchanged.
    """
    if BACKEND == "tensorflow":
        import tensorflow as tf

        strategy = tf.distribute.get_strategy()
        if (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
                and strategy.extended._in_multi_worker_mode()):
            return {name: ops.reshape(value, (1,)) for name, value in logs.items()}
    return logs


def stateless_step(model, step_fn, state, data, groups):
    """Run a stateful `step_fn(data)` on JAX's functional trainer state.

    Args:
        model: the model whose variables `state` holds.
        step_fn: the stateful step; returns a dict of logs.
        state: the tuple of value lists JAX's trainer passes.
        groups: the variable lists, in the same order as `state`.

    Returns:
        `(logs, new_state)` as the JAX trainer expects.

    Raises:
        ValueError: the step assigned a variable that is in none of the
            groups. JAX's trainer would drop such an update silently (the
            variable is not part of the state it carries), while TensorFlow
            and PyTorch keep it; failing here keeps the backends in step.
    """
    pairs = []
    for variables, values in zip(groups, state):
        pairs.extend(zip(variables, values))
    known = {id(v): v for v, _ in pairs}
    scope = _RecordingScope({id(v): x for v, x in pairs}, variables=known)
    with scope:
        logs = step_fn(data)
    lost = [v for key, v in scope.assigned.items() if key not in known]
    if lost:
        names = ", ".join(sorted({getattr(v, "path", None) or v.name for v in lost}))
        raise ValueError(
            f"The train step of {model.name!r} assigned variables that are not part of "
            f"the model's state, so JAX would drop the update: {names}. Create them on "
            "a layer or model that the GAN tracks (an attribute of the GAN, of one of "
            "its networks, or of a layer inside them), or in an optimizer it compiles."
        )
    new_state = tuple(
        [scope.state_mapping[id(v)] for v in variables] for variables in groups
    )
    return logs, new_state
