"""Convolutional architectures: description, numpy/Keras/Nengo parity, NengoDL training
and spiking, and the example networks in ``networks/``."""

import runpy
from pathlib import Path

import nengo
import numpy as np
import pytest

from nengo_pc.arch import PRESETS, Architecture, LIFParams, cnn, softlif_cnn
from nengo_pc.conv import ConvLayer
from nengo_pc.convert import build_keras, fold_input_gain
from nengo_pc.data import Split
from nengo_pc.networks.feedforward import FeedforwardNetwork, configure_nengo_dl
from nengo_pc.networks.presentation import Presentation
from nengo_pc.params import init_params, load_params, save_params
from nengo_pc.rates import forward
from nengo_pc.training import TrainConfig, evaluate, predict_logits, train

NETWORKS = Path(__file__).resolve().parents[1] / "networks"
#: A small CNN with both paddings, odd strides and a dense hidden layer.
ODD = dict(conv=(ConvLayer(4, 3, 2, "same"), ConvLayer(5, (2, 3), (1, 2))), hidden=(7,),
           input_shape=(9, 8, 2))


def test_cnn_description(tmp_path):
    arch = softlif_cnn()
    assert arch.sizes == (784, 26 * 26 * 32, 12 * 12 * 64, 5 * 5 * 128, 10)
    assert arch.weight_shapes == [(3, 3, 1, 32), (3, 3, 32, 64), (3, 3, 64, 128),
                                  (3200, 10)]
    assert arch.bias_shapes == [(32,), (64,), (128,), (10,)]
    assert arch.n_layers == 4 and arch.n_conv == 3 and arch.activation == "lif"
    assert build_keras(arch).count_params() == arch.n_params
    assert Architecture.from_dict(arch.to_dict()) == arch
    # the CLI's call: dense widths after the conv stack
    cli_arch = PRESETS["softlif-cnn"](hidden=(64,), lif=LIFParams(amplitude=0.02))
    assert cli_arch.sizes[-2:] == (64, 10) and cli_arch.lif.amplitude == 0.02
    params = init_params(cli_arch, seed=1)
    # He normal with the conv fan-in kh * kw * in_channels
    assert abs(params.weights[1].std() / np.sqrt(2 / (9 * 32)) - 1) < 0.02
    save_params(tmp_path / "p.npz", cli_arch, params)
    arch2, params2, _ = load_params(tmp_path / "p.npz")
    assert arch2 == cli_arch
    for x, y in zip(params.weights + params.biases, params2.weights + params2.biases):
        np.testing.assert_array_equal(x, y)


