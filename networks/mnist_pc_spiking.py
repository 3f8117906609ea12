"""A spiking predictive-coding network of Nengo ensembles classifying MNIST digits.

Open it in nengo-gui with ``nengo networks/mnist_pc_spiking.py`` (the layout in
``mnist_pc_spiking.py.cfg`` shows spike rasters of the value and error ensembles, the
input image and the output values), or build ``model`` in any Nengo simulator.
``model.pc`` is a `nengo_pc.pc.network.PredictiveCodingNetwork` with ``spiking=True``
(784-500-500-10, LIF activities, integrate-and-fire pairs for the signed values and
errors, lowpass synapses): "value 0" .. "value 3", "error 1" .. "error 3" and
"activity 1", "activity 2" are named ensembles, also reachable as ``model.value_1``,
``model.error_1``, ``model.activity_1`` and so on. Test images are shown for
`PRESENTATION_TIME` each with the output free (mode ``"sweep"``: every value
integrates its prediction error, top-down feedback off; see
`nengo_pc.pc.spiking`); ``model.p_output`` probes the output values.

``model`` uses the parameters in ``results/spiking_pc_params.npz`` (written by
``benchmarks/spiking_pc.py``), or ``runs/mnist-pc-spiking/params.npz`` written by
`main`, or the file named by ``$NENGO_PC_PARAMS``; without any it is untrained (with
a note). Train and evaluate with::

    python networks/mnist_pc_spiking.py --epochs 20

which trains with `nengo_pc.pc.train.train_pc` (rule ``"zil"``, exact backprop of
the squared error through the soft-LIF curve), saves the parameters, runs this
spiking network on the first ``--n-test`` test images in NengoDL
(`nengo_pc.pc.spiking.spiking_inference`) and writes a JSON record next to the
parameters. Images come from ``$NENGO_PC_DATA`` (blank images, with a note, if it is
not available). Importing this file reads only the first test images; it trains
nothing.
"""

import argparse
import base64
import io
import time
from pathlib import Path

import nengo
import numpy as np

from nengo_pc.arch import load_params, mlp
from nengo_pc.networks.pc import PredictiveCodingNetwork
from nengo_pc.script_inputs import mnist_test_images, trained_params

NAME = "mnist-pc-spiking"
ROOT = Path(globals().get("__file__", "networks/x.py")).resolve().parents[1]
#: Where ``main`` writes the trained parameters.
RUN_DIR = ROOT / "runs" / NAME
#: Parameters of the benchmark, used when present.
BENCHMARK_PARAMS = ROOT / "results" / "spiking_pc_params.npz"
N_IMAGES = 20
PRESENTATION_TIME = 0.15


def default_arch():
    """The architecture when no trained parameters exist."""
    return mlp((500, 500), activation="lif")


def load_test_images(n_images=N_IMAGES, data_dir=None):
    """The first ``n_images`` MNIST test images and labels, or (None, None)."""
    return mnist_test_images(NAME, n_images, data_dir)


def load_model_params(run_dir=RUN_DIR):
    """Architecture and parameters for `model` (params None: untrained): the
    benchmark's parameters if they exist, else those ``main()`` wrote."""
    return trained_params(NAME, default_arch,
                          [BENCHMARK_PARAMS, Path(run_dir) / "params.npz"])


class ImageDisplay:
    """Output function of a node showing the current input image in nengo-gui.

    Sets ``_nengo_html_`` (read by nengo-gui's HTMLView) to a PNG of the 28x28 image
    when it changes.
    """

    def __init__(self, shape=(28, 28)):
        self.shape = shape
        self._last = None
        self._nengo_html_ = ""

    def __call__(self, t, x):
        if self._last is None or not np.array_equal(x, self._last):
            self._last = np.array(x)
            self._nengo_html_ = self.html(x)

    def html(self, x):
        """An ``<img>`` tag with the image as an inline PNG (blank if unavailable)."""
        try:
            import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
        except ImportError:
            return ""
        buffer = io.BytesIO()
        image = np.clip(np.asarray(x).reshape(self.shape), 0, 1)
        plt.imsave(buffer, image, cmap="gray", vmin=0, vmax=1, format="png")
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        return (f'<img src="data:image/png;base64,{data}" '
                f'style="width:100%;height:100%;image-rendering:pixelated"/>')


