r"""Benchmark: the PC network learning MNIST online, from scratch, with local rules only.

Runs `nengo_pc.pc.online.train_online`: the `PredictiveCodingNetwork` in NengoDL,
minibatched, each presentation a feedforward sweep, a clamped settle and a learning
window in which every prediction connection changes by its presynaptic activity times
its postsynaptic error: the `~nengo_pc.networks.learning.LocalPC` rule on the
network's connections, the minibatch items learning into one shared set of weights
(their updates summed, applied when the window closes).
Records test accuracy (the learned parameters' feedforward pass, which is where the
free network settles) against training samples seen, and with ``--eval-spiking N`` the
spiking network's own accuracy on N test images at every evaluation.

Prints one JSON run record (also written atomically to ``--out``) per data set;
parameters are checkpointed at every evaluation (``--checkpoint``).

``--vectorised`` runs the same rule and schedule on the vectorised PC equilibrium
instead of the simulated network (`nengo_pc.pc.online_vectorised`): what the rule
itself reaches, in minutes per epoch. ``--vectorised --backprop`` applies the exact
backprop gradient with the same schedule instead: plain SGD, the reference for the rule.

Status (2026-11-26): spiking online learning tracks rate-mode online learning, and both
track the vectorised rule (784-500-10, 12,500 images). The rule is as good as plain
SGD with backprop at the same schedule (``--vectorised --backprop``: 95.3% after one
MNIST epoch and 96.7% after four, the rule 95.6% and 96.8%), so the 97% goal is a
matter of training budget: at ``--learning-rate 0.3 --lr-decay-samples 240000`` the
rule passes 97% after 4.2 epochs and reaches 97.3% after six. At the default pair
amplitude (2e-4) a spiking run with those settings fell 0.3-1.7 points behind the rule
(95.5% at 150k): late in training the hidden errors are small and carried by few
spikes (``benchmarks/spiking_pc_update_fidelity.py``); ``--amplitude 5e-5`` carries
them with four times as many, and a run with it kept level with the rule, passed 97%
after 200k images and ended at 97.02% after six epochs (the rule 97.26%); the spiking
network itself classifies 96.99% of the test set at 210k and 96.91% at 360k
(``--final-eval-spiking``). A long run needs no chunking (a resumed run is exact),
but chunks write the record as they go::

    for n in $(seq 30000 30000 360000); do
        python benchmarks/spiking_pc_online.py --learning-rate 0.3 \
            --lr-decay-samples 240000 --amplitude 5e-5 --n-samples $n \
            --eval-every 10000 --eval-spiking 500 \
            --checkpoint 'results/spiking_pc_online_long_amp5e-5_{dataset}.npz' \
            --resume --out results/bench_spiking_pc_online_long_amp5e-5.json
    done

Example (reduced run, a few minutes)::

    python benchmarks/spiking_pc_online.py --n-samples 3000 --eval-every 1000 \
        --n-test 2000 --eval-spiking 200 --out results/bench_spiking_pc_online_reduced.json
"""

import argparse
import json
import sys

from nengo_pc import cli
from nengo_pc.arch import INPUT_CODINGS, ONLINE_PAIR_AMPLITUDE, mlp
from nengo_pc.data import load_dataset
from nengo_pc.datafiles import DATASETS
from nengo_pc.arch import ONLINE_SIMULATORS
from nengo_pc.pc.online import train_online
from nengo_pc.pc.online_vectorised import train_online_vectorised
from nengo_pc.results import make_record, write_json_atomic


