"""Figure: spiking accuracy against presentation time, from a saved benchmark record.

Reads the record of ``benchmarks/spiking_mlp.py`` (or ``spiking_cnn.py``) and plots test
accuracy against presentation time for constant and Poisson input, with and without
alpha synapses, with the rate-mode accuracy as a reference line. Never simulates.

Usage::

    python analysis/spiking_figures.py results/bench_spiking_mlp.json \\
        --out figures/spiking_mlp_accuracy_vs_time.png
"""

import argparse
import sys
from pathlib import Path

try:
    import nengo_pc  # noqa: F401
except ImportError:  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nengo_pc.results import read_record, save_figure  # noqa: E402


def accuracy_vs_time(record, out):
    """Plot the presentation-time sweep of ``record`` to the PNG ``out``."""
    fig, ax = plt.subplots(figsize=(6, 4))
    styles = {("constant", "none"): "C0-o", ("constant", "alpha"): "C0--s",
              ("poisson", "none"): "C1-o", ("poisson", "alpha"): "C1--s"}
    for (coding, synapse), style in styles.items():
        rows = sorted((r["ms"], r["accuracy"]) for r in record["sweep"]
                      if r["input_coding"] == coding and r["synapse"] == synapse)
        if rows:
            ms, acc = zip(*rows)
            ax.plot(ms, [100 * a for a in acc], style, label=f"{coding} input, {synapse}")
    metrics = record["metrics"]
    if "rate_sweep_accuracy" in metrics:  # same images as the sweep
        ax.axhline(100 * metrics["rate_sweep_accuracy"], color="k", lw=0.8,
                   label="rate mode (same images)")
    else:
        ax.axhline(100 * metrics["rate_test_accuracy"], color="k", lw=0.8,
                   label="rate mode (full test set)")
    ax.set_xscale("log")
    ax.set_xlabel("presentation time (ms)")
    ax.set_ylabel("test accuracy (%)")
    n = record["config"]["n_sweep"]
    ax.set_title(f"Spiking LIF network, first {n} test images")
    ax.set_ylim(bottom=max(0, ax.get_ylim()[0]))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("record", help="JSON record from benchmarks/spiking_*.py")
    parser.add_argument("--out", default="figures/spiking_accuracy_vs_time.png")
    args = parser.parse_args(argv)
    print(accuracy_vs_time(read_record(args.record), args.out))


if __name__ == "__main__":
    main()
