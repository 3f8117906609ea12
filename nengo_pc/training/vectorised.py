"""The vectorised backend: a registered rule's updates, in traced TensorFlow functions.

The data sit in TensorFlow; a chunk of minibatches is one call of a traced function
whose ``tf.while_loop`` runs, for every minibatch, the step that computes the rule's
changes (`nengo_pc.rules.Rule.build`) and hands them to a Keras
optimiser as gradients ``-change / batch_size``, so learning rates act on
per-example means whatever the rule. A rule that changes the weights during
inference (``learns_during_inference``: incremental PC) does so at the per-example
rate ``lr / batch_size`` (``lr`` the scheduled rate of the current step, on
batch-summed changes), and its total is handed over divided by ``lr``: with plain
SGD the parameters then change by exactly the total the rule prescribes; with Adam
the total is normalised like any gradient.

Each step also reports the loss the rule descends at the network's prediction
before the update (squared error of the feedforward pass or of the end of the free
phase; cross-entropy for ``backprop``) and how many of the minibatch it classified
correctly. `VectorisedBackend.alignment` measures how well every layer's update
points along the gradient it approximates.
"""

import time

import numpy as np

from nengo_pc.arch import Params, init_params
from nengo_pc.training.backends import (
    optimizer_state,
    register_backend,
    restore_optimizer,
)
from nengo_pc.training.config import MOMENTUM, require_int


def tf_prediction(arch, rule, options):
    """``predict(weights, biases, x)`` on tensors: the output the rule classifies by."""
    from nengo_pc.pc import core
    from nengo_pc.pc.activations import get_activation

    if rule.prediction == "free_phase":
        from nengo_pc.pc.baselines import free_phase_output

        def predict(weights, biases, x):
            return free_phase_output(weights, biases, x, arch.activation,
                                     options["n_steps"])
    else:
        f = get_activation(arch.activation).f

        def predict(weights, biases, x):
            return core.feedforward(weights, biases, x, f)[-1]
    return predict


def tf_reference(arch, rule, options):
    """``reference(weights, biases, x, y)``: the gradient (as a change) the rule's
    update approximates, for `VectorisedBackend.alignment`."""
    from nengo_pc import rules
    from nengo_pc.pc import core

    if rule.prediction == "free_phase":
        from nengo_pc.pc.baselines import free_phase_gradient

        # backprop through time of the free phase the network predicts with
        def reference(weights, biases, x, y):
            return free_phase_gradient(weights, biases, x, y, arch.activation,
                                       options["n_steps"])
        return reference
    if rule.loss == "cross_entropy":
        update = rules.get("backprop").build(arch)

        def reference(weights, biases, x, y):
            return update(Params(weights, biases), rules.Batch(x, y))
        return reference

    def reference(weights, biases, x, y):
        return core.backprop(weights, biases, x, y, arch.activation)
    return reference


