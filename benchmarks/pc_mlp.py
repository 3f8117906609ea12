"""Benchmark: predictive-coding rules against backprop on one MLP, data and optimiser.

Trains the architecture (default 784-500-500-10, ReLU, He init) with each requested
rule -- backprop of the squared error (``bp-mse``) and the PC variants ``pc-zil``,
``pc-fixed-prediction``, ``pc-standard`` and ``pc-incremental`` (registry names,
`nengo_pc.rules`) -- on each requested data set, with `nengo_pc.training.train`
(vectorised backend): the same initial parameters, data order, squared-error
loss on one-hot targets, optimiser, learning-rate schedule and epochs for every rule.
Only the inference options differ: the exact rules (Z-IL, fixed prediction) run at
their exact defaults (step size 1, L steps), standard and incremental PC at the
``--standard-*`` and ``--incremental-*`` options. PC-trained networks are tested by
their feedforward pass (where a PC network with a free output settles).

Prints one JSON run record (also written atomically to ``--out``) with, per data set
and rule: test accuracy, the difference to backprop in percentage points, seconds per
epoch and their ratio to backprop's from the same run (and the ratio of minibatch
step times measured interleaved across rules, which changes in machine load cannot
skew), and the training history with the per-layer alignment (cosine) of every
rule's update with the backprop gradient after each epoch. ``energy_traces`` holds
the mean energy F per test example at every step of standard PC inference (output
clamped to the label) on the initial network and on the bp- and standard-trained
ones, for a few step sizes and output precisions (``--trace-steps``). ``targets``
lists the goals of the benchmark and whether they were met. ``--params-dir`` keeps
the trained networks (for `nengo_pc.networks.inference` runs).

Example (the settings of the reported run)::

    python benchmarks/pc_mlp.py --out results/bench_pc_mlp.json
"""

import argparse
import dataclasses
import sys
import time

from nengo_pc import cli
from pathlib import Path

import numpy as np

from nengo_pc.arch import mlp
from nengo_pc.data import load_dataset
from nengo_pc.datafiles import DATASETS
from nengo_pc.params import init_params, save_params
from nengo_pc.pc import energy_trace
from nengo_pc.pc.settings import ACTIVATION, COMMON, HIDDEN, MAX_SHIFT, RULE_OPTIONS
from nengo_pc.results import emit_record, make_record
from nengo_pc.rules import names
from nengo_pc.training import TrainConfig, evaluate_rule, train
from nengo_pc.training.vectorised import time_steps

#: The rules this benchmark compares: backprop of the squared error, the PC variants.
RULES = ("bp-mse",) + names("pc")

#: Goals: test accuracy of standard PC per data set, and how close the exact rules
#: must stay to backprop (percentage points) and how fast Z-IL must be (x BP time).
STANDARD_ACCURACY = {"mnist": 0.985, "fashion_mnist": 0.900}
EXACT_MAX_POINTS_FROM_BP = 0.1
ZIL_MAX_TIME_OVER_BP = 1.2


def rule_configs(args, dataset):
    """One `TrainConfig` per requested rule; only the inference options differ.

    The augmentation is ``--max-shift`` if given, else the data set's `MAX_SHIFT`.
    """
    base = TrainConfig(
        rule="bp-mse",
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        lr_schedule=args.lr_schedule,
        optimizer=args.optimizer,
        max_shift=MAX_SHIFT[dataset] if args.max_shift is None else args.max_shift,
        seed=args.seed,
    )
    per_rule = {
        "pc-standard": dict(n_steps=args.standard_n_steps,
                            step_size=args.standard_step_size,
                            output_precision=args.standard_output_precision),
        "pc-incremental": dict(n_steps=args.incremental_n_steps,
                               step_size=args.incremental_step_size,
                               output_precision=args.incremental_output_precision),
    }
    return {rule: dataclasses.replace(base, rule=rule, options=per_rule.get(rule, {}))
            for rule in args.rules}


