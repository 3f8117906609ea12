"""A predictive-coding network of Nengo ensembles classifying MNIST digits.

Open it in nengo-gui with ``nengo networks/mnist_pc.py``, or build ``model`` in any
Nengo simulator. ``model.pc`` is a `nengo_pc.pc.network.PredictiveCodingNetwork`
(784-256-256-10, ReLU, rate mode): the value ensembles "value 0" .. "value 3", the
error ensembles "error 1" .. "error 3", the activity ensembles f(x_l), the slope
gates, and the gate populations that clamp the output or switch off the top-down
feedback are all visible and named. Test images are shown for 0.2 s each; in every
presentation the network first sweeps forward (mode ``"sweep"``, 0.15 s) and then
runs full PC inference with the output free (mode ``"free"``), so "value 3" (probed
as ``model.p_output``) settles to the logits of the image. The one-hot label is on
the ``target`` node; to watch the output clamped to it, add
``model.pc.mode = "clamped"`` at the end of the script in the GUI editor.

``model`` uses the parameters in ``runs/mnist-pc/params.npz`` (or the file named by
``$NENGO_PC_PARAMS``) when it exists, else untrained ones (with a note). Train them
with::

    python networks/mnist_pc.py --epochs 5

which trains with the PC trainer (`nengo_pc.pc.train.train_pc`, rule ``standard``;
``--trainer backprop`` for the NengoDL/Keras backprop trainer), saves the
parameters, classifies the test set with this network in NengoDL (output free) and
with the feedforward pass, and writes a JSON record next to the parameters
(``python networks/mnist_pc.py --help`` for every option). Images come from
``$NENGO_PC_DATA`` (blank images, with a note, if it is not available). Importing
this file reads only the first test images; it trains nothing.
"""

import argparse
import time
from pathlib import Path

import nengo
import numpy as np

from nengo_pc.arch import load_params, mlp
from nengo_pc.pc.network import PredictiveCodingNetwork
from nengo_pc.script_inputs import mnist_test_images, trained_params

NAME = "mnist-pc"
#: Where ``main`` writes and ``model`` reads the trained parameters.
RUN_DIR = (Path(globals().get("__file__", "networks/x.py")).resolve().parents[1]
           / "runs" / NAME)
N_IMAGES = 100
PRESENTATION_TIME = 0.2
SWEEP_TIME = 0.15
DT = 0.001


def default_arch():
    """The architecture when no trained parameters exist."""
    return mlp((256, 256))


class PresentationSchedule:
    """Mode of the PC network as a function of time: sweep, then free, per image.

    Parameters
    ----------
    presentation_time : float
        Seconds per image (as for `nengo.processes.PresentInput`).
    sweep_time : float
        Seconds of mode ``"sweep"`` at the start of each presentation.
    dt : float
        Simulator time step; step k runs at t = k dt and shows image
        ``floor((k - 1) dt / presentation_time)``.
    """

    def __init__(self, presentation_time, sweep_time, dt=DT):
        self.presentation_time, self.sweep_time, self.dt = presentation_time, sweep_time, dt

    def __call__(self, t):
        # the same rounding as PresentInput, so modes and images change together
        position = (t - self.dt) / self.presentation_time + 1e-7
        elapsed = (position - np.floor(position)) * self.presentation_time + self.dt
        return "sweep" if elapsed < self.sweep_time + 0.5 * self.dt else "free"


def load_test_images(n_images=N_IMAGES, data_dir=None):
    """The first ``n_images`` MNIST test images and labels, or (None, None)."""
    return mnist_test_images(NAME, n_images, data_dir)


def load_model_params(run_dir=RUN_DIR):
    """Architecture and parameters for `model` (params None: untrained)."""
    return trained_params(NAME, default_arch, [Path(run_dir) / "params.npz"])


