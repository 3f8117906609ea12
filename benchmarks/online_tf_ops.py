r"""Count: the TensorFlow operations of one step of online learning's tensorflow simulator.

Builds the headline online-learning network (``HEADLINE`` of
``benchmarks/online_levers.py``: 784-500-10 relu, spiking pairs, batch 10) in
`nengo_pc.pc.online_tf.OnlineTFSimulator`, runs one training call (which traces
it) and counts the operations of the traced step -- the body of the call's
``tf.while_loop``, as traced, before TensorFlow's graph optimiser -- by
TensorFlow operation type and, where the compiler names them, by the Nengo
operator type they compute. Constants, identities and no-ops are left out (they
compute nothing). The count is of the graph, so the machine's load does not
matter; it is what the step costs in TensorFlow's executor, which runs every
operation of it at every step (docs/performance.md).

Run it with the ``nengo_pc`` of another commit on ``PYTHONPATH`` to count that
commit's step (its operations are not named by Nengo operator before
session 13)::

    python benchmarks/online_tf_ops.py --out results/bench/online_tf_ops.json
    git worktree add /tmp/before c109f7b
    PYTHONPATH=/tmp/before python benchmarks/online_tf_ops.py \
        --out results/bench/online_tf_ops-c109f7b.json
"""

import argparse
import collections
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from online_levers import HEADLINE  # noqa: E402  (the settings, one place)
from online_profile import build, train_calls  # noqa: E402

#: Operation types that compute nothing at a step.
INERT = ("Const", "Identity", "NoOp")


def step_operations(run):
    """``(by TensorFlow type, by Nengo operator type)`` counts of the operations
    of the traced training step (the largest function of the call's graph)."""
    # commits before session 13 (e.g. c109f7b, the "before" record) lack traced()
    traced = (run.traced() if hasattr(run, "traced")
              else run._call._list_all_concrete_functions())  # pylint: disable=W0212
    library = traced[0].graph.as_graph_def().library.function
    body = max(library, key=lambda f: len(f.node_def))
    by_type, by_operator = collections.Counter(), collections.Counter()
    for node in body.node_def:
        if node.op in INERT:
            continue
        by_type[node.op] += 1
        match = re.match(r"(?:while/)?([A-Z][A-Za-z]+)(?:_\d+)?/", node.name)
        by_operator[match.group(1) if match else "(unnamed)"] += 1
    return by_type, by_operator


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    import nengo_pc  # pylint: disable=import-outside-toplevel
    from nengo_pc.data import load_dataset  # pylint: disable=C0415
    from nengo_pc.pc.online_tf import OnlineTFSimulator  # pylint: disable=C0415
    from nengo_pc.results import emit_record, make_record  # pylint: disable=C0415
    from nengo_pc.tf_startup import import_tensorflow_quietly  # pylint: disable=C0415

    import_tensorflow_quietly()
    settings, batch = dict(HEADLINE), HEADLINE["batch_size"]
    _, run, _, _ = build(batch, settings, simulator=OnlineTFSimulator)
    train_calls(run, load_dataset("mnist"), batch, 0, 1)
    by_type, by_operator = step_operations(run)
    metrics = {"operations_per_step": sum(by_type.values()),
               "by_tensorflow_type": dict(by_type.most_common()),
               "by_nengo_operator": dict(by_operator.most_common()),
               "nengo_operators": dict(collections.Counter(
                   type(op).__name__ for op in run.compiler.ops).most_common()),
               "carried_signals": len(run.compiler.carried),
               "carried_values": int(sum(np.prod(run.compiler.full_shape(base))
                                         for base in run.compiler.carried))}
    record = make_record(
        "benchmark",
        config={"benchmark": "online_tf_ops", "settings": settings,
                "nengo_pc": os.path.dirname(nengo_pc.__file__),
                "command": " ".join(["python", "benchmarks/online_tf_ops.py"]
                                    + (argv if argv is not None else sys.argv[1:])),
                "load_average": os.getloadavg()},
        seed=settings["seed"], metrics=metrics, seconds={})
    return emit_record(record, args.out, shown={
        k: metrics[k] for k in ("operations_per_step", "by_nengo_operator",
                                "carried_signals")})


if __name__ == "__main__":
    main()
