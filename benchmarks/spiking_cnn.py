"""Benchmark: soft-LIF CNN trained in rate mode with NengoDL, run with spiking LIF neurons.

Trains `nengo_pc.arch.softlif_cnn` (default: conv 32 3x3 s1 -> conv 64 3x3 s2 ->
conv 128 3x3 s2 -> dense 10, NengoDL's spiking MNIST network; LIF tau_rc 20 ms,
tau_ref 2 ms, soft-LIF gamma 0.02) with NengoDL on MNIST, then reports:

* rate-mode test accuracy (nengo.LIFRate neurons, NengoDL), full test set;
* spiking test accuracy on the full test set at ``--headline-ms`` (default 50 ms, no
  synapses, constant input current, output averaged over the presentation);
* accuracy against presentation time (``--times-ms``) and synapse
  (``--sweep-synapses``) on ``--n-sweep`` test images;
* mean firing rate per hidden layer, spikes, synaptic operations and energy per
  inference (per-neuron rates times each neuron's exact fan-out, which varies at
  conv borders; energy per synop as in `nengo_pc.energy`);
* agreement of NengoDL's spiking run with the Nengo reference simulator on
  ``--n-reference`` images.

Input gain: our images are in [0, 1]; NengoDL's example fed raw 0..255 values, which
drive its first layer hard. Trained on [0, 1] with He initialisation, the first conv
layer fires at ~3 Hz on average (measured after one epoch), i.e. ~0.1 spikes per
neuron in 30 ms, and spiking accuracy at short presentations suffers. So training sees
``images * --input-gain`` (default 10: first-layer currents up to ~10, rates up to a
few hundred Hz), and the gain is then folded into the first layer's weights,
``W_0 <- gain * W_0``, which is exact because layer 0 is linear in its input. The
saved parameters therefore take [0, 1] images like every other model of the suite,
and everything after training (rate, spiking, reference simulator, networks/) uses
the plain description (`nengo_pc.convert.fold_input_gain`). ``--amplitude`` is the
other lever (smaller = faster firing for the same activities); the default keeps
NengoDL's 0.01.

Prints one JSON run record and writes it atomically to ``--out``; the parameters go
to ``--params`` after every epoch, so a second run can skip training
(``--skip-training``) or an interrupted one can still be evaluated.

Example::

    python benchmarks/spiking_cnn.py --epochs 10 --out results/bench_spiking_cnn.json
"""

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

from nengo_pc import cli
from nengo_pc.arch import LIFParams, softlif_cnn
from nengo_pc.conv import ConvLayer
from nengo_pc.convert import fold_input_gain
from nengo_pc.data import Split, load_dataset
from nengo_pc.energy import inference_costs, neuron_rates
from nengo_pc.networks.presentation import Presentation
from nengo_pc.params import load_params, save_params
from nengo_pc.results import emit_record, make_record
from nengo_pc.training import TrainConfig, compare_with_reference, evaluate, train


def _log(message):
    print(message, file=sys.stderr, flush=True)


