"""The ``nengo-pc`` command line.

Subcommands:

``nengo-pc train``
    Train a model on MNIST or Fashion-MNIST, evaluate it on the test set, and write
    ``params.npz`` (reloadable), ``checkpoint.npz`` (after every epoch, atomically) and
    ``train.json`` (the run record) into ``--out-dir``.
``nengo-pc evaluate``
    Reload ``params.npz`` from a run directory and classify a data split with NengoDL,
    the Nengo reference simulator or Keras, writing ``evaluate.json``.

Argument errors exit with status 2 and a message naming the option; data and runtime
errors exit with status 1 and say what to do.
"""

import argparse
import math
import sys
import time
from pathlib import Path


def positive_int(text):
    """argparse type: an integer >= 1."""
    return _int_at_least(text, 1)


def nonnegative_int(text):
    """argparse type: an integer >= 0."""
    return _int_at_least(text, 0)


def _int_at_least(text, low):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"must be >= {low}, got {value}")
    return value


def positive_float(text):
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def existing_dir(text):
    """argparse type: a directory that exists."""
    path = Path(text).expanduser()
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not an existing directory")
    return str(path)


#: ``--rule`` choices: ``backprop`` uses `nengo_pc.train`, the rest `nengo_pc.pc.train`
TRAIN_RULES = ("backprop", "bp-mse", "pc-standard", "pc-fixed-prediction", "pc-zil",
               "pc-incremental", "fa", "dfa", "eqprop", "chl")
_PC_RULES = {"bp-mse": "bp", "pc-standard": "standard",
             "pc-fixed-prediction": "fixed_prediction", "pc-zil": "zil",
             "pc-incremental": "incremental", "fa": "fa", "dfa": "dfa",
             "eqprop": "eqprop", "chl": "chl"}
#: ``--rule`` choices trained and classified by the free phase of an energy-based
#: network (`nengo_pc.pc.baselines`) rather than by the feedforward pass
_ENERGY_RULES = ("eqprop", "chl")


def _add_data_options(parser):
    parser.add_argument(
        "--data-dir", type=existing_dir, default=None,
        help="directory holding mnist/ and fashion_mnist/ IDX .gz files "
             "(default: $NENGO_PC_DATA, else the user cache, downloading if needed)",
    )