def build_model(arch=None, params=None, images=None, labels=None):
    """The ``model`` of this script (see the module docstring).

    Returns
    -------
    nengo.Network
        With attributes ``pc``, ``value_l`` / ``error_l`` / ``activity_l`` (the
        ensembles), ``output`` ("value L"), ``output_values`` (node of the decoded
        output, Lowpass(tau)), ``image`` (node showing the input), ``p_output``
        (the output values, Lowpass(tau)) and ``p_label`` (the one-hot label).
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
        model.pc = PredictiveCodingNetwork(arch, params, spiking=True,
                                           label="spiking predictive coding", seed=0)
        model.pc.mode = "sweep"
        model.images = nengo.Node(nengo.processes.PresentInput(images, PRESENTATION_TIME))
        model.labels = nengo.Node(nengo.processes.PresentInput(one_hot, PRESENTATION_TIME))
        nengo.Connection(model.images, model.pc.input, synapse=None)
        nengo.Connection(model.labels, model.pc.target, synapse=None)
        for l, ens in enumerate(model.pc.values):
            setattr(model, f"value_{l}", ens)
        for l in range(1, arch.n_layers + 1):
            setattr(model, f"error_{l}", model.pc.errors[l])
            if model.pc.activities[l] is not None:
                setattr(model, f"activity_{l}", model.pc.activities[l])
        model.output = model.pc.values[-1]
        # the decoded output values, filtered like the network's own probes
        n_out = arch.sizes[-1]
        model.output_values = nengo.Node(size_in=n_out, label="output values")
        nengo.Connection(model.output.neurons, model.output_values,
                         transform=np.hstack([np.eye(n_out), -np.eye(n_out)]),
                         synapse=nengo.Lowpass(model.pc.tau))
        if arch.sizes[0] == 784:
            model.image = nengo.Node(ImageDisplay(), size_in=784, label="image")
            nengo.Connection(model.pc.input, model.image, synapse=None)
        model.p_output = model.pc.output_probe
        model.p_label = nengo.Probe(model.pc.target, synapse=None, label="label")
    return model


def main(argv=None):
    """Train (or load), then classify test images with the spiking PC network."""
    from nengo_pc import cli
    from nengo_pc.arch import save_params
    from nengo_pc.data import load_dataset
    from nengo_pc.networks.spiking import accuracy_over_time, spiking_inference
    from nengo_pc.rates import forward
    from nengo_pc.results import make_record, write_json_atomic

    parser = argparse.ArgumentParser(
        description="Train a 784-500-500-10 LIF network with the PC trainer (rule "
                    "zil), then classify MNIST with the spiking predictive-coding "
                    "network in NengoDL. Writes params.npz and a JSON record to "
                    "--run-dir.")
    parser.add_argument("--hidden", nargs="+", type=cli.positive_int, default=[500, 500])
    parser.add_argument("--epochs", type=cli.positive_int, default=20)
    parser.add_argument("--lr", type=cli.positive_float, default=5e-4)
    parser.add_argument("--no-train", action="store_true",
                        help="evaluate RUN_DIR/params.npz instead of training")
    parser.add_argument("--n-test", type=cli.positive_int, default=1000,
                        help="classify the first N test images (default: 1000)")
    parser.add_argument("--duration", type=cli.positive_float, default=PRESENTATION_TIME)
    parser.add_argument("--input-coding", default="constant",
                        choices=("constant", "poisson"))
    parser.add_argument("--seed", type=cli.nonnegative_int, default=0)
    parser.add_argument("--run-dir", default=str(RUN_DIR))
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args(argv)

    out = Path(args.run_dir)
    params_path = out / "params.npz"
    data = load_dataset("mnist", data_dir=args.data_dir)
    test = data.test.subset(min(args.n_test, len(data.test)))
    seconds, history, train_config = {}, None, None
    if args.no_train:
        if not params_path.is_file():
            parser.error(f"--no-train: {params_path} does not exist")
        arch, params, _ = load_params(params_path)
    else:
        from nengo_pc.pc.train import PCTrainConfig, train_pc

        arch = mlp(tuple(args.hidden), activation="lif")
        config = PCTrainConfig(rule="zil", epochs=args.epochs, learning_rate=args.lr,
                               seed=args.seed)
        t0 = time.perf_counter()
        result = train_pc(arch, data.train, config)
        seconds["train"] = time.perf_counter() - t0
        history, params, train_config = result.history, result.params, config.to_dict()
        save_params(params_path, arch, params, dataset="mnist", rule="zil",
                    epochs=args.epochs)

    t0 = time.perf_counter()
    run = spiking_inference(arch, params, test.images, duration=args.duration,
                            input_coding=args.input_coding, seed=args.seed,
                            progress=True)
    seconds["spiking"] = time.perf_counter() - t0
    accuracy = accuracy_over_time(run["outputs"], test.labels)
    rate = float(np.mean(forward(arch, params, test.images).argmax(1) == test.labels))
    metrics = {"spiking_accuracy": float(accuracy[-1]), "rate_accuracy": rate,
               "presentation_ms": 1000 * args.duration,
               "synops_per_inference": float(sum(v.sum() for v in run["synops"].values()))}
    record = make_record(
        "evaluate" if args.no_train else "train",
        config={"network": NAME, "architecture": arch.to_dict(), "train": train_config,
                "params": str(params_path), "n_test": len(test),
                "duration": args.duration, "input_coding": args.input_coding,
                "simulator": "nengo_dl", "mode": "spiking"},
        seed=args.seed, metrics=metrics, seconds=seconds,
        **({"history": history} if history is not None else {}))
    path = write_json_atomic(out / ("evaluate.json" if args.no_train else "train.json"),
                             record)
    print(f"spiking PC network {100 * accuracy[-1]:.2f}% after {1000 * args.duration:g} "
          f"ms, feedforward (rate) {100 * rate:.2f}% on {len(test)} test images; "
          f"record: {path}")
    return record


if __name__ == "__main__":
    main()
else:
    model = build_model()
