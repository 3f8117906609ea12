"""Benchmark: where nengo-loihi's emulator spends its time (cProfile).

The shipped soft-LIF MLP prepared for Loihi (`nengo_pc.loihi.presentation_network`:
off-chip input layer, Lowpass 5 ms, 100 steps an image) on the first ``--n-images``
test images, built and run once in ``nengo_loihi.Simulator(target="sim")`` and once
in `nengo.Simulator`, each under cProfile, build and run profiled apart. The record
holds, per simulator and phase, the wall time, the functions with the most own time
(``tottime``) and the own time summed by module, as fractions of the phase.

Example::

    python benchmarks/loihi_profile.py --n-images 20 --out results/loihi/profile.json
"""

import argparse
import cProfile
import os
import pstats
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loihi import load_network, package_version  # noqa: E402


def _where(filename):
    """A short module path: ``nengo_loihi/emulator/interface.py``, ``numpy/...``."""
    for marker in ("site-packages/", "lib/python3.11/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def summarise(profile, seconds, top):
    """The ``top`` functions by own time and the own time per module."""
    stats = pstats.Stats(profile)
    total = sum(v[2] for v in stats.stats.values())
    rows, modules = [], {}
    for (filename, line, name), (_, ncalls, tottime, cumtime, _) in stats.stats.items():
        where = _where(filename)
        module = "/".join(where.split("/")[:2]) if "/" in where else where
        modules[module] = modules.get(module, 0.0) + tottime
        rows.append({"function": f"{where}:{line}({name})", "ncalls": ncalls,
                     "tottime": tottime, "cumtime": cumtime,
                     "fraction": tottime / total if total else 0.0})
    rows.sort(key=lambda r: -r["tottime"])
    by_module = sorted(({"module": k, "tottime": v, "fraction": v / total}
                        for k, v in modules.items()), key=lambda r: -r["tottime"])
    return {"wall_seconds": seconds, "profiled_seconds": total,
            "top_functions": rows[:top], "by_module": by_module[:top]}


def run(args):
    import nengo
    import nengo_loihi

    import nengo_pc  # noqa: F401
    from nengo_pc import loihi
    from nengo_pc.data import load_dataset
    from nengo_pc.networks.presentation import Presentation
    from nengo_pc.results import make_record

    arch, params, path = load_network(args.pretrained)
    x = load_dataset("mnist", data_dir=args.data_dir).test.images[:args.n_images]
    presentation = Presentation(n_steps=100, synapse="lowpass", tau=0.005)
    n_steps = presentation.n_steps * len(x)
    load = {"start": os.getloadavg()}
    simulators = {
        "emulator": lambda net: nengo_loihi.Simulator(net, dt=presentation.dt,
                                                      target="sim", precompute=True,
                                                      seed=0, progress_bar=False),
        "nengo": lambda net: nengo.Simulator(net, dt=presentation.dt, seed=0,
                                             progress_bar=False)}
    phases = {}
    for name, make in simulators.items():
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")
            net = loihi.presentation_network(arch, params, x, presentation, seed=0)
            build = cProfile.Profile()
            t0 = time.perf_counter()
            build.enable()
            sim = make(net)
            build.disable()
            build_seconds = time.perf_counter() - t0
        with sim:
            step = cProfile.Profile()
            t0 = time.perf_counter()
            step.enable()
            sim.run_steps(n_steps)
            step.disable()
            run_seconds = time.perf_counter() - t0
        phases[name] = {"build": summarise(build, build_seconds, args.top),
                        "run": summarise(step, run_seconds, args.top)}
        print(f"{name}: build {build_seconds:.1f} s, run {run_seconds:.1f} s",
              file=sys.stderr, flush=True)
    load["end"] = os.getloadavg()
    ratios = {phase: phases["emulator"][phase]["wall_seconds"]
              / phases["nengo"][phase]["wall_seconds"] for phase in ("build", "run")}
    return make_record(
        "bench_loihi_profile",
        config={"pretrained": args.pretrained, "params": path, "n_images": len(x),
                "n_steps": n_steps, "presentation": presentation.to_dict(),
                "precompute": True, "top": args.top,
                "nengo_loihi": package_version("nengo-loihi")},
        seed=0, metrics={"emulator_over_nengo": ratios, **phases},
        seconds={name: {phase: phases[name][phase]["wall_seconds"]
                        for phase in ("build", "run")} for name in phases},
        load_average=load,
        note="times under cProfile (which slows Python-heavy code more) on a shared "
             "machine: read the fractions and the ratio, not the absolute times")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pretrained", default="mnist-softlif-mlp")
    parser.add_argument("--n-images", type=int, default=20)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    from nengo_pc.results import write_json_atomic

    write_json_atomic(args.out, run(args))


if __name__ == "__main__":
    main()
