"""Benchmark: seconds per minibatch training step of every PC rule against backprop.

Times one traced training step per rule (`nengo_pc.training.vectorised.time_steps`:
rules run in turn, several rounds, median), so machine load affects all rules alike;
prints one JSON run record with the ratio of each rule to backprop of the squared error
(``bp-mse``, same loss and optimiser). Rules go by their registry names
(`nengo_pc.rules`).
The full accuracy benchmark is ``benchmarks/pc_mlp.py``.

Example::

    python benchmarks/pc_step_time.py --out results/bench_pc_step_time.json
"""

import argparse

from nengo_pc import cli
from nengo_pc.arch import mlp
from nengo_pc.data import load_split
from nengo_pc.pc.settings import RULE_OPTIONS
from nengo_pc.results import emit_record, make_record
from nengo_pc.training import TrainConfig
from nengo_pc.training.vectorised import time_steps

#: Rules timed by default: backprop of the squared error, the PC variants, FA, DFA
#: (the energy-based rules need a bounded nonlinearity, see ``--activation``).
DEFAULT_RULES = ("bp-mse", "pc-standard", "pc-fixed-prediction", "pc-zil",
                 "pc-incremental", "fa", "dfa")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    from nengo_pc import rules as registry

    choices = [r for r in registry.names() if "vectorised" in registry.get(r).backends]
    parser.add_argument("--rules", nargs="+", default=list(DEFAULT_RULES),
                        choices=choices)
    parser.add_argument("--hidden", nargs="+", type=cli.positive_int, default=[500, 500])
    parser.add_argument("--activation", default="relu",
                        choices=["relu", "tanh", "sigmoid"])
    parser.add_argument("--batch-size", type=cli.positive_int, default=100)
    parser.add_argument("--n-steps", type=cli.positive_int, default=20,
                        help="steps per rule and round")
    parser.add_argument("--repeats", type=cli.positive_int, default=7)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    rules = ["bp-mse"] + [r for r in args.rules if r != "bp-mse"]

    arch = mlp(tuple(args.hidden), activation=args.activation)
    batch = load_split("mnist", "test", args.data_dir).subset(args.batch_size)
    # the same inference settings as the benchmarks (nengo_pc.pc.settings)
    configs = [TrainConfig(rule=r, batch_size=args.batch_size,
                           options=dict(RULE_OPTIONS.get(r, {})))
               for r in rules]
    seconds = time_steps(arch, configs, batch.images, batch.labels,
                         n_steps=args.n_steps, repeats=args.repeats)
    metrics = {f"{r}/time_over_bp": s / seconds[0] for r, s in zip(rules, seconds)}
    record = make_record(
        "benchmark",
        config={"benchmark": "pc_step_time", "architecture": arch.to_dict(),
                "rules": {c.rule: c.to_dict() for c in configs},
                "n_steps": args.n_steps, "repeats": args.repeats},
        seed=0, metrics=metrics,
        seconds={f"{r}/per_step": s for r, s in zip(rules, seconds)})
    return emit_record(record, args.out)


if __name__ == "__main__":
    main()
