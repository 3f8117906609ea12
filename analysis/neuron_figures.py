"""Make the neuron and data figures (figs. 1, 3a and 3b).

* ``fig1``: the first 10 MNIST training images with their labels.
* ``fig3a``: LIF rate r(j) and soft-LIF rate r_rho(j) for j in [0, 3].
* ``fig3b``: theoretical vs simulated rate of a spiking ``nengo.LIF`` neuron
  driven by constant currents j in [1.1, 10], plus ``fig3b.json`` with the
  numbers; exits with an error if the largest relative error reaches 2%.

Usage::

    python analysis/neuron_figures.py [--out-dir figures] [--data-dir DIR]
                                      [--which fig1,fig3a,fig3b]

The PNG (and JSON) paths are printed, one per line.
"""

import argparse
import json
import os
import pathlib
import sys

import numpy as np

try:
    import nengo_pc  # noqa: F401  pylint: disable=unused-import
except ImportError:  # run as a script from a checkout: use the repo root
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import matplotlib  # noqa: E402  (after the path fix-up above)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nengo_pc.neurons import (  # noqa: E402
    DEFAULT_TAU_RC,
    DEFAULT_TAU_REF,
    lif_rate,
    simulated_lif_rates,
    soft_lif_rate,
)
from nengo_pc.results import save_figure  # noqa: E402

FIGURES = ("fig1", "fig3a", "fig3b")
MAX_REL_ERROR = 0.02  # fig3b acceptance threshold


def fig1(out_dir, data_dir=None):
    """Plot the first 10 MNIST training images in a row, titled with labels.

    Parameters
    ----------
    out_dir : pathlib.Path
        Directory for ``fig1.png``.
    data_dir : path-like, optional
        MNIST location; defaults to ``$NENGO_PC_DATA`` (see `nengo_pc.data`).

    Returns
    -------
    paths : list of pathlib.Path
        The written file.
    """
    from nengo_pc.data import load_dataset  # pylint: disable=import-outside-toplevel

    train = load_dataset("mnist", data_dir=data_dir, flatten=False).train
    fig, axes = plt.subplots(1, 10, figsize=(10, 1.6))
    for ax, image, label in zip(axes, train.images[:10], train.labels[:10]):
        ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(str(int(label)))
        ax.axis("off")
    fig.suptitle("First 10 MNIST training images (title: label)", fontsize=10)
    fig.tight_layout()
    return [_save(fig, out_dir / "fig1.png")]


def fig3a(out_dir, gammas=(0.02, 0.1)):
    """Plot the LIF rate and soft-LIF rates for j in [0, 3].

    Parameters
    ----------
    out_dir : pathlib.Path
        Directory for ``fig3a.png``.
    gammas : sequence of float, optional
        Smoothing values to overlay.

    Returns
    -------
    paths : list of pathlib.Path
        The written file.
    """
    j = np.linspace(0, 3, 3001)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(j, lif_rate(j), "k", lw=2, label="LIF $r(j)$")
    for gamma in gammas:
        ax.plot(j, soft_lif_rate(j, gamma=gamma), "--", label=f"soft LIF, $\\gamma={gamma}$")
    ax.axvline(1.0, color="0.7", lw=0.8, zorder=0)
    ax.set_xlabel("input current $j$")
    ax.set_ylabel("firing rate [Hz]")
    ax.set_title(
        f"LIF vs soft LIF ($\\tau_{{RC}}={DEFAULT_TAU_RC}$ s, "
        f"$\\tau_{{ref}}={DEFAULT_TAU_REF}$ s, $V_{{th}}=1$)",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return [_save(fig, out_dir / "fig3a.png")]


def fig3b(out_dir, n_points=20, t=2.0, dt=0.001):
    """Compare theoretical and simulated LIF rates under constant current.

    All currents run at once as separate neurons of one ensemble (see
    `nengo_pc.neurons.simulated_lif_rates`).

    Parameters
    ----------
    out_dir : pathlib.Path
        Directory for ``fig3b.png`` and ``fig3b.json``.
    n_points : int, optional
        Number of currents, evenly spaced in [1.1, 10].
    t : float, optional
        Simulated time per current, in seconds.
    dt : float, optional
        Simulation time step, in seconds.

    Returns
    -------
    paths : list of pathlib.Path
        The written PNG and JSON files.

    Raises
    ------
    RuntimeError
        If the largest relative error is not below 2%.
    """
    j = np.linspace(1.1, 10, n_points)
    theory = lif_rate(j)
    simulated = simulated_lif_rates(j, t=t, dt=dt)
    rel_error = np.abs(simulated - theory) / theory
    max_rel = float(rel_error.max())
    print(f"fig3b: max relative error {max_rel:.3e} (limit {MAX_REL_ERROR})")

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(j, theory, "k", label="theory $r(j)$")
    ax.plot(j, simulated, "o", mfc="none", label=f"nengo.LIF, {t:g} s, dt={dt:g}")
    ax.set_xlabel("input current $j$")
    ax.set_ylabel("firing rate [Hz]")
    ax.set_title(f"Simulated vs theoretical LIF rate (max rel. error {max_rel:.2e})", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    png = _save(fig, out_dir / "fig3b.png")

    record = {
        "tau_rc": DEFAULT_TAU_RC,
        "tau_ref": DEFAULT_TAU_REF,
        "t": t,
        "dt": dt,
        "currents": j.tolist(),
        "theory_hz": theory.tolist(),
        "simulated_hz": simulated.tolist(),
        "relative_error": rel_error.tolist(),
        "max_relative_error": max_rel,
        "limit": MAX_REL_ERROR,
        "passed": max_rel < MAX_REL_ERROR,
    }
    json_path = out_dir / "fig3b.json"
    json_path.write_text(json.dumps(record, indent=2) + "\n")
    if not max_rel < MAX_REL_ERROR:
        raise RuntimeError(f"fig3b: max relative error {max_rel:.3e} >= {MAX_REL_ERROR}")
    return [png, json_path]


def _save(fig, path):
    """Write ``fig`` to ``path`` atomically and close it."""
    return save_figure(fig, path, dpi=150)


def parse_args(argv=None):
    """Parse the command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    argparse.Namespace
    """
    parser = argparse.ArgumentParser(
        description="Make the neuron and data figures (fig1, fig3a, fig3b) as PNGs."
    )
    parser.add_argument(
        "--out-dir", default="figures", help="output directory (default: %(default)s)"
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="MNIST data directory for fig1 (default: $NENGO_PC_DATA, else the cache)",
    )
    parser.add_argument(
        "--which",
        default=",".join(FIGURES),
        help="comma-separated figures to make (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    args.which = [w.strip() for w in args.which.split(",") if w.strip()]
    unknown = sorted(set(args.which) - set(FIGURES))
    if unknown or not args.which:
        parser.error(f"--which: unknown figure(s) {unknown}; choose from {','.join(FIGURES)}")
    return args


def main(argv=None):
    """Make the requested figures and print their paths.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).
    """
    args = parse_args(argv)
    out_dir = pathlib.Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data_dir = args.data_dir or os.environ.get("NENGO_PC_DATA")
    makers = {
        "fig1": lambda: fig1(out_dir, data_dir=data_dir),
        "fig3a": lambda: fig3a(out_dir),
        "fig3b": lambda: fig3b(out_dir),
    }
    for name in args.which:
        for path in makers[name]():
            print(path)


if __name__ == "__main__":
    main()
