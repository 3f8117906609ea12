"""The online rule of `nengo_pc.pc.online`, computed without simulating the network.

`train_online` presents every image to the Nengo network and applies, after each
minibatch, the local product of presynaptic activity and postsynaptic error that the
network's clamped phase produces. `train_online_vectorised` applies the same rule with
the same schedule (data order, minibatches, per-example step ``learning_rate *
learn_time``, rate decay, evaluations) to the PC network's equilibrium as the
vectorised core computes it (`nengo_pc.pc.core.standard_updates`: inference from the
feedforward pass, output clamped, ``n_steps`` steps of ``step_size``), 30-40 times
faster than the simulated network on a quiet 2-core CPU (2026-11-26: ~1,000-1,300
images/s against ~31-34 for the spiking 784-500-10 network).

What it is for: telling the limits of the rule and its settings apart from those of the
network that runs it. ``rule="backprop"`` applies, with the same schedule, the exact
gradient of the summed squared output error instead (`nengo_pc.pc.core.backprop`):
plain minibatch SGD with this step, which tells the limits of the rule apart from those
of the schedule. Measured 2026-11-25 (784-500-10 relu, batch 10, per-example step
0.006 decaying over 20,000 samples, seed 0, first 2,000 test images): the NengoDL
network in rate mode and this function learn alike (80.2 / 85.1 / 86.7 / 88.4% and
80.6 / 85.1 / 86.5 / 87.9% after 2,500 / 5,000 / 7,500 / 10,000 images), their summed
updates over 200 images at the same parameters have cosine 0.99; so what the rule
reaches here, the network's rate mode reaches.
"""

import time

import numpy as np

from nengo_pc.arch import Params, init_params
from nengo_pc.pc.online import (
    OnlineResult, _integer, _LearningSchedule, _positive, _SampleStream, _one_hot,
    evaluation_line, minibatches, training_arrays,
)
from nengo_pc.rates import forward
from nengo_pc.train import check_split, log_progress

#: What `train_online_vectorised` applies: the PC network's local rule, or backprop.
RULES = ("pc", "backprop")


