"""Tests of the predictive-coding network of Nengo ensembles (`nengo_pc.networks.pc`).

The network must settle where the vectorised math of `nengo_pc.pc.core` says: with
the output clamped, at the fixed point of `core.relax`; with it free, at the
feedforward pass (`nengo_pc.rates.forward`); and one step of its PES rules must be
the ``"standard"`` update of `nengo_pc.pc.weight_updates`.
"""

import functools
import os
import runpy
from pathlib import Path

import nengo
import numpy as np
import pytest

from nengo_pc.arch import LIFParams, mlp
from nengo_pc.networks.inference import classify, settled_outputs
from nengo_pc.networks.modes import MODES
from nengo_pc.networks.pairs import SlopeGate
from nengo_pc.networks.pc import PredictiveCodingNetwork
from nengo_pc.params import Params, init_params
from nengo_pc.rates import forward

REPO = Path(__file__).resolve().parents[1]

# a 6-5-4-3 network run for SETTLE s (100 tau) settles far below the tolerances
SIZES = (6, 5, 4, 3)
TAU = 0.01
SETTLE = 1.0


def small_problem(activation, seed=1):
    """Architecture, float64 parameters with nonzero biases, one input and target."""
    arch = mlp(SIZES[1:-1], activation=activation, n_in=SIZES[0], n_out=SIZES[-1])
    params = init_params(arch, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed + 10)
    params.biases = [rng.normal(0.0, 0.3, size=b.shape) for b in params.biases]
    return arch, params, rng.normal(size=SIZES[0]), rng.normal(size=SIZES[-1])


# inference steps of core.relax: enough to converge on the problems compared with it
# (tanh seeds 1, 2, 6 and relu seed 1 agree with 3000 steps of size 0.1 to 1e-10
# relative; a larger step keeps eager TensorFlow quick, and the fixed point does not
# depend on it)
N_STEPS, STEP_SIZE = 300, 0.3


@functools.lru_cache(maxsize=None)
def relaxed(activation, seed, output_precision=1.0):
    """Hidden and output values of `small_problem` after `core.relax` (float64).

    Cached: eager TensorFlow takes about a millisecond per inference step.
    """
    import tensorflow as tf

    from nengo_pc.pc import core
    from nengo_pc.pc.activations import get_activation

    _, params, x, y = small_problem(activation, seed)
    values = core.relax(
        [tf.constant(w) for w in params.weights], [tf.constant(b) for b in params.biases],
        tf.constant(x[None]), tf.constant(y[None]), get_activation(activation),
        N_STEPS, STEP_SIZE, output_precision,
    )
    return tuple(v.numpy()[0] for v in values[1:])


def present(net, x, y=None):
    """Connect constant nodes ``x`` (and ``y``) to the network's input (and target)."""
    with net:
        nengo.Connection(nengo.Node(x), net.input, synapse=None)
        if y is not None:
            nengo.Connection(nengo.Node(y), net.target, synapse=None)


def run_network(net, x, y, seconds=SETTLE, simulator=nengo.Simulator):
    """Values x_1..x_L at the last step of a run presenting ``x`` and ``y``."""
    present(net, x, y)
    with simulator(net, progress_bar=False) as sim:
        sim.run(seconds)
    return [np.asarray(sim.data[p])[..., -1, :].reshape(-1) for p in net.value_probes[1:]]


def assert_values_close(values, reference, rtol=1e-3):
    for layer, (v, r) in enumerate(zip(values, reference), start=1):
        # elementwise relative agreement, with an absolute floor for values near 0
        np.testing.assert_allclose(v, r, rtol=rtol, atol=rtol * np.abs(r).max(),
                                   err_msg=f"value layer {layer}")


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_clamped_fixed_point_matches_core_relax(activation):
    arch, params, x, y = small_problem(activation)
    net = PredictiveCodingNetwork(arch, params, tau=TAU, mode="clamped")
    values = run_network(net, x, y)
    reference = relaxed(activation, 1)
    np.testing.assert_allclose(values[-1], y, rtol=1e-12)  # clamped to the target
    # measured agreement in float64: ~1e-13 relative
    assert_values_close(values, reference, rtol=1e-5)


