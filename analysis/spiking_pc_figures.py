"""Figures of spiking predictive-coding inference.

From the record of ``benchmarks/spiking_pc.py`` (never simulates):

* ``spiking_pc_accuracy_vs_time.png``: test accuracy against presentation time,
  constant input (window and state readouts) and Poisson input, with the rate-mode
  accuracy and the goal as reference lines;
* ``spiking_pc_distance.png``: relative distance of the decoded values and the
  error norms from the rate-mode fixed point against time, per layer.

From records of ``benchmarks/spiking_pc_online.py`` (``--online``):

* ``spiking_pc_online.png``: test accuracy against training images seen, one line
  per record (spiking and rate mode, reduced and full runs), with the spiking
  network's own accuracy where it was measured (crosses: on the evaluation images;
  stars: on the full test set, also from ``--online-final`` records of checkpoint
  copies) and the 97% goal.

From a short simulation (``--params``; the reference simulator, one test image):

* ``spiking_pc_raster.png``: spike rasters of value, activity and error ensembles,
  with the input image and the output values over time.

Usage::

    python analysis/spiking_pc_figures.py results/bench_spiking_pc.json \\
        --params results/spiking_pc_params.npz --out-dir figures \\
        --online results/bench_spiking_pc_online*.json
"""

import argparse
import sys
import warnings
from pathlib import Path

try:
    import nengo_pc  # noqa: F401
except ImportError:  # run as a script from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from nengo_pc.datafiles import DISPLAY_NAMES  # noqa: E402
from nengo_pc.results import read_record, save_figure  # noqa: E402


def _save(fig, out):
    return save_figure(fig, out)


def _finish_accuracy_axes(fig, ax, out, goal, xlabel, ylim, title):
    """Goal line, labels and legend of a test-accuracy plot; save it to ``out``."""
    ax.axhline(100 * goal, color="r", lw=0.8, ls="--", label=f"goal {100 * goal:.1f}%")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(*ylim)
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return _save(fig, out)


def accuracy_vs_time(record, out):
    """Accuracy against presentation time from a ``spiking_pc`` record."""
    fig, ax = plt.subplots(figsize=(6, 4))
    curves, config = record["curves"], record["config"]
    styles = [("constant", "C0-", f"constant input ({config['readout']} readout), "
                                   f"{config['n_test']} images"),
              ("constant_state_readout", "C0:", "constant input (state readout)"),
              ("poisson", "C1-", f"Poisson input, first {config['n_poisson']} images")]
    for key, style, label in styles:
        if key in curves:
            ax.plot(curves[key]["ms"], 100 * np.asarray(curves[key]["accuracy"]), style,
                    lw=1.2, label=label)
    metrics = record["metrics"]
    ax.axhline(100 * metrics["rate_test_accuracy"], color="k", lw=0.8,
               label="rate mode (feedforward fixed point)")
    return _finish_accuracy_axes(fig, ax, out, config["goal"], "presentation time (ms)",
                                 (90, 100),
                                 "Spiking predictive-coding network, "
                                 f"{DISPLAY_NAMES[config.get('dataset', 'mnist')]} test set")


#: Settings that may differ between a run and a copy of its checkpoint evaluated by
#: ``--final-eval-spiking`` at an earlier point (how long to train, what to evaluate).
_EVALUATION_ONLY = ("n_samples", "epochs", "final_eval_spiking")


def _run_identity(record):
    """What makes two ``spiking_pc_online`` records points of one training run."""
    config = dict(record["config"])
    online = {k: v for k, v in config.pop("online").items() if k not in _EVALUATION_ONLY}
    return config, online


def final_spiking_points(records, finals=()):
    """The full-test-set evaluations of each run's spiking network.

    Parameters
    ----------
    records : list of dict
        ``spiking_pc_online`` records, one per learning curve.
    finals : list of dict
        Further records with a ``final_spiking`` evaluation (e.g. of checkpoint copies
        taken part-way through a run); each is attached to the curve of the run it
        belongs to (same settings but for how long it trained).

    Returns
    -------
    list of list of (int, float, int)
        Per curve: (samples seen, accuracy, test images) of each evaluation, in order.

    Raises
    ------
    ValueError
        If one of ``finals`` has no final evaluation or belongs to none of the runs.
    """
    identities = [_run_identity(r) for r in records]
    points = [[] for _ in records]
    for k, record in enumerate(records):
        if record.get("final_spiking"):
            points[k].append(record["final_spiking"])
    for record in finals:
        if not record.get("final_spiking"):
            raise ValueError("finals: a record has no final_spiking evaluation (run "
                             "with --final-eval-spiking)")
        if _run_identity(record) not in identities:
            raise ValueError(
                f"finals: the evaluation at {record['final_spiking']['samples']} samples "
                "belongs to none of the plotted runs (settings differ)")
        points[identities.index(_run_identity(record))].append(record["final_spiking"])
    return [sorted({(f["samples"], f["accuracy"], f["n"]) for f in run}) for run in points]