def build_model(arch=None, params=None, images=None, labels=None):
    """The ``model`` of this script (see the module docstring).

    Parameters
    ----------
    arch, params
        Network and parameters; default `load_model_params`.
    images, labels : ndarray, optional
        Flattened images and their labels; default `load_test_images`.

    Returns
    -------
    nengo.Network
        With attributes ``pc`` (the `PredictiveCodingNetwork`), ``p_output`` (probe
        on the output values, no synapse) and ``p_label`` (probe on the one-hot
        label).
    """
    if arch is None:
        arch, params = load_model_params()
    if images is None:
        images, labels = load_test_images()
    if images is None:
        images, labels = np.zeros((1, arch.sizes[0])), None
    images = np.asarray(images, dtype=float).reshape(len(images), -1)
    one_hot = (np.zeros((len(images), arch.sizes[-1])) if labels is None
               else np.eye(arch.sizes[-1])[np.asarray(labels)])
    model = nengo.Network(label=NAME, seed=0)
    with model:
        model.pc = PredictiveCodingNetwork(arch, params, label="predictive coding",
                                           seed=0)
        model.pc.input.output = nengo.processes.PresentInput(images, PRESENTATION_TIME)
        model.pc.target.output = nengo.processes.PresentInput(one_hot, PRESENTATION_TIME)
        model.pc.mode = PresentationSchedule(PRESENTATION_TIME, SWEEP_TIME)
        model.p_output = model.pc.output_probe
        model.p_label = nengo.Probe(model.pc.target, synapse=None, label="label")
    return model


