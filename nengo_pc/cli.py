"""The ``nengo-pc`` command line: parse, validate, call.

Subcommands:

``nengo-pc train --rule NAME``
    Train a model with any rule of the registry (`nengo_pc.rules`) through the one
    training loop (`nengo_pc.training.train`), evaluate it on the test set, and write
    ``params.npz``, ``checkpoint.npz`` (after every epoch, atomically; ``--resume``
    continues from it) and ``train.json`` (the run record) into ``--out-dir``.
``nengo-pc evaluate``
    Classify a data split with the parameters of a run directory: the feedforward
    Nengo network (``--network feedforward``; NengoDL, the Nengo reference simulator
    or Keras; rate or spiking) or the predictive-coding network (``--network pc``;
    rate: settled in NengoDL; spiking: accuracy over time), writing
    ``evaluate.json``.
``nengo-pc compare --rules NAME ...``
    The rule-comparison grid, every (rule, data set, seed) a Dask task on a local or
    an existing cluster (`nengo_pc.grid`), one record each under ``--out-dir``.

Every option is checked before work starts: argument errors exit with status 2 and
a message naming the option (options that do not apply to the chosen rule or
network are refused); file, data and runtime errors exit with status 1 and say what
to do. The commands themselves are in `nengo_pc.commands`.
"""

import argparse
import math
import os
import signal
import sys
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
    if not text or not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is not an existing directory")
    return str(path)


