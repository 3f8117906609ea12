"""Figures of the PC benchmark: update alignment over training, energy per inference step.

Reads the record of ``benchmarks/pc_mlp.py`` and never trains:

* ``--out``: per-layer cosine between each PC rule's update and the BP gradient after
  every epoch (its ``alignment`` history, measured on a fixed probe batch), one
  panel per data set;
* ``--energy-out``: the mean energy F per test example at every step of standard PC
  inference with the output clamped to the label (its ``energy_traces``), on the
  initial and the trained networks, one panel per data set.

Usage::

    python analysis/pc_figures.py results/bench_pc_mlp.json \\
        --out figures/pc_alignment.png --energy-out figures/pc_energy.png
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
from nengo_pc.rules import canonical  # noqa: E402


def _entry(mapping, dataset, rule):
    """``mapping["<dataset>/<rule>"]``, the rule under its registry name or the name a
    record from before the registry used (``bp``, ``standard``, ...); None if absent."""
    for key, value in mapping.items():
        name, _, recorded = key.partition("/")
        if name == dataset and canonical(recorded) == canonical(rule):
            return value
    return None


def alignment_figure(record, out):
    """Plot the alignment history of every rule in ``record`` to the PNG ``out``."""
    datasets = record["config"]["datasets"]
    rules = [r for r in record["config"]["rules"] if canonical(r) != "bp-mse"]
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 3.6),
                             squeeze=False, sharey=True)
    styles = ["-", "--", ":"]
    for ax, name in zip(axes[0], datasets):
        for i, rule in enumerate(rules):
            history = _entry(record["history"], name, rule)
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
    return save_figure(fig, out)


def energy_figure(record, out):
    """Plot the energy traces of ``record`` (F per example vs inference step)."""
    traces = record.get("energy_traces") or {}
    if not traces:
        raise ValueError("record: has no energy_traces (run benchmarks/pc_mlp.py with "
                         "--trace-steps > 0)")
    datasets = [d for d in record["config"]["datasets"] if f"{d}/initial" in traces]
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 3.6),
                             squeeze=False)
    networks = [("initial", ":"), ("bp-mse", "--"), ("pc-standard", "-")]
    for ax, name in zip(axes[0], datasets):
        for network, style in networks:
            for i, trace in enumerate(_entry(traces, name, network) or []):
                ax.semilogy(trace["energy"], style, color=f"C{i}",
                            label=f"{network}: step {trace['step_size']:g}, "
                                  f"gamma {trace['output_precision']:g}")
        ax.set_title(f"{name}: standard PC inference, output clamped")
        ax.set_xlabel("inference step")
        ax.grid(alpha=0.3, which="both")
    axes[0][0].set_ylabel("energy F per example")
    axes[0][-1].legend(fontsize=6, ncol=1)
    fig.tight_layout()
    return save_figure(fig, out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("record", help="JSON record from benchmarks/pc_mlp.py")
    parser.add_argument("--out", default="figures/pc_alignment.png")
    parser.add_argument("--energy-out", default="figures/pc_energy.png",
                        help="energy-per-inference-step figure ('' to skip)")
    args = parser.parse_args(argv)
    record = read_record(args.record)
    print(alignment_figure(record, args.out))
    if args.energy_out:
        try:
            print(energy_figure(record, args.energy_out))
        except ValueError as error:
            parser.error(str(error))


if __name__ == "__main__":
    main()
