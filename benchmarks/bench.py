"""Run nengo-pc against its peers, side by side, and record the ratios.

Every pair (a module of ``benchmarks/pairs/``, interface in its ``__init__``
docstring) has two sides, ``ours`` and ``peer``, doing the same work. The sides run
interleaved -- ours, peer, ours, peer ... for ``--repeats`` rounds -- each in a fresh
Python process, so both see the same machine load and neither inherits the other's
memory or threads. Per pair one JSON run record goes to ``<out-dir>/<pair>.json``
(`nengo_pc.results.make_record`): every run's seconds, accuracy, peak RSS (the
child's ``VmHWM``, or its own child's peak if larger) and the load average before and after it; the medians; the time
ratio ours/peer (median of the per-round ratios, each round's two runs being back to
back) and its inverse, the speed-up.

The machine this suite is developed on is shared, so absolute seconds mean little;
the ratio of interleaved runs is the number to quote, with the load stated.

Examples::

    python benchmarks/bench.py --list
    python benchmarks/bench.py --pairs spiking_cnn_nengo_dl_example --repeats 3
    python benchmarks/bench.py --pairs spiking_cnn_nengo_dl_example --repeats 2 \\
        --set n_test=500 n_steps=60 --tag 60steps
"""

import argparse
import importlib
import json
import os
import pkgutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Prefix of the line on which a side's child process hands back its result.
RESULT_MARK = "BENCH-RESULT "
SIDES = ("ours", "peer")


def pair_names(pairs_dir):
    """Names of the pair modules in ``pairs_dir``."""
    return sorted(m.name for m in pkgutil.iter_modules([str(pairs_dir)])
                  if not m.name.startswith("_"))


def load_pair(pairs_dir, name):
    """Import pair ``name`` from ``pairs_dir`` and check its interface."""
    pairs_dir = Path(pairs_dir).resolve()
    if name not in pair_names(pairs_dir):
        raise ValueError(f"--pairs: no pair {name!r} in {pairs_dir}; "
                         f"have {', '.join(pair_names(pairs_dir)) or 'none'}")
    if str(pairs_dir.parent) not in sys.path:
        sys.path.insert(0, str(pairs_dir.parent))
    module = importlib.import_module(f"{pairs_dir.name}.{name}")
    for attr in ("NAME", "DESCRIPTION", *SIDES):
        if not hasattr(module, attr):
            raise ValueError(f"pair {name}: the module has no {attr!r} "
                             "(see benchmarks/pairs/__init__.py)")
    return module


def pair_settings(module, quick=False, overrides=(), seed=0, data_dir=None):
    """The settings dict a pair's sides receive (see ``benchmarks/pairs``)."""
    settings = dict(getattr(module, "SETTINGS", {}))
    if quick:
        settings.update(getattr(module, "QUICK", {}))
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or key not in settings:
            raise ValueError(f"--set: expected key=value with key one of "
                             f"{', '.join(settings) or '(none)'}, got {item!r}")
        try:
            settings[key] = json.loads(text)
        except json.JSONDecodeError:
            settings[key] = text
    settings.update(quick=bool(quick), seed=int(seed), data_dir=data_dir)
    return settings


def peak_rss_mb():
    """Peak resident set size in MiB: this process's (``VmHWM``), or that of the
    largest child it waited for if larger (a side that runs its peer as a
    subprocess, such as PCX in its own venv)."""
    import resource

    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                own = int(line.split()[1]) / 1024
                break
        else:
            raise RuntimeError("VmHWM not found in /proc/self/status")
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB
    return max(own, children)


def run_side_here(pairs_dir, name, side, settings):
    """The child's work: one side of one pair, its result printed on a marked line."""
    module = load_pair(pairs_dir, name)
    result = dict(getattr(module, side)(settings))
    for key in ("seconds", "accuracy"):
        if key not in result:
            raise ValueError(f"pair {name}: {side}() returned no {key!r}")
    result["peak_rss_mb"] = peak_rss_mb()
    print(RESULT_MARK + json.dumps(result), flush=True)