def _option_type(option):
    """argparse type of a rule `~nengo_pc.rules.Option` (checked against its range)."""
    def parse(text):
        try:
            value = option.kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be {option.describe_range()}, got {text!r}") from None
        try:
            return option.check(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be {option.describe_range()}, got {text}") from None
    return parse


def flag(name):
    """The command-line spelling of an option name: ``n_steps`` -> ``--n-steps``."""
    return "--" + name.replace("_", "-")


def rule_option_flags():
    """``{option name: (Option, [rule names])}`` over every registered rule."""
    from nengo_pc import rules

    flags = {}
    for name in rules.names():
        for option in rules.get(name).options:
            flags.setdefault(option.name, (option, []))[1].append(name)
    return flags


def _add_data_options(parser):
    parser.add_argument(
        "--data-dir", type=existing_dir, default=None,
        help="directory holding mnist/ and fashion_mnist/ IDX .gz files "
             "(default: $NENGO_PC_DATA, else the user cache, downloading if needed)",
    )


def _add_train(sub):
    from nengo_pc import rules
    from nengo_pc.arch import ACTIVATIONS, ONLINE_SIMULATORS, PRESETS
    from nengo_pc.datafiles import DATASETS
    from nengo_pc.training.backends import backend_names
    from nengo_pc.training.config import LR_SCHEDULES, OPTIMIZERS

    listing = "; ".join(f"{n}: {rules.get(n).summary}" for n in rules.names())
    train = sub.add_parser(
        "train", help="train a model with a registered rule and evaluate it",
        description="Train a model with a learning rule of the registry, evaluate it "
                    "on the test set and write params.npz, checkpoint.npz and "
                    "train.json to --out-dir. Rules: " + listing + ".",
    )
    train.add_argument("--rule", default="backprop", choices=rules.names(),
                       metavar="RULE", help="learning rule, one of "
                       + ", ".join(rules.names()) + " (default: backprop)")
    train.add_argument("--model", default="mlp", choices=sorted(PRESETS),
                       help="architecture preset (default: mlp)")
    train.add_argument("--hidden", nargs="*", type=positive_int, default=None,
                       metavar="WIDTH", help="hidden (dense) layer widths (default: "
                       "the preset's; mlp and softlif-mlp: 500 500, softlif-cnn: none; on mlp, fa and "
                       "dfa: 500 500 tanh, eqprop and chl: 500 sigmoid)")
    train.add_argument("--activation", default=None,
                       choices=[a for a in ACTIVATIONS if a != "linear"],
                       help="hidden nonlinearity (default: the preset's; see --hidden for "
                            "the baselines)")
    train.add_argument("--tau-ref", type=positive_float, default=None,
                       help="LIF refractory period in s (default 0.002)")
    train.add_argument("--amplitude", type=positive_float, default=None,
                       help="LIF output per spike in units of rate (default 0.01)")
    train.add_argument("--lif-smoothing", type=positive_float, default=None,
                       help="soft-LIF gamma used in training (default 0.02)")
    train.add_argument("--dataset", default="mnist", choices=DATASETS,
                       help="data set (default: mnist)")
    train.add_argument("--epochs", type=positive_int, default=None,
                       help="passes over the training set (default: 10; the "
                            "softlif-cnn preset: 15; fa, dfa: 50, eqprop, chl: 20)")
    train.add_argument("--batch-size", type=positive_int, default=None,
                       help="minibatch size (default: 100; pc-online, fa, dfa, eqprop, "
                            "chl: 20)")
    train.add_argument("--lr", type=positive_float, default=None,
                       help="learning rate on per-example mean updates "
                            "(default: 1e-3; pc-online: 0.12; fa: 0.005, dfa: 0.003)")
    train.add_argument("--lr-schedule", default=None, choices=LR_SCHEDULES,
                       help="learning-rate schedule (default: cosine; pc-online: "
                            "constant)")
    train.add_argument("--lr-decay-samples", type=positive_int, default=None,
                       help="inverse_time schedule: images over which the rate halves")
    train.add_argument("--optimizer", default=None, choices=OPTIMIZERS,
                       help="optimiser (default: adam; fa, dfa: momentum; pc-online: "
                            "sgd)")
    train.add_argument("--max-shift", type=nonnegative_int, default=None,
                       help="augment: shift every training image by up to this many "
                            "pixels per axis, afresh each epoch (default: 0; the "
                            "softlif-cnn preset: 2)")
    train.add_argument("--seed", type=nonnegative_int, default=0,
                       help="seed for initialisation, data order and simulator (default: 0)")
    train.add_argument("--n-train", type=positive_int, default=None,
                       help="use only the first N training images (default: all)")
    train.add_argument("--n-validation", type=nonnegative_int, default=0,
                       help="hold out N training images for per-epoch validation "
                            "(default: 0)")
    train.add_argument("--backend", default=None, choices=backend_names(),
                       help="how the rule runs: vectorised (TensorFlow), or for "
                            "backprop nengo_dl, keras, keras-bn (default: the "
                            "rule's first; softlif-cnn: keras)")
    train.add_argument("--xla", action="store_true",
                       help="vectorised backend: compile each chunk of minibatches "
                            "with XLA (faster on small networks; rounds differently, "
                            "so results differ from the default's in the last bits)")
    train.add_argument("--simulator", default=None, choices=ONLINE_SIMULATORS,
                       help="simulated backend (pc-online): what runs the network "
                            "(default: nengo_dl; tensorflow: the same network in plain "
                            "TensorFlow, docs/performance.md)")
    train.add_argument("--intra-op-threads", type=positive_int, default=None,
                       help="threads TensorFlow uses within one operation (default: "
                            "one per core; 1 is faster for small networks, see "
                            "docs/performance-pc.md)")
    train.add_argument("--input-gain", type=positive_float, default=None,
                       help="fit backends: train on images x gain, then fold the gain "
                            "into the first layer (default: 1; softlif-cnn: 10)")
    train.add_argument("--spiking-steps", type=nonnegative_int, default=None,
                       help="LIF models: also classify the test set spiking, each "
                            "image shown for this many 1 ms steps (0: skip; default: "
                            "the preset's, softlif-mlp 100 with alpha synapses, "
                            "softlif-cnn 60 without)")
    for name, (option, users) in rule_option_flags().items():
        kwargs = ({"action": argparse.BooleanOptionalAction} if option.kind is bool
                  else {"type": _option_type(option)})
        train.add_argument(flag(name), dest=name, default=None,
                           help=f"{', '.join(users)}: {option.help}", **kwargs)
    train.add_argument("--out-dir", required=True, type=_nonempty,
                       help="directory for params.npz, checkpoint.npz and train.json")
    train.add_argument("--resume", action="store_true",
                       help="continue from --out-dir/checkpoint.npz (same settings) "
                            "to the result of an uninterrupted run")
    train.add_argument("--overwrite", action="store_true",
                       help="replace a finished run in --out-dir")
    train.add_argument("--quiet", action="store_true", help="no progress output")
    _add_data_options(train)
    train.set_defaults(func=_train)


def _nonempty(text):
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def _add_evaluate(sub):
    from nengo_pc.arch import INPUT_CODINGS, PRESENTATION_READOUTS, SYNAPSES
    from nengo_pc.datafiles import DATASETS
    from nengo_pc.training.backends import EVAL_BACKENDS

    evaluate = sub.add_parser(
        "evaluate", help="evaluate saved parameters on a data split",
        description="Load the parameters of a run directory and classify a data "
                    "split with the feedforward network or the predictive-coding "
                    "network, in rate or spiking mode, writing evaluate.json next to "
                    "them (or to --out).",
    )
    from nengo_pc import pretrained

    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--run-dir", type=existing_dir, default=None,
                        help="directory written by 'nengo-pc train'")
    source.add_argument("--pretrained", default=None, choices=pretrained.names(),
                        help="the parameters shipped with the package for a "
                             "networks/ script: " + ", ".join(pretrained.names()))
    evaluate.add_argument("--dataset", default=None, choices=DATASETS,
                          help="data set (default: the one the run was trained on)")
    evaluate.add_argument("--split", default="test", choices=("test", "train"),
                          help="which split to classify (default: test)")
    evaluate.add_argument("--n-examples", type=positive_int, default=None,
                          help="classify only the first N images (default: all)")
    evaluate.add_argument("--batch-size", type=positive_int, default=None,
                          help="images per simulator call (default: 500, 100 for the "
                               "PC network; at most --n-examples)")
    evaluate.add_argument("--network", default="feedforward",
                          choices=("feedforward", "pc"),
                          help="feedforward: the FeedforwardNetwork (or the free phase "
                               "of an eqprop/chl network); pc: the "
                               "PredictiveCodingNetwork, output free (default: "
                               "feedforward)")
    evaluate.add_argument("--mode", default="rate", choices=("rate", "spiking"),
                          help="rate or spiking neurons (default: rate)")
    evaluate.add_argument("--backend", default=None, choices=tuple(EVAL_BACKENDS),
                          help="feedforward: nengo_dl, nengo (reference simulator), "
                               "keras, tensorflow (spiking only; the default for "
                               "--mode spiking with constant input, else nengo_dl), or "
                               "loihi (nengo-loihi's emulator, spiking, the loihi extra); "
                               "--network pc --mode spiking: tensorflow (the default "
                               "in mode sweep with constant input), nengo_dl or loihi")
    evaluate.add_argument("--n-steps", type=positive_int, default=None,
                          help="feedforward spiking: time steps per image (default: 100)")
    evaluate.add_argument("--dt", type=positive_float, default=None,
                          help="time step in s, at most 0.01 (default: 0.001)")
    evaluate.add_argument("--synapse", default=None, choices=SYNAPSES,
                          help="feedforward spiking: synapse on every connection "
                               "(default: alpha)")
    evaluate.add_argument("--tau", type=positive_float, default=None,
                          help="feedforward spiking: synapse time constant (default "
                               "0.005 s); pc: inference time constant (default 0.01 s)")
    evaluate.add_argument("--input-coding", default=None, choices=INPUT_CODINGS,
                          help="spiking: constant current or Poisson spikes "
                               "(default: constant)")
    evaluate.add_argument("--readout", default=None, choices=PRESENTATION_READOUTS,
                          help="feedforward spiking: average output over the "
                               "presentation, take the last step, or the last step "
                               "lowpass-filtered as a filtered nengo.Probe reads it "
                               "(NengoDL's spiking-MNIST example) (default: mean)")
    evaluate.add_argument("--readout-tau", type=positive_float, default=None,
                          help="feedforward spiking, --readout lowpass: its time "
                               "constant in s (default: 0.1)")
    evaluate.add_argument("--settle-time", type=positive_float, default=None,
                          help="pc rate: simulated seconds per image (default: 0.2)")
    evaluate.add_argument("--sweep-time", type=float, default=None,
                          help="pc: seconds of feedforward sweep before free PC "
                               "inference (default: 0.15 rate, the network's spiking)")
    evaluate.add_argument("--duration", type=positive_float, default=None,
                          help="pc spiking: seconds per image (default: 0.2; 0.15 "
                               "with --backend loihi)")
    evaluate.add_argument("--seed", type=nonnegative_int, default=0,
                          help="simulator seed (default: 0)")
    evaluate.add_argument("--out", default=None, type=_nonempty,
                          help="record path (default: RUN_DIR/evaluate.json; with "
                               "--pretrained, evaluate-NAME.json here)")
    _add_data_options(evaluate)
    evaluate.set_defaults(func=_evaluate)