def slope(activation, v):
    if activation == "tanh":
        return 1 - np.tanh(v) ** 2
    if activation == "sigmoid":
        s = 1 / (1 + np.exp(-v))
        return s * (1 - s)
    if activation == "relu":
        return (v > 0).astype(float)
    return np.ones_like(v)


def check_fixed_point_equations(net, sim, params, activation, x, feedback, gamma=1.0):
    """Errors are v_l - mu_l, and -e_l + f'(v_l) (gamma_{l+1} B_{l+1} e_{l+1}) = 0."""
    f = {"tanh": np.tanh, "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
         "relu": lambda v: np.maximum(v, 0), "linear": lambda v: v}[activation]
    n_layers = len(params.weights)
    v = [x] + [sim.data[p][-1] for p in net.value_probes[1:]]
    e = [None] + [sim.data[p][-1] for p in net.error_probes[1:]]
    for l in range(1, n_layers + 1):
        pre = x if l == 1 else f(v[l - 1])
        mu = pre @ params.weights[l - 1] + params.biases[l - 1]
        np.testing.assert_allclose(e[l], v[l] - mu, atol=1e-12)
    for l in range(1, n_layers):
        g = gamma if l + 1 == n_layers else 1.0
        residual = -e[l] + slope(activation, v[l]) * (g * feedback[l + 1] @ e[l + 1])
        assert np.abs(residual).max() < 1e-8 * np.abs(e[l]).max() + 1e-12


@pytest.mark.parametrize("activation", ["sigmoid", "linear"])
def test_clamped_fixed_point_equations(activation):
    arch, params, x, y = small_problem(activation)
    net = PredictiveCodingNetwork(arch, params, tau=TAU, mode="clamped")
    present(net, x, y)
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run(SETTLE)
    np.testing.assert_allclose(sim.data[net.output_probe][-1], y, rtol=1e-12)
    check_fixed_point_equations(net, sim, params, activation, x,
                                [None, None] + list(params.weights[1:]))


def test_clamped_fixed_point_with_output_precision():
    arch, params, x, y = small_problem("tanh", seed=2)
    net = PredictiveCodingNetwork(arch, params, tau=TAU, output_precision=0.3,
                                  mode="clamped")
    values = run_network(net, x, y)
    assert_values_close(values, relaxed("tanh", 2, 0.3), rtol=1e-5)


def test_clamped_fixed_point_in_nengo_dl():
    nengo_dl = pytest.importorskip("nengo_dl")
    arch, params, x, y = small_problem("tanh")
    # a shorter run (400 steps of dt / tau = 0.2) keeps NengoDL's run quick
    net = PredictiveCodingNetwork(arch, params, tau=0.005, mode="clamped")
    values = run_network(net, x, y, seconds=0.4, simulator=nengo_dl.Simulator)
    # float32: measured ~3e-6 relative
    assert_values_close(values, relaxed("tanh", 1), rtol=1e-3)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("mode", ["free", "sweep"])
def test_free_output_settles_to_feedforward(activation, mode):
    arch, params, x, y = small_problem(activation, seed=3)
    net = PredictiveCodingNetwork(arch, params, tau=TAU, mode=mode)
    values = run_network(net, x, y)  # the target is ignored with the output free
    h, reference = x[None], []
    f = np.tanh if activation == "tanh" else (lambda v: np.maximum(v, 0))
    for i, (w, b) in enumerate(zip(params.weights, params.biases)):
        pre = h if i == 0 else f(h)
        h = pre @ w + b
        reference.append(h[0])
    np.testing.assert_allclose(reference[-1], forward(arch, params, x[None])[0])
    assert_values_close(values, reference, rtol=1e-3)