def main(argv=None):
    """Train, save the parameters, and classify the test set with the PC network."""
    from nengo_pc import cli
    from nengo_pc.arch import save_params
    from nengo_pc.data import load_dataset
    from nengo_pc.pc.network import settled_outputs
    from nengo_pc.rates import forward
    from nengo_pc.results import make_record, write_json_atomic
    from nengo_pc.training import classification_metrics

    parser = argparse.ArgumentParser(
        description="Train an MLP, then classify MNIST with the predictive-coding "
                    "Nengo network (output free, NengoDL rate mode) and compare it "
                    "with the feedforward pass. Writes params.npz and train.json "
                    "(evaluate.json with --no-train) to --run-dir.")
    parser.add_argument("--trainer", default="pc", choices=("pc", "backprop"),
                        help="pc: nengo_pc.pc.train.train_pc; backprop: "
                             "nengo_pc.train.train_backprop (default: pc)")
    parser.add_argument("--rule", default="standard",
                        help="learning rule of the pc trainer (default: standard)")
    parser.add_argument("--backend", default="nengo_dl", choices=("nengo_dl", "keras"),
                        help="backend of the backprop trainer (default: nengo_dl)")
    parser.add_argument("--hidden", nargs="+", type=cli.positive_int, default=[256, 256],
                        metavar="WIDTH", help="hidden widths (default: 256 256)")
    parser.add_argument("--activation", default="relu",
                        choices=("relu", "tanh", "sigmoid"),
                        help="hidden nonlinearity (default: relu)")
    parser.add_argument("--epochs", type=cli.positive_int, default=5)
    parser.add_argument("--lr", type=cli.positive_float, default=1e-3)
    parser.add_argument("--batch-size", type=cli.positive_int, default=100)
    parser.add_argument("--n-train", type=cli.positive_int, default=None,
                        help="use only the first N training images")
    parser.add_argument("--n-test", type=cli.positive_int, default=10000,
                        help="classify the first N test images (default: 10000)")
    parser.add_argument("--no-train", action="store_true",
                        help="evaluate RUN_DIR/params.npz (or --params) instead of "
                             "training")
    parser.add_argument("--params", default=None,
                        help="with --no-train: the .npz to evaluate, e.g. a network "
                             "saved by benchmarks/pc_mlp.py --params-dir")
    parser.add_argument("--settle-time", type=cli.positive_float, default=0.2,
                        help="simulated seconds per image (default: 0.2)")
    parser.add_argument("--sweep-time", type=float, default=0.15,
                        help="seconds of feedforward sweep before free PC inference "
                             "(default: 0.15)")
    parser.add_argument("--tau", type=cli.positive_float, default=0.01,
                        help="inference time constant in s (default: 0.01)")
    parser.add_argument("--eval-batch-size", type=cli.positive_int, default=100,
                        help="images per NengoDL call (default: 100)")
    parser.add_argument("--seed", type=cli.nonnegative_int, default=0)
    parser.add_argument("--run-dir", default=str(RUN_DIR))
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)
    if not 0 <= args.sweep_time <= args.settle_time:
        parser.error(f"--sweep-time: must be in [0, --settle-time={args.settle_time}], "
                     f"got {args.sweep_time}")

    out = Path(args.run_dir)
    params_path = out / "params.npz"
    if args.params is not None:
        if not args.no_train:
            parser.error("--params: only with --no-train (training writes "
                         "RUN_DIR/params.npz)")
        params_path = Path(args.params)
    data = load_dataset("mnist", data_dir=args.data_dir)
    test = data.test.subset(min(args.n_test, len(data.test)))
    seconds, history, train_config = {}, None, None
    if args.no_train:
        if not params_path.is_file():
            parser.error(f"--no-train: {params_path} does not exist")
        arch, params, _ = load_params(params_path)
    else:
        arch = mlp(tuple(args.hidden), activation=args.activation)
        train = data.train if args.n_train is None else data.train.subset(
            min(args.n_train, len(data.train)))
        t0 = time.perf_counter()
        if args.trainer == "pc":
            from nengo_pc.pc.train import PCTrainConfig, train_pc

            config = PCTrainConfig(rule=args.rule, epochs=args.epochs,
                                   batch_size=args.batch_size, learning_rate=args.lr,
                                   seed=args.seed)
            result = train_pc(arch, train, config)
        else:
            from nengo_pc.train import TrainConfig, train_backprop

            config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size,
                                 learning_rate=args.lr, seed=args.seed)
            result = train_backprop(arch, train, config, backend=args.backend)
        seconds["train"] = time.perf_counter() - t0
        seconds["per_epoch"] = result.seconds_per_epoch
        history, params = result.history, result.params
        train_config = {"trainer": args.trainer, **config.to_dict(),
                        "n_train": len(train)}
        if args.trainer == "backprop":
            train_config["backend"] = args.backend
        save_params(params_path, arch, params, dataset="mnist", epochs=args.epochs,
                    trainer=args.trainer)

    t0 = time.perf_counter()
    pc_logits = settled_outputs(arch, params, test.images, settle_time=args.settle_time,
                                sweep_time=args.sweep_time, tau=args.tau,
                                batch_size=args.eval_batch_size, seed=args.seed,
                                progress=True)
    seconds["evaluate_pc"] = time.perf_counter() - t0
    ff_logits = forward(arch, params, test.images)
    pc = classification_metrics(pc_logits, test.labels)
    ff = classification_metrics(ff_logits, test.labels)
    metrics = {
        "pc_network_accuracy": pc["accuracy"],
        "feedforward_accuracy": ff["accuracy"],
        "accuracy_difference_points": 100 * (pc["accuracy"] - ff["accuracy"]),
        "label_agreement": float(np.mean(pc_logits.argmax(1) == ff_logits.argmax(1))),
        "max_abs_output_difference": float(np.max(np.abs(pc_logits - ff_logits))),
    }
    record = make_record(
        "evaluate" if args.no_train else "train",
        config={"network": NAME, "architecture": arch.to_dict(), "train": train_config,
                "params": str(params_path), "n_test": len(test),
                "settle_time": args.settle_time, "sweep_time": args.sweep_time,
                "tau": args.tau, "dt": DT, "eval_batch_size": args.eval_batch_size,
                "simulator": "nengo_dl", "mode": "rate"},
        seed=args.seed, metrics=metrics, seconds=seconds,
        **({"history": history} if history is not None else {}))
    path = write_json_atomic(out / ("evaluate.json" if args.no_train else "train.json"),
                             record)
    print(f"PC network {100 * pc['accuracy']:.2f}%, feedforward "
          f"{100 * ff['accuracy']:.2f}% on {len(test)} test images (difference "
          f"{metrics['accuracy_difference_points']:+.2f} points, labels agree on "
          f"{100 * metrics['label_agreement']:.2f}%); record: {path}")
    return record


if __name__ == "__main__":
    main()
else:
    model = build_model()