def build_parser():
    """The ``nengo-pc`` argument parser (rule names and options from the registry)."""
    parser = argparse.ArgumentParser(
        prog="nengo-pc",
        description="Predictive coding, spiking LIF networks and other learning rules "
                    "in Nengo/NengoDL.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    _add_train(sub)
    _add_evaluate(sub)
    from nengo_pc import grid

    grid.add_parser(sub, positive_int, nonnegative_int,
                    _add_data_options).set_defaults(func=grid.run_command)
    return parser


def _train(args):
    from nengo_pc.commands import run_train

    return run_train(args)


def _evaluate(args):
    from nengo_pc.evaluate_command import run_evaluate

    return run_evaluate(args)


def _terminate(signum, frame):
    # SIGTERM ends a run as Ctrl-C does: the checkpoint written last stays intact
    raise KeyboardInterrupt


def main(argv=None):
    """Entry point of the ``nengo-pc`` console script."""
    # TensorFlow's C++ start-up notes (TensorRT, CPU features) mean nothing to a user
    # of this command; errors still show
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from nengo_pc.commands import UsageError, UserError

    parser = build_parser()
    args = parser.parse_args(argv)
    from nengo_pc.datafiles import DataError

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        if args.command in ("train", "evaluate"):
            from nengo_pc.tf_startup import import_tensorflow_quietly

            import_tensorflow_quietly()
        args.func(args)
    except UsageError as err:
        parser.exit(2, f"nengo-pc {args.command}: error: {err}\n")
    except (UserError, DataError, FileNotFoundError, FloatingPointError) as err:
        print(f"nengo-pc {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"nengo-pc {args.command}: interrupted; checkpoints written so far are "
              "intact (continue with --resume)", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    sys.exit(main())