def train_online_vectorised(
    arch,
    train,
    *,
    params=None,
    learning_rate=0.2,
    lr_decay_samples=None,
    batch_size=20,
    n_samples=None,
    epochs=1,
    learn_time=0.03,
    output_precision=1.0,
    n_steps=20,
    step_size=0.1,
    eval_split=None,
    eval_every=10000,
    seed=0,
    progress=True,
    rule="pc",
):
    """Online PC learning as `~nengo_pc.pc.online.train_online` does it, vectorised.

    Parameters
    ----------
    arch, train, params, learning_rate, lr_decay_samples, batch_size, n_samples, \
epochs, learn_time, output_precision, eval_split, eval_every, seed, progress
        As for `~nengo_pc.pc.online.train_online` (``learning_rate * learn_time`` is
        the per-example step; ``learn_time`` plays no other part here).
    n_steps : int
        Inference steps from the feedforward pass with the output clamped (>= 1).
    step_size : float
        Inference step size (> 0). The default 20 steps of 0.1 relax close to the
        equilibrium that the network reaches in its settle and learning phases.
    rule : {"pc", "backprop"}
        ``"pc"``: the local rule at the relaxed equilibrium. ``"backprop"``: the
        reference, -dL/dW of L = sum ||y - y_hat||^2 / 2 over the minibatch, with the
        same step and schedule (``n_steps``, ``step_size`` and ``output_precision``
        play no part).

    Returns
    -------
    OnlineResult
        As `train_online`'s (``build_seconds`` 0; ``train_accuracy`` from the
        feedforward pass before each minibatch's update; no spiking entries).
    """
    import tensorflow as tf  # noqa: PLC0415

    from nengo_pc.pc import core  # noqa: PLC0415
    from nengo_pc.pc.activations import get_activation  # noqa: PLC0415

    train_x, train_y, train_labels = training_arrays(train, arch)
    learning_rate = _positive("learning_rate", learning_rate)
    lr_decay_samples = _integer("lr_decay_samples", lr_decay_samples, 1, optional=True)
    batch_size, n_batches = minibatches(batch_size, n_samples, epochs, len(train_x))
    learn_time = _positive("learn_time", learn_time)
    output_precision = _positive("output_precision", output_precision)
    n_steps = _integer("n_steps", n_steps, 1)
    step_size = _positive("step_size", step_size)
    if eval_split is not None:
        check_split("eval_split", eval_split, arch)
    eval_every = _integer("eval_every", eval_every, 1)
    seed = _integer("seed", seed, 0)
    if rule not in RULES:
        raise ValueError(f"rule: must be one of {RULES}, got {rule!r}")
    params = init_params(arch, seed) if params is None else params
    if not isinstance(params, Params):
        raise ValueError(f"params: expected a Params, got {type(params).__name__}")
    params.check(arch)
    config = {
        "arch": arch.to_dict(), "vectorised": True, "rule": rule,
        "learning_rate": learning_rate,
        "lr_decay_samples": lr_decay_samples, "batch_size": batch_size,
        "n_samples": n_batches * batch_size, "epochs": epochs,
        "learn_time": learn_time, "output_precision": output_precision,
        "n_steps": n_steps, "step_size": step_size,
        "n_eval": None if eval_split is None else len(eval_split),
        "eval_every": eval_every, "seed": seed,
        "per_example_step": learning_rate * learn_time,
    }

    act = get_activation(arch.activation)
    weights = [tf.Variable(np.asarray(w, np.float64)) for w in params.weights]
    biases = [tf.Variable(np.asarray(b, np.float64)) for b in params.biases]

    @tf.function
    def update(x, y, step):
        """One minibatch in one graph call: the output before learning (the online
        accuracy), the local update, and whether the parameters are still finite."""
        output = core.feedforward(weights, biases, x, act.f)[-1]
        if rule == "pc":
            changes = core.standard_updates(weights, biases, x, y, act, n_steps,
                                            step_size, output_precision)
        else:
            changes = core.backprop(weights, biases, x, y, act)
        finite = tf.constant(True)
        for (dw, db), w, b in zip(changes, weights, biases):
            w.assign_add(step * dw)
            b.assign_add(step * db)
            finite = finite & tf.reduce_all(tf.math.is_finite(w)) \
                & tf.reduce_all(tf.math.is_finite(b))
        return output, finite

    def current():
        return Params([w.numpy().astype(np.float32) for w in weights],
                      [b.numpy().astype(np.float32) for b in biases])

    history, train_seconds, eval_seconds = [], 0.0, 0.0

    def evaluate(samples, correct, presented):
        entry = {"samples": samples, "seconds": train_seconds,
                 "train_accuracy": correct / presented if presented else None}
        if eval_split is not None:
            logits = forward(arch, current(), eval_split.images)
            entry["accuracy"] = float(np.mean(logits.argmax(axis=1) == eval_split.labels))
        history.append(entry)
        if progress:
            log_progress(evaluation_line("pc:online-vectorised", entry,
                                         n_batches * batch_size))

    evaluate(0, 0, 0)
    stream = _SampleStream(len(train_x), seed)
    correct = presented = 0
    plan = _LearningSchedule(learning_rate, lr_decay_samples, batch_size, n_batches,
                             eval_every)
    for k in range(n_batches):
        t0 = time.perf_counter()
        index = stream.indices(k * batch_size, batch_size)
        x = np.asarray(train_x[index], np.float64)
        labels = None if train_labels is None else train_labels[index]
        y = (np.asarray(train_y[index], np.float64) if labels is None
             else _one_hot(labels, arch.sizes[-1]).astype(np.float64))
        step = plan.step(k, learn_time)
        output, finite = update(tf.constant(x), tf.constant(y),
                                tf.constant(step, tf.float64))
        if labels is not None:
            correct += int(np.sum(output.numpy().argmax(axis=1) == labels))
            presented += batch_size
        if not finite:
            raise FloatingPointError(
                f"weights became non-finite after {(k + 1) * batch_size} samples "
                f"(learning_rate={learning_rate}); try a smaller learning_rate")
        train_seconds += time.perf_counter() - t0
        samples = (k + 1) * batch_size
        if plan.evaluate_after(k):
            t0 = time.perf_counter()
            evaluate(samples, correct, presented)
            eval_seconds += time.perf_counter() - t0
            correct = presented = 0
    return OnlineResult(current(), history, config, 0.0, train_seconds, eval_seconds)