def run_dataset(args, name):
    data = load_dataset(name, data_dir=args.data_dir)
    arch = mlp(tuple(args.hidden), activation=args.activation)
    test = data.test.subset(min(args.n_test, len(data.test)))
    checkpoint = (None if args.checkpoint is None
                  else args.checkpoint.replace("{dataset}", name))
    common = dict(learning_rate=args.learning_rate,
                  lr_decay_samples=args.lr_decay_samples or None,
                  batch_size=args.batch_size, n_samples=args.n_samples,
                  epochs=args.epochs, output_precision=args.output_precision,
                  eval_split=test, eval_every=args.eval_every,
                  seed=args.seed, progress=not args.quiet)
    if args.vectorised:
        result = train_online_vectorised(arch, data.train,
                                         rule="bp-mse" if args.backprop else "pc-online",
                                         **common)
    else:
        result = train_online(
            arch, data.train, spiking=not args.rate, input_coding=args.input_coding,
            amplitude=args.amplitude, eval_spiking=args.eval_spiking,
            final_eval_spiking=args.final_eval_spiking, simulator=args.simulator,
            checkpoint_path=checkpoint, resume=args.resume, **common)
    final = result.history[-1]
    metrics = {"test_accuracy": final["accuracy"], "samples": final["samples"]}
    if final.get("spiking_accuracy") is not None:
        metrics["spiking_accuracy"] = final["spiking_accuracy"]
    extra = {}
    if result.final_spiking is not None:
        metrics["final_spiking_accuracy"] = result.final_spiking["accuracy"]
        extra["final_spiking"] = result.final_spiking
    return make_record(
        "benchmark",
        config={"benchmark": "spiking_pc_online", "dataset": name,
                "architecture": arch.to_dict(), "online": result.config,
                "n_test": len(test), "target_test_accuracy": 0.97,
                "intra_op_threads": args.intra_op_threads},
        seed=args.seed, metrics=metrics,
        seconds={"build": result.build_seconds, "train": result.train_seconds,
                 "evaluate": result.eval_seconds},
        history=result.history, **extra)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["mnist"], choices=DATASETS)
    parser.add_argument("--hidden", nargs="+", type=cli.positive_int, default=[500])
    parser.add_argument("--activation", default="relu", choices=["lif", "relu"],
                        help="relu (default): rate activities with spiking signed "
                             "pairs; lif: spiking LIF activities too (learns faster "
                             "at --learning-rate 0.5, ~95%% predicted)")
    parser.add_argument("--rate", action="store_true", help="rate mode (no spikes)")
    parser.add_argument("--backprop", action="store_true",
                        help="with --vectorised: the backprop gradient instead of the "
                             "PC rule, same schedule (the SGD reference)")
    parser.add_argument("--vectorised", action="store_true",
                        help="the same rule and schedule on the vectorised PC "
                             "equilibrium, without simulating the network (what the "
                             "rule can reach; minutes per epoch)")
    # chosen with --vectorised (MNIST, 784-500-10, batch 10, seed 0): per-example
    # steps 0.006 / 0.012 / 0.024 with decays over 20,000 / 60,000 samples or none;
    # 0.012 over 60,000 was best after one and four epochs (95.6%, 96.7%)
    parser.add_argument("--learning-rate", type=cli.positive_float, default=0.4,
                        help="rate of the local rule per second of learning window "
                             "(per-example step: this x 0.03 s; default 0.4)")
    parser.add_argument("--lr-decay-samples", type=cli.nonnegative_int, default=60000,
                        help="learning rate / (1 + samples / this); 0: constant "
                             "(default: 60000)")
    parser.add_argument("--batch-size", type=cli.positive_int, default=10)
    parser.add_argument("--n-samples", type=cli.positive_int, default=None,
                        help="training images to present (default: --epochs passes)")
    parser.add_argument("--epochs", type=cli.positive_int, default=1)
    parser.add_argument("--output-precision", type=cli.positive_float, default=1.0,
                        help="precision gamma of the output error (hidden errors "
                             "are divided by it in the rule)")
    parser.add_argument("--input-coding", default="constant", choices=INPUT_CODINGS)
    parser.add_argument("--amplitude", type=cli.positive_float,
                        default=ONLINE_PAIR_AMPLITUDE,
                        help="signal per spike of the pair neurons")
    parser.add_argument("--eval-every", type=cli.positive_int, default=1000)
    parser.add_argument("--eval-spiking", type=cli.nonnegative_int, default=0)
    parser.add_argument("--final-eval-spiking", type=cli.nonnegative_int, default=0,
                        help="after training, classify this many test images with the "
                             "spiking network (resume a finished run to only do this)")
    parser.add_argument("--n-test", type=cli.positive_int, default=10000)
    parser.add_argument("--checkpoint", default=None,
                        help="parameters path; '{dataset}' is replaced by the data set")
    parser.add_argument("--resume", action="store_true",
                        help="continue from --checkpoint if it exists (same settings; "
                             "--epochs/--n-samples may grow)")
    parser.add_argument("--seed", type=cli.nonnegative_int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None,
                        help="JSON record path; '{dataset}' is replaced by the data set")
    parser.add_argument("--intra-op-threads", type=cli.positive_int, default=None,
                        help="TensorFlow's intra-op threads (1 took 1.5x less CPU time "
                             "for the same numbers, docs/performance.md)")
    parser.add_argument("--simulator", default="nengo_dl", choices=ONLINE_SIMULATORS,
                        help="what runs the network (tensorflow: the same network in "
                             "plain TensorFlow, docs/performance.md)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.resume and args.checkpoint is None:
        parser.error("--resume: needs --checkpoint")
    if args.backprop and not args.vectorised:
        parser.error("--backprop: only with --vectorised")
    if args.vectorised:
        for flag, value in (("--checkpoint", args.checkpoint), ("--resume", args.resume),
                            ("--eval-spiking", args.eval_spiking),
                            ("--final-eval-spiking", args.final_eval_spiking),
                            ("--rate", args.rate),
                            ("--simulator", args.simulator != "nengo_dl"),
                            ("--activation lif",
                                                    args.activation == "lif")):
            if value:
                parser.error(f"{flag}: not with --vectorised (it simulates no network)")
    if args.intra_op_threads is not None:
        from nengo_pc.tf_startup import import_tensorflow_quietly

        threading = import_tensorflow_quietly().config.threading
        # before TensorFlow runs its first operation (it cannot change afterwards)
        try:
            threading.set_intra_op_parallelism_threads(args.intra_op_threads)
        except RuntimeError:
            if threading.get_intra_op_parallelism_threads() != args.intra_op_threads:
                parser.error("--intra-op-threads: TensorFlow is already running in "
                             "this process; set TF_NUM_INTRAOP_THREADS before it "
                             "starts instead")
    records = []
    for name in args.datasets:
        try:
            record = run_dataset(args, name)
        except ValueError as err:  # the library's "name: what is accepted" errors,
            # e.g. a --checkpoint that does not fit this run (resume: ...)
            print(f"spiking_pc_online.py: error: {err}", file=sys.stderr)
            sys.exit(1)
        if args.out:
            write_json_atomic(args.out.replace("{dataset}", name), record)
        print(f"{name}: test accuracy {100 * record['metrics']['test_accuracy']:.2f}% "
              f"after {record['metrics']['samples']} samples", file=sys.stderr)
        records.append(record)
    print(json.dumps(records if len(records) > 1 else records[0], indent=2))
    return records


if __name__ == "__main__":
    main()
