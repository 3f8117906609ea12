"""Which NengoDL settings make ``sim.fit`` of the 784-500-500-10 ReLU MLP faster,
against plain Keras on the same model and data order.

Builds the suite's `~nengo_pc.networks.FeedforwardNetwork` in ``nengo_dl.Simulator``
three ways -- NengoDL's defaults (its step inside a ``tf.while_loop``), with
``use_loop=False`` (what `nengo_pc.training.backends.NengoDLBackend` now
configures for training), and that with ``keep_history=False`` -- and the same
model in ``tf.keras``; trains each for one warm-up epoch, then ``rounds`` timed
epochs of ``n`` images, interleaved (one epoch of every variant per round), and
writes the median seconds and their ratio to Keras.

Example::

    python benchmarks/nengodl_levers.py 12000 3 --out results/bench/nengodl_levers.json
"""
import json, sys, time, os
import nengo_pc  # noqa: F401  (NengoDL on TF 2.19: tf-keras)
import numpy as np
import tensorflow as tf
import nengo, nengo_dl
from nengo_pc.arch import mlp
from nengo_pc.params import init_params
from nengo_pc.data import load_dataset
from nengo_pc.networks.feedforward import FeedforwardNetwork, configure_nengo_dl

n = int(sys.argv[1]) if len(sys.argv) > 1 else 12000
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
out = sys.argv[sys.argv.index("--out") + 1] if "--out" in sys.argv else None
data = load_dataset("mnist")
x, y = data.train.images[:n], data.train.labels[:n]
arch = mlp((500, 500), activation="relu")
params = init_params(arch, 0)

def nengodl(use_loop=True, keep_history=True, unroll=1):
    net = FeedforwardNetwork(arch, params, seed=0, spiking=False)
    configure_nengo_dl(net)
    with net:
        nengo_dl.configure_settings(stateful=False, use_loop=use_loop)
        if not keep_history:
            nengo_dl.configure_settings(keep_history=False)
    sim = nengo_dl.Simulator(net, minibatch_size=100, seed=0, progress_bar=False,
                             unroll_simulation=unroll)
    sim.compile(optimizer=tf.keras.optimizers.Adam(1e-3),
                loss={net.probe: tf.losses.SparseCategoricalCrossentropy(from_logits=True)})
    def fit():
        sim.fit({net.input: x[:, None, :]}, {net.probe: y[:, None, None]}, epochs=1,
                shuffle=False, verbose=0)
    return fit

def keras():
    inp = tf.keras.Input((784,))
    h = inp
    for w in (500, 500):
        h = tf.keras.layers.Dense(w, activation="relu")(h)
    out = tf.keras.layers.Dense(10)(h)
    model = tf.keras.Model(inp, out)
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3),
                  loss=tf.losses.SparseCategoricalCrossentropy(from_logits=True))
    def fit():
        model.fit(x, y, batch_size=100, epochs=1, shuffle=False, verbose=0)
    return fit

variants = {"nengodl": nengodl(), "nengodl_noloop": nengodl(use_loop=False),
            "nengodl_noloop_nohist": nengodl(use_loop=False, keep_history=False),
            "keras": keras()}
for f in variants.values():
    f()  # warm-up epoch (tracing)
times = {k: [] for k in variants}
for r in range(rounds):
    for k, f in variants.items():
        t0 = time.perf_counter(); f(); times[k].append(time.perf_counter() - t0)
    print(r, {k: round(v[-1], 3) for k, v in times.items()}, "load", os.getloadavg()[0], flush=True)
med = {k: float(np.median(v)) for k, v in times.items()}
metrics = {"median_seconds": med,
           "ratio_to_keras": {k: v / med["keras"] for k, v in med.items()}}
print(json.dumps(metrics, indent=1))
if out:
    from nengo_pc.results import make_record, write_json_atomic

    write_json_atomic(out, make_record(
        "benchmark", {"script": "benchmarks/nengodl_levers.py", "n": n, "rounds": rounds,
                      "model": "784-500-500-10 relu, batch 100, Adam 1e-3"},
        seed=0, metrics=metrics, seconds={"rounds": times},
        load_average=list(os.getloadavg())))
