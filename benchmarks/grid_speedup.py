"""Benchmark: the comparison grid on a local Dask cluster of 1 and of 2 workers.

Runs the same grid (by default bp-mse and pc-standard on MNIST, seeds 0 and 1, each
rule's benchmark network, the first 10,000 training and 2,000 test images, one
epoch) with ``nengo-pc compare``'s machinery (`nengo_pc.grid.run_grid`) on a fresh
local cluster of 1 worker (TensorFlow and BLAS with all the cores) and of 2 workers
(half the cores each), alternately (1, 2, then 2, 1, ...) so that a change of the
machine's load hits both alike. Each run writes its records to a fresh directory.

Reports per run the wall-clock time from starting the cluster to the last record
(``total``), from submitting the tasks to the last record (``tasks``), the sum of
the training and testing times the tasks measured themselves (``inside_tasks_sum``),
the load
average before and after, and the speed-up ``T(1 worker) / T(2 workers)`` with its
efficiency (speed-up / 2) from the medians. It also compares the records of the two
cluster sizes (their TensorFlow and BLAS thread counts differ, so float32 sums round
differently): the largest difference of test accuracy and of the final training
loss. Writes one JSON record (``--out``).

Example (the record behind docs/grid.md)::

    python benchmarks/grid_speedup.py --repeats 2 --out results/grid/speedup_1v2.json
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from nengo_pc import cli, grid
from nengo_pc.comparison import Settings, grid_tasks, record_path
from nengo_pc.datafiles import DATASETS
from nengo_pc.results import emit_record, make_record, read_record


def _log(message):
    print(message, file=sys.stderr, flush=True)


def measure(tasks, settings, workers):
    """One grid on a fresh local cluster of ``workers`` workers."""
    load_before = os.getloadavg()
    outcome = grid.run_grid(tasks, settings, workers=workers, dashboard_address=":0")
    if outcome.failed or len(outcome.done) != len(tasks):
        raise RuntimeError(f"grid with {workers} workers: {outcome.summary()}; "
                           f"{outcome.failed}")
    inside = [read_record(record_path(settings.out_dir, t.dataset, t.rule, t.seed))
              ["seconds"]["total"] for t in tasks]
    return {"workers": workers, "total": outcome.seconds, "tasks": outcome.task_seconds,
            # training and testing time measured inside each task: if it grows with
            # the workers, the tasks compete for the cores
            "inside_tasks_sum": sum(inside),
            "load_before": list(load_before), "load_after": list(os.getloadavg()),
            "out_dir": settings.out_dir}


def record_differences(tasks, dir_a, dir_b):
    """Largest |difference| of test accuracy and final training loss between the
    records of two runs of the same grid."""
    accuracy = loss = 0.0
    for task in tasks:
        a, b = (read_record(record_path(d, task.dataset, task.rule, task.seed))
                for d in (dir_a, dir_b))
        accuracy = max(accuracy, abs(a["metrics"]["test_accuracy"]
                                     - b["metrics"]["test_accuracy"]))
        loss = max(loss, abs(a["history"][-1]["loss"] - b["history"][-1]["loss"]))
    return {"test_accuracy": accuracy, "final_train_loss": loss}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", nargs="+", default=["bp-mse", "pc-standard"])
    parser.add_argument("--datasets", nargs="+", default=["mnist"], choices=DATASETS)
    parser.add_argument("--seeds", nargs="+", type=cli.nonnegative_int, default=[0, 1])
    parser.add_argument("--n-train", type=cli.positive_int, default=10000)
    parser.add_argument("--n-test", type=cli.positive_int, default=2000)
    parser.add_argument("--epochs", type=cli.positive_int, default=1)
    parser.add_argument("--repeats", type=cli.positive_int, default=2,
                        help="runs per cluster size (alternating)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None, help="write the record here")
    args = parser.parse_args(argv)

    tasks = grid_tasks(args.datasets, args.rules, args.seeds)
    runs = []
    with tempfile.TemporaryDirectory(prefix="grid-speedup-") as scratch:
        for repeat in range(args.repeats):
            for workers in ((1, 2) if repeat % 2 == 0 else (2, 1)):
                out_dir = Path(scratch) / f"w{workers}_r{repeat}"
                settings = Settings(out_dir=str(out_dir), epochs=args.epochs,
                                    n_train=args.n_train, n_test=args.n_test,
                                    data_dir=args.data_dir)
                run = measure(tasks, settings, workers)
                runs.append(run)
                _log(f"{workers} worker(s): {run['total']:.1f} s total, "
                     f"{run['tasks']:.1f} s tasks; load {run['load_before'][0]:.1f} "
                     f"-> {run['load_after'][0]:.1f}")
        one = [r for r in runs if r["workers"] == 1]
        two = [r for r in runs if r["workers"] == 2]
        differences = {
            "same_size": record_differences(tasks, one[0]["out_dir"],
                                            one[-1]["out_dir"]),
            "one_vs_two": record_differences(tasks, one[0]["out_dir"],
                                             two[0]["out_dir"]),
        }
    for run in runs:
        del run["out_dir"]
    metrics = {}
    for phase in ("total", "tasks"):
        t1 = statistics.median(r[phase] for r in one)
        t2 = statistics.median(r[phase] for r in two)
        metrics[f"speedup_{phase}"] = t1 / t2
        metrics[f"efficiency_{phase}"] = t1 / t2 / 2
        metrics[f"median_seconds_{phase}"] = {"1": t1, "2": t2}
    metrics["max_difference_1_vs_2_workers"] = differences["one_vs_two"]
    metrics["max_difference_repeat_1_worker"] = differences["same_size"]
    loads = [r["load_before"][0] for r in runs] + [r["load_after"][0] for r in runs]
    record = make_record(
        "benchmark",
        config={"benchmark": "grid_speedup", "rules": args.rules,
                "datasets": args.datasets, "seeds": args.seeds,
                "n_train": args.n_train, "n_test": args.n_test, "epochs": args.epochs,
                "repeats": args.repeats, "order": [r["workers"] for r in runs],
                "network": "each rule's benchmark network"},
        seed=0, metrics=metrics,
        seconds={"runs": sum(r["total"] for r in runs)},
        runs=runs,
        load_average_1min={"min": min(loads), "max": max(loads)},
        # the runs themselves use up to all the cores: a load above the core count
        # means other jobs shared the machine
        note=("the machine was shared with other jobs during the measurement (see "
              "load_average_1min and each run's load); the ratio is of runs "
              "interleaved on the same machine, not a quiet-machine number"
              if max(loads) > (os.cpu_count() or 1) else
              "the 1-minute load average stayed within the core count (the runs' "
              "own work); the ratio is of runs interleaved on the same machine"),
    )
    emit_record(record, args.out)
    _log(f"speed-up 1 -> 2 workers: {metrics['speedup_tasks']:.2f}x on the tasks "
         f"(efficiency {metrics['efficiency_tasks']:.2f}), "
         f"{metrics['speedup_total']:.2f}x including cluster start")
    return record


if __name__ == "__main__":
    main()