def _targets(metrics, datasets, rules):
    """The benchmark's goals with the measured values and whether each was met."""
    targets = []
    for name in datasets:
        for rule in ("pc-zil", "pc-fixed-prediction"):
            key = f"{name}/{rule}/points_from_bp"
            if key in metrics:
                targets.append({
                    "target": f"{name}: {rule} within {EXACT_MAX_POINTS_FROM_BP} "
                              f"points of bp test accuracy",
                    "value": metrics[key],
                    "met": abs(metrics[key]) <= EXACT_MAX_POINTS_FROM_BP,
                })
        key = f"{name}/pc-standard/test_accuracy"
        if key in metrics and name in STANDARD_ACCURACY:
            targets.append({
                "target": f"{name}: standard PC test accuracy >= "
                          f"{STANDARD_ACCURACY[name]}",
                "value": metrics[key],
                "met": metrics[key] >= STANDARD_ACCURACY[name],
            })
        key = f"{name}/pc-zil/time_over_bp_interleaved"
        if key in metrics:
            targets.append({
                "target": f"{name}: zil time per minibatch step (interleaved "
                          f"timing) <= {ZIL_MAX_TIME_OVER_BP} x bp",
                "value": metrics[key],
                "met": metrics[key] <= ZIL_MAX_TIME_OVER_BP,
            })
    return targets


#: Inference settings of the energy traces: (step size, output precision).
TRACE_SETTINGS = ((0.05, 0.1), (0.05, 1.0), (0.1, 1.0), (0.2, 1.0))


def energy_traces(arch, params, split, n_images, n_steps):
    """Mean energy per example at every step of standard PC inference.

    Output clamped to the one-hot labels of the first ``n_images`` of ``split``,
    for each (step size, output precision) of `TRACE_SETTINGS`.
    """
    x = np.asarray(split.images[:n_images], np.float64)
    y = np.eye(arch.sizes[-1])[split.labels[:n_images]]
    weights = [np.asarray(w, np.float64) for w in params.weights]
    biases = [np.asarray(b, np.float64) for b in params.biases]
    return [
        {"step_size": step, "output_precision": gamma, "n_images": len(x),
         "energy": (energy_trace(weights, biases, x, y, arch.activation, n_steps, step,
                                 gamma) / len(x)).tolist()}
        for step, gamma in TRACE_SETTINGS
    ]