def _build_parser():
    from nengo_pc.arch import ACTIVATIONS, PRESETS
    from nengo_pc.data import DATASETS
    from nengo_pc.arch import INPUT_CODINGS, SYNAPSES
    from nengo_pc.train import BACKENDS, EVAL_BACKENDS, LR_SCHEDULES

    parser = argparse.ArgumentParser(
        prog="nengo-pc",
        description="Predictive coding, spiking LIF networks and backprop baselines "
                    "in Nengo/NengoDL.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    train = sub.add_parser(
        "train", help="train a model and evaluate it on the test set",
        description="Train a model with NengoDL (or Keras), evaluate it on the test set "
                    "and write params.npz, checkpoint.npz and train.json to --out-dir.",
    )
    train.add_argument("--model", default="mlp", choices=sorted(PRESETS),
                       help="architecture preset (default: mlp)")
    train.add_argument("--hidden", nargs="+", type=positive_int, default=[500, 500],
                       metavar="WIDTH", help="hidden layer widths (default: 500 500)")
    train.add_argument("--activation", default=None,
                       choices=[a for a in ACTIVATIONS if a != "linear"],
                       help="hidden nonlinearity (default: the preset's; mlp: relu, "
                            "softlif-mlp: lif)")
    train.add_argument("--tau-ref", type=positive_float, default=None,
                       help="LIF refractory period in s (default 0.002; thesis: 0.004)")
    train.add_argument("--amplitude", type=positive_float, default=None,
                       help="LIF output per spike in units of rate (default 0.01)")
    train.add_argument("--lif-smoothing", type=positive_float, default=None,
                       help="soft-LIF gamma used in training (default 0.02)")
    train.add_argument("--dataset", default="mnist", choices=DATASETS,
                       help="data set (default: mnist)")
    train.add_argument("--epochs", type=positive_int, default=10,
                       help="passes over the training set (default: 10)")
    train.add_argument("--batch-size", type=positive_int, default=100,
                       help="minibatch size (default: 100)")
    train.add_argument("--lr", type=positive_float, default=1e-3,
                       help="Adam learning rate (default: 1e-3)")
    train.add_argument("--lr-schedule", default="cosine", choices=LR_SCHEDULES,
                       help="learning-rate schedule (default: cosine)")
    train.add_argument("--max-shift", type=nonnegative_int, default=0,
                       help="augment: shift every training image by up to this many "
                            "pixels per axis, afresh each epoch (backprop: "
                            "convolutional models only; default: 0)")
    train.add_argument("--seed", type=nonnegative_int, default=0,
                       help="seed for initialisation, data order and simulator (default: 0)")
    train.add_argument("--n-train", type=positive_int, default=None,
                       help="use only the first N training images (default: all)")
    train.add_argument("--n-validation", type=nonnegative_int, default=0,
                       help="hold out N training images for per-epoch validation "
                            "(default: 0)")
    train.add_argument("--rule", default="backprop", choices=TRAIN_RULES,
                       help="learning rule: backprop (cross-entropy, NengoDL/Keras; "
                            "default), or the vectorised predictive-coding family with "
                            "squared-error loss: pc-standard, pc-fixed-prediction, "
                            "pc-zil, pc-incremental, and bp-mse (backprop on the same "
                            "loss, their reference); baselines on the same loss: fa "
                            "(feedback alignment), dfa (direct feedback alignment), "
                            "eqprop (equilibrium propagation) and chl (contrastive "
                            "Hebbian learning; eqprop and chl need --activation "
                            "sigmoid or tanh)")
    train.add_argument("--n-steps", type=positive_int, default=None,
                       help="PC rules: inference steps (default: the variant's); "
                            "eqprop, chl: free-phase steps (default: 20)")
    train.add_argument("--step-size", type=positive_float, default=None,
                       help="PC rules: inference step size (default: the variant's)")
    train.add_argument("--output-precision", type=positive_float, default=1.0,
                       help="PC rules: weight of the output error (gamma; small = "
                            "weak feedback, closer to backprop; default: 1)")
    train.add_argument("--beta", type=positive_float, default=None,
                       help="eqprop: nudging strength (default: 0.2; < 1 with "
                            "symmetric nudging)")
    train.add_argument("--symmetric-nudging", default=None,
                       action=argparse.BooleanOptionalAction,
                       help="eqprop: nudge with +beta and -beta (default: on)")
    train.add_argument("--nudged-steps", type=positive_int, default=None,
                       help="eqprop: steps of each nudged phase; chl: of the clamped "
                            "phase (default: 8)")
    train.add_argument("--backend", default="nengo_dl", choices=BACKENDS,
                       help="backprop: train the Nengo network in nengo_dl or the "
                            "keras model; the test set is classified with the same "
                            "backend (default: nengo_dl)")
    train.add_argument("--out-dir", required=True,
                       help="directory for params.npz, checkpoint.npz and train.json")
    train.add_argument("--quiet", action="store_true", help="no progress output")
    _add_data_options(train)
    train.set_defaults(func=_train)

    evaluate = sub.add_parser(
        "evaluate", help="evaluate saved parameters on a data split",
        description="Load params.npz from a run directory and classify a data split, "
                    "writing evaluate.json next to it (or to --out).",
    )
    evaluate.add_argument("--run-dir", type=existing_dir, required=True,
                          help="directory written by 'nengo-pc train'")
    evaluate.add_argument("--dataset", default=None, choices=DATASETS,
                          help="data set (default: the one the run was trained on)")
    evaluate.add_argument("--split", default="test", choices=("test", "train"),
                          help="which split to classify (default: test)")
    evaluate.add_argument("--n-examples", type=positive_int, default=None,
                          help="classify only the first N images (default: all)")
    evaluate.add_argument("--backend", default="nengo_dl",
                          choices=EVAL_BACKENDS,
                          help="nengo_dl, nengo (reference simulator) or keras "
                               "(default: nengo_dl)")
    evaluate.add_argument("--batch-size", type=positive_int, default=500,
                          help="images per simulator call (default: 500)")
    evaluate.add_argument("--mode", default="rate", choices=("rate", "spiking"),
                          help="rate: one step per image; spiking: LIF networks run "
                               "spiking for --n-steps (default: rate)")
    evaluate.add_argument("--n-steps", type=positive_int, default=100,
                          help="spiking: time steps per image (default: 100)")
    evaluate.add_argument("--dt", type=positive_float, default=0.001,
                          help="spiking: time step in s (default: 0.001)")
    evaluate.add_argument("--synapse", default="alpha", choices=SYNAPSES,
                          help="spiking: synapse on every connection (default: alpha)")
    evaluate.add_argument("--tau", type=positive_float, default=0.005,
                          help="spiking: synapse time constant in s (default: 0.005)")
    evaluate.add_argument("--input-coding", default="constant", choices=INPUT_CODINGS,
                          help="spiking: constant current or Poisson spikes "
                               "(default: constant)")
    evaluate.add_argument("--readout", default="mean", choices=("mean", "last"),
                          help="spiking: average output over the presentation or take "
                               "the last step (default: mean)")
    evaluate.add_argument("--out", default=None,
                          help="record path (default: RUN_DIR/evaluate.json)")
    _add_data_options(evaluate)
    evaluate.set_defaults(func=_evaluate)
    return parser