def online_learning_curves(records, out, goal=0.97, ylim=(80, 100), finals=()):
    """Test accuracy against training images seen, from ``spiking_pc_online`` records.

    Parameters
    ----------
    records : list of (str, dict)
        Label and record of each run.
    out : str or Path
        Figure path.
    goal : float
        Drawn as a reference line.
    ylim : (float, float)
        Range of the accuracy axis (%).
    finals : list of dict
        Further records whose full-test-set spiking evaluations join their run's
        curve (see `final_spiking_points`).
    """
    fig, ax = plt.subplots(figsize=(6, 4))
    final_points = final_spiking_points([r for _, r in records], finals)
    for k, (label, record) in enumerate(records):
        history = [h for h in record["history"] if "accuracy" in h]
        online = record["config"]["online"]
        mode = ("the rule, vectorised" if online.get("vectorised")
                else f"spiking, amplitude {online['amplitude']:g}" if online["spiking"]
                else "rate")
        name = (f"{label}: {mode}, {record['config']['dataset']}, batch "
                f"{online['batch_size']}, {record['config']['n_test']} test images")
        samples = [h["samples"] for h in history]
        ax.plot(samples, [100 * h["accuracy"] for h in history], f"C{k}-", lw=1.2,
                marker=".", label=name)
        spiking = [(h["samples"], h["spiking_accuracy"]) for h in history
                   if h.get("spiking_accuracy") is not None]
        if spiking:
            ax.plot(*zip(*[(n, 100 * a) for n, a in spiking]), f"C{k}x", ms=5,
                    label=f"{label}: the network's own output, first "
                    f"{online['eval_spiking']} test images")
        if final_points[k]:
            samples, accuracy, n_test = zip(*final_points[k])
            ax.plot(samples, [100 * a for a in accuracy], f"C{k}*", ms=11, mec="k",
                    mew=0.6, label=f"{label}: the spiking network on "
                    f"{'/'.join(str(n) for n in sorted(set(n_test)))} test images")
    return _finish_accuracy_axes(fig, ax, out, goal, "training images seen", ylim,
                                 "Online local learning of the PC network in NengoDL")


def distance_vs_time(record, out):
    """Distances of values and errors from the fixed point against time."""
    d = record["distances"]
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharex=True)
    for l, (value, error) in enumerate(zip(d["value_distance"], d["error_norm"]), 1):
        axes[0].semilogy(d["ms"], value, label=f"layer {l}")
        axes[1].semilogy(d["ms"], error, label=f"layer {l}")
    axes[0].set_title(r"$\|x_l(t) - h_l\| / \|h_l\|$")
    axes[1].set_title(r"$\|e_l(t)\| / \|h_l\|$")
    for ax in axes:
        ax.set_xlabel("time (ms)")
        ax.legend(fontsize=8)
    fig.suptitle(f"Distance from the rate-mode fixed point (mean of {d['n_images']} "
                 f"test images)", fontsize=10)
    fig.tight_layout()
    return _save(fig, out)


