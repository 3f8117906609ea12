"""How nengo-pc's time grows with the network, the minibatch and the steps.

Issue 20 asks for time per epoch and per image against width, depth, batch size,
inference steps and presentation time, with fitted exponents. This script measures
them on this machine, one sweep at a time, and writes one record and one figure:

* ``width``, ``depth``, ``batch``, ``steps``: training time per image of standard
  PC (``pc-standard``, the vectorised backend's default fused loop), as
  ``nengo-pc train --rule pc-standard`` runs it, on the first ``--n-train`` MNIST
  training images; the second of two epochs is timed (the first also pays for
  tracing and TensorFlow's first allocations). Defaults around the issue's network:
  784-128-128-128-10, minibatch 128, T = 8 inference steps. The ``width`` sweep
  also times backprop (``bp-mse``) on the same networks, for the ratio.
* ``presentation``: spiking inference time per image and accuracy of the soft-LIF
  CNN (the shipped ``mnist-softlif-cnn`` parameters) on the ``tensorflow`` backend,
  as ``nengo-pc evaluate --pretrained mnist-softlif-cnn --mode spiking --synapse
  none --n-steps N`` runs it, on the first ``--n-test`` test images.

Every sweep fits ``seconds = c * x**k`` by least squares in log-log over all its
points and over its upper half (``exponent``, ``exponent_upper``), and for
``depth``, ``steps`` and ``presentation`` also the straight line
``seconds = a + b * x`` (``linear``: a, b and R^2): linear cost in steps and depth
shows as R^2 near 1 with a small intercept.

Example (the committed record)::

    python benchmarks/scaling.py --out results/bench/scaling.json \\
        --figure figures/scaling.png
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

#: The sweeps and their points (x values).
SWEEPS = {
    "width": [128, 256, 512, 1000, 2000],
    "depth": [1, 2, 3, 4, 5],
    "batch": [1, 10, 32, 128, 500, 1000],
    "steps": [1, 2, 4, 8, 16, 32, 50],
    "presentation": [10, 20, 30, 60, 100],
}
QUICK = {"width": [32, 64], "depth": [1, 2], "batch": [16, 32], "steps": [1, 2],
         "presentation": [2, 4]}

#: The network every training sweep varies one thing of.
BASE = {"width": 128, "depth": 3, "batch": 128, "steps": 8}


def _log(message):
    print(message, file=sys.stderr, flush=True)


def _load_average():
    return os.getloadavg()[0]


def train_point(data, rule, width, depth, batch, steps, n_train):
    """Seconds per training image of ``rule`` (second epoch of two)."""
    from nengo_pc.arch import mlp
    from nengo_pc.training import TrainConfig, train

    arch = mlp((width,) * depth)
    options = {"n_steps": steps} if rule == "pc-standard" else {}
    n = min(n_train, len(data.train))
    n -= n % batch
    config = TrainConfig.for_rule(rule, options=options, batch_size=batch, epochs=2)
    result = train(arch, data.train.subset(n), config, progress=False)
    return {"seconds_per_image": result.history[-1]["seconds"] / n, "n_images": n,
            "build_seconds": result.build_seconds}


def presentation_point(data, n_steps, n_test):
    """Seconds per test image and accuracy of the spiking CNN at ``n_steps``."""
    from nengo_pc import pretrained
    from nengo_pc.networks.presentation import Presentation
    from nengo_pc.training import evaluate

    arch, params, _ = pretrained.load("mnist-softlif-cnn")
    test = data.test.subset(min(n_test, len(data.test)))
    presentation = Presentation(n_steps=n_steps, synapse="none")
    evaluate(arch, params, test.subset(10), backend="tensorflow",
             presentation=presentation)  # traces the compiled step first
    result = evaluate(arch, params, test, backend="tensorflow",
                      presentation=presentation, batch_size=200)
    return {"seconds_per_image": result["seconds"] / len(test),
            "accuracy": result["accuracy"], "n_images": len(test)}


def fit(xs, ys):
    """Exponent of ``y = c x^k`` (all points and upper half) and the line a + b x."""
    lx, ly = np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float))
    k = float(np.polyfit(lx, ly, 1)[0]) if len(xs) > 1 else None
    half = len(xs) // 2
    upper = float(np.polyfit(lx[half:], ly[half:], 1)[0]) if len(xs) - half > 1 else None
    b, a = np.polyfit(np.asarray(xs, float), np.asarray(ys, float), 1)
    predicted = a + b * np.asarray(xs, float)
    residual = np.sum((np.asarray(ys) - predicted) ** 2)
    total = np.sum((np.asarray(ys) - np.mean(ys)) ** 2)
    return {"exponent": k, "exponent_upper": upper,
            "linear": {"intercept": float(a), "slope": float(b),
                       "r2": float(1 - residual / total) if total > 0 else None}}


def run_sweep(name, points, data, args):
    """Every point of sweep ``name``: x, seconds per image (and accuracy), load."""
    rows = []
    for x in points:
        t0, load = time.perf_counter(), _load_average()
        if name == "presentation":
            row = presentation_point(data, x, args.n_test)
        else:
            settings = {**BASE, name: x}
            row = train_point(data, "pc-standard", settings["width"], settings["depth"],
                              settings["batch"], settings["steps"], args.n_train)
            if name == "width":
                bp = train_point(data, "bp-mse", x, BASE["depth"], BASE["batch"],
                                 BASE["steps"], args.n_train)
                row["bp_seconds_per_image"] = bp["seconds_per_image"]
        row.update(x=x, load_before=load, load_after=_load_average(),
                   wall_seconds=time.perf_counter() - t0)
        _log(f"[scaling] {name}={x}: {1e3 * row['seconds_per_image']:.3f} ms/image"
             + (f", accuracy {100 * row['accuracy']:.2f}%" if "accuracy" in row else "")
             + f" (load {load:.1f})")
        rows.append(row)
    xs = [r["x"] for r in rows]
    return {"points": rows, "fit": fit(xs, [r["seconds_per_image"] for r in rows])}


def plot(record, path):
    """One panel per sweep, log-log, with the fitted power law."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweeps = record["sweeps"]
    labels = {"width": "hidden width (3 layers)", "depth": "hidden layers (width 128)",
              "batch": "minibatch size", "steps": "inference steps T",
              "presentation": "presentation steps (1 ms)"}
    columns = min(3, len(sweeps))
    rows = -(-len(sweeps) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.4 * rows),
                             squeeze=False)
    for ax in axes.ravel()[len(sweeps):]:
        ax.set_visible(False)
    for ax, (name, sweep) in zip(axes.ravel(), sweeps.items()):
        xs = np.array([p["x"] for p in sweep["points"]], float)
        ys = np.array([p["seconds_per_image"] for p in sweep["points"]]) * 1e3
        ax.loglog(xs, ys, "o-", label="pc-standard" if name != "presentation"
                  else "spiking CNN")
        if name == "width":
            bp = np.array([p["bp_seconds_per_image"] for p in sweep["points"]]) * 1e3
            ax.loglog(xs, bp, "s--", label="bp-mse")
        k = sweep["fit"]["exponent"]
        ax.set_title(f"{name}: exponent {k:.2f}")
        ax.set_xlabel(labels[name])
        ax.set_ylabel("ms per image")
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv=None):
    from nengo_pc import cli
    from nengo_pc.data import load_dataset
    from nengo_pc.results import make_record, write_json_atomic

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", nargs="+", choices=tuple(SWEEPS),
                        default=list(SWEEPS), help="sweeps to run (default: all)")
    parser.add_argument("--n-train", type=cli.positive_int, default=6400,
                        help="training images per epoch of a training point "
                             "(default 6400)")
    parser.add_argument("--n-test", type=cli.positive_int, default=2000,
                        help="test images per presentation point (default 2000)")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sweeps (for tests)")
    parser.add_argument("--data-dir", default=None,
                        help="MNIST folder (default $NENGO_PC_DATA)")
    parser.add_argument("--out", required=True, help="JSON record to write")
    parser.add_argument("--figure", default=None, help="PNG figure to write")
    args = parser.parse_args(argv)

    data = load_dataset("mnist", data_dir=args.data_dir)
    table = QUICK if args.quick else SWEEPS
    t0 = time.perf_counter()
    sweeps = {name: run_sweep(name, table[name], data, args) for name in args.sweeps}
    record = make_record(
        "benchmark", {"script": "benchmarks/scaling.py", "sweeps": args.sweeps,
                      "points": {n: table[n] for n in args.sweeps}, "base": BASE,
                      "n_train": args.n_train, "n_test": args.n_test,
                      "quick": args.quick, "command": " ".join(sys.argv)},
        seed=0, metrics={n: s["fit"] for n, s in sweeps.items()},
        seconds={"total": time.perf_counter() - t0}, sweeps=sweeps)
    write_json_atomic(args.out, record)
    if args.figure:
        plot(record, args.figure)
    _log(f"[scaling] record: {args.out}" + (f", figure: {args.figure}"
                                             if args.figure else ""))
    return record


if __name__ == "__main__":
    main()
