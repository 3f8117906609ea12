"""The two sides of the MLP pairs (``benchmarks/pairs/pc_pcx.py``, ``bp_pcx.py``,
``zil_bp.py``), and running a pair alone with interleaved repeats.

`ours` trains nengo-pc's vectorised backend (`nengo_pc.training.train`, as
``nengo-pc train`` does) on MNIST and times its epochs; `pcx` runs the PCX peer
(``pcx_mlp.py``) in PCX's own virtual environment (`pcx_env.ensure_venv`) as a
subprocess. Both report the median seconds of the epochs after the first (PCX
compiles during its first; ours traces before training, but the first epoch also
pays for TensorFlow's first allocations), and the test accuracy after the last
epoch. `run_alone` is what ``python benchmarks/pairs/<pair>.py`` does: the sides in
turn, each in a fresh process, ``--repeats`` rounds, one record
(`nengo_pc.results.make_record`) with both times, the ratio, the accuracies and the
load average before and after every run. ``benchmarks/bench.py`` runs the same
sides by the same interface.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Settings every MLP pair shares: the issue's network and minibatch.
HIDDEN = (128, 128, 128)
BATCH_SIZE = 128


def data_dir(settings):
    """The data folder: the settings' ``data_dir``, else ``NENGO_PC_DATA``."""
    folder = settings.get("data_dir") or os.environ.get("NENGO_PC_DATA")
    if not folder:
        raise ValueError("data_dir: give it in the settings or set NENGO_PC_DATA")
    return folder


def ours(rule, options, settings):
    """Train nengo-pc's ``rule`` on the MLP; seconds per epoch and test accuracy.

    Parameters
    ----------
    rule : str
        A rule of the vectorised backend (``pc-standard``, ``bp-mse`` ...).
    options : dict
        The rule's options (e.g. ``{"n_steps": 8}``).
    settings : dict
        ``epochs``, ``n_train`` (None: all 60000), ``seed``, ``data_dir``, the
        backend options ``fused`` and ``jit_compile`` (``nengo-pc train --xla``)
        and ``intra_op_threads`` (``--intra-op-threads``; None: TensorFlow's
        default, one per core).
    """
    import tensorflow as tf

    from nengo_pc.arch import mlp
    from nengo_pc.data import load_dataset
    from nengo_pc.training import TrainConfig, evaluate_rule, train

    if settings.get("intra_op_threads"):  # nengo-pc train --intra-op-threads N
        tf.config.threading.set_intra_op_parallelism_threads(
            settings["intra_op_threads"])
    arch = mlp(HIDDEN)
    data = load_dataset("mnist", data_dir=data_dir(settings))
    split = data.train if settings.get("n_train") is None \
        else data.train.subset(settings["n_train"])
    config = TrainConfig.for_rule(rule, options=dict(options),
                                  batch_size=BATCH_SIZE, epochs=settings["epochs"],
                                  seed=settings.get("seed", 0))
    backend_options = {k: settings[k] for k in ("fused", "jit_compile")
                       if k in settings}
    result = train(arch, split, config, progress=False,
                   backend_options=backend_options)
    epoch_seconds = [h["seconds"] for h in result.history]
    test = evaluate_rule(arch, result.params, data.test, rule)
    timed = epoch_seconds[1:] if len(epoch_seconds) > 1 else epoch_seconds
    return {
        "seconds": float(statistics.median(timed)),
        "accuracy": float(test["accuracy"]),
        "epoch_seconds": epoch_seconds,
        "build_seconds": result.build_seconds,
        "n_train": len(split),
        "config": config.to_dict(),
        "architecture": arch.to_dict(),
        "backend_options": backend_options,
    }


def pcx(rule, settings):
    """Run PCX's MNIST MLP (``pcx_mlp.py --rule pc|bp``) in PCX's venv."""
    from pcx_env import DEFAULT_VENV, ensure_venv  # pylint: disable=import-error

    exe = ensure_venv(settings.get("pcx_venv") or DEFAULT_VENV, quiet=True)
    command = [str(exe), str(HERE / "pcx_mlp.py"), "--rule", rule,
               "--epochs", str(settings["epochs"]), "--seed",
               str(settings.get("seed", 0)), "--data-dir", data_dir(settings)]
    if settings.get("n_train") is not None:
        command += ["--n-train", str(settings["n_train"])]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise RuntimeError(f"PCX peer failed (exit {proc.returncode})")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"seconds": result["seconds_per_epoch"],
            "accuracy": result["test_accuracy"], **result}


