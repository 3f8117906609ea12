r"""Cost model: what a hand-written TensorFlow training call could cost (not the network).

docs/performance.md ("Where online learning's time goes") argues that a hand-written
TensorFlow path for online learning of the 784-500-10 network could present a
minibatch of 10 images in a few tens of milliseconds: the first layer's prediction
as one product over all steps of a call (the gated rule changes no weight while
its window is open), the rules' windows as one product each, and only the
500-neuron layer and the outputs stepped together through the 52 clamped steps.
This script times *that shape of work* with stand-in arithmetic -- it is not the
network and computes nothing meaningful: per call, the two large products
(``(82 x B, 1568) @ (1568, 1000)`` and the windows' ``(784, 30 B) @ (30 B, 500)``
and ``(500, 30 B) @ (30 B, 10)``), then a ``tf.while_loop`` of 52 steps, each
about 75 TensorFlow operations with the default ``--ops 40`` (60 elementwise
operations on ``(B, 1000)`` tensors standing for the pair populations and their
synapses, the three small products of the coupled layers -- 500 x 10, 10 x 10,
10 x 500 -- and recording the window's activities and errors), in one
``tf.function``, with and without XLA.

Example (the record in ``results/bench/online_tf_cost.json``)::

    nice -n 19 python benchmarks/online_tf_cost.py --out results/bench/online_tf_cost.json
"""

import argparse
import os
import time

import numpy as np


def make_call(tf, batch, ops_per_step, steps, jit):
    """A compiled stand-in for one training call."""
    rng = np.random.default_rng(0)

    def const(*shape):
        return tf.constant(rng.uniform(-0.01, 0.01, shape).astype(np.float32))

    w1, w2, b2 = const(1568, 1000), const(500, 10), const(10, 500)
    out_w = const(10, 10)
    n_steps = 82

    @tf.function(jit_compile=jit)
    def call(inputs, state):
        # every step's first-layer prediction at once (the weights are fixed)
        drive = tf.reshape(tf.matmul(tf.reshape(inputs, (-1, 1568)), w1),
                           (n_steps, batch, 1000))

        def body(t, v, u, a, o, trace):
            x = drive[t] + v
            for k in range(ops_per_step // 4):  # pairs, synapses, gates
                u = 0.9 * u + 0.1 * x if k % 2 == 0 else tf.nn.relu(u) - 0.5 * v
                v = v + 0.001 * tf.floor(u)
            a = tf.nn.relu(v[:, :500])
            e2 = tf.matmul(a, w2) - o
            o = o + 0.01 * tf.matmul(e2, out_w)
            fb = tf.matmul(e2, b2)
            v = v + tf.concat([fb, -fb], axis=1) * 0.001
            trace = trace.write(t - (n_steps - steps), tf.concat([a, e2], axis=1))
            return t + 1, v, u, a, o, trace

        trace = tf.TensorArray(tf.float32, size=steps)
        v, u = state, tf.zeros_like(state)
        _, v, _, _, o, trace = tf.while_loop(
            lambda t, *_: t < n_steps, body,
            (tf.constant(n_steps - steps), v, u, tf.zeros((batch, 500)),
             tf.zeros((batch, 10)), trace))
        # the learning window: its last 30 coupled steps (all of them if fewer)
        n_window = min(30, steps)
        window = trace.stack()[-n_window:]
        acts = tf.reshape(window[:, :, :500], (-1, 500))
        errs = tf.reshape(window[:, :, 500:], (-1, 10))
        pre = tf.reshape(inputs[-n_window:, :, :784], (-1, 784))
        dw1 = tf.matmul(pre, acts, transpose_a=True)  # (784, 500)
        dw2 = tf.matmul(acts, errs, transpose_a=True)  # (500, 10)
        return v, o, tf.reduce_sum(dw1) + tf.reduce_sum(dw2)

    return call


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--ops", type=int, default=40,
                        help="elementwise operations per coupled step")
    parser.add_argument("--steps", type=int, default=52,
                        help="coupled steps per call (settle + window + commit)")
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    if not 1 <= args.steps <= 82:
        parser.error(f"--steps: between 1 and 82 (a call's steps), got {args.steps}")

    import nengo_pc  # noqa: F401  pylint: disable=unused-import,import-outside-toplevel
    from nengo_pc.results import emit_record, make_record  # pylint: disable=C0415
    from nengo_pc.tf_startup import import_tensorflow_quietly  # pylint: disable=C0415

    tf = import_tensorflow_quietly()
    load_before = os.getloadavg()
    rng = np.random.default_rng(1)
    inputs = tf.constant(rng.uniform(0, 1, (82, args.batch_size, 1568)).astype(np.float32))
    state = tf.zeros((args.batch_size, 1000))
    calls = {jit: make_call(tf, args.batch_size, args.ops, args.steps, jit)
             for jit in (False, True)}
    for call in calls.values():  # trace and compile
        call(inputs, state)
    runs = {False: [], True: []}
    for _ in range(args.repeats):
        for jit, call in calls.items():  # interleaved
            t0 = time.perf_counter()
            for _ in range(args.calls):
                v, _, _ = call(inputs, state)
            v.numpy()
            runs[jit].append((time.perf_counter() - t0) / args.calls)
    metrics = {("xla" if jit else "graph"): {
        "seconds_per_call": float(np.median(t)),
        "images_per_second": args.batch_size / float(np.median(t)),
        "rounds_seconds_per_call": t} for jit, t in runs.items()}
    record = make_record(
        "benchmark",
        config={"benchmark": "online_tf_cost", "what": "a cost model with stand-in "
                "arithmetic, not the network", "batch_size": args.batch_size,
                "ops_per_step": args.ops, "coupled_steps": args.steps,
                "calls": args.calls, "repeats": args.repeats,
                "load_average_before": load_before,
                "load_average_after": os.getloadavg()},
        seed=0, metrics=metrics, seconds={})
    return emit_record(record, args.out, shown=metrics)


if __name__ == "__main__":
    main()
