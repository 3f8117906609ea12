"""Spiking PC inference in TensorFlow computes what NengoDL computes for the same network."""

import numpy as np
import pytest

from nengo_pc.arch import mlp
from nengo_pc.params import init_params

pytest.importorskip("nengo_dl")


def _problem(activation, seed=0):
    """A 6-8-8-3 network whose every population spikes within 100 ms."""
    arch = mlp((8, 8), activation=activation, n_in=6, n_out=3)
    params = init_params(arch, seed=seed, dtype=np.float64)
    params.weights = [0.5 * w for w in params.weights]
    hidden_bias = 2.0 if activation == "lif" else 0.3  # LIF threshold is 1
    params.biases = [np.full(b.shape, hidden_bias) if i < arch.n_layers - 1 else b
                     for i, b in enumerate(params.biases)]
    images = np.random.default_rng(seed).uniform(size=(5, 6))
    return arch, params, images


def _run(backend, activation, synapse="lowpass", seed=2, **kwargs):
    from nengo_pc.networks.spiking import spiking_inference

    arch, params, images = _problem(activation)
    options = {"duration": 0.1, "pair_amplitude": 5e-4, "synapse": synapse, "seed": seed,
               "record_states": True, **kwargs}
    if backend == "tensorflow":
        options["chunk"] = 3  # a partial last chunk
    return spiking_inference(arch, params, images, backend=backend, batch_size=5,
                             **options)


@pytest.mark.parametrize("activation, synapse", [
    ("lif", "lowpass"), ("relu", "lowpass"), ("linear", "lowpass"), ("lif", "none"),
    ("lif", "alpha"), ("relu", "alpha")])
def test_matches_nengo_dl(activation, synapse):
    expected = _run("nengo_dl", activation, synapse)
    got = _run("tensorflow", activation, synapse)
    out = expected["outputs"]
    assert out.shape == (5, 100, 3)
    assert np.abs(out).max() > 0.1  # the output moved
    np.testing.assert_allclose(got["outputs"], out, rtol=0,
                               atol=1e-6 * np.abs(out).max())
    spiking = 0
    for label, spikes in expected["spikes"].items():
        # NengoDL counts through float32 transforms (dt / amplitude per spike)
        np.testing.assert_allclose(got["spikes"][label], spikes, rtol=1e-5, atol=1e-5,
                                   err_msg=label)
        np.testing.assert_allclose(got["synops"][label], expected["synops"][label],
                                   rtol=1e-5, atol=1e-5, err_msg=label)
        spiking += spikes.sum() > 0
    # every population but the inhibited "feedback 1", "feedback 2" and "teacher"
    assert spiking == len(expected["spikes"]) - 3
    for key in ("value_distance", "error_norm"):
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, atol=1e-7)
    assert got["backend"] == "tensorflow" and expected["backend"] == "nengo_dl"


def test_seed_sets_initial_state():
    a = _run("tensorflow", "lif", seed=2, record_states=False)["outputs"]
    b = _run("tensorflow", "lif", seed=3, record_states=False)["outputs"]
    assert not np.allclose(a, b)


@pytest.mark.parametrize("kwargs, name", [
    ({"backend": "tensorflow", "sweep_time": 0.05}, "sweep_time"),
    ({"backend": "tensorflow", "input_coding": "poisson"}, "input_coding"),
    ({"backend": "tensorflow", "chunk": 0}, "chunk"),
    ({"backend": "nengo_dl", "chunk": 10}, "chunk"),
    ({"backend": "keras"}, "backend"),
])
def test_bad_arguments_name_the_parameter(kwargs, name):
    from nengo_pc.networks.spiking import spiking_inference

    arch, params, images = _problem("lif")
    with pytest.raises(ValueError, match=f"^{name}:"):
        spiking_inference(arch, params, images, duration=0.1, **kwargs)


def test_runner_refuses_networks_it_does_not_run():
    """`SweepInference` itself checks the network: spiking, no learning, mode sweep."""
    import nengo

    from nengo_pc.networks.pc import PredictiveCodingNetwork
    from nengo_pc.networks.spiking_pc_tf import SweepInference

    arch, params, _ = _problem("lif")
    for options, message in [({"mode": "free"}, "mode 'sweep' only"),
                             ({"spiking": False}, "spiking networks")]:
        options = {"spiking": True, "mode": "sweep", **options}
        if options["spiking"]:
            options["pair_neuron_type"] = nengo.SpikingRectifiedLinear(amplitude=5e-4)
        net = PredictiveCodingNetwork(arch, params, seed=0, **options)
        with pytest.raises(ValueError, match=f"^net: .*{message}"):
            SweepInference(net, params, 10, 0.001, {}, [])


@pytest.mark.parametrize("options, backend", [
    ({}, "tensorflow"), ({"sweep_time": 0.1}, "tensorflow"),
    ({"sweep_time": 0.05}, "nengo_dl"), ({"input_coding": "poisson"}, "nengo_dl")])
def test_default_backend_is_tensorflow_where_it_runs_the_network(options, backend):
    from nengo_pc.networks.spiking import spiking_inference

    arch, params, images = _problem("lif")
    run = spiking_inference(arch, params, images[:2], duration=0.1, batch_size=2,
                            **options)
    assert run["backend"] == backend
