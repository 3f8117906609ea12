"""Which NengoDL settings make ``sim.fit`` of the 784-500-500-10 ReLU MLP faster,
against plain Keras on the same model and data order.

Builds the suite's `~nengo_pc.networks.FeedforwardNetwork` in ``nengo_dl.Simulator``
several ways and the same model (same initial parameters) in ``tf.keras``; trains
each for one warm-up epoch, then ``rounds`` timed epochs of ``n`` images, interleaved
(one epoch of every variant per round, all in this process), and writes the median
and minimum seconds, their ratios to Keras, and every variant's warm-up loss (the
same model and data give the same loss up to float32 rounding).

Variants (``--variants`` picks some, in the order given):

``nengodl``
    NengoDL's defaults (its step inside a ``tf.while_loop``), ``stateful=False``.
``noloop``
    ``use_loop=False`` (one step per image needs no loop).
``noloop_nohist``
    That and ``keep_history=False``.
``backend``
    What `nengo_pc.training.backends.NengoDLBackend` trains: ``use_loop=False``
    and ``planner=noop_planner`` (no operator merging).
``transitive``
    ``use_loop=False`` and NengoDL's ``transitive_planner``.
``keras``
    Plain Keras.
``keras_spe``, ``backend_spe``
    Keras's ``compile(steps_per_execution=20)`` on both sides (``sim.compile``
    passes it on to Keras).
``keras_xla``, ``backend_xla``
    ``compile(jit_compile=True)`` (XLA) on both sides.
``backend_no_out_bias``
    Pricing only, not the same model: ``backend``'s settings on the network
    without the output layer's bias connection (the two operators it adds per step).

Example::

    python benchmarks/nengodl_levers.py 12000 5 --out results/bench/nengodl_levers-s12.json

``--intra-op-threads`` sets TensorFlow's intra-op threads for all variants alike; the
record also states ``TF_ENABLE_ONEDNN_OPTS`` (set it to 0 to run every variant without
oneDNN).
"""
import argparse
import json
import os
import time

import nengo_pc  # noqa: F401  (NengoDL on TF 2.19: tf-keras)
import numpy as np
import tensorflow as tf
import nengo_dl
from nengo_dl.graph_optimizer import noop_planner, transitive_planner

from nengo_pc.arch import mlp
from nengo_pc.data import load_dataset
from nengo_pc.networks.feedforward import FeedforwardNetwork, configure_nengo_dl
from nengo_pc.params import init_params
from nengo_pc.training.backends import NengoDLBackend

VARIANTS = ("nengodl", "noloop", "noloop_nohist", "backend", "transitive", "keras",
            "keras_spe", "backend_spe", "keras_xla", "backend_xla",
            "backend_no_out_bias")
DEFAULT = ("nengodl", "noloop", "backend", "transitive", "keras", "keras_spe",
           "backend_spe", "keras_xla", "backend_xla", "backend_no_out_bias")

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("n", type=int, nargs="?", default=12000, help="images per epoch")
parser.add_argument("rounds", type=int, nargs="?", default=3, help="timed rounds")
parser.add_argument("--variants", default=",".join(DEFAULT),
                    help=f"comma-separated, from {', '.join(VARIANTS)}")
parser.add_argument("--intra-op-threads", type=int, default=None,
                    help="TensorFlow intra-op threads for every variant (default: TF's)")
parser.add_argument("--out", help="JSON record to write")
args = parser.parse_args()
if args.intra_op_threads is not None:
    if args.intra_op_threads < 1:
        parser.error("--intra-op-threads: must be >= 1")
    tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
names = args.variants.split(",")
unknown = [v for v in names if v not in VARIANTS]
if unknown or "keras" not in names:
    parser.error(f"--variants: {unknown or 'keras is required'}; "
                 f"choose from {', '.join(VARIANTS)}")

data = load_dataset("mnist")
x, y = data.train.images[:args.n], data.train.labels[:args.n]
arch = mlp((500, 500), activation="relu")
params = init_params(arch, 0)
BATCH = 100