def spike_raster(params_path, out, image_index=0, duration=0.15, n_show=50, data_dir=None,
                 seed=0):
    """Spike rasters of one test image's spiking inference (reference simulator)."""
    import nengo  # pylint: disable=import-outside-toplevel

    from nengo_pc.data import load_split  # pylint: disable=import-outside-toplevel
    from nengo_pc.networks.pc import PredictiveCodingNetwork  # pylint: disable=C0415
    from nengo_pc.params import load_params  # pylint: disable=import-outside-toplevel

    arch, params, _ = load_params(params_path)
    test = load_split("mnist", "test", data_dir, download=False)
    image, label = test.images[image_index], int(test.labels[image_index])
    net = PredictiveCodingNetwork(arch, params, spiking=True, mode="sweep", seed=seed)
    with net:
        nengo.Connection(nengo.Node(image, label="image"), net.input, synapse=None)
    rows = []
    for l in range(1, arch.n_layers + 1):
        rows.append(f"value {l}")
        if net.activities[l] is not None:
            rows.append(f"activity {l}")
        rows.append(f"error {l}")
    pops = {ens.label: ens for ens in net.all_ensembles}
    with net:
        probes = {name: nengo.Probe(pops[name].neurons) for name in rows}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with nengo.Simulator(net, progress_bar=False, seed=seed) as sim:
            sim.run(duration)
    t = 1000 * sim.trange()

    fig = plt.figure(figsize=(11, 8))
    n_rows = -(-len(rows) // 3)
    grid = fig.add_gridspec(n_rows + 1, 3, height_ratios=[1.2] + [1] * n_rows)
    ax = fig.add_subplot(grid[0, 0])
    ax.imshow(image.reshape(28, 28), cmap="gray")
    ax.set_title(f"input (test image {image_index}, label {label})", fontsize=9)
    ax.axis("off")
    ax = fig.add_subplot(grid[0, 1:])
    ax.plot(t, sim.data[net.output_probe])
    ax.set_title("output values x_L (decoded spikes, Lowpass(tau))", fontsize=9)
    ax.set_xlabel("time (ms)", fontsize=8)
    ax.legend([str(k) for k in range(arch.sizes[-1])], fontsize=6, ncol=5)
    for k, name in enumerate(rows):
        ax = fig.add_subplot(grid[1 + k // 3, k % 3])
        spikes = sim.data[probes[name]]
        n = spikes.shape[1]
        # pairs: show the first n_show / 2 units, both signs; others: first n_show
        if name.startswith(("value", "error")):
            half = n // 2
            show = np.r_[np.arange(min(n_show // 2, half)),
                         half + np.arange(min(n_show // 2, half))]
        else:
            show = np.arange(min(n_show, n))
        steps, neurons = np.nonzero(spikes[:, show])
        ax.scatter(t[steps], neurons, s=0.5, c="k", marker="|")
        amplitude = pops[name].neuron_type.amplitude  # output amplitude / dt per spike
        rate = spikes.sum() * sim.dt / amplitude / n / duration
        ax.set_title(f"{name}: {len(show)} of {n} neurons (mean {rate:.0f} Hz)",
                     fontsize=8)
        ax.set_xlim(0, 1000 * duration)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    return _save(fig, out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("record", nargs="?", default="results/bench_spiking_pc.json",
                        help="JSON record of benchmarks/spiking_pc.py")
    parser.add_argument("--params", default="results/spiking_pc_params.npz",
                        help="parameters for the raster (skipped if missing)")
    parser.add_argument("--image", type=int, default=0, help="test image of the raster")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--online", nargs="*", default=[],
                        help="records of benchmarks/spiking_pc_online.py to plot as "
                             "learning curves")
    parser.add_argument("--online-final", nargs="*", default=[],
                        help="records of --final-eval-spiking runs on copies of an "
                             "--online run's checkpoint: their full-test-set points "
                             "join its curve")
    parser.add_argument("--online-name", default="spiking_pc_online",
                        help="file name (without .png) of the learning-curve figure")
    parser.add_argument("--online-ylim", nargs=2, type=float, default=[80.0, 100.0],
                        metavar=("LOW", "HIGH"), help="its accuracy range (%%)")
    parser.add_argument("--out-dir", default="figures")
    args = parser.parse_args(argv)
    low, high = args.online_ylim
    if not 0 <= low < high <= 100:
        parser.error(f"--online-ylim: need 0 <= LOW < HIGH <= 100, got {low:g} {high:g}")
    out = Path(args.out_dir)
    if Path(args.record).is_file():
        record = read_record(args.record)
        print(accuracy_vs_time(record, out / "spiking_pc_accuracy_vs_time.png"))
        print(distance_vs_time(record, out / "spiking_pc_distance.png"))
    else:
        print(f"{args.record} not found: skipping the accuracy and distance figures",
              file=sys.stderr)
    if args.online:
        # bench_spiking_pc_online_reduced.json -> "reduced"; the full run -> "full"
        runs = [(Path(path).stem.replace("bench_spiking_pc_online", "").strip("_")
                 or "full", read_record(path)) for path in args.online]
        finals = [read_record(path) for path in args.online_final]
        try:
            print(online_learning_curves(runs, out / f"{args.online_name}.png",
                                         ylim=(low, high), finals=finals))
        except ValueError as error:
            parser.error(str(error).replace("finals:", "--online-final:", 1))
    elif args.online_final:
        parser.error("--online-final: needs the --online records it belongs to")
    if Path(args.params).is_file():
        print(spike_raster(args.params, out / "spiking_pc_raster.png", args.image,
                           data_dir=args.data_dir))
    else:
        print(f"{args.params} not found: skipping the raster", file=sys.stderr)


if __name__ == "__main__":
    main()
