"""Spiking CNN inference: ``nengo-pc evaluate --mode spiking`` against NengoDL's
spiking-MNIST example (nengo-dl 3.6, ``docs/examples/spiking-mnist.ipynb``).

Both sides classify the same MNIST test images with the same trained weights on the
same network -- conv 32 3x3 s1, conv 64 3x3 s2, conv 128 3x3 s2 (LIF, tau_rc 20 ms,
tau_ref 2 ms, amplitude 0.01, no synapses) and a dense linear readout of 10 -- for the
same number of 1 ms steps, in minibatches of 200, and time everything from building
the simulator to the last prediction.

``peer``: the example's network built as its notebook builds it (``nengo_dl.Layer``
around Keras ``Conv2D``/``Dense``, LIF ensembles with ``max_rates`` 100 and
``intercepts`` 0, ``stateful=False``, probes ``out_p`` and ``out_p_filt``), its
``nengo_dl.Simulator(net, minibatch_size=200)``, and its evaluation: the test images
tiled over ``n_steps`` and ``sim.evaluate`` of the last-step accuracy of the probe
filtered with a 0.1 s lowpass. The notebook downloads its own trained weights; here
the Keras layers get ours instead, rescaled for the example's neurons: an example
neuron receives ``gain * x + bias`` with the gain and bias Nengo derives from
``max_rates``/``intercepts`` (the same for every neuron), so kernel ``K / gain`` and
bias ``(b - bias) / gain`` give every neuron exactly the current ``x + b`` ours
receives. The images are ours (``[0, 1]``, which the weights are trained on), not the
notebook's raw ``0..255``. The tiling of the test set (notebook's data preparation) is
not timed.

``ours``: `nengo_pc.training.evaluate` with a spiking `Presentation` (no synapse,
the ``readout`` setting: ``mean``, the spike count, by default, or ``lowpass``, the
example's own readout: the last step through a 0.1 s lowpass, as its filtered probe
reads it), what ``nengo-pc evaluate --mode spiking --synapse none --n-steps N
--batch-size 200 [--readout lowpass]`` runs, with ``backend`` (``tensorflow`` or
``nengo_dl``).
"""

import time
from pathlib import Path

import numpy as np

NAME = "spiking_cnn_nengo_dl_example"
DESCRIPTION = ("spiking conv32-64-128 LIF MNIST inference: nengo-pc evaluate --mode "
               "spiking vs NengoDL's spiking-MNIST example, same weights and steps")

#: The suite's trained CNN as shipped (``nengo_pc/pretrained/mnist-softlif-cnn.npz``,
#: made by ``nengo-pc train --model softlif-cnn``; 99.24% rate, 99.27% spiking), or
#: any ``params.npz`` a training run wrote.
DEFAULT_PARAMS = str(Path(__file__).resolve().parents[2] / "nengo_pc" / "pretrained"
                     / "mnist-softlif-cnn.npz")

SETTINGS = {
    "params": DEFAULT_PARAMS,
    "n_test": 10000,
    "n_steps": 30,
    "batch_size": 200,
    "backend": "tensorflow",
    "block": None,
    "readout": "mean",
}
QUICK = {"n_test": 200, "n_steps": 10, "batch_size": 100}


def _problem(settings):
    """Architecture, parameters and test split of the run."""
    from nengo_pc.arch import init_params, load_params, softlif_cnn
    from nengo_pc.data import load_dataset

    path = Path(settings["params"]) if settings["params"] else None
    if path is not None and path.is_file():
        arch, params, meta = load_params(path)
        if meta.get("input_gain", 1.0) != 1.0:
            from nengo_pc.convert import fold_input_gain

            params = fold_input_gain(params, meta["input_gain"])
    elif settings["quick"]:
        arch = softlif_cnn()  # timing only: untrained weights
        params = init_params(arch, seed=settings["seed"])
    else:
        raise FileNotFoundError(f"params: {path} not found (set params=<file.npz>)")
    test = load_dataset("mnist", data_dir=settings["data_dir"]).test
    # whole minibatches only: the example's sim.evaluate cannot take a partial one
    n = min(settings["n_test"], len(test))
    n -= n % settings["batch_size"]
    if n < 1:
        raise ValueError(f"n_test: need at least one minibatch of "
                         f"{settings['batch_size']} images, got {settings['n_test']}")
    return arch, params, test.subset(n)