def test_random_feedback():
    arch, params, x, y = small_problem("tanh", seed=4)
    net = PredictiveCodingNetwork(arch, params, tau=TAU, feedback="random",
                                  mode="clamped", seed=5)
    feedback = [None, None] + [net.feedback_matrix(l) for l in (2, 3)]
    for l in (2, 3):
        assert feedback[l].shape == params.weights[l - 1].shape
        assert not np.allclose(feedback[l], params.weights[l - 1])
    present(net, x, y)
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run(SETTLE)
    # the fixed point of the dynamics with B in place of W
    check_fixed_point_equations(net, sim, params, "tanh", x, feedback)
    # and with the output free it still settles to the feedforward pass
    net.mode = "free"
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run(SETTLE)
    np.testing.assert_allclose(sim.data[net.output_probe][-1],
                               forward(arch, params, x[None])[0], rtol=1e-3)


def test_learning_step_is_standard_update():
    from nengo_pc.pc import weight_updates

    arch, params, _, y = small_problem("tanh", seed=6)
    # the first layer learns exactly from nonnegative inputs (see the class docstring)
    x = np.abs(np.random.default_rng(7).normal(size=SIZES[0]))
    lr, output_precision = 1e-3, 0.5  # gamma != 1: hidden updates are divided by it
    net = PredictiveCodingNetwork(arch, params, tau=TAU, mode="clamped",
                                  learning_rate=lr, output_precision=output_precision)
    present(net, x, y)
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run(SETTLE)
        before = net.params_from(sim)
        for w, w0 in zip(before.weights, params.weights):
            np.testing.assert_array_equal(w, w0)  # nothing learned while clamped
        net.mode = "learning"
        sim.run_steps(1)
        net.mode = "clamped"
        sim.run_steps(1)  # PES's change of one step reaches the weights in the next
        after = net.params_from(sim)
    updates = weight_updates(params.weights, params.biases, x[None], y[None], "standard",
                             "tanh", n_steps=N_STEPS, step_size=STEP_SIZE,
                             output_precision=output_precision)
    for l, (dw, db) in enumerate(updates):
        got_w = (after.weights[l] - before.weights[l]) / (lr * sim.dt)
        got_b = (after.biases[l] - before.biases[l]) / (lr * sim.dt)
        # measured ~1e-8 relative
        np.testing.assert_allclose(got_w, dw, rtol=1e-5, atol=1e-5 * np.abs(dw).max())
        np.testing.assert_allclose(got_b, db, rtol=1e-5, atol=1e-5 * np.abs(db).max())


def test_spiking_pairs_approximate_fixed_point():
    arch, params, x, y = small_problem("tanh")
    net = PredictiveCodingNetwork(
        arch, params, tau=0.05, mode="clamped", synapse=nengo.Lowpass(0.005),
        pair_neuron_type=nengo.SpikingRectifiedLinear(amplitude=0.001))
    present(net, x, y)
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run(1.0)
    reference = relaxed("tanh", 1)
    for p, r in zip(net.value_probes[1:], reference):
        # 1000 Hz per unit: measured 0.3-0.8 % (rate mode is exact)
        value = sim.data[p][-400:].mean(axis=0)
        assert np.linalg.norm(value - r) < 0.03 * np.linalg.norm(r)


def test_structure_and_labels():
    arch, params, _, _ = small_problem("relu")
    net = PredictiveCodingNetwork(arch, params, learning_rate=1.0, label="pc")
    L = arch.n_layers
    assert [v.label for v in net.values] == [f"value {l}" for l in range(L + 1)]
    assert net.errors[0] is None
    assert [e.label for e in net.errors[1:]] == [f"error {l}" for l in range(1, L + 1)]
    assert [a.label for a in net.activities[1:L]] == ["activity 1", "activity 2"]
    assert net.activities[0] is None and net.activities[L] is None
    assert [g.label for g in net.slope_gates[1:L]] == ["slope gate 1", "slope gate 2"]
    assert [t.label for t in net.top_down[1:L]] == ["feedback 1", "feedback 2"]
    for l in range(1, L + 1):
        n = arch.sizes[l]
        assert net.values[l].n_neurons == 2 * n and net.errors[l].n_neurons == 2 * n
        assert net.learning_gates[l].label == f"learning gate {l}"
        assert isinstance(net.prediction_connections[l].learning_rule_type, nengo.PES)
    assert net.output_probe is net.value_probes[L]
    # transposed forward weights in the feedback: the prediction transform of layer
    # l is -[W^T; -W^T], the feedback transform [W D; -W D] with D = [I, -I]
    for l in range(2, L + 1):
        w = params.weights[l - 1]
        pred = net.prediction_connections[l].transform.init
        np.testing.assert_array_equal(pred[:arch.sizes[l]], -w.T)
        back = net.feedback_connections[l].transform.init
        n_pre = arch.sizes[l - 1]
        np.testing.assert_array_equal(back[:n_pre, :arch.sizes[l]], w)
        np.testing.assert_array_equal(back[:n_pre, arch.sizes[l]:], -w)
    assert set(MODES) == {"free", "sweep", "clamped", "learning"}
    assert PredictiveCodingNetwork(arch, params).mode == "sweep"  # the default


