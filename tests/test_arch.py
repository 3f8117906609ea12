"""Architecture descriptions, Kaiming initialisation and parameter files."""

import numpy as np
import pytest

from nengo_pc.arch import Architecture, mlp
from nengo_pc.params import Params, init_params, load_params, save_params


def test_mlp_default():
    arch = mlp()
    assert arch.sizes == (784, 500, 500, 10)
    assert arch.activation == "relu"
    assert arch.layer_shapes == [(784, 500), (500, 500), (500, 10)]
    assert arch.n_params == 784 * 500 + 500 + 500 * 500 + 500 + 500 * 10 + 10
    assert Architecture.from_dict(arch.to_dict()) == arch


def test_kaiming_init_statistics():
    arch = mlp((500, 300))
    params = init_params(arch, seed=1)
    for (n_in, n_out), w, b in zip(arch.layer_shapes, params.weights, params.biases):
        assert w.shape == (n_in, n_out) and w.dtype == np.float32
        assert np.all(b == 0)
        # the std estimate from n_in * n_out samples is within a few standard errors
        n = w.size
        expected = np.sqrt(2.0 / n_in)
        assert abs(w.mean()) < 4 * expected / np.sqrt(n)
        assert abs(w.std() / expected - 1) < 4 / np.sqrt(2 * n)
        # normal, not uniform or truncated: ~4.55% of draws lie beyond 2 sigma
        p = 0.0455
        beyond = np.mean(np.abs(w) > 2 * expected)
        assert abs(beyond - p) < 4 * np.sqrt(p * (1 - p) / n)


def test_init_is_reproducible():
    arch = mlp((20,))
    a, b, c = init_params(arch, 3), init_params(arch, 3), init_params(arch, 4)
    assert all(np.array_equal(x, y) for x, y in zip(a.weights, b.weights))
    assert not np.array_equal(a.weights[0], c.weights[0])
    assert init_params(arch, 0, dtype=np.float64).weights[0].dtype == np.float64


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sizes": (784,)}, "sizes"),
        ({"sizes": (784, 0, 10)}, "sizes"),
        ({"sizes": (784, 2.5, 10)}, "sizes"),
        ({"sizes": (784, 10), "activation": "softmax"}, "activation"),
        ({"sizes": (784, 10), "init": "zeros"}, "init"),
    ],
)
def test_bad_architecture(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Architecture(**kwargs)


def test_params_roundtrip(tmp_path):
    arch = mlp((7, 5), activation="tanh", n_in=6, n_out=3)
    params = init_params(arch, seed=2)
    path = tmp_path / "sub" / "p.npz"
    save_params(path, arch, params, epoch=3)
    arch2, params2, meta = load_params(path)
    assert arch2 == arch and meta == {"epoch": 3}
    for x, y in zip(params.weights + params.biases, params2.weights + params2.biases):
        np.testing.assert_array_equal(x, y)
    assert [p.name for p in path.parent.iterdir()] == ["p.npz"]  # no temp files left


def test_params_check():
    arch = mlp((4,), n_in=3, n_out=2)
    params = init_params(arch)
    with pytest.raises(ValueError, match="layer 1 expects weights"):
        Params(params.weights[:1] + [np.zeros((3, 2))], params.biases).check(arch)
    bad = [w.copy() for w in params.weights]
    bad[0][0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        Params(bad, params.biases).check(arch)
    with pytest.raises(ValueError, match="expected 2 weight"):
        Params(params.weights[:1], params.biases[:1]).check(arch)


def test_one_list_of_each_choice():
    # activations, feedback kinds, input codings and synapses are defined once, in
    # nengo_pc.arch, and the networks read them from there
    from nengo_pc import arch
    from nengo_pc.networks import feedforward, pc
    from nengo_pc.networks.presentation import Presentation

    assert set(arch.SPIKING_ACTIVATIONS) <= set(arch.ACTIVATIONS)
    net = pc.PredictiveCodingNetwork
    assert set(net.feedback.values) == set(arch.FEEDBACK)
    assert set(net.input_coding.values) == set(arch.INPUT_CODINGS)
    assert set(feedforward.FeedforwardNetwork.input_coding.values) == set(arch.INPUT_CODINGS)
    assert net.__init__.__kwdefaults__["tau"] == arch.VALUE_TAU
    for kind in arch.SYNAPSES:
        Presentation(synapse=kind)
    with pytest.raises(ValueError, match="^synapse:"):
        feedforward.make_synapse("exponential", 0.005)
