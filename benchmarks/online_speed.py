r"""Benchmark: online learning through the `LocalPC` rule against the path it replaced.

`nengo_pc.pc.online.train_online` used to sum the rule's products outside the
simulator and write the new weights into NengoDL's variables after every call; it now
runs the `~nengo_pc.networks.learning.LocalPC` rule on the network's connections,
the minibatch sharing one set of weights (see `nengo_pc.pc.online`). This runs both,
interleaved in one process tree on the same machine, same data and settings: the
previous path from a git commit of this repository (``--old-commit``, extracted with
``git archive`` into a temporary directory), the current one from this checkout, each
training run in its own Python process (``--repeats`` times each, alternating),
and records images/s of training (build and evaluation excluded), their ratio, and
the accuracies after training.

The machine's load average is recorded before and after; on a loaded machine only
the ratio means something.

Example (the record in ``results/online_speed.json``)::

    nice -n 10 python benchmarks/online_speed.py --old-commit 6a58d49 \
        --n-samples 400 --repeats 2 --out results/online_speed.json
"""

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORKER = r"""
import json, sys, time
import nengo_pc
from nengo_pc.arch import mlp
from nengo_pc.data import load_dataset
from nengo_pc.pc.online import train_online
args = json.loads(sys.argv[1])
data = load_dataset("mnist")
train = data.train.subset(args["n_train"])
test = data.test.subset(args["n_test"])
result = train_online(mlp(tuple(args["hidden"]), "relu"), train, spiking=args["spiking"],
                      batch_size=args["batch_size"], n_samples=args["n_samples"],
                      eval_split=test, eval_every=args["n_samples"], seed=0,
                      progress=False)
print(json.dumps({"module": nengo_pc.__file__, "build_seconds": result.build_seconds,
                  "train_seconds": result.train_seconds,
                  "accuracy": [h.get("accuracy") for h in result.history],
                  "network": result.config.get("network")}))
"""


def extract(commit, into):
    """The ``nengo_pc`` package of ``commit`` of this repository, under ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "nengo_pc"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into)
    return into


def run(path, settings):
    # run in ``path`` so that its nengo_pc is the one imported (a ``-c`` script puts
    # the working directory first on sys.path)
    env = {**os.environ, "PYTHONPATH": str(path)}
    out = subprocess.run([sys.executable, "-c", WORKER, json.dumps(settings)], env=env,
                         cwd=str(path), check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old-commit", default="6a58d49",
                        help="commit whose train_online is the previous path")
    parser.add_argument("--hidden", nargs="+", type=int, default=[100])
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--n-samples", type=int, default=400)
    parser.add_argument("--n-train", type=int, default=1000)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--modes", nargs="+", default=["rate", "spiking"],
                        choices=["rate", "spiking"])
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    from nengo_pc.results import emit_record, make_record

    load_before = os.getloadavg()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        old = extract(args.old_commit, tmp)
        for mode in args.modes:
            settings = {"hidden": args.hidden, "batch_size": args.batch_size,
                        "n_samples": args.n_samples, "n_train": args.n_train,
                        "n_test": args.n_test, "spiking": mode == "spiking"}
            for repeat in range(args.repeats):
                for path_name, path in (("previous", old), ("local_pc", ROOT)):
                    result = run(path, settings)
                    if not result["module"].startswith(str(path)):
                        raise RuntimeError(f"{path_name}: imported {result['module']}")
                    result.update(mode=mode, path=path_name, repeat=repeat,
                                  images_per_second=args.n_samples
                                  / result["train_seconds"],
                                  load_average=os.getloadavg())
                    print(json.dumps(result), file=sys.stderr)
                    runs.append(result)
    metrics = {}
    for mode in args.modes:
        speed = {p: [r["images_per_second"] for r in runs
                     if r["mode"] == mode and r["path"] == p]
                 for p in ("previous", "local_pc")}
        mean = {p: sum(v) / len(v) for p, v in speed.items()}
        metrics[mode] = {"previous_images_per_second": mean["previous"],
                         "local_pc_images_per_second": mean["local_pc"],
                         "local_pc_over_previous": mean["local_pc"] / mean["previous"]}
    record = make_record(
        "benchmark",
        config={"benchmark": "online_speed", "old_commit": args.old_commit,
                "architecture": f"784-{'-'.join(map(str, args.hidden))}-10 relu",
                "batch_size": args.batch_size, "n_samples": args.n_samples,
                "n_train": args.n_train, "n_test": args.n_test,
                "repeats": args.repeats, "modes": args.modes,
                "order": "interleaved: previous, local_pc per repeat",
                "load_average_before": load_before,
                "load_average_after": os.getloadavg()},
        seed=0, metrics=metrics,
        seconds={"train": sum(r["train_seconds"] for r in runs)}, runs=runs)
    return emit_record(record, args.out, shown=metrics)


if __name__ == "__main__":
    main()