def test_params_from_round_trip_and_mode():
    arch, params, x, y = small_problem("sigmoid")
    net = PredictiveCodingNetwork(arch, params, mode="free")
    assert net.mode == "free"
    with nengo.Simulator(net, progress_bar=False) as sim:
        read = net.params_from(sim)
    for a, b in zip(read.weights + read.biases, params.weights + params.biases):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="mode"):
        net.mode = "testing"
    with pytest.raises(ValueError, match="mode: 'learning' needs"):
        net.mode = "learning"
    net.mode = lambda t: "sweep" if t < 0.1 else "bogus"
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run(0.05)
        with pytest.raises(ValueError, match="mode"):
            sim.run(0.1)


def test_slope_gate_process():
    with nengo.Network() as model:
        node = nengo.Node(SlopeGate("tanh", 3), size_in=6)
        nengo.Connection(nengo.Node([0.5, -1.0, 2.0, 1.0, 2.0, -3.0]), node, synapse=None)
        probe = nengo.Probe(node, synapse=None)
    with nengo.Simulator(model, progress_bar=False) as sim:
        sim.run_steps(2)
    x, c = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, -3.0])
    np.testing.assert_allclose(sim.data[probe][-1], (1 - np.tanh(x) ** 2) * c)
    step = SlopeGate("relu", 2).make_step((4,), (2,), 0.001, None, {})
    np.testing.assert_array_equal(step(0.0, np.array([1.0, -1.0, 3.0, 3.0])), [3.0, 0.0])


@pytest.mark.parametrize("kwargs, name", [
    ({"arch": "6-5-3"}, "arch"),
    ({"arch": mlp((5,), "lif", n_in=6, n_out=3, lif=LIFParams(tau_rc=0.05))}, "arch"),
    ({"params": Params([np.zeros((6, 5))], [np.zeros(5)])}, "params"),
    ({"params": "weights.npz"}, "params"),
    ({"tau": 0}, "tau"),
    ({"tau": float("nan")}, "tau"),
    ({"output_precision": -1.0}, "output_precision"),
    ({"feedback": "transposed"}, "feedback"),
    ({"mode": "clamp"}, "mode"),
    ({"spiking": "yes"}, "spiking"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"synapse": 0.005}, "synapse"),
    ({"pair_neuron_type": nengo.LIF()}, "pair_neuron_type"),
    ({"inhibition": 0}, "inhibition"),
])
def test_bad_arguments_raise_value_error_naming_them(kwargs, name):
    arch = mlp((5,), "tanh", n_in=6, n_out=3)
    options = {"arch": arch, **kwargs}
    # nengo's ValidationError (a ValueError) names the class and the argument
    with pytest.raises(ValueError, match=rf"^(PredictiveCodingNetwork\.)?{name}:"):
        PredictiveCodingNetwork(**options)


@pytest.mark.parametrize("kwargs, name", [
    ({"images": np.zeros((4, 5))}, "images"),
    ({"settle_time": 0.0}, "settle_time"),
    ({"sweep_time": 0.5}, "sweep_time"),
    ({"batch_size": 0}, "batch_size"),
])
def test_settled_outputs_bad_arguments(kwargs, name):
    pytest.importorskip("nengo_dl")
    arch = mlp((5,), "tanh", n_in=6, n_out=3)
    options = {"images": np.zeros((4, 6)), **kwargs}
    with pytest.raises(ValueError, match=f"^{name}:"):
        settled_outputs(arch, init_params(arch), **options)