def _side_in_child(pair_file, side, settings):
    """Run one side of ``pair_file`` in a fresh Python process."""
    command = [sys.executable, str(pair_file), "--side", side,
               "--settings-json", json.dumps(settings)]
    before = os.getloadavg()
    t0 = time.perf_counter()
    proc = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - t0
    after = os.getloadavg()
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{pair_file}: side {side} failed (exit {proc.returncode})")
    result = json.loads(lines[-1])
    result.update(process_seconds=wall, load_before=list(before),
                  load_after=list(after))
    return result


def run_alone(module, argv=None):
    """Command line of a pair module: interleaved repeats and one record.

    ``--side ours|peer --settings-json ...`` runs one side here and prints its
    result (what the interleaving runs in each child).
    """
    parser = argparse.ArgumentParser(description=module.DESCRIPTION)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (QUICK), for a check")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="override a setting (value as JSON)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None, help="write the JSON record here")
    parser.add_argument("--side", choices=("ours", "peer"), help=argparse.SUPPRESS)
    parser.add_argument("--settings-json", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side:
        print(json.dumps(getattr(module, args.side)(json.loads(args.settings_json))))
        return 0
    if args.repeats < 1:
        parser.error("--repeats: must be >= 1")
    settings = dict(module.SETTINGS)
    if args.quick:
        settings.update(module.QUICK)
    for item in args.set:
        key, sep, text = item.partition("=")
        if not sep or key not in settings:
            parser.error(f"--set: expected KEY=VALUE with KEY one of "
                         f"{', '.join(settings)}, got {item!r}")
        try:
            settings[key] = json.loads(text)
        except json.JSONDecodeError:
            settings[key] = text
    settings.update(quick=args.quick, seed=args.seed, data_dir=args.data_dir)

    from nengo_pc.results import emit_record, make_record

    runs = {"ours": [], "peer": []}
    for k in range(args.repeats):
        for side in ("ours", "peer"):
            result = _side_in_child(module.__file__, side, settings)
            runs[side].append(result)
            print(f"round {k + 1}/{args.repeats} {side}: {result['seconds']:.3f} s, "
                  f"accuracy {result['accuracy']:.4f}, load "
                  f"{result['load_before'][0]:.2f}->{result['load_after'][0]:.2f}",
                  file=sys.stderr, flush=True)
    ratios = [o["seconds"] / p["seconds"] for o, p in zip(runs["ours"], runs["peer"])]
    loads = [r[key][0] for side in runs.values() for r in side
             for key in ("load_before", "load_after")]
    metrics = {
        "ours_seconds": statistics.median(r["seconds"] for r in runs["ours"]),
        "peer_seconds": statistics.median(r["seconds"] for r in runs["peer"]),
        "ratio": statistics.median(ratios),
        "ratios": ratios,
        "ours_accuracy": statistics.median(r["accuracy"] for r in runs["ours"]),
        "peer_accuracy": statistics.median(r["accuracy"] for r in runs["peer"]),
        "load_min": min(loads),
        "load_max": max(loads),
    }
    if getattr(module, "GOAL", None) is not None:
        metrics["goal_ratio"] = module.GOAL
        metrics["goal_met"] = metrics["ratio"] <= module.GOAL
    record = make_record(
        "benchmark",
        config={"benchmark": f"pairs/{module.NAME}", "pair": module.NAME,
                "description": module.DESCRIPTION, "settings": settings,
                "repeats": args.repeats, "timed": module.TIMED},
        seed=args.seed, metrics=metrics,
        seconds={"ours_per_epoch": metrics["ours_seconds"],
                 "peer_per_epoch": metrics["peer_seconds"]},
        runs=runs,
        note="ratio = median over rounds of ours/peer seconds, each round's two runs "
             "back to back (interleaved); the machine was shared, see load_before/"
             "load_after of every run",
    )
    emit_record(record, args.out)
    return 0