def ours(settings):
    """``nengo-pc evaluate --mode spiking --synapse none`` on the test subset."""
    from nengo_pc.networks.presentation import Presentation
    from nengo_pc.training import evaluate

    arch, params, split = _problem(settings)
    presentation = Presentation(n_steps=settings["n_steps"], synapse="none",
                                readout=settings["readout"])
    if settings["block"] is not None:  # a block size other than the backend's default
        from nengo_pc.spiking_tf import TFSpikingBackend

        t0 = time.perf_counter()
        model = TFSpikingBackend(arch, params, settings["batch_size"], settings["seed"],
                                 presentation=presentation, block=settings["block"])
        logits = model.predict(split.images)
        seconds = time.perf_counter() - t0
        accuracy = float(np.mean(logits.argmax(1) == split.labels))
    else:
        metrics = evaluate(arch, params, split, backend=settings["backend"],
                           batch_size=settings["batch_size"], seed=settings["seed"],
                           presentation=presentation)
        seconds, accuracy = metrics["seconds"], metrics["accuracy"]
    from nengo_pc.spiking_tf import DEFAULT_BLOCK, DEFAULT_CHUNK

    result = {"seconds": seconds, "accuracy": accuracy, "n_examples": len(split),
              "images_per_second": len(split) / seconds, "backend": settings["backend"]}
    if settings["backend"] == "tensorflow":
        result.update(block=settings["block"] or DEFAULT_BLOCK,
                      chunk=min(DEFAULT_CHUNK, settings["batch_size"]))
    return result


def _example_network(neuron_amplitude):
    """The notebook's network, as its notebook builds it; returns the net, its input,
    probes and the Keras layers (to receive weights)."""
    import nengo
    import nengo_dl
    import tensorflow as tf

    layers = {}
    with nengo.Network(seed=0) as net:
        net.config[nengo.Ensemble].max_rates = nengo.dists.Choice([100])
        net.config[nengo.Ensemble].intercepts = nengo.dists.Choice([0])
        net.config[nengo.Connection].synapse = None
        neuron_type = nengo.LIF(amplitude=neuron_amplitude)
        nengo_dl.configure_settings(stateful=False)
        inp = nengo.Node(np.zeros(28 * 28))
        layers["conv0"] = tf.keras.layers.Conv2D(filters=32, kernel_size=3)
        x = nengo_dl.Layer(layers["conv0"])(inp, shape_in=(28, 28, 1))
        x = nengo_dl.Layer(neuron_type)(x)
        layers["conv1"] = tf.keras.layers.Conv2D(filters=64, strides=2, kernel_size=3)
        x = nengo_dl.Layer(layers["conv1"])(x, shape_in=(26, 26, 32))
        x = nengo_dl.Layer(neuron_type)(x)
        layers["conv2"] = tf.keras.layers.Conv2D(filters=128, strides=2, kernel_size=3)
        x = nengo_dl.Layer(layers["conv2"])(x, shape_in=(12, 12, 64))
        x = nengo_dl.Layer(neuron_type)(x)
        layers["dense"] = tf.keras.layers.Dense(units=10)
        out = nengo_dl.Layer(layers["dense"])(x)
        out_p = nengo.Probe(out, label="out_p")
        out_p_filt = nengo.Probe(out, synapse=0.1, label="out_p_filt")
    return net, inp, out_p, out_p_filt, layers, neuron_type


def example_weights(arch, params, neuron_type):
    """Our parameters as the example's Keras weights (see the module docstring)."""
    gain, bias = neuron_type.gain_bias(np.array([100.0]), np.array([0.0]))
    gain, bias = float(gain[0]), float(bias[0])
    weights = {}
    for i in range(3):
        weights[f"conv{i}"] = [params.weights[i] / gain, (params.biases[i] - bias) / gain]
    # our dense input is the conv output flattened channels-last, as Keras flattens it
    weights["dense"] = [params.weights[3], params.biases[3]]
    return weights


def peer(settings):
    """NengoDL's spiking-MNIST example (its network, simulator and evaluation)."""
    import nengo_pc  # noqa: F401  (selects tf-keras, as the suite's README says)
    import nengo_dl
    import tensorflow as tf

    arch, params, split = _problem(settings)
    n_steps, minibatch_size = settings["n_steps"], settings["batch_size"]
    # the notebook's data preparation (not timed)
    test_images = np.tile(split.images[:, None, :], (1, n_steps, 1))
    test_labels = np.tile(split.labels[:, None, None], (1, n_steps, 1))
    n = len(split)

    t0 = time.perf_counter()
    net, _, _, out_p_filt, layers, neuron_type = _example_network(arch.lif.amplitude)
    sim = nengo_dl.Simulator(net, minibatch_size=minibatch_size, progress_bar=False)
    for name, values in example_weights(arch, params, neuron_type).items():
        layers[name].set_weights([np.asarray(v, np.float32) for v in values])

    def classification_accuracy(y_true, y_pred):
        return tf.metrics.sparse_categorical_accuracy(y_true[:, -1], y_pred[:, -1])

    sim.compile(loss={out_p_filt: classification_accuracy})
    accuracy = sim.evaluate(test_images, {out_p_filt: test_labels}, verbose=0)["loss"]
    seconds = time.perf_counter() - t0
    sim.close()
    return {"seconds": seconds, "accuracy": float(accuracy), "n_examples": int(n),
            "images_per_second": n / seconds}
