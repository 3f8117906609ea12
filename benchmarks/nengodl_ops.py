"""What one training step of NengoDL does beyond plain Keras: the TensorFlow graph
of ``train_step`` on both sides, counted by op type.

The 784-500-500-10 ReLU MLP, minibatch 100, Adam: `nengo_pc.training.backends.NengoDLBackend`
(the `~nengo_pc.networks.FeedforwardNetwork` in ``nengo_dl.Simulator``, as training
builds it) against the same model in ``tf.keras``. Each side's ``train_step`` is traced
once (nothing is run) and its graph's operations are counted; the record lists the op
types whose counts differ, the NengoDL model's inputs and its operator plan (one entry
per NengoDL operator group executed each step) with its signal reads and writes,
and those of NengoDL's default planner (``default_planner``: its shared state
arrays and element-wise scatters). Counts, not times: which work the remaining time
ratio is made of.

Example::

    python benchmarks/nengodl_ops.py --out results/bench/nengodl_ops.json
"""
import argparse
import collections
import json

import nengo_pc  # noqa: F401  (NengoDL on TF 2.19: tf-keras)
import tensorflow as tf

from nengo_pc.arch import mlp
from nengo_pc.params import init_params
from nengo_pc.training.backends import NengoDLBackend

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--out", help="JSON record to write")
args = parser.parse_args()

BATCH = 100
arch = mlp((500, 500), activation="relu")
params = init_params(arch, 0)
loss = tf.losses.SparseCategoricalCrossentropy(from_logits=True)


def graph_ops(model, data):
    """Op type -> count in the traced graph of ``model.train_step(data)``."""
    graph = tf.function(model.train_step).get_concrete_function(data).graph
    return collections.Counter(op.type for op in graph.get_operations())


backend = NengoDLBackend(arch, params, BATCH, 0, False)
backend.compile(tf.keras.optimizers.Adam(1e-3))
model = backend.sim.keras_model
inputs = {i.name: tf.TensorSpec(i.shape, i.dtype) for i in model.inputs}
targets = {model.output_names[0]: tf.TensorSpec((BATCH, 1, 1), tf.float32)}
nengodl = graph_ops(model, (inputs, targets))
plan = [f"{type(ops[0]).__name__} x{len(ops)}: {ops[0]}"
        for ops in backend.sim.tensor_graph.plan]
signals = backend.sim.tensor_graph.signals
reads, writes = dict(signals.read_types), dict(signals.write_types)
backend.close()


def default_planner_signals():
    """Reads and writes of the same network with NengoDL's default planner."""
    import nengo_dl

    from nengo_pc.networks.feedforward import FeedforwardNetwork, configure_nengo_dl

    net = FeedforwardNetwork(arch, params, seed=0, spiking=False)
    configure_nengo_dl(net)
    with net:
        nengo_dl.configure_settings(stateful=False, use_loop=False)
    with nengo_dl.Simulator(net, minibatch_size=BATCH, seed=0, progress_bar=False) as sim:
        graph = sim.tensor_graph
        return {"plan_groups": len(graph.plan), "reads": dict(graph.signals.read_types),
                "writes": dict(graph.signals.write_types),
                "state_arrays": [shapes for _, shapes, _, _ in
                                 graph.base_arrays_init["state"].values()]}


default = default_planner_signals()

x = tf.keras.Input((arch.sizes[0],))
h = x
for width in arch.sizes[1:-1]:
    h = tf.keras.layers.Dense(width, activation="relu")(h)
keras = tf.keras.Model(x, tf.keras.layers.Dense(arch.sizes[-1])(h))
keras.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss=loss)
plain = graph_ops(keras, (tf.TensorSpec((BATCH, arch.sizes[0])),
                          tf.TensorSpec((BATCH,), tf.float32)))

differ = {k: {"nengodl": nengodl[k], "keras": plain[k]}
          for k in sorted(set(nengodl) | set(plain), key=lambda k: plain[k] - nengodl[k])
          if nengodl[k] != plain[k]}
metrics = {"total_ops": {"nengodl": sum(nengodl.values()), "keras": sum(plain.values())},
           "ops_that_differ": differ,
           "nengodl_inputs": [f"{i.name} {list(i.shape)}" for i in model.inputs],
           "nengodl_plan": plan, "nengodl_signal_reads": reads,
           "nengodl_signal_writes": writes,
           "default_planner": default}
print(json.dumps(metrics, indent=1))
if args.out:
    from nengo_pc.results import make_record, write_json_atomic

    write_json_atomic(args.out, make_record(
        "benchmark", {"script": "benchmarks/nengodl_ops.py",
                      "model": "784-500-500-10 relu, batch 100, Adam 1e-3"},
        seed=0, metrics=metrics, seconds={}))