def test_fan_out_counts_synapses():
    arch = cnn(activation="linear", **ODD)
    params = init_params(arch)
    for i in range(arch.n_conv):
        # synapses leaving input k = nonzeros of column k of the layer's matrix
        eye = np.eye(arch.sizes[i])
        matrix = arch.linear(i, np.ones_like(params.weights[i]), 0.0, eye)
        np.testing.assert_array_equal(arch.fan_out(i), (matrix != 0).sum(axis=1))
    assert arch.n_connections[-1] == 7 * 10


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: ConvLayer(0), "filters"),
        (lambda: ConvLayer(4, kernel_size=(3, 0)), "kernel_size"),
        (lambda: ConvLayer(4, strides=1.5), "strides"),
        (lambda: ConvLayer(4, padding="full"), "padding"),
        (lambda: Architecture((784, 10), conv=(ConvLayer(2),)), "input_shape"),
        (lambda: Architecture((784, 100, 10), input_shape=(28, 28, 1),
                              conv=(ConvLayer(2),)), "sizes"),
        (lambda: Architecture((784, 10), input_shape=(28, 27, 1)), "sizes"),
        (lambda: cnn(conv=(ConvLayer(2, 5),), input_shape=(4, 4, 1)), "input_shape"),
        (lambda: cnn(conv=()), "conv"),
        (lambda: softlif_cnn(activation="relu"), "activation"),
    ],
)
def test_bad_cnn(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_numpy_keras_and_nengo_agree():
    rng = np.random.default_rng(0)
    x = rng.random((6, 144)).astype(np.float32)
    relu = cnn(activation="relu", **ODD)
    params = init_params(relu, seed=1)
    params.biases = [rng.normal(0, 0.5, b.shape).astype(np.float32) for b in params.biases]
    # the numpy reference is Keras' Conv2D/Flatten/Dense (channels last)
    np.testing.assert_allclose(forward(relu, params, x), build_keras(relu, params)(x),
                               atol=1e-5)

    # linear hidden layers are Nodes; conv ones still get tied biases
    linear = cnn(activation="linear", **ODD)
    np.testing.assert_allclose(predict_logits(linear, params, x, backend="nengo"),
                               forward(linear, params, x), atol=1e-5)

    lif = cnn(activation="lif", **ODD)
    params.weights = [2 * w for w in params.weights]  # make most neurons fire
    params.biases = [b + 1 for b in params.biases]
    expected = forward(lif, params, x)
    # nengo.Convolution transforms, tied biases through the 1x1 convolution
    for backend in ("nengo", "nengo_dl"):
        np.testing.assert_allclose(
            predict_logits(lif, params, x, backend=backend, batch_size=6), expected,
            atol=1e-5 * np.abs(expected).max())
    net = FeedforwardNetwork(lif, params)
    with nengo.Simulator(net, progress_bar=False) as sim:
        back = net.params_from(sim)
    for a, b in zip(params.weights + params.biases, back.weights + back.biases):
        np.testing.assert_array_equal(a, b)
    assert all(isinstance(c.transform, nengo.Convolution)
               for c in net.weight_connections[:2])
    assert [e.label for e in net.layers] == ["conv1", "conv2", "hidden3"]
    # NengoDL trains the tied bias connections, not per-neuron conv biases (checked
    # end to end: after sim.fit the conv ensembles' biases are still 0)
    configure_nengo_dl(net)
    assert [net.config[e].trainable for e in net.layers] == [False, False, None]


@pytest.fixture(scope="module")
def trained_cnn(mnist_data):
    """conv 8 5x5 s2 -> conv 16 3x3 s2 -> 10, soft-LIF, 3 epochs on 2,000 images.

    Trained on images x 10 (faster, higher rates), then the gain is folded into the
    first layer: the parameters take [0, 1] images.
    """
    gain = 10.0
    arch = softlif_cnn(conv=(ConvLayer(8, 5, 2), ConvLayer(16, 3, 2)))
    subset, validation = mnist_data.train.subset(2000), mnist_data.test.subset(300)
    result = train(arch, Split(subset.images * gain, subset.labels),
                   TrainConfig(epochs=3, batch_size=50, learning_rate=3e-3),
                   validation=Split(validation.images * gain, validation.labels),
                   progress=False)
    result.params = fold_input_gain(result.params, gain)
    return arch, result


def test_cnn_trains_with_nengo_dl_and_runs_spiking(trained_cnn, mnist_data):
    arch, result = trained_cnn
    val = [h["val_accuracy"] for h in result.history]
    assert val[-1] > val[0] and val[-1] > 0.75, val
    # the biases stayed tied: one per filter
    assert [b.shape for b in result.params.biases] == [(8,), (16,), (10,)]
    test = mnist_data.test.subset(200)
    rate = evaluate(arch, result.params, test)
    logits = forward(arch, result.params, test.images)
    assert rate["accuracy"] == np.mean(logits.argmax(1) == test.labels)
    spiking = evaluate(arch, result.params, test, batch_size=200,
                       presentation=Presentation(n_steps=60))
    # 200 images: one image is 0.5 points
    assert spiking["accuracy"] > rate["accuracy"] - 0.04, (spiking, rate)


def test_cnn_spiking_reference_simulator_agrees(trained_cnn, mnist_data):
    arch, result = trained_cnn
    test = mnist_data.test.subset(8)
    presentation = Presentation(n_steps=40, synapse="lowpass")
    dl = predict_logits(arch, result.params, test.images, batch_size=8,
                        presentation=presentation)
    ref = predict_logits(arch, result.params, test.images, backend="nengo",
                         presentation=presentation)
    np.testing.assert_allclose(dl, ref, atol=0.05 * np.abs(ref).max())
    assert np.mean(dl.argmax(1) == ref.argmax(1)) >= 7 / 8


@pytest.mark.parametrize("script, arch", [
    ("mnist_softlif_mlp.py", lambda: PRESETS["softlif-mlp"](hidden=(20,))),
    ("mnist_softlif_cnn.py", lambda: softlif_cnn(conv=(ConvLayer(4, 5, 3),))),
])
def test_network_scripts_build(script, arch, tmp_path, monkeypatch, capsys):
    arch = arch()
    save_params(tmp_path / "params.npz", arch, init_params(arch))
    monkeypatch.setenv("NENGO_PC_PARAMS", str(tmp_path / "params.npz"))
    namespace = runpy.run_path(str(NETWORKS / script), run_name="network")
    model = namespace["model"]
    assert model.net.arch == arch and "main" not in namespace  # no training in scripts
    with nengo.Simulator(model, progress_bar=False) as sim:
        sim.run_steps(5)
    assert sim.data[model.p_output].shape == (5, 10)
    assert sim.data[model.p_spikes].shape == (5, arch.sizes[-2])

    monkeypatch.setenv("NENGO_PC_PARAMS", str(tmp_path / "missing.npz"))
    if script.endswith("mlp.py"):  # the untrained full-size default (quick to build)
        model = runpy.run_path(str(NETWORKS / script), run_name="network")["model"]
        assert model.net.arch.sizes == (784, 500, 500, 10)
        assert "untrained" in capsys.readouterr().err


@pytest.mark.parametrize("script", ["mnist_softlif_mlp.py", "mnist_softlif_cnn.py"])
def test_network_scripts_show_the_image(script, real_data, monkeypatch):
    # with data on disk the model presents test images and shows them in nengo-gui
    monkeypatch.setenv("NENGO_PC_DATA", str(real_data))
    monkeypatch.setenv("NENGO_PC_PARAMS", "/nonexistent/params.npz")
    model = runpy.run_path(str(NETWORKS / script), run_name="network")["model"]
    assert model.image.size_in == 784 and model.target.label == "label"