def run(args):
    data = load_dataset("mnist", data_dir=args.data_dir)
    # --n-train / --n-test shrink the run for smoke tests; the benchmark uses all
    data = dataclasses.replace(
        data,
        train=data.train.subset(min(args.n_train or len(data.train), len(data.train))),
        test=data.test.subset(min(args.n_test, len(data.test))))
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                         learning_rate=args.lr, max_shift=args.max_shift, seed=args.seed)
    seconds, metrics = {}, {}
    params_path = Path(args.params)
    if args.skip_training:
        arch, params, meta = load_params(params_path)
        history = meta.get("history", [])
    else:
        conv = tuple(ConvLayer(f, k, s) for f, k, s in
                     zip(args.filters, args.kernels, args.strides))
        arch = softlif_cnn(tuple(args.hidden), conv=conv,
                           lif=LIFParams(amplitude=args.amplitude))
        _log(f"architecture {arch.to_dict()}  ({arch.n_params} parameters)")
        t0 = time.perf_counter()
        checkpoint = params_path.with_name(params_path.stem + "_checkpoint.npz")
        if args.backend == "keras-bn":
            # BN normalises the first layer's input currents itself: no input gain
            result = train(arch, data.train, config, backend="keras-bn",
                           progress=not args.quiet, checkpoint_path=checkpoint,
                           resume=args.resume)
            gain = None
            params = result.params
        else:
            # the Nengo network in NengoDL, or the same description as a plain Keras
            # model (soft-LIF, ~3x faster); both on images x gain, folded afterwards
            gain = args.input_gain
            gained = Split(data.train.images * np.float32(gain), data.train.labels)
            # checkpoints hold the un-folded parameters (for inputs scaled by the gain)
            result = train(arch, gained, config, backend=args.backend,
                           progress=not args.quiet, checkpoint_path=checkpoint,
                           resume=args.resume)
            params = fold_input_gain(result.params, gain)
        seconds["train"] = time.perf_counter() - t0
        seconds["per_epoch"] = result.seconds_per_epoch
        history = result.history
        save_params(params_path, arch, params, dataset="mnist", epochs=args.epochs,
                    backend=args.backend, max_shift=args.max_shift,
                    input_gain_folded=gain, history=history)
        checkpoint.unlink(missing_ok=True)  # superseded by the final parameters

    t0 = time.perf_counter()
    rate = evaluate(arch, params, data.test, batch_size=500)
    seconds["rate_test"] = time.perf_counter() - t0
    metrics["rate_test_accuracy"] = rate["accuracy"]
    _log(f"rate-mode test accuracy {100 * rate['accuracy']:.2f}%")

    headline = Presentation(n_steps=int(round(args.headline_ms)), synapse=args.synapse,
                            tau=args.tau)
    rates = neuron_rates(arch, params, data.test.images)
    metrics["mean_rate_hz"] = [float(r.mean()) for r in rates]
    _log("mean firing rates (Hz): "
         + ", ".join(f"{r:.1f}" for r in metrics["mean_rate_hz"]))

    t0 = time.perf_counter()
    spiking = evaluate(arch, params, data.test, presentation=headline,
                       batch_size=args.eval_batch)
    seconds["spiking_test"] = time.perf_counter() - t0
    metrics["spiking_test_accuracy"] = spiking["accuracy"]
    metrics["spiking_minus_rate"] = spiking["accuracy"] - rate["accuracy"]
    metrics["spiking_images_per_second"] = spiking["images_per_second"]
    _log(f"spiking test accuracy {100 * spiking['accuracy']:.2f}% at "
         f"{args.headline_ms:g} ms ({args.synapse}, tau {args.tau * 1000:g} ms)")

    sweep = []
    if args.n_sweep:
        sweep_split = data.test.subset(args.n_sweep)
        for synapse in args.sweep_synapses:
            for ms in args.times_ms:
                p = Presentation(n_steps=int(round(ms)), synapse=synapse, tau=args.tau)
                acc = evaluate(arch, params, sweep_split, presentation=p,
                               batch_size=args.eval_batch)["accuracy"]
                sweep.append({"synapse": synapse, "ms": ms, "accuracy": acc})
                _log(f"  {synapse:5s} {ms:5g} ms: {100 * acc:.2f}% "
                     f"({args.n_sweep} images)")

    cost = inference_costs(arch, rates, data.test.images, headline)

    ref = data.test.subset(args.n_reference)
    agreement, seconds["reference_simulator"] = compare_with_reference(
        arch, params, ref, headline)
    metrics.update(agreement)
    _log(f"NengoDL vs Nengo reference: {100 * metrics['reference_agreement']:.1f}% "
         f"same labels on {args.n_reference} images")

    record = make_record(
        "benchmark",
        config={"benchmark": "spiking_cnn", "architecture": arch.to_dict(),
                "train": config.to_dict(), "dataset": "mnist",
                "headline": headline.to_dict(), "n_sweep": args.n_sweep,
                "n_reference": args.n_reference, "n_train": len(data.train),
                "n_test": len(data.test), "skip_training": args.skip_training,
                "params": str(params_path), "target_spiking_accuracy": 0.992,
                "backend": None if args.skip_training else args.backend,
                "max_shift": None if args.skip_training else args.max_shift,
                "input_gain_folded": None if args.skip_training else gain},
        seed=args.seed, metrics=metrics, seconds=seconds, sweep=sweep,
        firing_rates_hz=metrics["mean_rate_hz"], cost_per_inference=cost,
        history=history,
    )
    return emit_record(record, args.out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--filters", nargs="+", type=cli.positive_int,
                        default=[32, 64, 128])
    parser.add_argument("--kernels", nargs="+", type=cli.positive_int, default=[3, 3, 3])
    parser.add_argument("--strides", nargs="+", type=cli.positive_int, default=[1, 2, 2])
    parser.add_argument("--hidden", nargs="*", type=cli.positive_int, default=[],
                        help="dense LIF widths after the convolutions (default: none)")
    parser.add_argument("--input-gain", type=cli.positive_float, default=10.0,
                        help="train on images x gain, then fold the gain into W_0")
    parser.add_argument("--amplitude", type=cli.positive_float, default=0.01,
                        help="LIF output per spike; smaller = higher rates")
    parser.add_argument("--backend", "--trainer", dest="backend",
                        choices=["nengo_dl", "keras", "keras-bn"], default="nengo_dl",
                        help="nengo_dl: the Nengo network in NengoDL; keras: the same "
                             "description as a plain Keras model (both soft-LIF on "
                             "images x --input-gain, the gain folded afterwards); "
                             "keras-bn: Keras with batch normalisation, folded into "
                             "the weights after training")
    parser.add_argument("--max-shift", type=cli.nonnegative_int, default=0,
                        help="augment every epoch with random shifts of up to this "
                             "many pixels")
    parser.add_argument("--epochs", type=cli.positive_int, default=10)
    parser.add_argument("--batch-size", type=cli.positive_int, default=100)
    parser.add_argument("--lr", type=cli.positive_float, default=1e-3)
    parser.add_argument("--seed", type=cli.nonnegative_int, default=0)
    parser.add_argument("--headline-ms", type=cli.positive_float, default=50.0,
                        help="presentation time for the full test set (dt = 1 ms)")
    parser.add_argument("--synapse", default="none", choices=["none", "lowpass", "alpha"],
                        help="synapse of the headline run (default: none; the output is "
                             "averaged over the presentation)")
    parser.add_argument("--tau", type=cli.positive_float, default=0.005)
    parser.add_argument("--times-ms", nargs="+", type=cli.positive_float,
                        default=[20, 100])
    parser.add_argument("--sweep-synapses", nargs="+", default=["none", "alpha"],
                        choices=["none", "lowpass", "alpha"])
    parser.add_argument("--n-sweep", type=cli.nonnegative_int, default=500)
    parser.add_argument("--n-reference", type=cli.positive_int, default=50)
    parser.add_argument("--n-train", type=cli.positive_int, default=None,
                        help="first N training images only (smoke tests)")
    parser.add_argument("--n-test", type=cli.positive_int, default=10000,
                        help="first N test images only (smoke tests)")
    parser.add_argument("--eval-batch", type=cli.positive_int, default=250)
    parser.add_argument("--params", default="results/spiking_cnn_params.npz")
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted training from its checkpoint")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if not len(args.filters) == len(args.kernels) == len(args.strides):
        parser.error("--filters, --kernels and --strides need one value per conv layer")
    return run(args)


if __name__ == "__main__":
    main()