class VectorisedBackend:
    """Train with a registered rule's update function (see the module docstring).

    Parameters as for every backend (`nengo_pc.training.backends`), and two
    ``backend_options`` that choose how the same update runs:

    Parameters
    ----------
    fused : bool
        Run a whole chunk of minibatches inside one traced function (a
        ``tf.while_loop`` over the minibatches) instead of one call from Python per
        minibatch. The loop body is the per-minibatch step itself, so the numbers
        are the same; only the Python work and the slicing between steps go.
    jit_compile : bool
        Compile with XLA (``tf.function(jit_compile=True)``): with ``fused`` the
        whole chunk, ``tf.while_loop`` and all, is one XLA computation (its
        minibatches are cut with ``tf.slice`` at a static size, which XLA needs to
        keep the shapes of the step's gradients static); without, the
        per-minibatch step. XLA fuses the elementwise work into fewer kernels and
        changes the
        rounding of the results (it reorders and contracts operations; after 60 Adam
        steps of standard PC the parameters differ by up to 7% of their largest
        value), so it is off by default: the equivalence tests hold for the
        default. See docs/performance-pc.md.
    """

    def __init__(self, arch, rule, options, config, params, schedule, progress=False,
                 fused=True, jit_compile=False):
        import tensorflow as tf

        from nengo_pc import rules

        self.tf = tf
        self.arch, self.rule, self.config = arch, rule, config
        self.options = options
        dtype = tf.as_dtype(config.dtype)
        self.weights = [tf.Variable(np.asarray(w, config.dtype), name=f"w{i}")
                        for i, w in enumerate(params.weights)]
        self.biases = [tf.Variable(np.asarray(b, config.dtype), name=f"b{i}")
                       for i, b in enumerate(params.biases)]
        self.update = rule.build(arch, config.seed, **options)
        self.predict_fn = tf_prediction(arch, rule, options)
        self.reference = tf_reference(arch, rule, options)
        self.schedule = schedule.keras()
        self.optimizer = schedule.optimizer(config.optimizer, MOMENTUM)
        self.optimizer.build(self.weights + self.biases)
        self.batch = rules.Batch
        n_in, n_out = arch.sizes[0], arch.sizes[-1]
        batch_spec = [tf.TensorSpec([config.batch_size, n_in], dtype),
                      tf.TensorSpec([config.batch_size, n_out], dtype)]
        probe_spec = [tf.TensorSpec([None, n], dtype) for n in (n_in, n_out)]
        for name, value in (("fused", fused), ("jit_compile", jit_compile)):
            if not isinstance(value, bool):
                raise ValueError(f"{name}: must be True or False, got {value!r}")
        self.fused, self.jit_compile = fused, jit_compile
        # traced once, here (so tracing counts as build time); autograph is not
        # needed: every loop is over layers or inference steps and unrolls, and the
        # loop over minibatches is an explicit tf.while_loop
        self.step = tf.function(self._step, autograph=False,
                                jit_compile=jit_compile).get_concrete_function(
            *batch_spec)
        chunk_spec = [tf.TensorSpec([None, n], dtype) for n in (n_in, n_out)]
        self.chunk_fn = tf.function(
            self._chunk, autograph=False, jit_compile=jit_compile
        ).get_concrete_function(*chunk_spec) if fused else None
        self.alignment_fn = tf.function(
            self._alignment, autograph=False).get_concrete_function(*probe_spec)

    def _learning_rate_at(self, iteration):
        tf = self.tf
        dtype = self.weights[0].dtype
        if callable(self.schedule):
            return tf.cast(self.schedule(iteration), dtype)
        return tf.constant(self.schedule, dtype)

    def _updates(self, weights, biases, x, y, iteration):
        """The rule's changes (batch sums) and the divisor that makes them gradients."""
        tf = self.tf
        batch = tf.cast(tf.shape(x)[0], x.dtype)
        learning_rate, scale = None, batch
        if self.rule.learns_during_inference:
            # per-example rate on batch-summed updates
            learning_rate = self._learning_rate_at(iteration) / batch
            scale = learning_rate * batch
        changes = self.update(Params(weights, biases),
                              self.batch(x, y, learning_rate))
        return changes, scale

    def _loss(self, y, y_hat):
        tf = self.tf
        batch = tf.cast(tf.shape(y)[0], y.dtype)
        if self.rule.loss == "cross_entropy":
            return tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(y, y_hat)) \
                / batch
        return tf.reduce_sum(tf.square(y - y_hat)) / 2 / batch

    def _step(self, x, y):
        tf = self.tf
        # read every variable once, so the rule sees one consistent set of tensors
        weights = [w.value() for w in self.weights]
        biases = [b.value() for b in self.biases]
        # (the feedforward pass of the loss is the one the rule starts from; grappler
        # merges the identical subgraphs)
        y_hat = self.predict_fn(weights, biases, x)
        loss = self._loss(y, y_hat)
        correct = tf.reduce_sum(tf.cast(
            tf.equal(tf.argmax(y_hat, 1), tf.argmax(y, 1)), tf.int32))
        changes, scale = self._updates(weights, biases, x, y, self.optimizer.iterations)
        # (divide_no_nan: incremental PC's total is exactly zero where the schedule
        # reaches a learning rate of zero)
        grads = [tf.math.divide_no_nan(-u, scale) for pair in changes for u in pair]
        grads = grads[0::2] + grads[1::2]
        self.optimizer.apply_gradients(zip(grads, self.weights + self.biases))
        return loss, correct

    def _chunk(self, x, y):
        """`_step` on every minibatch of ``x``, ``y`` in turn, in one graph: the
        minibatch losses (to be averaged like the unfused ones) and the number
        classified correctly."""
        tf = self.tf
        size = self.config.batch_size
        n_batches = tf.shape(x)[0] // size
        losses = tf.TensorArray(x.dtype, size=n_batches)

        def body(k, losses, correct):
            start = k * size
            # the static shapes of the unfused step: with them the graph optimiser
            # folds the batch size into constants exactly as it does there
            # (incremental PC's rates divide by it), so the numbers stay the same
            xb = tf.slice(x, [start, 0], [size, x.shape[1]])
            yb = tf.slice(y, [start, 0], [size, y.shape[1]])
            loss, right = self._step(xb, yb)
            return k + 1, losses.write(k, loss), correct + right

        _, losses, correct = tf.while_loop(
            lambda k, *_: k < n_batches, body,
            (tf.constant(0), losses, tf.constant(0)),
            # one minibatch at a time: its update must land before the next reads
            # the variables
            parallel_iterations=1)
        return losses.stack(), correct

    def train_chunk(self, x, y):
        """Train on whole minibatches ``x``, ``y`` (labels or regression targets)."""
        tf = self.tf
        size = self.config.batch_size
        targets = self.targets(y)
        x = tf.constant(np.asarray(x, self.config.dtype))
        if self.chunk_fn is not None:
            losses, correct = self.chunk_fn(x, targets)
        else:
            losses, correct = [], 0
            for k in range(0, len(targets), size):
                loss, right = self.step(x[k:k + size], targets[k:k + size])
                losses.append(loss)
                correct += right
            losses = tf.stack(losses)
        result = {"loss": float(tf.reduce_mean(losses))}
        if np.ndim(y) == 1:
            result["train_accuracy"] = int(correct) / len(targets)
        return result

    def targets(self, y):
        """One-hot targets of integer labels (regression targets pass unchanged)."""
        y = np.asarray(y)
        if y.ndim == 1:
            y = np.eye(self.arch.sizes[-1])[y]
        return self.tf.constant(y.astype(self.config.dtype))

    def _alignment(self, x, y):
        tf = self.tf
        weights = [w.value() for w in self.weights]
        biases = [b.value() for b in self.biases]
        # incremental PC at the rate of the last step taken (the schedule may reach
        # zero at the very end of training, where the rule's total would vanish)
        last = tf.maximum(self.optimizer.iterations - 1, 0)
        changes, _ = self._updates(weights, biases, x, y, last)
        reference = self.reference(weights, biases, x, y)
        cosines = []
        for (dw, db), (gw, gb) in zip(changes, reference):
            # in float64, so that equal float32 updates give a cosine of 1 to
            # float64 rounding rather than float32's
            a = tf.cast(tf.concat([tf.reshape(dw, [-1]), db], 0), tf.float64)
            b = tf.cast(tf.concat([tf.reshape(gw, [-1]), gb], 0), tf.float64)
            cosines.append(tf.stack([tf.reduce_sum(a * b), tf.norm(a) * tf.norm(b)]))
        return tf.stack(cosines)

    def alignment(self, x, y):
        """Per-layer cosine of the rule's update with the gradient it approximates
        (`tf_reference`), None where a norm is zero."""
        x = self.tf.constant(np.asarray(x, self.config.dtype))
        result = self.alignment_fn(x, self.targets(y)).numpy()
        return [float(dot / norms) if norms > 0 else None for dot, norms in result]

    def predict(self, x):
        """The outputs the rule classifies by (numpy, float64)."""
        from nengo_pc.training.evaluation import rule_outputs

        return rule_outputs(self.arch, self.params(), x, self.rule, self.options)

    def finite(self):
        """Whether every parameter is finite."""
        tf = self.tf
        return bool(tf.reduce_all([tf.reduce_all(tf.math.is_finite(v))
                                   for v in self.weights + self.biases]))

    def params(self):
        """Current values as float32 `Params`."""
        return Params([w.numpy().astype(np.float32) for w in self.weights],
                      [b.numpy().astype(np.float32) for b in self.biases])

    def state(self):
        state = optimizer_state(self.optimizer, self.weights + self.biases)
        if self.config.dtype != "float32":
            # the float32 Params of a checkpoint would round these
            for i, v in enumerate(self.weights + self.biases):
                state[f"exact/{i}"] = v.numpy()
        return state

    def restore(self, state):
        restore_optimizer(self.optimizer, self.weights + self.biases, state)
        for i, v in enumerate(self.weights + self.biases):
            if f"exact/{i}" in state:
                v.assign(state[f"exact/{i}"])

    def close(self):
        pass


