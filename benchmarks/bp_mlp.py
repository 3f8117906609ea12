"""Benchmark: backprop MLP baseline in NengoDL against the same model in plain tf.keras.

Trains the architecture (default 784-500-500-10, ReLU, He init, Adam, cross-entropy) on
each requested data set twice from identical initial parameters and data order: once as
a Nengo network in ``nengo_dl.Simulator`` and once as a ``tf.keras`` model. Prints one
JSON run record (also written atomically to ``--out``) with test accuracies, seconds
per epoch and the NengoDL/Keras time ratio.

Example::

    python benchmarks/bp_mlp.py --datasets mnist fashion_mnist --epochs 20 \\
        --out results/bench_bp_mlp.json
"""

import argparse
import sys
import time

from nengo_pc import cli
from nengo_pc.arch import mlp
from nengo_pc.data import load_dataset
from nengo_pc.results import emit_record, make_record
from nengo_pc.training import TrainConfig, evaluate, train

#: The two ways backprop fits the network: NengoDL and plain Keras.
BACKENDS = ("nengo_dl", "keras")


def run(args):
    arch = mlp(tuple(args.hidden), activation=args.activation)
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        lr_schedule=args.lr_schedule,
        seed=args.seed,
    )
    metrics, seconds, histories = {}, {}, {}
    for name in args.datasets:
        data = load_dataset(name, data_dir=args.data_dir)
        for backend in args.backends:
            key = f"{name}/{backend}"
            t0 = time.perf_counter()
            result = train(arch, data.train, config, backend=backend,
                           progress=not args.quiet)
            test = evaluate(arch, result.params, data.test, backend=backend)
            metrics[f"{key}/test_accuracy"] = test["accuracy"]
            metrics[f"{key}/test_loss"] = test["loss"]
            seconds[f"{key}/per_epoch"] = result.seconds_per_epoch
            seconds[f"{key}/build"] = result.build_seconds
            seconds[f"{key}/total"] = time.perf_counter() - t0
            histories[key] = result.history
            print(f"{key}: test accuracy {100 * test['accuracy']:.2f}%, "
                  f"{result.seconds_per_epoch:.1f} s/epoch", file=sys.stderr)
        if set(BACKENDS) <= set(args.backends):
            metrics[f"{name}/nengo_dl_over_keras_time"] = (
                seconds[f"{name}/nengo_dl/per_epoch"] / seconds[f"{name}/keras/per_epoch"]
            )
    record = make_record(
        "benchmark",
        config={"benchmark": "bp_mlp", "architecture": arch.to_dict(),
                "train": config.to_dict(), "datasets": args.datasets,
                "backends": args.backends},
        seed=args.seed,
        metrics=metrics,
        seconds=seconds,
        history=histories,
    )
    return emit_record(record, args.out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["mnist", "fashion_mnist"],
                        choices=["mnist", "fashion_mnist"])
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    parser.add_argument("--hidden", nargs="+", type=cli.positive_int, default=[500, 500],
                        help="hidden layer widths (default: 500 500)")
    parser.add_argument("--activation", default="relu", choices=["relu", "tanh", "sigmoid"])
    parser.add_argument("--epochs", type=cli.positive_int, default=20)
    parser.add_argument("--batch-size", type=cli.positive_int, default=100)
    parser.add_argument("--lr", type=cli.positive_float, default=1e-3)
    parser.add_argument("--lr-schedule", default="cosine", choices=["constant", "cosine"])
    parser.add_argument("--seed", type=cli.nonnegative_int, default=0)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None, help="also write the JSON record here")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch progress")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    main()