def run_side(pairs_dir, name, side, settings):
    """Run one side in a fresh process; its result with the load around it."""
    command = [sys.executable, str(Path(__file__).resolve()), "--run-side", name, side,
               "--pairs-dir", str(pairs_dir), "--settings-json", json.dumps(settings)]
    load_before = os.getloadavg()
    t0 = time.perf_counter()
    proc = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - t0
    load_after = os.getloadavg()
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        sys.stdout.write(proc.stdout)
        raise RuntimeError(f"pair {name}: side {side} failed (exit {proc.returncode})")
    result = json.loads(lines[-1][len(RESULT_MARK):])
    result.update(process_seconds=wall, load_before=list(load_before),
                  load_after=list(load_after))
    return result


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def bench_pair(pairs_dir, name, settings, repeats, log=print):
    """Run ``name`` interleaved for ``repeats`` rounds; the record (not yet written)."""
    from nengo_pc.results import make_record

    module = load_pair(pairs_dir, name)
    runs = {side: [] for side in SIDES}
    for k in range(repeats):
        for side in SIDES:
            result = run_side(pairs_dir, name, side, settings)
            runs[side].append(result)
            log(f"[{name}] round {k + 1}/{repeats} {side}: {result['seconds']:.3f} s, "
                f"accuracy {result['accuracy']}, peak RSS "
                f"{result['peak_rss_mb']:.0f} MiB, load {result['load_before'][0]:.2f}")
    ratios = [a["seconds"] / b["seconds"] for a, b in zip(runs["ours"], runs["peer"])]
    metrics = {"time_ratio": _median(ratios), "speedup": 1 / _median(ratios),
               "time_ratios": ratios}
    if all("images_per_second" in r for side in SIDES for r in runs[side]):
        # the sides may classify different numbers of images: compare rates too
        metrics["throughput_ratios"] = [a["images_per_second"] / b["images_per_second"]
                                        for a, b in zip(runs["ours"], runs["peer"])]
        metrics["throughput_ratio"] = _median(metrics["throughput_ratios"])
    for side in SIDES:
        for key in ("accuracy", "peak_rss_mb", "images_per_second"):
            value = _median([r.get(key) for r in runs[side]])
            if value is not None:
                metrics[f"{side}_{key}"] = value
    loads = [r[k][0] for side in SIDES for r in runs[side]
             for k in ("load_before", "load_after")]
    return make_record(
        "bench",
        config={"pair": module.NAME, "description": module.DESCRIPTION,
                "settings": settings, "repeats": repeats,
                "order": "ours, peer per round, each in a fresh process",
                "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])},
        seed=settings["seed"],
        metrics=metrics,
        seconds={f"{side}_median": _median([r["seconds"] for r in runs[side]])
                 for side in SIDES},
        runs=runs,
        load_average={"min_1min": min(loads), "max_1min": max(loads),
                      "mean_1min": sum(loads) / len(loads)},
    )


def build_parser():
    parser = argparse.ArgumentParser(
        prog="bench.py", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--list", action="store_true", help="list the pairs and exit")
    parser.add_argument("--pairs", nargs="+", metavar="PAIR",
                        help="pairs to run (default: all)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="interleaved rounds of ours, peer (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help="the pairs' small sizes (QUICK), for tests")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                        help="override a pair setting (value parsed as JSON if it can be)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=None,
                        help="data directory (default $NENGO_PC_DATA)")
    parser.add_argument("--out-dir", default="results/bench",
                        help="where <pair>.json records go (default results/bench)")
    parser.add_argument("--tag", default=None,
                        help="record name <pair>-<tag>.json (e.g. for other settings)")
    parser.add_argument("--pairs-dir", default=str(HERE / "pairs"), help=argparse.SUPPRESS)
    parser.add_argument("--run-side", nargs=2, metavar=("PAIR", "SIDE"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--settings-json", help=argparse.SUPPRESS)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    pairs_dir = Path(args.pairs_dir)
    if args.run_side:
        name, side = args.run_side
        if side not in SIDES:
            parser.error(f"--run-side: side must be one of {', '.join(SIDES)}")
        run_side_here(pairs_dir, name, side, json.loads(args.settings_json))
        return 0
    names = pair_names(pairs_dir)
    if args.list:
        for name in names:
            module = load_pair(pairs_dir, name)
            print(f"{module.NAME:36s} {module.DESCRIPTION}")
        return 0
    if args.repeats < 1:
        parser.error(f"--repeats: must be >= 1, got {args.repeats}")
    chosen = args.pairs or names
    from nengo_pc.results import write_json_atomic

    for name in chosen:
        try:
            module = load_pair(pairs_dir, name)
            settings = pair_settings(module, args.quick, args.set, args.seed,
                                     args.data_dir)
        except ValueError as err:
            parser.error(str(err))
        record = bench_pair(pairs_dir, name, settings, args.repeats,
                            log=lambda m: print(m, file=sys.stderr, flush=True))
        stem = module.NAME if args.tag is None else f"{module.NAME}-{args.tag}"
        path = write_json_atomic(Path(args.out_dir) / f"{stem}.json", record)
        m = record["metrics"]
        print(f"{module.NAME}: ours/peer time {m['time_ratio']:.3f} "
              f"(speed-up {m['speedup']:.2f}x), accuracy ours {m.get('ours_accuracy')} "
              f"peer {m.get('peer_accuracy')}, load {record['load_average']['mean_1min']:.2f}; "
              f"record: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