def loss():
    return tf.losses.SparseCategoricalCrossentropy(from_logits=True)


def fitter(sim, net, **compile_options):
    sim.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss={net.probe: loss()},
                **compile_options)

    def fit():
        history = sim.fit({net.input: x[:, None, :]}, {net.probe: y[:, None, None]},
                          epochs=1, shuffle=False, verbose=0)
        return history.history["loss"][-1]
    return fit


def nengodl(drop_output_bias=False, **settings):
    net = FeedforwardNetwork(arch, params, seed=0, spiking=False)
    if drop_output_bias:
        net.connections.remove(net.bias_connections.pop(arch.n_layers - 1))
    configure_nengo_dl(net)
    with net:
        nengo_dl.configure_settings(stateful=False, **settings)
    sim = nengo_dl.Simulator(net, minibatch_size=BATCH, seed=0, progress_bar=False)
    return fitter(sim, net)


def backend(**compile_options):
    b = NengoDLBackend(arch, params, BATCH, 0, False)
    return fitter(b.sim, b.net, **compile_options)


def keras(**compile_options):
    inp = tf.keras.Input((784,))
    h = inp
    for width in arch.sizes[1:-1]:
        h = tf.keras.layers.Dense(width, activation="relu")(h)
    model = tf.keras.Model(inp, tf.keras.layers.Dense(arch.sizes[-1])(h))
    model.set_weights([a for wb in zip(params.weights, params.biases) for a in wb])
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss=loss(),
                  **compile_options)

    def fit():
        history = model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
        return history.history["loss"][-1]
    return fit


BUILD = {
    "nengodl": lambda: nengodl(),
    "noloop": lambda: nengodl(use_loop=False),
    "noloop_nohist": lambda: nengodl(use_loop=False, keep_history=False),
    "backend": lambda: backend(),
    "transitive": lambda: nengodl(use_loop=False, planner=transitive_planner),
    "keras": lambda: keras(),
    "keras_spe": lambda: keras(steps_per_execution=20),
    "backend_spe": lambda: backend(steps_per_execution=20),
    "keras_xla": lambda: keras(jit_compile=True),
    "backend_xla": lambda: backend(jit_compile=True),
    "backend_no_out_bias": lambda: nengodl(drop_output_bias=True, use_loop=False,
                                           planner=noop_planner),
}
variants = {k: BUILD[k]() for k in names}
warmup_loss = {k: float(f()) for k, f in variants.items()}  # also traces
print("warm-up loss", warmup_loss, flush=True)
times = {k: [] for k in variants}
loads = []
for r in range(args.rounds):
    for k, f in variants.items():
        t0 = time.perf_counter()
        f()
        times[k].append(time.perf_counter() - t0)
    loads.append(list(os.getloadavg()))
    print(r, {k: round(v[-1], 3) for k, v in times.items()}, "load", loads[-1][0],
          flush=True)
med = {k: float(np.median(v)) for k, v in times.items()}
low = {k: float(np.min(v)) for k, v in times.items()}
metrics = {"median_seconds": med, "min_seconds": low,
           "ratio_to_keras": {k: v / med["keras"] for k, v in med.items()},
           "min_ratio_to_keras": {k: v / low["keras"] for k, v in low.items()},
           "warmup_loss": warmup_loss}
for side in ("spe", "xla"):
    if f"keras_{side}" in med and f"backend_{side}" in med:
        metrics[f"backend_over_keras_{side}"] = med[f"backend_{side}"] / med[f"keras_{side}"]
print(json.dumps(metrics, indent=1))
if args.out:
    from nengo_pc.results import make_record, write_json_atomic

    write_json_atomic(args.out, make_record(
        "benchmark", {"script": "benchmarks/nengodl_levers.py", "n": args.n,
                      "rounds": args.rounds, "variants": names,
                      "intra_op_threads": args.intra_op_threads,
                      "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS"),
                      "model": "784-500-500-10 relu, batch 100, Adam 1e-3",
                      "order": "one epoch of every variant per round, one process"},
        seed=0, metrics=metrics, seconds={"rounds": times},
        load_average=loads))
