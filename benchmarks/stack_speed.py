"""Training speed of two dependency stacks, measured side by side in one run.

Runs the main job (``nengo-pc train``: 784-500-500-10 ReLU MLP in NengoDL, MNIST)
with each given Python interpreter (each a virtual environment holding one stack
and nengo-pc), alternating A, B, A, B ... so that both stacks see the same machine
load on average, and writes one JSON record with every run's seconds per epoch,
test accuracy, the median ratio and the load average::

    python benchmarks/stack_speed.py --python /venvs/tf2.12/bin/python \\
        /venvs/tf2.19/bin/python --epochs 3 --repeats 2 \\
        --out results/stack/speed.json

The first epoch includes graph building and tracing; the record keeps it apart.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nengo_pc.results import make_record, write_json_atomic  # noqa: E402


def tensorflow_version(python):
    code = "import importlib.metadata as m; print(m.version('tensorflow'))"
    return subprocess.run([python, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def train_once(python, epochs, n_train, seed, out_dir):
    cmd = [python, "-m", "nengo_pc.cli", "train", "--dataset", "mnist", "--epochs",
           str(epochs), "--seed", str(seed), "--out-dir", str(out_dir)]
    if n_train:
        cmd += ["--n-train", str(n_train)]
    load = os.getloadavg()[0]
    subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL,
                   env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    record = json.loads((Path(out_dir) / "train.json").read_text())
    epochs_s = [entry["seconds"] for entry in record["history"]]
    return {"epoch_seconds": epochs_s,
            "seconds_per_epoch_after_first": statistics.median(epochs_s[1:] or epochs_s),
            "test_accuracy": record["metrics"]["test_accuracy"],
            "load_average_at_start": load}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", nargs=2, required=True, metavar=("A", "B"),
                        help="the two interpreters (one virtual environment per stack)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    stacks = {python: tensorflow_version(python) for python in args.python}
    runs = {python: [] for python in args.python}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for python in args.python:
                out_dir = Path(tmp) / f"{repeat}-{len(runs[python])}-{stacks[python]}"
                result = train_once(python, args.epochs, args.n_train, args.seed, out_dir)
                runs[python].append(result)
                print(f"TF {stacks[python]}: {result['seconds_per_epoch_after_first']:.2f} "
                      f"s/epoch, {result['test_accuracy']:.2%}", flush=True)
    a, b = args.python
    median = {python: statistics.median(r["seconds_per_epoch_after_first"]
                                        for r in runs[python]) for python in args.python}
    metrics = {
        "stacks": {stacks[p]: {"python": p, "runs": runs[p], "median_s_per_epoch": median[p]}
                   for p in args.python},
        "ratio_b_over_a": median[b] / median[a],
        "load_average_end": os.getloadavg(),
    }
    config = {"epochs": args.epochs, "n_train": args.n_train, "repeats": args.repeats,
              "seed": args.seed, "a": stacks[a], "b": stacks[b],
              "command": "nengo-pc train --dataset mnist"}
    write_json_atomic(args.out, make_record("stack_speed", config, args.seed, metrics,
                                            {"total": time.perf_counter() - t0}))
    print(f"TF {stacks[b]} / TF {stacks[a]} time per epoch: "
          f"{metrics['ratio_b_over_a']:.2f}x; wrote {args.out}", flush=True)


if __name__ == "__main__":
    main()
