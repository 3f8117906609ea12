"""Benchmark: spiking predictive-coding inference on MNIST (or Fashion-MNIST) with trained weights.

Trains a 784-500-500-10 ``"lif"`` network with the vectorised PC trainer
(`nengo_pc.training.train`, rule ``pc-zil``: exact backprop of the squared error
through the soft-LIF curve) or loads ``--params``, then runs the spiking
`~nengo_pc.networks.PredictiveCodingNetwork` (LIF activities, integrate-and-fire
pairs for values and errors) in NengoDL (``--backend nengo_dl``, default) or in plain
TensorFlow (``--backend tensorflow``, `nengo_pc.networks.spiking_pc_tf`, the same
network; Poisson input stays in NengoDL) with the output free
(`nengo_pc.networks.spiking.spiking_inference`) and reports:

* rate-mode accuracy: the network's rate-mode fixed point, the feedforward pass
  through the exact LIF curve (`nengo_pc.rates.forward`);
* spiking accuracy against presentation time on the first ``--n-test`` test images
  (all 10,000 by default) from one simulation of ``--duration`` per image, constant
  input; and on the first ``--n-poisson`` images with Poisson input;
* the distance of the decoded values and errors from the rate-mode fixed point
  against time (first ``--n-states`` images);
* spikes, synaptic operations (spikes times fan-out) and energy per inference at
  every reported presentation time (`nengo_pc.energy` figures), firing rates.

Prints one JSON run record and writes it atomically to ``--out``.

Example::

    python benchmarks/spiking_pc.py --params results/spiking_pc_params.npz \\
        --out results/bench_spiking_pc.json
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from nengo_pc import cli
from nengo_pc.arch import BENCHMARK_PAIR_AMPLITUDE, mlp
from nengo_pc.data import load_dataset
from nengo_pc.datafiles import DATASETS
from nengo_pc.networks.pc import SPIKING_SYNAPSE
from nengo_pc.params import load_params, save_params
from nengo_pc.networks.spiking import (
    READOUTS,
    SPIKING_PC_BACKENDS,
    accuracy_over_time,
    inference_energy,
    spiking_inference,
)
from nengo_pc.rates import forward
from nengo_pc.results import make_record, write_json_atomic

#: Pair amplitude of the headline record (results/bench_spiking_pc.json).
HEADLINE_PAIR_AMPLITUDE = BENCHMARK_PAIR_AMPLITUDE

#: Populations whose spikes are averaged into the reported firing rates.
RATE_GROUPS = ("value", "error", "activity", "feedback")


def _log(message):
    print(message, file=sys.stderr, flush=True)


def _train(args, data):
    from nengo_pc.training import TrainConfig, train

    arch = mlp(tuple(args.hidden), activation="lif")
    config = TrainConfig(rule="pc-zil", epochs=args.epochs, batch_size=100,
                         learning_rate=args.lr, seed=args.seed)
    t0 = time.perf_counter()
    result = train(arch, data.train, config, progress=not args.quiet)
    seconds = {"train": time.perf_counter() - t0,
               "per_epoch": result.seconds_per_epoch}
    save_params(args.params, arch, result.params, dataset=args.dataset, rule="pc-zil",
                epochs=args.epochs)
    return arch, result.params, config.to_dict(), result.history, seconds


def _time_index(times, ms):
    return int(np.argmin(np.abs(times - ms / 1000.0)))


def _summarise(run, labels, report_ms, readout):
    """Accuracy, spikes, synops and energy at every reported presentation time."""
    times = run["times"]
    acc = accuracy_over_time(run["outputs"], labels, readout)
    spikes = {k: np.cumsum(v) for k, v in run["spikes"].items()}
    synops = {k: np.cumsum(v) for k, v in run["synops"].items()}
    rows = []
    for ms in report_ms:
        k = _time_index(times, ms)
        seconds = times[k]
        total_synops = float(sum(v[k] for v in synops.values()))
        neuron_updates = float(run["neurons_total"] * (k + 1))
        rates = {}
        for group in RATE_GROUPS:
            members = [lbl for lbl in spikes if lbl.startswith(group)]
            n = sum(run["n_neurons"][lbl] for lbl in members)
            if n:
                rates[group] = float(sum(spikes[lbl][k] for lbl in members) / n / seconds)
        rows.append({
            "ms": float(1000 * seconds),
            "accuracy": float(acc[k]),
            "spikes": float(sum(v[k] for v in spikes.values())),
            "synops": total_synops,
            "neuron_updates": neuron_updates,
            "energy_joules": inference_energy(total_synops, neuron_updates),
            "mean_rate_hz": rates,
            "spikes_by_population": {lbl: float(v[k]) for lbl, v in spikes.items()},
            "synops_by_population": {lbl: float(v[k]) for lbl, v in synops.items()},
        })
    curve = {"ms": [float(1000 * t) for t in times], "accuracy": [float(a) for a in acc]}
    return rows, curve


def run(args):
    data = load_dataset(args.dataset, data_dir=args.data_dir)
    seconds, history, train_config = {}, [], None
    params_path = Path(args.params)
    if params_path.is_file() and not args.retrain:
        arch, params, meta = load_params(params_path)
        if meta.get("dataset", args.dataset) != args.dataset:
            raise SystemExit(
                f"--params: {params_path} was trained on {meta['dataset']}, not "
                f"--dataset {args.dataset}; pass other --params or --retrain")
        train_config = {"loaded_from": str(params_path), "metadata": meta}
        _log(f"loaded {params_path} ({meta})")
    else:
        why = "--retrain" if args.retrain else f"--params {params_path} does not exist"
        _log(f"training the network first ({why}; {args.epochs} epochs of pc-zil), "
             f"then saving it to {params_path}")
        arch, params, train_config, history, train_seconds = _train(args, data)
        seconds.update(train_seconds)
    test = data.test.subset(min(args.n_test, len(data.test)))

    rate_logits = forward(arch, params, test.images)
    metrics = {"rate_test_accuracy": float(np.mean(rate_logits.argmax(1) == test.labels))}
    _log(f"rate-mode (feedforward, exact LIF) accuracy "
         f"{100 * metrics['rate_test_accuracy']:.2f}% on {len(test)} images")

    options = {"duration": args.duration, "sweep_time": args.sweep_time, "dt": args.dt,
               "tau": args.tau, "synapse": args.synapse, "synapse_tau": args.synapse_tau,
               "pair_amplitude": args.pair_amplitude, "batch_size": args.batch_size,
               "seed": args.seed, "backend": args.backend}
    # 1) distances from the fixed point, on a few images
    states = test.subset(min(args.n_states, len(test)))
    t0 = time.perf_counter()
    state_run = spiking_inference(arch, params, states.images, record_states=True,
                                  progress=not args.quiet, **options)
    seconds["states"] = time.perf_counter() - t0
    step = max(1, int(round(args.curve_every_ms / 1000.0 / args.dt)))
    sel = slice(step - 1, None, step)
    distances = {
        "ms": [float(1000 * t) for t in state_run["times"][sel]],
        "value_distance": state_run["value_distance"][:, sel].tolist(),
        "error_norm": state_run["error_norm"][:, sel].tolist(),
        "n_images": len(states),
    }
    _log("relative distance of x_l from the fixed point at the end: " + ", ".join(
        f"layer {l + 1} {d[-1]:.3f}" for l, d in enumerate(state_run["value_distance"])))

    # 2) the test set, constant input: accuracy against time from one simulation
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    main_run = spiking_inference(arch, params, test.images, progress=not args.quiet,
                                 **options)
    seconds["spiking_test"] = time.perf_counter() - t0
    # images/s is an absolute time: state the machine's load around it
    load_average = {"before": list(load_before), "after": list(os.getloadavg())}
    rows, curve = _summarise(main_run, test.labels, args.report_ms, args.readout)
    state_rows, state_curve = _summarise(main_run, test.labels, args.report_ms, "state")
    for row, state_row in zip(rows, state_rows):
        row["state_readout_accuracy"] = state_row["accuracy"]
    for row in rows:
        _log(f"  constant {row['ms']:5.0f} ms: {100 * row['accuracy']:.2f}%  "
             f"{row['synops'] / 1e6:.1f} M synops")
    headline = min(rows, key=lambda r: abs(r["ms"] - args.headline_ms))
    metrics.update({
        "spiking_test_accuracy": headline["accuracy"],
        "headline_ms": headline["ms"],
        "spiking_minus_rate": headline["accuracy"] - metrics["rate_test_accuracy"],
        "best_spiking_accuracy": float(max(curve["accuracy"])),
        "first_ms_at_goal": next((ms for ms, a in zip(curve["ms"], curve["accuracy"])
                                  if a >= args.goal), None),
        "spiking_images_per_second": len(test) / seconds["spiking_test"],
        "synops_per_inference": headline["synops"],
        "spikes_per_inference": headline["spikes"],
    })

    # 3) Poisson input on a subset
    poisson = test.subset(min(args.n_poisson, len(test)))
    t0 = time.perf_counter()
    # Poisson input draws random numbers: NengoDL only
    poisson_run = spiking_inference(arch, params, poisson.images, input_coding="poisson",
                                    progress=not args.quiet,
                                    **{**options, "backend": "nengo_dl"})
    seconds["poisson"] = time.perf_counter() - t0
    poisson_rows, poisson_curve = _summarise(poisson_run, poisson.labels, args.report_ms,
                                             args.readout)
    constant_subset = accuracy_over_time(main_run["outputs"][:len(poisson)],
                                         poisson.labels, args.readout)
    for row, k in zip(poisson_rows, (_time_index(main_run["times"], r["ms"])
                                     for r in poisson_rows)):
        row["constant_accuracy_same_images"] = float(constant_subset[k])
        _log(f"  poisson  {row['ms']:5.0f} ms: {100 * row['accuracy']:.2f}% "
             f"(constant {100 * constant_subset[k]:.2f}% on the same images)")
    metrics["poisson_accuracy_at_headline"] = next(
        r["accuracy"] for r in poisson_rows if r["ms"] == headline["ms"])

    ann_macs = float(sum(arch.n_connections))
    record = make_record(
        "benchmark",
        config={"benchmark": "spiking_pc", "architecture": arch.to_dict(),
                "train": train_config, "params": str(params_path), "dataset": args.dataset,
                "n_test": len(test), "n_states": len(states), "n_poisson": len(poisson),
                "inference": options, "readout": args.readout,
                "report_ms": list(args.report_ms), "goal": args.goal},
        seed=args.seed, metrics=metrics, seconds=seconds,
        constant=rows, poisson=poisson_rows,
        curves={"constant": curve, "poisson": poisson_curve,
                "constant_state_readout": state_curve},
        distances=distances,
        network={"n_neurons": main_run["n_neurons"], "fan_out": main_run["fan_out"],
                 "neurons_total": main_run["neurons_total"]},
        ann={"macs": ann_macs, "energy_joules": inference_energy(ann_macs, 0.0)},
        load_average=load_average,
        history=history,
    )
    if args.out:
        write_json_atomic(args.out, record)
    print(json.dumps({k: record[k] for k in ("metrics", "seconds")}, indent=2))
    return record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="mnist", choices=DATASETS)
    parser.add_argument("--params", default="results/spiking_pc_params.npz",
                        help="parameters to load; trained and written there if absent")
    parser.add_argument("--retrain", action="store_true",
                        help="train even if --params exists (overwrites it)")
    parser.add_argument("--hidden", nargs="+", type=cli.positive_int, default=[500, 500])
    parser.add_argument("--epochs", type=cli.positive_int, default=20)
    parser.add_argument("--lr", type=cli.positive_float, default=5e-4)
    parser.add_argument("--seed", type=cli.nonnegative_int, default=0)
    parser.add_argument("--duration", type=cli.positive_float, default=0.15,
                        help="simulated seconds per image (default 0.15)")
    parser.add_argument("--sweep-time", type=float, default=None,
                        help="seconds of mode 'sweep' before free PC inference "
                             "(default: the whole presentation)")
    parser.add_argument("--readout", default="window", choices=READOUTS,
                        help="window: mean output over the second half of the "
                             "presentation; state: output at its end")
    parser.add_argument("--dt", type=cli.positive_float, default=0.001)
    parser.add_argument("--tau", type=cli.positive_float, default=0.01,
                        help="inference time constant (integrator synapse) in s")
    parser.add_argument("--synapse", default=SPIKING_SYNAPSE[0],
                        choices=["none", "lowpass", "alpha"])
    parser.add_argument("--synapse-tau", type=cli.positive_float,
                        default=SPIKING_SYNAPSE[1])
    # the headline record's amplitude: 25 times fewer spikes than the network's
    # default (nengo_pc.arch.PAIR_AMPLITUDE, chosen for small signals) at the same
    # accuracy on trained MNIST networks (docs/notes/networks.md)
    parser.add_argument("--pair-amplitude", type=cli.positive_float,
                        default=HEADLINE_PAIR_AMPLITUDE)
    parser.add_argument("--report-ms", nargs="+", type=cli.positive_float,
                        default=[25, 50, 75, 100, 125, 150])
    parser.add_argument("--headline-ms", type=cli.positive_float, default=150.0)
    parser.add_argument("--goal", type=float, default=0.983,
                        help="accuracy whose first presentation time is reported "
                             "(default: the MNIST goal of issue #5, 98.3%%)")
    parser.add_argument("--curve-every-ms", type=cli.positive_float, default=5.0)
    parser.add_argument("--n-test", type=cli.positive_int, default=10000)
    parser.add_argument("--n-states", type=cli.positive_int, default=400)
    parser.add_argument("--n-poisson", type=cli.positive_int, default=1000)
    parser.add_argument("--batch-size", type=cli.positive_int, default=200)
    parser.add_argument("--backend", default="nengo_dl", choices=SPIKING_PC_BACKENDS,
                        help="simulator of the constant-input runs: nengo_dl, or "
                             "tensorflow (the same network in plain TensorFlow, mode "
                             "sweep only; Poisson input always runs in nengo_dl)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.sweep_time is not None and not 0 <= args.sweep_time <= args.duration:
        parser.error(f"--sweep-time: must be in [0, --duration={args.duration}]")
    if (args.backend == "tensorflow" and args.sweep_time is not None
            and args.sweep_time < args.duration):
        parser.error("--sweep-time: --backend tensorflow runs mode sweep for the whole "
                     "presentation (free PC inference needs --backend nengo_dl)")
    return run(args)


if __name__ == "__main__":
    main()
