"""Soft-LIF networks: trained in rate mode with NengoDL, run as spiking LIF neurons."""

import nengo
import numpy as np
import pytest

from nengo_pc.arch import LIFParams, softlif_mlp
from nengo_pc.networks.feedforward import FeedforwardNetwork, make_synapse
from nengo_pc.networks.presentation import Presentation
from nengo_pc.rates import forward
from nengo_pc.training import TrainConfig, evaluate, train


@pytest.fixture(scope="module")
def trained(mnist_data):
    """784-128-10 soft-LIF MLP trained for 5 epochs on 3,000 MNIST images."""
    arch = softlif_mlp((128,))
    result = train(arch, mnist_data.train.subset(3000),
                   TrainConfig(epochs=5, batch_size=100, learning_rate=3e-3, seed=0),
                   validation=mnist_data.test.subset(500), progress=False)
    return arch, result


def test_softlif_training_and_rate_paths_agree(trained, mnist_data):
    arch, result = trained
    test = mnist_data.test.subset(1000)
    # the per-epoch validation used the exact LIF rate curve; it improved
    val = [h["val_accuracy"] for h in result.history]
    assert val[-1] > val[0] and val[-1] > 0.85
    rate_dl = evaluate(arch, result.params, test)
    rate_ref = evaluate(arch, result.params, test, backend="nengo")
    logits = forward(arch, result.params, test.images)
    assert rate_dl["accuracy"] > 0.85
    assert rate_dl["accuracy"] == rate_ref["accuracy"]
    assert rate_dl["accuracy"] == np.mean(logits.argmax(axis=1) == test.labels)
    assert abs(rate_dl["loss"] - rate_ref["loss"]) < 1e-3


@pytest.mark.parametrize("synapse, coding", [("none", "constant"), ("alpha", "constant"),
                                             ("lowpass", "poisson")])
def test_spiking_close_to_rate(trained, mnist_data, synapse, coding):
    arch, result = trained
    test = mnist_data.test.subset(300)
    rate = evaluate(arch, result.params, test)["accuracy"]
    spiking = evaluate(arch, result.params, test, batch_size=100,
                       presentation=Presentation(n_steps=100, synapse=synapse,
                                                 input_coding=coding))["accuracy"]
    # 300 images: one image is 0.33 points; spiking noise costs a few at 100 ms
    assert spiking > rate - 0.04, (spiking, rate)


def test_spiking_nengo_dl_matches_reference_simulator(trained, mnist_data):
    arch, result = trained
    test = mnist_data.test.subset(20)
    presentation = Presentation(n_steps=60, synapse="lowpass")
    from nengo_pc.training import predict_logits

    dl_logits = predict_logits(arch, result.params, test.images, batch_size=20,
                               presentation=presentation)
    ref_logits = predict_logits(arch, result.params, test.images, backend="nengo",
                                presentation=presentation)
    # constant input and deterministic LIF neurons: both simulators compute the same
    # spikes up to float32 vs float64 rounding of the membrane voltages
    np.testing.assert_allclose(dl_logits, ref_logits, atol=0.05 * np.abs(ref_logits).max())
    assert np.mean(dl_logits.argmax(1) == ref_logits.argmax(1)) >= 0.95


def test_lif_network_structure():
    arch = softlif_mlp((5,), n_in=3, n_out=2, lif=LIFParams(tau_ref=0.004, amplitude=0.02))
    net = FeedforwardNetwork(arch, synapse=nengo.Alpha(0.005), input_coding="poisson")
    neurons = net.layers[0].neuron_type
    assert isinstance(neurons, nengo.LIF)
    assert (neurons.tau_rc, neurons.tau_ref, neurons.amplitude) == (0.02, 0.004, 0.02)
    assert all(isinstance(c.synapse, nengo.Alpha) for c in net.weight_connections)
    assert net.spike_input.label == "poisson input"
    rate_net = FeedforwardNetwork(arch, spiking=False)
    assert isinstance(rate_net.layers[0].neuron_type, nengo.LIFRate)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"n_steps": 0}, "n_steps"), ({"synapse": "gamma"}, "synapse"),
     ({"tau": -1.0}, "tau"), ({"input_coding": "burst"}, "input_coding"),
     ({"readout": "max"}, "readout"), ({"dt": 0.5}, "dt"),
     ({"readout_tau": 0.1}, "readout_tau: applies to the lowpass readout only"),
     ({"readout": "lowpass", "readout_tau": 0.0}, "readout_tau: must be")],
)
def test_bad_presentation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Presentation(**kwargs)


def test_lowpass_readout_is_what_a_filtered_nengo_probe_reads_last():
    """``readout="lowpass"`` reads the output as a `nengo.Probe` with a
    `nengo.Lowpass` of ``readout_tau`` reads it at the last step (NengoDL's
    spiking-MNIST example's readout), from the unfiltered output over time."""
    rng = np.random.RandomState(0)
    values = rng.uniform(-1, 1, (25, 3))
    with nengo.Network() as net:
        node = nengo.Node(lambda t: values[int(round(t / 0.001)) - 1])
        raw = nengo.Probe(node, synapse=None)
        filtered = nengo.Probe(node, synapse=nengo.Lowpass(0.01))
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run_steps(25)
    presentation = Presentation(n_steps=25, readout="lowpass", readout_tau=0.01)
    np.testing.assert_allclose(presentation.read(sim.data[raw][None]),
                               sim.data[filtered][-1:], rtol=1e-6, atol=1e-9)
    assert Presentation(readout="lowpass").readout_tau == 0.1  # the example's


def test_spiking_needs_lif(mnist_data):
    from nengo_pc.arch import mlp
    from nengo_pc.params import init_params

    arch = mlp((8,))
    with pytest.raises(ValueError, match="presentation"):
        evaluate(arch, init_params(arch), mnist_data.test.subset(10),
                 presentation=Presentation())
    assert make_synapse("none", 0.005) is None


def test_nengo_dl_and_reference_simulator_agree():
    from nengo_pc.data import Split
    from nengo_pc.params import init_params
    from nengo_pc.training import compare_with_reference

    arch = softlif_mlp((8,), n_in=6, n_out=3)
    params = init_params(arch, 0)
    rng = np.random.default_rng(0)
    split = Split(rng.uniform(0, 1, (4, 6)).astype(np.float32), np.array([0, 1, 2, 0]))
    metrics, seconds = compare_with_reference(arch, params, split, Presentation(n_steps=20))
    assert metrics["reference_agreement"] == 1.0
    assert metrics["reference_accuracy"] == metrics["nengo_dl_accuracy_on_reference_subset"]
    assert seconds > 0
