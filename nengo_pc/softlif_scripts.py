"""What the spiking soft-LIF scripts in ``networks/`` share.

``networks/mnist_softlif_mlp.py`` and ``networks/mnist_softlif_cnn.py`` differ only in
their architecture preset and defaults; the model they expose to nengo-gui and their
``main()`` (train with NengoDL, save, evaluate rate and spiking) live here once.
"""

import argparse
from pathlib import Path

import nengo

from nengo_pc.nengo_net import demo_network
from nengo_pc.script_inputs import mnist_test_images, trained_params

#: Test images a GUI model cycles through, and how long each is shown.
N_IMAGES = 100
PRESENTATION_TIME = 0.1
SYNAPSE = nengo.Alpha(0.005)


def load_model_inputs(name, default_arch, run_dir, n_images=N_IMAGES):
    """Architecture, parameters (None: untrained), test images and labels.

    Parameters come from ``$NENGO_PC_PARAMS`` or ``run_dir/params.npz``; see
    `nengo_pc.script_inputs` for the fallbacks.
    """
    arch, params = trained_params(name, default_arch, [Path(run_dir) / "params.npz"])
    images, labels = mnist_test_images(name, n_images)
    return arch, params, images, labels


def build_model(name, default_arch, run_dir):
    """The ``model`` of a soft-LIF script: a spiking network showing test images."""
    arch, params, images, labels = load_model_inputs(name, default_arch, run_dir)
    return demo_network(arch, params, images, labels, PRESENTATION_TIME, SYNAPSE,
                        label=name)


def softlif_main(argv, *, name, description, preset, run_dir, default_hidden,
                 default_gain):
    """Train with NengoDL, save the parameters, evaluate rate and spiking accuracy."""
    from nengo_pc import cli
    from nengo_pc.arch import save_params
    from nengo_pc.convert import fold_input_gain
    from nengo_pc.data import Split, load_dataset
    from nengo_pc.nengo_net import Presentation
    from nengo_pc.results import make_record, write_json_atomic
    from nengo_pc.training import TrainConfig, evaluate, train as train_loop

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--hidden", nargs="*", type=cli.positive_int,
                        default=list(default_hidden), help="dense LIF widths")
    parser.add_argument("--epochs", type=cli.positive_int, default=10)
    parser.add_argument("--lr", type=cli.positive_float, default=1e-3)
    parser.add_argument("--input-gain", type=cli.positive_float, default=default_gain,
                        help="train on images x gain, then fold the gain into the first "
                             "layer (nengo_pc.convert.fold_input_gain)")
    parser.add_argument("--batch-size", type=cli.positive_int, default=100)
    parser.add_argument("--n-train", type=cli.positive_int, default=None,
                        help="use only the first N training images")
    parser.add_argument("--n-test", type=cli.positive_int, default=10000)
    parser.add_argument("--n-steps", type=cli.positive_int, default=100,
                        help="spiking presentation, in 1 ms steps")
    parser.add_argument("--seed", type=cli.nonnegative_int, default=0)
    parser.add_argument("--run-dir", default=str(run_dir))
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)

    data = load_dataset("mnist", data_dir=args.data_dir)
    train = data.train if args.n_train is None else data.train.subset(
        min(args.n_train, len(data.train)))
    test = data.test.subset(min(args.n_test, len(data.test)))
    arch = preset(hidden=tuple(args.hidden))
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                         learning_rate=args.lr, seed=args.seed)
    result = train_loop(arch, Split(train.images * args.input_gain, train.labels), config,
                        backend="nengo_dl")
    result.params = fold_input_gain(result.params, args.input_gain)
    out = Path(args.run_dir)
    save_params(out / "params.npz", arch, result.params, dataset="mnist",
                epochs=args.epochs)
    rate = evaluate(arch, result.params, test)
    presentation = Presentation(n_steps=args.n_steps, synapse="alpha", tau=0.005)
    spiking = evaluate(arch, result.params, test, presentation=presentation,
                       batch_size=min(500, len(test)))
    record = make_record(
        "train", config={"network": name, "architecture": arch.to_dict(),
                         "train": config.to_dict(), "n_train": len(train),
                         "input_gain_folded": args.input_gain,
                         "n_test": len(test), "presentation": presentation.to_dict()},
        seed=args.seed,
        metrics={"rate_test_accuracy": rate["accuracy"],
                 "spiking_test_accuracy": spiking["accuracy"]},
        seconds={"per_epoch": result.seconds_per_epoch, "rate_test": rate["seconds"],
                 "spiking_test": spiking["seconds"]},
        history=result.history)
    write_json_atomic(out / "train.json", record)
    print(f"rate {100 * rate['accuracy']:.2f}%, spiking {100 * spiking['accuracy']:.2f}% "
          f"({presentation.seconds * 1000:g} ms) on {len(test)} test images; "
          f"parameters and record in {out}")
    return record

