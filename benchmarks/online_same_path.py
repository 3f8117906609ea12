"""Does `train_online` on the training loop learn what the previous `train_online`
learned, bit for bit?

`nengo_pc.pc.online.train_online` used to run its own loop; it is now
`nengo_pc.training.train` on the ``simulated`` backend. The long online-learning
records (``results/bench_spiking_pc_online_long*.json``: 97.02% learned, 96.91%
spiking) were made by the old loop; they stay valid if the new one computes the
same numbers. This script checks that: it checks out ``--old`` (a commit with the
old loop) into a temporary git worktree, runs the same small runs with both --
rate-mode relu 784-32-10 and spiking lif 784-32-10, 400 MNIST images in minibatches
of 20, an inverse-time decay, evaluations every 200 images with the network's own
classification of 20 images, and a final one -- each in a fresh process, and
compares every learned parameter (bitwise) and the whole history (except seconds).

Example (the committed record)::

    python benchmarks/online_same_path.py --old 39a4c18 \\
        --out results/online_same_path.json
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

#: The runs, compared one by one (name: activation and spiking).
RUNS = {"rate relu": ("relu", False), "spiking lif": ("lif", True)}

CHILD = """
import json, sys
import numpy as np
from nengo_pc.arch import mlp
from nengo_pc.data import load_dataset
from nengo_pc.pc.online import train_online
activation, spiking, out = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
data = load_dataset("mnist")
result = train_online(mlp((32,), activation), data.train.subset(400), spiking=spiking,
                      batch_size=20, eval_split=data.test.subset(200), eval_every=200,
                      eval_spiking=20, final_eval_spiking=20, lr_decay_samples=300,
                      seed=0, progress=False)
np.savez(out + ".npz", *(result.params.weights + result.params.biases))
strip = lambda d: {k: v for k, v in (d or {}).items() if k != "seconds"}
json.dump({"history": [strip(h) for h in result.history],
           "final": strip(result.final_spiking)}, open(out + ".json", "w"))
"""


def run(tree, activation, spiking, out):
    """One run with the nengo_pc of ``tree``, in a fresh process."""
    import os

    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run([sys.executable, "-c", CHILD, activation, "1" if spiking else "0",
                    str(out)], env=env, check=True, cwd=tree)
    with np.load(str(out) + ".npz") as f:
        arrays = [f[k] for k in f.files]
    with open(str(out) + ".json") as f:
        return arrays, json.load(f)


def main(argv=None):
    from nengo_pc.results import make_record, write_json_atomic

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="commit with the previous loop")
    parser.add_argument("--out", required=True, help="JSON record to write")
    args = parser.parse_args(argv)
    comparisons = {}
    with tempfile.TemporaryDirectory() as tmp:
        old_tree = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach",
                        str(old_tree), args.old], check=True)
        try:
            for name, (activation, spiking) in RUNS.items():
                old = run(old_tree, activation, spiking, Path(tmp) / f"old-{activation}")
                new = run(ROOT, activation, spiking, Path(tmp) / f"new-{activation}")
                comparisons[name] = {
                    "parameters_equal": [bool(np.array_equal(a, b))
                                         for a, b in zip(old[0], new[0])],
                    "history_equal": old[1]["history"] == new[1]["history"],
                    "final_equal": old[1]["final"] == new[1]["final"],
                    "history": new[1]["history"], "final": new[1]["final"]}
                print(f"[same path] {name}: parameters equal "
                      f"{comparisons[name]['parameters_equal']}, history equal "
                      f"{comparisons[name]['history_equal']}", file=sys.stderr)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force",
                            str(old_tree)], check=False)
    same = all(all(c["parameters_equal"]) and c["history_equal"] and c["final_equal"]
               for c in comparisons.values())
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False).stdout.strip()
    record = make_record("benchmark", {"script": "benchmarks/online_same_path.py",
                                       "old": args.old, "new": head,
                                       "command": " ".join(sys.argv)},
                         seed=0, metrics={"bit_identical": same}, seconds={},
                         comparisons=comparisons)
    write_json_atomic(args.out, record)
    print(f"[same path] bit identical: {same}; record: {args.out}", file=sys.stderr)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
