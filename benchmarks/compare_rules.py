"""Benchmark: every learning rule on one MLP, several seeds, both data sets.

The runs behind the comparison table (``analysis/comparison_table.py``). Each
(data set, rule, seed) trains the rule's benchmark network (`nengo_pc.pc.settings.benchmark_arch`:
784-500-500-10 ReLU for backprop and the PC variants) with `nengo_pc.training.train`
and the rule's benchmark settings (`nengo_pc.pc.settings.benchmark_config`: the same
optimiser, schedule, batch size and epochs for backprop and the PC variants; the
baselines' own where they need them), tests it on the full test set and writes one run
record, ``<out-dir>/<dataset>/<rule>_seed<k>.json`` (``<rule>`` the registry name of
`nengo_pc.rules`), atomically when the run ends.

Runs whose record exists (also under the rule's name before the registry, e.g.
``zil_seed0.json``) are skipped, so the command can be stopped and started again
(or spread over several sessions) without losing finished work; ``--force`` reruns
them. With ``--resume`` an interrupted run continues from its checkpoint
(``<out-dir>/<dataset>/<rule>_seed<k>.checkpoint.npz``, written after every epoch
and removed when the record is written) to the result of an uninterrupted run. Each record holds the test accuracy, seconds per epoch, the per-epoch history
with the per-layer cosine of the rule's update with the backprop gradient, the full
configuration, versions and machine.

Example (the table's runs; ~1-5 min per run on a 2-core CPU)::

    python benchmarks/compare_rules.py --seeds 0 1 2 --out-dir results/compare
"""

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from nengo_pc import cli
from nengo_pc.arch import mlp
from nengo_pc.data import load_dataset
from nengo_pc.datafiles import DATASETS
from nengo_pc.pc.settings import (
    ACTIVATION, BENCHMARK_RULES, HIDDEN, benchmark_arch, benchmark_config,
)
from nengo_pc.results import find_seed_record, make_record, read_record, write_json_atomic
from nengo_pc.training import evaluate_rule, train


def _log(message):
    print(message, file=sys.stderr, flush=True)


def record_path(out_dir, dataset, rule, seed):
    """Where the record of one run goes."""
    return Path(out_dir) / dataset / f"{rule}_seed{seed}.json"


def run_one(arch, data, dataset, rule, seed, epochs=None, progress=True,
            checkpoint_path=None, resume=False):
    """Train and test one (data set, rule, seed); return its run record."""
    overrides = {} if epochs is None else {"epochs": epochs}
    config = benchmark_config(rule, seed=seed, dataset=dataset, **overrides)
    t0 = time.perf_counter()
    result = train(arch, data.train, config, checkpoint_path=checkpoint_path,
                   resume=resume, progress=progress)
    t1 = time.perf_counter()
    test = evaluate_rule(arch, result.params, data.test, rule,
                         config.rule_options(arch))
    final = [c for c in result.history[-1]["alignment"] if c is not None]
    metrics = {
        "test_accuracy": test["accuracy"],
        "test_squared_error": test["squared_error"],
        "final_alignment": result.history[-1]["alignment"],
        "final_alignment_min": min(final) if final else None,
        "final_alignment_mean": sum(final) / len(final) if final else None,
    }
    seconds = {"per_epoch": result.seconds_per_epoch, "build": result.build_seconds,
               "test": time.perf_counter() - t1, "total": time.perf_counter() - t0}
    return make_record(
        "benchmark",
        config={"benchmark": "compare_rules", "dataset": dataset, "rule": rule,
                "architecture": arch.to_dict(), "train": config.to_dict(),
                "n_train": len(data.train), "n_test": len(data.test)},
        seed=seed, metrics=metrics, seconds=seconds, history=result.history,
    )


def run(args):
    custom = args.hidden is not None or args.activation is not None
    done = skipped = 0
    for dataset in args.datasets:
        data = None
        for seed in args.seeds:
            for rule in args.rules:
                path = record_path(args.out_dir, dataset, rule, seed)
                existing = find_seed_record(args.out_dir, dataset, rule, seed)
                if existing is not None and not args.force:
                    read_record(existing)  # a damaged record fails loudly here
                    skipped += 1
                    continue
                if data is None:
                    data = load_dataset(dataset, data_dir=args.data_dir)
                    if args.n_train:
                        data = dataclasses.replace(data, train=data.train.subset(
                            min(args.n_train, len(data.train))))
                arch = (mlp(tuple(args.hidden or HIDDEN),
                            activation=args.activation or ACTIVATION)
                        if custom else benchmark_arch(rule))
                _log(f"== {dataset} / {rule} / seed {seed}")
                checkpoint = path.with_suffix(".checkpoint.npz")
                record = run_one(arch, data, dataset, rule, seed, args.epochs,
                                 progress=not args.quiet, checkpoint_path=checkpoint,
                                 resume=args.resume)
                write_json_atomic(path, record)
                checkpoint.unlink(missing_ok=True)  # superseded by the record
                done += 1
                _log(f"{dataset}/{rule}/seed {seed}: test accuracy "
                     f"{100 * record['metrics']['test_accuracy']:.2f}%, "
                     f"{record['seconds']['per_epoch']:.1f} s/epoch -> {path}")
    _log(f"{done} runs done, {skipped} already recorded")
    return done


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--rules", nargs="+", default=list(BENCHMARK_RULES),
                        choices=list(BENCHMARK_RULES))
    parser.add_argument("--seeds", nargs="+", type=cli.nonnegative_int, default=[0, 1, 2])
    parser.add_argument("--epochs", type=cli.positive_int, default=None,
                        help="override the benchmark's epochs (smoke tests)")
    parser.add_argument("--hidden", nargs="+", type=cli.positive_int, default=None,
                        help="one architecture for every rule (default: each rule's "
                             "benchmark network)")
    parser.add_argument("--activation", default=None,
                        choices=["relu", "tanh", "sigmoid"])
    parser.add_argument("--n-train", type=cli.positive_int, default=None,
                        help="use only the first N training images (smoke tests)")
    parser.add_argument("--out-dir", default="results/compare")
    parser.add_argument("--force", action="store_true",
                        help="rerun runs whose record exists")
    parser.add_argument("--resume", action="store_true",
                        help="continue interrupted runs from their checkpoints")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--quiet", action="store_true")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
