"""Benchmark: how closely the spiking PC network's learning updates follow rate mode.

Runs `nengo_pc.pc.update_fidelity.update_fidelity` at one or more stages of training:
from the same parameters and over the same images, the cosine and norm ratio of the
spiking network's update to the rate-mode network's, per parameter, for each pair
amplitude (``--amplitudes``; a pair fires |e| / amplitude spikes per second), and of
the rate network with the spiking network's synapse (what the synaptic delays alone
change).

The parameters come either from a file (``--params``: a `train_online` checkpoint or
any `save_params` file) or, reproducibly from a clean checkout, from the vectorised
online rule (`nengo_pc.pc.online_vectorised`) trained for each of
``--pretrain-samples`` images with the benchmark's online schedule (``--learning-rate``,
``--lr-decay-samples``, ``--batch-size``). Training shrinks the errors, and with them
the spikes that carry them, so fidelity falls as training goes on.

Prints one JSON record (also written atomically to ``--out``).

Example (~10 min here)::

    python benchmarks/spiking_pc_update_fidelity.py --pretrain-samples 0 10000 140000 \\
        --amplitudes 2e-4 5e-5 2e-5 --out results/bench_spiking_pc_update_fidelity.json
"""

import argparse
import time

from nengo_pc import cli
from nengo_pc.arch import mlp
from nengo_pc.data import load_dataset
from nengo_pc.datafiles import DATASETS
from nengo_pc.params import init_params, load_params
from nengo_pc.pc.online_vectorised import train_online_vectorised
from nengo_pc.pc.update_fidelity import update_fidelity
from nengo_pc.results import emit_record, make_record
from nengo_pc.training.evaluation import log_progress


def stages(args, data):
    """``(label, samples_seen or None, arch, params)`` for every stage to measure."""
    if args.params is not None:
        arch, params, metadata = load_params(args.params)
        yield str(args.params), metadata.get("samples"), arch, params
        return
    arch = mlp(tuple(args.hidden), activation="relu")
    for samples in sorted(set(args.pretrain_samples)):
        if samples == 0:
            params = init_params(arch, args.seed)
        else:
            params = train_online_vectorised(
                arch, data.train, learning_rate=args.learning_rate,
                lr_decay_samples=args.lr_decay_samples or None,
                batch_size=args.batch_size, n_samples=samples, seed=args.seed,
                progress=not args.quiet).params
        yield f"vectorised rule after {samples} samples", samples, arch, params


def _listed(names, values):
    return ", ".join(f"{n} {'n/a' if v is None else f'{v:.3f}'}"
                     for n, v in zip(names, values))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="mnist", choices=DATASETS)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--params", default=None,
                        help="parameter file (.npz) to measure at")
    source.add_argument("--pretrain-samples", nargs="+", type=cli.nonnegative_int,
                        help="train the vectorised rule for this many samples first "
                             "(one stage per number)")
    parser.add_argument("--hidden", nargs="+", type=cli.positive_int, default=[500])
    parser.add_argument("--learning-rate", type=cli.positive_float, default=0.3,
                        help="of the pretraining (per second of learning window)")
    parser.add_argument("--lr-decay-samples", type=cli.nonnegative_int, default=240000,
                        help="of the pretraining (0: constant)")
    parser.add_argument("--batch-size", type=cli.positive_int, default=10)
    parser.add_argument("--amplitudes", nargs="+", type=cli.positive_float,
                        default=[2e-4, 5e-5])
    parser.add_argument("--n-samples", type=cli.positive_int, default=200,
                        help="images each update is summed over")
    parser.add_argument("--seed", type=cli.nonnegative_int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None, help="JSON record path")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.n_samples % args.batch_size:
        parser.error(f"--n-samples: must be a multiple of --batch-size "
                     f"({args.batch_size}), got {args.n_samples}")

    data = load_dataset(args.dataset, data_dir=args.data_dir)
    start, results = time.perf_counter(), []
    for label, samples, arch, params in stages(args, data):
        if not args.quiet:
            log_progress(f"[fidelity] {label}: {len(args.amplitudes) + 1} runs of "
                         f"{args.n_samples} images")
        fidelity = update_fidelity(arch, params, data.train, args.amplitudes,
                                   n_samples=args.n_samples,
                                   batch_size=args.batch_size, seed=args.seed)
        results.append({"stage": label, "samples_seen": samples,
                        "architecture": arch.to_dict(), **fidelity})
        if not args.quiet:
            names = fidelity["parameters"]
            log_progress(f"[fidelity]   rate with synapse: cosine "
                         f"{_listed(names, fidelity['synaptic']['cosine'])}")
            for entry in fidelity["amplitudes"]:
                log_progress(f"[fidelity]   amplitude {entry['amplitude']:g}: cosine "
                             f"{_listed(names, entry['cosine'])}; to the synaptic "
                             f"rate update {_listed(names, entry['cosine_to_synaptic'])}")
    record = make_record(
        "benchmark",
        config={"benchmark": "spiking_pc_update_fidelity", "dataset": args.dataset,
                "source": "params" if args.params else "vectorised pretraining",
                "params": args.params, "hidden": args.hidden,
                "learning_rate": args.learning_rate,
                "lr_decay_samples": args.lr_decay_samples,
                "batch_size": args.batch_size, "amplitudes": args.amplitudes,
                "n_samples": args.n_samples},
        seed=args.seed, metrics={"stages": len(results)},
        seconds={"total": time.perf_counter() - start}, stages=results)
    return emit_record(record, args.out)


if __name__ == "__main__":
    main()