def _train(args):
    from nengo_pc.arch import PRESETS, LIFParams, save_params
    from nengo_pc.data import load_dataset
    from nengo_pc.results import make_record, write_json_atomic
    from nengo_pc.train import TrainConfig, evaluate, train_backprop

    options = {"hidden": tuple(args.hidden)}
    if args.activation is not None:
        options["activation"] = args.activation
    lif = {name: value for name, value in (("tau_ref", args.tau_ref),
                                           ("amplitude", args.amplitude),
                                           ("smoothing", args.lif_smoothing))
           if value is not None}
    if lif:
        options["lif"] = LIFParams(**lif)
    try:
        arch = PRESETS[args.model](**options)
    except ValueError as err:
        raise _UsageError(f"--model {args.model}: {err}") from None
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                         learning_rate=args.lr, lr_schedule=args.lr_schedule,
                         seed=args.seed)
    if args.rule != "backprop":
        # check the PC options before any data are read
        from nengo_pc.pc.train import PCTrainConfig

        # the baselines' options only when given, so the config's defaults apply
        extra = {name: value for name, value in (
            ("beta", args.beta), ("symmetric_nudging", args.symmetric_nudging),
            ("nudged_steps", args.nudged_steps)) if value is not None}
        try:
            config = PCTrainConfig(rule=_PC_RULES[args.rule], epochs=args.epochs,
                                   batch_size=args.batch_size, learning_rate=args.lr,
                                   lr_schedule=args.lr_schedule, n_steps=args.n_steps,
                                   step_size=args.step_size,
                                   output_precision=args.output_precision,
                                   max_shift=args.max_shift, seed=args.seed, **extra)
            config.inference_options(arch.n_layers)
            if args.rule in _ENERGY_RULES:
                from nengo_pc.pc.baselines import check_energy_activation

                check_energy_activation(arch.activation)
        except ValueError as err:
            raise _UsageError(f"--rule {args.rule}: {err}") from None
    elif args.max_shift and not arch.conv:
        raise _UsageError("--max-shift: backprop shifts the images of convolutional "
                          "models only (--model softlif-cnn); the PC and "
                          "baseline rules shift MLP inputs too")
    data = load_dataset(args.dataset, data_dir=args.data_dir,
                        n_validation=args.n_validation, validation_seed=args.seed)
    train_split = data.train if args.n_train is None else data.train.subset(
        min(args.n_train, len(data.train)))
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    if args.rule == "backprop":
        result = train_backprop(arch, train_split, config, backend=args.backend,
                                validation=data.validation, max_shift=args.max_shift,
                                checkpoint_path=out_dir / "checkpoint.npz",
                                progress=not args.quiet)
    else:
        from nengo_pc.pc.train import train_pc

        result = train_pc(arch, train_split, config, validation=data.validation,
                          checkpoint_path=out_dir / "checkpoint.npz",
                          progress=not args.quiet)
    train_seconds = time.perf_counter() - t0
    params_path = out_dir / "params.npz"
    # energy-based runs store how they classify, for 'evaluate'
    energy = ({"free_steps": config.inference_options(arch.n_layers)["n_steps"]}
              if args.rule in _ENERGY_RULES else {})
    save_params(params_path, arch, result.params, dataset=args.dataset,
                epochs=args.epochs, model=args.model, rule=args.rule, **energy)
    if args.rule in _ENERGY_RULES:
        test = _evaluate_free_phase(arch, result.params, data.test, args.rule,
                                    energy["free_steps"])
    else:
        test = evaluate(arch, result.params, data.test, backend=args.backend)

    record = make_record(
        "train",
        config={"model": args.model, "rule": args.rule, "architecture": arch.to_dict(),
                "train": config.to_dict(), "dataset": args.dataset,
                "n_train": len(train_split), "n_validation": args.n_validation,
                "backend": args.backend, "data_dir": args.data_dir,
                "params": str(params_path)},
        seed=args.seed,
        metrics={"test_accuracy": test["accuracy"], "test_loss": test["loss"],
                 "final_train_loss": result.history[-1]["loss"]},
        seconds={"train": train_seconds, "build": result.build_seconds,
                 "per_epoch": result.seconds_per_epoch, "test": test["seconds"]},
        history=result.history,
    )
    path = write_json_atomic(out_dir / "train.json", record)
    print(f"test accuracy {100 * test['accuracy']:.2f}% "
          f"({args.dataset}, {len(data.test)} images); record: {path}")
    return record


