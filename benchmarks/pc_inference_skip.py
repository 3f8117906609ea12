"""Benchmark: standard PC's update before and after skipping the exact-zero layers.

`nengo_pc.pc.relaxation` computes, at each inference step, only the layers the
displacement from the feedforward pass has reached. This times the rule's update
(`standard_updates`, one traced function, no optimiser) of the current code against
the same function of ``--before`` (a commit whose ``nengo_pc/pc/relaxation.py``
stepped every layer; read with ``git show``), interleaved: ``--repeats`` rounds of
``--n-calls`` calls each, median per call. Both must give the same updates (checked
here, bit for bit).

Example (the reported run)::

    python benchmarks/pc_inference_skip.py --out results/bench/pc_inference_skip.json
"""

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nengo_pc import cli
from nengo_pc.arch import init_params, mlp
from nengo_pc.data import load_split
from nengo_pc.results import emit_record, make_record

ROOT = Path(__file__).resolve().parent.parent


def load_before(commit):
    """``nengo_pc/pc/relaxation.py`` of ``commit``, imported under another name."""
    text = subprocess.run(["git", "-C", str(ROOT), "show",
                           f"{commit}:nengo_pc/pc/relaxation.py"],
                          capture_output=True, text=True, check=True).stdout
    folder = tempfile.mkdtemp()
    path = Path(folder) / "relaxation_before.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("relaxation_before", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv=None):
    import tensorflow as tf

    from nengo_pc.pc import relaxation
    from nengo_pc.pc.activations import get_activation

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default="a95b0cc")
    parser.add_argument("--hidden", nargs="+", type=cli.positive_int,
                        default=[128, 128, 128])
    parser.add_argument("--batch-size", type=cli.positive_int, default=128)
    parser.add_argument("--n-steps", type=cli.positive_int, default=8)
    parser.add_argument("--n-calls", type=cli.positive_int, default=100)
    parser.add_argument("--repeats", type=cli.positive_int, default=5)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    before = load_before(args.before)
    arch = mlp(tuple(args.hidden))
    params = init_params(arch, 0)
    batch = load_split("mnist", "train", args.data_dir).subset(args.batch_size)
    x = tf.constant(batch.images, tf.float32)
    y = tf.constant(np.eye(10, dtype=np.float32)[batch.labels])
    weights = [tf.constant(w) for w in params.weights]
    biases = [tf.constant(b) for b in params.biases]
    act = get_activation(arch.activation)
    functions = {}
    for label, module in (("before", before), ("after", relaxation)):
        functions[label] = tf.function(
            lambda module=module: module.standard_updates(
                weights, biases, x, y, act, args.n_steps, 0.1, 1.0),
            autograph=False).get_concrete_function()
    results = {label: f() for label, f in functions.items()}
    for (a, b), (c, d) in zip(results["before"], results["after"]):
        if not (np.array_equal(a.numpy(), c.numpy())
                and np.array_equal(b.numpy(), d.numpy())):
            sys.exit("the updates differ")
    times = {label: [] for label in functions}
    loads = [list(os.getloadavg())]
    for _ in range(args.repeats):
        for label, f in functions.items():
            t0 = time.perf_counter()
            for _ in range(args.n_calls):
                out = f()
            out[0][0].numpy()
            times[label].append((time.perf_counter() - t0) / args.n_calls)
        loads.append(list(os.getloadavg()))
    per_call = {label: statistics.median(t) for label, t in times.items()}
    record = make_record(
        "benchmark",
        config={"benchmark": "pc_inference_skip", "before": args.before,
                "architecture": arch.to_dict(), "batch_size": args.batch_size,
                "n_steps": args.n_steps, "n_calls": args.n_calls,
                "repeats": args.repeats},
        seed=0,
        metrics={"after_over_before": per_call["after"] / per_call["before"],
                 "updates_equal": True,
                 "load_min": min(x[0] for x in loads),
                 "load_max": max(x[0] for x in loads)},
        seconds={f"{label}/per_call": s for label, s in per_call.items()},
        rounds=times, load_average=loads,
        note="interleaved rounds on a shared machine; the ratio is the number")
    emit_record(record, args.out)


if __name__ == "__main__":
    main()