def run(args):
    arch = mlp(tuple(args.hidden), activation=args.activation)
    configs = {name: rule_configs(args, name) for name in args.datasets}
    # resolve (and check) every rule's options before spending time on training
    options = {rule: c.rule_options(arch)
               for rule, c in configs[args.datasets[0]].items()}
    initial = init_params(arch, args.seed)  # the same start for every rule

    metrics, seconds, histories, traces = {}, {}, {}, {}
    for name in args.datasets:
        data = load_dataset(name, data_dir=args.data_dir)
        train = data.train if args.n_train is None else data.train.subset(
            min(args.n_train, len(data.train)))
        if args.trace_steps:
            traces[f"{name}/initial"] = energy_traces(
                arch, initial, data.test, args.trace_images, args.trace_steps)
        for rule, config in configs[name].items():
            key = f"{name}/{rule}"
            t0 = time.perf_counter()
            result = train(arch, train, config, params=initial,
                           progress=not args.quiet)
            t1 = time.perf_counter()
            test = evaluate_rule(arch, result.params, data.test, rule)
            metrics[f"{key}/test_accuracy"] = test["accuracy"]
            metrics[f"{key}/test_loss"] = test["loss"]
            metrics[f"{key}/test_squared_error"] = test["squared_error"]
            metrics[f"{key}/final_alignment_min"] = min(
                (c for c in result.history[-1]["alignment"] if c is not None),
                default=0.0,
            )
            seconds[f"{key}/per_epoch"] = result.seconds_per_epoch
            seconds[f"{key}/build"] = result.build_seconds
            seconds[f"{key}/test"] = time.perf_counter() - t1
            seconds[f"{key}/total"] = time.perf_counter() - t0
            histories[key] = result.history
            if args.params_dir:
                save_params(Path(args.params_dir) / f"{name}_{rule}.npz", arch,
                            result.params, dataset=name, rule=rule,
                            config=config.to_dict())
            if args.trace_steps and rule in ("bp-mse", "pc-standard"):
                traces[key] = energy_traces(arch, result.params, data.test,
                                            args.trace_images, args.trace_steps)
            print(f"{key}: test accuracy {100 * test['accuracy']:.2f}%, "
                  f"{result.seconds_per_epoch:.2f} s/epoch", file=sys.stderr,
                  flush=True)
        # epoch times of consecutive runs also measure the machine's other load;
        # minibatch steps timed interleaved across rules do not
        step_seconds = time_steps(arch, list(configs[name].values()),
                                  train.images[:args.batch_size],
                                  train.labels[:args.batch_size], params=initial)
        for rule, step in zip(configs[name], step_seconds):
            seconds[f"{name}/{rule}/step_interleaved"] = step
        if "bp-mse" in configs[name]:
            bp_accuracy = metrics[f"{name}/bp-mse/test_accuracy"]
            for rule in configs[name]:
                if rule == "bp-mse":
                    continue
                metrics[f"{name}/{rule}/points_from_bp"] = 100 * (
                    metrics[f"{name}/{rule}/test_accuracy"] - bp_accuracy)
                for timing in ("per_epoch", "step_interleaved"):
                    suffix = "" if timing == "per_epoch" else "_interleaved"
                    metrics[f"{name}/{rule}/time_over_bp{suffix}"] = (
                        seconds[f"{name}/{rule}/{timing}"]
                        / seconds[f"{name}/bp-mse/{timing}"])

    first = configs[args.datasets[0]]
    targets = _targets(metrics, args.datasets, list(first))
    record = make_record(
        "benchmark",
        config={
            "benchmark": "pc_mlp",
            "architecture": arch.to_dict(),
            # the rules' settings on the first data set; the others differ only in
            # max_shift
            "rules": {rule: {**c.to_dict(), "resolved": options[rule]}
                      for rule, c in first.items()},
            "max_shift": {name: next(iter(configs[name].values())).max_shift
                          for name in args.datasets},
            "datasets": args.datasets,
            "n_train": args.n_train,
            "loss": "squared error on one-hot targets, 1/2 sum ||y - y_hat||^2",
            "evaluation": "feedforward pass (nengo_pc.rates.forward)",
        },
        seed=args.seed,
        metrics=metrics,
        seconds=seconds,
        history=histories,
        energy_traces=traces,
        targets=targets,
    )
    for target in targets:
        print(f"{'met' if target['met'] else 'NOT met'}: {target['target']} "
              f"(measured {target['value']:.4f})", file=sys.stderr)
    return emit_record(record, args.out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS),
                        choices=DATASETS)
    parser.add_argument("--rules", nargs="+", default=list(RULES), choices=RULES,
                        help="learning rules (default: bp-mse and the PC variants; "
                             "bp-mse is the reference for the time ratios and "
                             "accuracy differences)")
    # defaults: the benchmark settings of nengo_pc.pc.settings (where each rule's
    # options are explained)
    standard, incremental = RULE_OPTIONS["pc-standard"], RULE_OPTIONS["pc-incremental"]
    parser.add_argument("--hidden", nargs="+", type=cli.positive_int,
                        default=list(HIDDEN), help="hidden layer widths")
    parser.add_argument("--activation", default=ACTIVATION,
                        choices=["relu", "tanh", "sigmoid"],
                        help="hidden nonlinearity (relu served standard PC better "
                             "than tanh)")
    parser.add_argument("--epochs", type=cli.positive_int, default=COMMON["epochs"])
    parser.add_argument("--batch-size", type=cli.positive_int,
                        default=COMMON["batch_size"])
    parser.add_argument("--lr", type=cli.positive_float, default=COMMON["learning_rate"])
    parser.add_argument("--lr-schedule", default=COMMON["lr_schedule"],
                        choices=["constant", "cosine"])
    parser.add_argument("--optimizer", default=COMMON["optimizer"],
                        choices=["adam", "sgd", "momentum"])
    parser.add_argument("--max-shift", type=cli.nonnegative_int,
                        default=None,
                        help="random shifts of the training images, in pixels "
                             "(default: the data set's, nengo_pc.pc.settings.MAX_SHIFT)")
    parser.add_argument("--standard-n-steps", type=cli.positive_int,
                        default=standard["n_steps"])
    parser.add_argument("--standard-step-size", type=cli.positive_float,
                        default=standard["step_size"])
    parser.add_argument("--standard-output-precision", type=cli.positive_float,
                        default=standard["output_precision"])
    parser.add_argument("--incremental-n-steps", type=cli.positive_int,
                        default=incremental["n_steps"])
    parser.add_argument("--incremental-step-size", type=cli.positive_float,
                        default=incremental["step_size"])
    parser.add_argument("--incremental-output-precision", type=cli.positive_float,
                        default=incremental["output_precision"])
    parser.add_argument("--trace-steps", type=cli.nonnegative_int, default=100,
                        help="record the energy at each of this many standard "
                             "inference steps on the initial and on the bp- and "
                             "standard-trained networks (0: none)")
    parser.add_argument("--trace-images", type=cli.positive_int, default=1000,
                        help="test images the energy traces average over")
    parser.add_argument("--params-dir", default=None,
                        help="save every trained network here as "
                             "<dataset>_<rule>.npz")
    parser.add_argument("--n-train", type=cli.positive_int, default=None,
                        help="use only the first N training images (default: all)")
    parser.add_argument("--seed", type=cli.nonnegative_int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None, help="also write the JSON record here")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