def _evaluate_free_phase(arch, params, split, rule, free_steps):
    """Classify with the free phase of an energy-based network (eqprop, chl)."""
    from nengo_pc.pc.train import PCTrainConfig, evaluate_pc

    config = PCTrainConfig(rule=_PC_RULES[rule], n_steps=free_steps)
    t0 = time.perf_counter()
    metrics = evaluate_pc(arch, params, split, config)
    seconds = time.perf_counter() - t0
    metrics.update(seconds=seconds,
                   images_per_second=len(split) / seconds if seconds > 0 else math.inf)
    return metrics


def _evaluate(args):
    from nengo_pc.arch import load_params
    from nengo_pc.data import load_dataset
    from nengo_pc.networks.presentation import Presentation
    from nengo_pc.results import make_record, write_json_atomic
    from nengo_pc.train import evaluate

    run_dir = Path(args.run_dir)
    params_path = run_dir / "params.npz"
    if not params_path.is_file():
        raise _UserError(f"--run-dir: {params_path} not found; train first with "
                         f"'nengo-pc train --out-dir {run_dir}'")
    arch, params, meta = load_params(params_path)
    dataset = args.dataset or meta.get("dataset", "mnist")
    data = load_dataset(dataset, data_dir=args.data_dir)
    split = getattr(data, args.split)
    if args.n_examples is not None:
        split = split.subset(min(args.n_examples, len(split)))
    presentation = None
    energy_rule = meta.get("rule") in _ENERGY_RULES
    if energy_rule and args.mode == "spiking":
        raise _UsageError(f"--mode spiking: the model in {run_dir} was trained with "
                          f"{meta['rule']} and classifies by its free phase, which "
                          "has no spiking version")
    if args.mode == "spiking":
        if arch.activation != "lif":
            raise _UsageError(f"--mode spiking: the model in {run_dir} uses "
                              f"{arch.activation!r} neurons, which do not spike; "
                              "train a LIF model (--model softlif-mlp)")
        if args.backend == "keras":
            raise _UsageError("--mode spiking: choose --backend nengo_dl or nengo")
        presentation = Presentation(n_steps=args.n_steps, dt=args.dt,
                                    synapse=args.synapse, tau=args.tau,
                                    input_coding=args.input_coding, readout=args.readout)
    if energy_rule:
        # an energy-based network is not the feedforward Nengo network: it is
        # classified by its free phase, in TensorFlow, whatever --backend says
        metrics = _evaluate_free_phase(arch, params, split, meta["rule"],
                                       meta["free_steps"])
        backend = "free-phase"
    else:
        metrics = evaluate(arch, params, split, backend=args.backend,
                           batch_size=args.batch_size, presentation=presentation)
        backend = args.backend
    record = make_record(
        "evaluate",
        config={"run_dir": str(run_dir), "params": str(params_path),
                "architecture": arch.to_dict(), "dataset": dataset, "split": args.split,
                "n_examples": len(split), "backend": backend,
                "batch_size": args.batch_size, "data_dir": args.data_dir,
                "mode": args.mode,
                "presentation": presentation.to_dict() if presentation else None},
        seed=0,
        metrics={"accuracy": metrics["accuracy"], "loss": metrics["loss"]},
        seconds={"evaluate": metrics["seconds"]},
        images_per_second=metrics["images_per_second"],
    )
    path = write_json_atomic(args.out or run_dir / "evaluate.json", record)
    mode = (f"spiking {presentation.seconds * 1000:g} ms" if presentation else "rate")
    print(f"{args.split} accuracy {100 * metrics['accuracy']:.2f}% "
          f"({dataset}, {len(split)} images, {backend}, {mode}); record: {path}")
    return record


class _UserError(Exception):
    """An error the user can fix; printed without a traceback (exit status 1)."""


class _UsageError(Exception):
    """An inconsistent combination of options (exit status 2, like argparse)."""


def main(argv=None):
    """Entry point of the ``nengo-pc`` console script."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    from nengo_pc.data import DataError

    try:
        args.func(args)
    except _UsageError as err:
        parser.exit(2, f"nengo-pc {args.command}: error: {err}\n")
    except (_UserError, DataError, FileNotFoundError) as err:
        print(f"nengo-pc {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"nengo-pc {args.command}: interrupted; checkpoints written so far are "
              "intact", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
