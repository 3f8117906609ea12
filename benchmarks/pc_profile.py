"""Benchmark: where a PC training epoch spends its time, and what each speed-up gave.

Builds the vectorised backend (`nengo_pc.training.vectorised.VectorisedBackend`)
for several variants of the same MLP training -- rule, inference steps and the
backend options ``fused`` (the minibatch loop inside one traced function) and
``jit_compile`` (XLA) -- and times them interleaved: ``--repeats`` rounds, each
training every variant on the same ``--n-batches`` minibatches in turn, the median
over rounds reported (the first round is a warm-up and not counted). Machine load
thus affects all variants alike; the record states it before and after.

The default variants answer two questions:

* the profile: backprop (``bp-mse``) against standard PC with 1 and 8 inference
  steps gives the cost of the feedforward pass, the update and the optimiser (T=1
  minus what backprop shares) and of one inference step ((T8 - T1) / 7); the
  unfused variant minus the fused one is the Python work between minibatches;
* before/after: ``fused=False, jit_compile=False`` ("unfused") is how main ran
  every rule; "fused" is the new default (the minibatch loop in one graph) and
  "xla" the option ``jit_compile`` (one XLA-compiled call per minibatch), so the
  ratios to "unfused" are each change's gain.

Example (the reported run)::

    python benchmarks/pc_profile.py --out results/bench/pc_profile.json
"""

import argparse
import os
import statistics
import time

import numpy as np

from nengo_pc import cli
from nengo_pc.arch import init_params, mlp
from nengo_pc.data import load_split
from nengo_pc.results import emit_record, make_record
from nengo_pc.training import TrainConfig
from nengo_pc.training.schedule import Schedule

#: (label, rule, rule options, backend options) of the default variants.
VARIANTS = (
    ("bp-mse/unfused", "bp-mse", {}, dict(fused=False, jit_compile=False)),
    ("bp-mse/fused", "bp-mse", {}, dict(fused=True, jit_compile=False)),
    ("bp-mse/xla", "bp-mse", {}, dict(fused=False, jit_compile=True)),
    ("pc-zil/fused", "pc-zil", {}, dict(fused=True, jit_compile=False)),
    ("pc-standard-T1/fused", "pc-standard", {"n_steps": 1},
     dict(fused=True, jit_compile=False)),
    ("pc-standard-T8/unfused", "pc-standard", {"n_steps": 8},
     dict(fused=False, jit_compile=False)),
    ("pc-standard-T8/fused", "pc-standard", {"n_steps": 8},
     dict(fused=True, jit_compile=False)),
    ("pc-standard-T8/xla", "pc-standard", {"n_steps": 8},
     dict(fused=False, jit_compile=True)),
)


def main(argv=None):
    from nengo_pc import rules
    from nengo_pc.training.vectorised import VectorisedBackend

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", nargs="+", type=cli.positive_int,
                        default=[128, 128, 128])
    parser.add_argument("--batch-size", type=cli.positive_int, default=128)
    parser.add_argument("--n-batches", type=cli.positive_int, default=100,
                        help="minibatches per variant and round")
    parser.add_argument("--repeats", type=cli.positive_int, default=4,
                        help="rounds (the first is a warm-up)")
    parser.add_argument("--only", nargs="*", default=None,
                        help="labels of the variants to run (default: all)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    variants = [v for v in VARIANTS if args.only is None or v[0] in args.only]
    if not variants:
        parser.error(f"--only: no variant among {[v[0] for v in VARIANTS]}")

    arch = mlp(tuple(args.hidden))
    n = args.n_batches * args.batch_size
    split = load_split("mnist", "train", args.data_dir).subset(n)
    params = init_params(arch, 0)
    backends, build = [], {}
    for label, rule, options, backend_options in variants:
        config = TrainConfig.for_rule(rule, options=options,
                                      batch_size=args.batch_size)
        t0 = time.perf_counter()
        backends.append(VectorisedBackend(
            arch, rules.get(rule), config.rule_options(arch), config, params,
            Schedule.from_config(config, args.n_batches * (args.repeats + 1)),
            **backend_options))
        build[label] = time.perf_counter() - t0
    times = {label: [] for label, *_ in variants}
    loads = [list(os.getloadavg())]
    for k in range(args.repeats):
        for (label, *_), backend in zip(variants, backends):
            t0 = time.perf_counter()
            backend.train_chunk(split.images, split.labels)
            seconds = time.perf_counter() - t0
            if k > 0:
                times[label].append(seconds / args.n_batches)
        loads.append(list(os.getloadavg()))
    per_batch = {label: statistics.median(t) for label, t in times.items()}
    record = make_record(
        "benchmark",
        config={"benchmark": "pc_profile", "architecture": arch.to_dict(),
                "batch_size": args.batch_size, "n_batches": args.n_batches,
                "repeats": args.repeats,
                "variants": [{"label": label, "rule": rule, "options": options,
                              "backend_options": b}
                             for label, rule, options, b in variants]},
        seed=0,
        metrics={"seconds_per_batch": per_batch,
                 "load_min": min(x[0] for x in loads),
                 "load_max": max(x[0] for x in loads)},
        seconds={**{f"{label}/per_batch": s for label, s in per_batch.items()},
                 **{f"{label}/build": s for label, s in build.items()}},
        rounds={label: t for label, t in times.items()},
        load_average=loads,
        note="interleaved rounds on a shared machine; compare variants of one run "
             "only (ratios), see load_average (1, 5, 15 min) after every round",
    )
    emit_record(record, args.out)


if __name__ == "__main__":
    main()
