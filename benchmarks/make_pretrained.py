"""Make the trained parameters shipped in ``nengo_pc/pretrained/``.

For every shipped network (`nengo_pc.pretrained.TRAIN_COMMANDS`: one per
``networks/`` script) this trains it with its ``nengo-pc train`` command into
``<runs-dir>/<name>`` (skipped when that run has finished; an interrupted one
continues with ``--resume``), stores its parameters as float16 in
``nengo_pc/pretrained/<name>.npz`` (metadata: the command, the run's test accuracy),
and measures what float16 costs: the rate-mode test accuracy (`nengo_pc.forward`,
all 10,000 MNIST test images) of the float32 run and of the float16 file. The
record, with file sizes checked against the package's limits (3 MB a file, 12 MB
in all), goes to ``--out``.

Example (the shipped files; the CNN takes ~1 h on 2 cores, the others minutes)::

    python benchmarks/make_pretrained.py --out results/pretrained.json
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from nengo_pc import cli, pretrained
from nengo_pc.params import Params, load_params, save_params
from nengo_pc.data import load_split
from nengo_pc.rates import forward
from nengo_pc.results import make_record, write_json_atomic

ROOT = Path(__file__).resolve().parents[1]


def _log(message):
    print(message, file=sys.stderr, flush=True)


def train(name, run_dir, data_dir):
    """Run the network's ``nengo-pc train`` command unless ``run_dir`` has finished."""
    if (run_dir / "train.json").is_file():
        _log(f"{name}: {run_dir} has finished; not training")
        return
    command = [sys.executable, "-m", "nengo_pc.cli", "train",
               *pretrained.TRAIN_COMMANDS[name], "--out-dir", str(run_dir)]
    if (run_dir / "checkpoint.npz").is_file():
        command.append("--resume")
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    _log(f"{name}: {' '.join(command[1:])}")
    subprocess.run(command, check=True)


def accuracy(arch, params, test):
    """Rate-mode test accuracy."""
    outputs = np.concatenate([forward(arch, params, test.images[i:i + 1000])
                              for i in range(0, len(test), 1000)])
    return float(np.mean(outputs.argmax(1) == test.labels))


def pack(name, run_dir, test):
    """Write the float16 file of ``name``; return its entry of the record."""
    arch, params, meta = load_params(run_dir / "params.npz")
    run = json.loads((run_dir / "train.json").read_text())
    half = Params([np.asarray(w, np.float16) for w in params.weights],
                  [np.asarray(b, np.float16) for b in params.biases])
    command = ["nengo-pc", "train", *pretrained.TRAIN_COMMANDS[name]]
    metrics = run.get("metrics", {})
    file = pretrained.path(name)
    save_params(file, arch, half, **meta, command=" ".join(command),
                run_test_accuracy=metrics.get("test_accuracy"),
                run_spiking_test_accuracy=metrics.get("spiking_test_accuracy"))
    _, shipped, _ = pretrained.load(name)
    entry = {
        "command": command,
        "bytes": file.stat().st_size,
        "rate_accuracy_float32": accuracy(arch, params, test),
        "rate_accuracy_float16": accuracy(arch, shipped, test),
        "run_metrics": metrics,
    }
    _log(f"{name}: {file.relative_to(ROOT)} {entry['bytes'] / 2 ** 20:.2f} MB, rate "
         f"accuracy float32 {100 * entry['rate_accuracy_float32']:.2f}%, float16 "
         f"{100 * entry['rate_accuracy_float16']:.2f}%")
    return entry


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--names", nargs="+", default=list(pretrained.names()),
                        choices=pretrained.names(), metavar="NAME",
                        help="networks to make (default: all: "
                             + ", ".join(pretrained.names()) + ")")
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "runs" / "pretrained",
                        help="where the training runs go (default: runs/pretrained)")
    parser.add_argument("--data-dir", type=cli.existing_dir, default=None,
                        help="directory holding mnist/ (default: $NENGO_PC_DATA)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "pretrained.json",
                        help="the record (default: results/pretrained.json)")
    args = parser.parse_args(argv)

    test = load_split("mnist", "test", args.data_dir)
    networks = {}
    for name in args.names:
        run_dir = args.runs_dir / name
        train(name, run_dir, args.data_dir)
        networks[name] = pack(name, run_dir, test)
    sizes = {n: pretrained.path(n).stat().st_size for n in pretrained.names()
             if pretrained.available(n)}
    too_big = [n for n, size in sizes.items() if size > pretrained.MAX_FILE_BYTES]
    if too_big or sum(sizes.values()) > pretrained.MAX_TOTAL_BYTES:
        parser.exit(1, f"make_pretrained: over the size limits: {sizes}\n")
    previous = {}
    if args.out.is_file():
        previous = json.loads(args.out.read_text()).get("networks", {})
    networks = {**previous, **networks}
    record = make_record(
        "pretrained", config={"names": args.names, "runs_dir": str(args.runs_dir)},
        seed=0, seconds={},
        metrics={name: {k: entry[k] for k in ("rate_accuracy_float32",
                                              "rate_accuracy_float16", "bytes")}
                 for name, entry in networks.items()},
        networks=networks, total_bytes=sum(sizes.values()))
    write_json_atomic(args.out, record)
    _log(f"record: {args.out}")


if __name__ == "__main__":
    main()