register_backend("vectorised", VectorisedBackend)


def time_steps(arch, configs, images, labels, *, params=None, n_steps=10, repeats=7):
    """Seconds per minibatch step of several configs, measured interleaved.

    Epoch times of runs made one after the other also measure whatever else the
    machine did meanwhile. Here every config gets its own traced step function, and
    then ``repeats`` rounds each run ``n_steps`` steps of every config in turn, so
    that changes in machine load affect all configs alike; the median over rounds is
    reported.

    Parameters
    ----------
    arch : Architecture
    configs : sequence of TrainConfig
        All with ``batch_size == len(images)``.
    images : ndarray
        One minibatch of inputs, shape (batch_size, n_in).
    labels : ndarray
        Its integer labels.
    params : Params, optional
        Starting parameters (default ``init_params(arch, seed)``); the steps train
        private copies.
    n_steps : int
        Steps per config and round.
    repeats : int
        Rounds.

    Returns
    -------
    list of float
        Median seconds per step, one per config.
    """
    from nengo_pc import rules
    from nengo_pc.training.schedule import Schedule

    require_int("n_steps", n_steps, low=1)
    require_int("repeats", repeats, low=1)
    for config in configs:
        if config.batch_size != len(images):
            raise ValueError(
                f"batch_size: configs must use the batch size of the timing batch "
                f"({len(images)}), got {config.batch_size}")
    total_steps = 1 + repeats * n_steps  # keeps any cosine schedule above zero
    backends = [
        VectorisedBackend(arch, rules.get(c.rule), c.rule_options(arch), c,
                          init_params(arch, c.seed) if params is None else params,
                          Schedule.from_config(c, total_steps))
        for c in configs
    ]
    x = [b.tf.constant(np.asarray(images, b.config.dtype)) for b in backends]
    y = [b.targets(labels) for b in backends]
    for b, xb, yb in zip(backends, x, y):  # warm up: first calls allocate
        b.step(xb, yb)
    times = [[] for _ in backends]
    for _ in range(repeats):
        for b, xb, yb, record in zip(backends, x, y, times):
            t0 = time.perf_counter()
            for _ in range(n_steps):
                loss, _ = b.step(xb, yb)
            loss.numpy()  # wait for the last step
            record.append((time.perf_counter() - t0) / n_steps)
    return [float(np.median(record)) for record in times]
