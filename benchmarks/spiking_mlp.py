"""Benchmark: soft-LIF MLP trained in rate mode with NengoDL, run with spiking LIF neurons.

Trains a 784-500-500-10 LIF network (soft-LIF gamma 0.02, tau_rc 20 ms, tau_ref 2 ms,
amplitude 0.01) with NengoDL on MNIST, then reports:

* rate-mode test accuracy (nengo.LIFRate neurons, NengoDL);
* spiking test accuracy on the full test set at ``--headline-ms``;
* accuracy against presentation time (``--times-ms``) for constant and Poisson input,
  without synapses and with alpha synapses, on the first ``--n-sweep`` test images;
* mean firing rate per hidden layer, spikes, synaptic operations and energy per
  inference (`nengo_pc.energy`: keras-spiking's per-synop figures and sources);
* agreement of NengoDL's spiking run with the Nengo reference simulator on
  ``--n-reference`` images.

Prints one JSON run record and writes it atomically to ``--out``; the trained parameters
go to ``--params`` so a second run can skip training (``--skip-training``).

Example::

    python benchmarks/spiking_mlp.py --epochs 10 --out results/bench_spiking_mlp.json
"""

import argparse
import sys
import time
from pathlib import Path


from nengo_pc import cli
from nengo_pc.arch import softlif_mlp
from nengo_pc.data import load_dataset
from nengo_pc.energy import hidden_rates, inference_costs
from nengo_pc.networks.presentation import Presentation
from nengo_pc.params import load_params, save_params
from nengo_pc.results import emit_record, make_record
from nengo_pc.training import TrainConfig, compare_with_reference, evaluate, train


def _log(message):
    print(message, file=sys.stderr, flush=True)


def run(args):
    data = load_dataset(args.dataset, data_dir=args.data_dir)
    config = TrainConfig(epochs=args.epochs, batch_size=100, learning_rate=args.lr,
                         seed=args.seed)
    seconds, metrics = {}, {}
    params_path = Path(args.params)
    if args.skip_training:
        arch, params, _ = load_params(params_path)
        history = []
    else:
        arch = softlif_mlp(tuple(args.hidden))
        t0 = time.perf_counter()
        result = train(arch, data.train, config, backend="nengo_dl",
                       progress=not args.quiet)
        seconds["train"] = time.perf_counter() - t0
        seconds["per_epoch"] = result.seconds_per_epoch
        params, history = result.params, result.history
        save_params(params_path, arch, params, dataset=args.dataset, epochs=args.epochs)

    rate = evaluate(arch, params, data.test)
    metrics["rate_test_accuracy"] = rate["accuracy"]
    _log(f"rate-mode test accuracy {100 * rate['accuracy']:.2f}%")

    headline = Presentation(n_steps=int(round(args.headline_ms)), synapse=args.synapse,
                            tau=args.tau)
    t0 = time.perf_counter()
    spiking = evaluate(arch, params, data.test, presentation=headline, batch_size=500)
    seconds["spiking_test"] = time.perf_counter() - t0
    metrics["spiking_test_accuracy"] = spiking["accuracy"]
    metrics["spiking_minus_rate"] = spiking["accuracy"] - rate["accuracy"]
    metrics["spiking_images_per_second"] = spiking["images_per_second"]
    _log(f"spiking test accuracy {100 * spiking['accuracy']:.2f}% at "
         f"{args.headline_ms:g} ms ({args.synapse})")

    sweep = []
    if args.n_sweep:  # 0: no sweep (the comparison table's seed runs)
        sweep_split = data.test.subset(args.n_sweep)
        metrics["rate_sweep_accuracy"] = evaluate(arch, params, sweep_split)["accuracy"]
        for coding in ("constant", "poisson"):
            for synapse in ("none", "alpha"):
                for ms in args.times_ms:
                    p = Presentation(n_steps=int(round(ms)), synapse=synapse,
                                     tau=args.tau, input_coding=coding)
                    acc = evaluate(arch, params, sweep_split, presentation=p,
                                   batch_size=250)["accuracy"]
                    sweep.append({"input_coding": coding, "synapse": synapse, "ms": ms,
                                  "accuracy": acc})
                    _log(f"  {coding:8s} {synapse:5s} {ms:5g} ms: {100 * acc:.2f}%")

    rates = hidden_rates(arch, params, data.test.images)
    cost = inference_costs(arch, rates, data.test.images, headline)

    ref = data.test.subset(args.n_reference)
    agreement, seconds["reference_simulator"] = compare_with_reference(
        arch, params, ref, headline)
    metrics.update(agreement)
    _log(f"NengoDL vs Nengo reference: {100 * metrics['reference_agreement']:.1f}% "
         f"same labels on {args.n_reference} images")

    record = make_record(
        "benchmark",
        config={"benchmark": "spiking_mlp", "architecture": arch.to_dict(),
                "train": config.to_dict(), "dataset": args.dataset,
                "headline": headline.to_dict(), "n_sweep": args.n_sweep,
                "n_reference": args.n_reference, "skip_training": args.skip_training},
        seed=args.seed, metrics=metrics, seconds=seconds,
        sweep=sweep, firing_rates_hz=rates, cost_per_inference=cost, history=history,
    )
    return emit_record(record, args.out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="mnist", choices=["mnist", "fashion_mnist"])
    parser.add_argument("--hidden", nargs="+", type=cli.positive_int, default=[500, 500])
    parser.add_argument("--epochs", type=cli.positive_int, default=10)
    parser.add_argument("--lr", type=cli.positive_float, default=1e-3)
    parser.add_argument("--seed", type=cli.nonnegative_int, default=0)
    parser.add_argument("--headline-ms", type=cli.positive_float, default=100.0,
                        help="presentation time for the full test set (dt = 1 ms)")
    parser.add_argument("--synapse", default="alpha", choices=["none", "lowpass", "alpha"])
    parser.add_argument("--tau", type=cli.positive_float, default=0.005)
    parser.add_argument("--times-ms", nargs="+", type=cli.positive_float,
                        default=[10, 20, 50, 100, 200])
    parser.add_argument("--n-sweep", type=cli.nonnegative_int, default=2000,
                        help="test images of the presentation-time sweep (0: no sweep)")
    parser.add_argument("--n-reference", type=cli.positive_int, default=100)
    parser.add_argument("--params", default="results/spiking_mlp_params.npz")
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None)
    parser.add_argument("--quiet", action="store_true")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
