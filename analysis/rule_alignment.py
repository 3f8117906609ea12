"""Alignment of every learning rule's update with the backprop gradient over training.

Reads the same run records as ``analysis/comparison_table.py`` (``results/compare``:
one per data set, rule and seed; each ``benchmarks/compare_rules.py`` record holds
its ``alignment`` history, the per-layer cosine between the rule's update and the
backprop gradient on a fixed probe batch after every epoch) and plots, per rule and
data set, the per-layer *angle* arccos(cosine) in degrees against epochs, averaged
over the seeds found (the band spans their minimum and maximum). Never trains.

EqProp and CHL are compared with the gradient of backprop through their own free
phase (a recurrent network has no other "BP gradient"); the exact PC variants (fixed
prediction, Z-IL) are at 0 degrees by construction and are left out.

Usage::

    python analysis/rule_alignment.py results/compare --out figures/rule_alignment.png
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
import numpy as np  # noqa: E402

from nengo_pc.datafiles import DATASETS, DISPLAY_NAMES  # noqa: E402
from nengo_pc.results import save_figure, seed_records  # noqa: E402

#: The rules plotted (records named ``<rule>_seed<k>.json``, registry names; older
#: names are mapped by `nengo_pc.results.seed_records`) and their titles.
RULES = {"fa": "FA", "dfa": "DFA", "eqprop": "EqProp", "chl": "CHL",
         "pc-standard": "PC standard", "pc-incremental": "PC incremental"}


def angles(records):
    """Epochs and per-layer angles in degrees, shape (seeds, epochs, layers).

    Seeds are cut to the shortest history so that they can be averaged.
    """
    histories = [r.get("history") or [] for r in records]
    histories = [h for h in histories if h and "alignment" in h[0]]
    if not histories:
        return None, None
    n = min(len(h) for h in histories)
    epochs = np.array([e["epoch"] for e in histories[0][:n]])
    cosines = np.array([[e["alignment"] for e in h[:n]] for h in histories], float)
    return epochs, np.degrees(np.arccos(np.clip(cosines, -1.0, 1.0)))


def alignment_figure(groups, out):
    """Plot the angle histories of ``groups`` (from `nengo_pc.results.seed_records`) to the PNG ``out``."""
    found = [r for r in RULES if any((r, d) in groups for d in DATASETS)]
    if not found:
        raise ValueError("results_dir: no records of " + ", ".join(RULES))
    fig, axes = plt.subplots(len(DATASETS), len(found), squeeze=False, sharey=True,
                             figsize=(2.6 * len(found), 2.4 * len(DATASETS)))
    for row, dataset in zip(axes, DATASETS):
        for ax, rule in zip(row, found):
            epochs, degrees = angles(groups.get((rule, dataset), []))
            if epochs is None:
                ax.text(0.5, 0.5, "not run", ha="center", transform=ax.transAxes)
            else:
                for layer in range(degrees.shape[2]):
                    per_seed = degrees[:, :, layer]
                    ax.plot(epochs, per_seed.mean(axis=0), color=f"C{layer}",
                            label=f"layer {layer + 1}")
                    ax.fill_between(epochs, per_seed.min(axis=0), per_seed.max(axis=0),
                                    color=f"C{layer}", alpha=0.2, linewidth=0)
                ax.set_title(f"{RULES[rule]}, {DISPLAY_NAMES[dataset]} "
                             f"(n={degrees.shape[0]})", fontsize=8)
            ax.grid(alpha=0.3)
            ax.set_xlabel("epoch", fontsize=8)
            ax.tick_params(labelsize=7)
        row[0].set_ylabel("angle to BP gradient (deg)", fontsize=8)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results_dir", nargs="?", default="results/compare")
    parser.add_argument("--out", default="figures/rule_alignment.png")
    args = parser.parse_args(argv)
    if not Path(args.results_dir).is_dir():
        parser.error(f"results_dir: {args.results_dir} is not a directory")
    try:
        print(alignment_figure(seed_records(args.results_dir), args.out))
    except ValueError as error:
        parser.error(str(error))


if __name__ == "__main__":
    main()
