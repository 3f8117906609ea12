"""Figure: per-layer cosine between each PC rule's update and the BP gradient, by epoch.

Reads the record of ``benchmarks/pc_mlp.py`` (its per-epoch ``alignment`` history,
measured on a fixed probe batch) and plots one panel per data set. Never trains.

Usage::

    python analysis/pc_figures.py results/bench_pc_mlp.json \\
        --out figures/pc_alignment.png
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

from nengo_pc.results import read_record  # noqa: E402


def alignment_figure(record, out):
    """Plot the alignment history of every rule in ``record`` to the PNG ``out``."""
    datasets = record["config"]["datasets"]
    rules = [r for r in record["config"]["rules"] if r != "bp"]
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 3.6),
                             squeeze=False, sharey=True)
    styles = ["-", "--", ":"]
    for ax, name in zip(axes[0], datasets):
        for i, rule in enumerate(rules):
            history = record["history"][f"{name}/{rule}"]
            epochs = [h["epoch"] for h in history]
            per_layer = list(zip(*[h["alignment"] for h in history]))
            for layer, cosines in enumerate(per_layer):
                ax.plot(epochs, cosines, styles[layer % len(styles)], color=f"C{i}",
                        label=f"{rule}, layer {layer + 1}")
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("cosine(update, BP gradient)")
    axes[0][-1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("record", help="JSON record from benchmarks/pc_mlp.py")
    parser.add_argument("--out", default="figures/pc_alignment.png")
    args = parser.parse_args(argv)
    print(alignment_figure(read_record(args.record), args.out))


if __name__ == "__main__":
    main()
