"""Benchmark: every learning rule on one MLP, several seeds, both data sets.

The runs behind the comparison table (``analysis/comparison_table.py``), one after
another in this process; ``nengo-pc compare`` runs the same tasks on a Dask cluster
(`nengo_pc.grid`, docs/grid.md). Each task is `nengo_pc.comparison.run_task`: each
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
import sys

from nengo_pc import cli
from nengo_pc.comparison import (
    Settings, configure_tensorflow, finished, grid_tasks, run_task,
)
from nengo_pc.datafiles import DATASETS
from nengo_pc.pc.settings import BENCHMARK_RULES


def _log(message):
    print(message, file=sys.stderr, flush=True)


def run(args):
    settings = Settings(
        out_dir=args.out_dir, epochs=args.epochs, n_train=args.n_train,
        n_test=args.n_test, hidden=tuple(args.hidden) if args.hidden else None,
        activation=args.activation, data_dir=args.data_dir, resume=args.resume,
        force=args.force, progress=not args.quiet)
    if args.tf_threads is not None:
        configure_tensorflow(args.tf_threads)
    done = skipped = 0
    for task in grid_tasks(args.datasets, args.rules, args.seeds):
        if finished(task, settings) is not None:
            skipped += 1
            continue
        _log(f"== {task.dataset} / {task.rule} / seed {task.seed}")
        result = run_task(task, settings)
        done += 1
        _log(f"{task.dataset}/{task.rule}/seed {task.seed}: test accuracy "
             f"{100 * result['test_accuracy']:.2f}%, "
             f"{result['seconds_per_epoch']:.1f} s/epoch -> {result['path']}")
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
    parser.add_argument("--n-test", type=cli.positive_int, default=None,
                        help="test on the first N test images only (smoke tests)")
    parser.add_argument("--out-dir", default="results/compare")
    parser.add_argument("--force", action="store_true",
                        help="rerun runs whose record exists")
    parser.add_argument("--resume", action="store_true",
                        help="continue interrupted runs from their checkpoints")
    parser.add_argument("--tf-threads", type=cli.positive_int, default=None,
                        help="TensorFlow intra- and inter-op threads (default: "
                             "TensorFlow's, all cores); records are bit-identical to "
                             "a grid's whose workers had as many (docs/grid.md)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--quiet", action="store_true")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