def test_settled_outputs_small_network():
    pytest.importorskip("nengo_dl")
    arch = mlp((8, 8), "tanh", n_in=10, n_out=4)
    params = init_params(arch, seed=3)
    images = np.random.default_rng(0).uniform(size=(7, 10)).astype(np.float32)
    out = settled_outputs(arch, params, images, batch_size=4)  # padded last batch
    np.testing.assert_allclose(out, forward(arch, params, images), rtol=1e-3, atol=1e-4)


@pytest.fixture(scope="module")
def trained_mnist(mnist_data):
    """A quickly trained 784-64-64-10 ReLU MLP (Keras backprop, 10,000 images)."""
    from nengo_pc.training import TrainConfig, train

    arch = mlp((64, 64))
    result = train(arch, mnist_data.train.subset(10000),
                   TrainConfig(epochs=1, batch_size=100), backend="keras",
                   progress=False)
    return arch, result.params


def test_mnist_pc_network_agrees_with_feedforward(trained_mnist, mnist_data):
    arch, params = trained_mnist
    test = mnist_data.test.subset(200)
    labels = classify(arch, params, test.images, batch_size=100)
    reference = forward(arch, params, test.images).argmax(1)
    np.testing.assert_array_equal(labels, reference)
    assert np.mean(reference == test.labels) > 0.85  # it did learn


def test_gui_script_imports_quickly_without_params_or_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NENGO_PC_PARAMS", str(tmp_path / "none.npz"))
    monkeypatch.setenv("NENGO_PC_DATA", str(tmp_path / "no-data"))
    module = runpy.run_path(str(REPO / "networks" / "mnist_pc.py"), run_name="gui")
    err = capsys.readouterr().err
    assert "untrained" in err and "blank images" in err
    model = module["model"]
    assert isinstance(model, nengo.Network) and "main" not in module
    labels = {e.label for e in model.all_ensembles}
    assert {"value 0", "value 3", "error 1", "error 3"} <= labels
    assert model.p_output.target is model.pc.output


def test_gui_script_classifies_with_trained_params(trained_mnist, mnist_data, tmp_path,
                                                   monkeypatch):
    # the script's model, run in the reference simulator, gives the feedforward
    # answers for its first test images
    from nengo_pc.params import save_params

    arch, params = trained_mnist
    save_params(tmp_path / "params.npz", arch, params)
    monkeypatch.setenv("NENGO_PC_PARAMS", str(tmp_path / "params.npz"))
    model = runpy.run_path(str(REPO / "networks" / "mnist_pc.py"), run_name="gui")["model"]
    with nengo.Simulator(model, progress_bar=False) as sim:
        sim.run(0.6)  # three images of 0.2 s
    ends = sim.data[model.p_output][[199, 399, 599]]
    np.testing.assert_allclose(ends, forward(arch, params, mnist_data.test.images[:3]),
                               rtol=1e-3, atol=1e-3)


def test_probe_values_false_builds_no_probes_and_the_same_network():
    # the rest of the network (seeds included) is the same; only the probes go
    import nengo

    arch = mlp((6,), n_in=4, n_out=2)
    with_probes = PredictiveCodingNetwork(arch, seed=3)
    without = PredictiveCodingNetwork(arch, seed=3, probe_values=False)
    assert without.probes == [] and without.output_probe is None
    assert without.value_probes == without.error_probes == [None] * (arch.n_layers + 1)
    assert len(with_probes.probes) == 2 * arch.n_layers
    x = np.linspace(0, 1, 4)
    outputs = []
    for net in (with_probes, without):
        with net:
            nengo.Connection(nengo.Node(x), net.input, synapse=None)
            probe = nengo.Probe(net.output, synapse=None)
        with nengo.Simulator(net, progress_bar=False) as sim:
            sim.run_steps(50)
        outputs.append(sim.data[probe])
    np.testing.assert_array_equal(outputs[0], outputs[1])
