"""Tests of spiking predictive coding: the ``"lif"`` nonlinearity of the PC path, the
spiking mode of `PredictiveCodingNetwork` and `nengo_pc.networks.spiking`.

Spiking runs are compared with the rate network's fixed point with the output free,
the feedforward pass through the exact LIF curve (`nengo_pc.networks.inference.fixed_point`),
on a 6-8-8-3 network whose hidden currents sit well above the LIF threshold.
"""

import warnings

import nengo
import numpy as np
import pytest

from nengo_pc.arch import LIFParams, mlp
from nengo_pc.networks.inference import fixed_point
from nengo_pc.networks.pairs import SlopeGate, soft_lif_slope
from nengo_pc.networks.pc import PredictiveCodingNetwork
from nengo_pc.networks.spiking import fan_out
from nengo_pc.neurons import soft_lif_rate
from nengo_pc.params import init_params

SIZES = (6, 8, 8, 3)


def small_lif_problem(seed=0, n_images=4):
    """A 6-8-8-3 LIF network with hidden currents around 2 and images in [0, 1]."""
    arch = mlp(SIZES[1:-1], activation="lif", n_in=SIZES[0], n_out=SIZES[-1])
    params = init_params(arch, seed=seed, dtype=np.float64)
    rng = np.random.default_rng(seed)
    params.weights = [0.5 * w for w in params.weights]
    params.biases = [np.full(b.shape, 2.0) if i < arch.n_layers - 1 else b
                     for i, b in enumerate(params.biases)]
    return arch, params, rng.uniform(size=(n_images, SIZES[0]))


# ---------------------------------------------------------------------------------
# the "lif" nonlinearity


def _soft_lif_longdouble(v):
    """amplitude * soft-LIF rate of the default LIFParams in extended precision."""
    lif = LIFParams()
    v = np.asarray(v, np.longdouble)
    g = np.longdouble(lif.smoothing)
    y = (v - 1) / g
    sp = np.where(y > 30, y + np.log1p(np.exp(-y)), np.log1p(np.exp(np.minimum(y, 30))))
    q = np.log1p(1 / (g * sp))
    return np.longdouble(lif.amplitude) / (np.longdouble(lif.tau_ref)
                                           + np.longdouble(lif.tau_rc) * q)


def test_lif_activation_f_and_slope():
    import tensorflow as tf

    from nengo_pc.pc import ACTIVATIONS
    from nengo_pc.pc.activations import get_activation

    assert "lif" in ACTIVATIONS
    act = get_activation("lif")
    v = np.concatenate([np.linspace(-50, 0.9, 60), np.linspace(0.9, 1.1, 201),
                        np.linspace(1.1, 40, 60)])
    lif = LIFParams()
    np.testing.assert_allclose(
        act.f(tf.constant(v)).numpy(),
        lif.amplitude * soft_lif_rate(v, gamma=lif.smoothing, tau_rc=lif.tau_rc,
                                      tau_ref=lif.tau_ref), rtol=1e-13)
    # f' against central differences of the extended-precision curve
    h = 1e-6
    fd = (_soft_lif_longdouble(v + h) - _soft_lif_longdouble(v - h)) / (2 * h)
    slope = act.df(tf.constant(v)).numpy()
    np.testing.assert_allclose(slope, np.float64(fd), rtol=1e-6, atol=1e-15)
    np.testing.assert_allclose(soft_lif_slope(v), slope, rtol=1e-12, atol=1e-300)
    # finite everywhere, also in float32 and far from threshold
    extreme = tf.constant([-1e6, -100.0, 1.0, 100.0, 1e6], tf.float32)
    for fn in (act.f, act.df):
        assert np.all(np.isfinite(fn(extreme).numpy()))
    # the SlopeGate process of the network uses the same slope
    step = SlopeGate("lif", 3).make_step((6,), (3,), 0.001, None, {})
    x, c = np.array([0.5, 1.02, 3.0]), np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(step(0.0, np.r_[x, c]), act.df(tf.constant(x)).numpy() * c,
                               rtol=1e-12)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 2e-5)])
def test_lif_change_is_accurate(dtype, rtol):
    import tensorflow as tf

    from nengo_pc.pc.activations import get_activation

    change = get_activation("lif").change
    a, d = np.meshgrid(np.linspace(-5, 8, 131),
                       np.r_[-np.logspace(-7, 0.5, 16), np.logspace(-7, 0.5, 16)])
    a, d = a.astype(dtype), d.astype(dtype)
    got = change(tf.constant(a), tf.constant(d)).numpy()
    reference = _soft_lif_longdouble(a.astype(np.longdouble) + d.astype(np.longdouble)) \
        - _soft_lif_longdouble(a.astype(np.longdouble))
    assert np.all(np.isfinite(got))
    keep = np.abs(reference) > 1e-30
    error = np.abs(got - reference)[keep] / np.abs(reference)[keep]
    # measured: 2e-11 (float64), 6e-6 (float32); f(a + d) - f(a) computed directly
    # loses everything for d = 1e-7 in float32
    assert error.max() < rtol


def test_non_default_lif_params_are_refused():
    arch = mlp((5,), "lif", n_in=6, n_out=3, lif=LIFParams(amplitude=0.02))
    with pytest.raises(ValueError, match="^arch: .*default LIFParams"):
        PredictiveCodingNetwork(arch)


# ---------------------------------------------------------------------------------
# spiking mode of the network (reference simulator)


def run_reference(net, x, seconds):
    with net:
        nengo.Connection(nengo.Node(x), net.input, synapse=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with nengo.Simulator(net, progress_bar=False) as sim:
            sim.run(seconds)
    return sim


def test_spiking_mode_structure():
    arch, params, _ = small_lif_problem()
    rate = PredictiveCodingNetwork(arch, params)
    spiking = PredictiveCodingNetwork(arch, params, spiking=True)
    assert isinstance(rate.activities[1].neuron_type, nengo.LIFRate)
    assert not isinstance(rate.activities[1].neuron_type, nengo.LIF)
    assert isinstance(spiking.activities[1].neuron_type, nengo.LIF)
    for net, pair_type in ((rate, nengo.RectifiedLinear),
                           (spiking, nengo.SpikingRectifiedLinear)):
        for ens in net.values + net.errors[1:] + net.top_down[1:-1]:
            assert type(ens.neuron_type) is pair_type
    assert spiking.synapse is not None and rate.synapse is None
    # fan-out: an activity spike reaches both halves of the next error pairs
    counts = fan_out(spiking)
    np.testing.assert_array_equal(counts["activity 1"], 2 * SIZES[2])
    # a value neuron: its own integrator (2), the error (2), activity (1), gate (1)
    np.testing.assert_array_equal(counts["value 1"], 6)


@pytest.mark.parametrize("input_coding", ["constant", "poisson"])
def test_spiking_agrees_with_rate(input_coding):
    arch, params, images = small_lif_problem()
    x = images[0]
    reference = [h[0] for h in fixed_point(arch, params, x[None])]
    rate = PredictiveCodingNetwork(arch, params, input_coding="constant", mode="free")
    sim = run_reference(rate, x, 0.3)
    for p, h in zip(rate.value_probes[1:], reference):
        # rate mode (exact LIF curve) settles on the fixed point
        np.testing.assert_allclose(sim.data[p][-1], h, rtol=1e-6, atol=1e-8)

    net = PredictiveCodingNetwork(arch, params, spiking=True, input_coding=input_coding,
                                  seed=1, mode="sweep")  # as spiking_inference
    sim = run_reference(net, x, 0.5)
    for l, (p, h) in enumerate(zip(net.value_probes[1:], reference), start=1):
        value = sim.data[p][-200:].mean(axis=0)  # mean over the last 200 ms
        distance = np.linalg.norm(value - h) / np.linalg.norm(h)
        # measured (problem seeds 0-2): constant 0.02-0.09 % for the hidden layers,
        # 0.3-0.5 % for the small output (|x_3| ~ 0.3); Poisson 0.2-3.6 % (layer 1
        # carries the Poisson noise of the input) and 0.5-0.9 %
        tolerance = {"constant": (0.005, 0.02), "poisson": (0.06, 0.03)}[input_coding]
        assert distance < tolerance[l == arch.n_layers], (l, distance)


# ---------------------------------------------------------------------------------
# spiking inference in NengoDL


def test_spiking_inference_in_nengo_dl():
    pytest.importorskip("nengo_dl")
    from nengo_pc.networks.spiking import accuracy_over_time, spiking_inference
    from nengo_pc.rates import forward

    arch, params, images = small_lif_problem(n_images=3)
    result = spiking_inference(arch, params, images, duration=0.2, batch_size=2,
                               record_states=True)  # with a padded batch
    n_steps = 200
    assert result["outputs"].shape == (3, n_steps, SIZES[-1])
    np.testing.assert_allclose(result["times"][-1], 0.2)
    reference = forward(arch, params, images)
    end = result["outputs"][:, -100:].mean(axis=1)
    # measured ~1 % relative
    assert np.linalg.norm(end - reference) < 0.05 * np.linalg.norm(reference)
    labels = reference.argmax(axis=1)
    assert accuracy_over_time(result["outputs"], labels).shape == (n_steps,)
    # the values approach the fixed point: far at the start, close at the end
    # (instantaneous states; measured 0.014, 0.039, 0.22 -- the output is small)
    distance = result["value_distance"]
    assert distance.shape == (arch.n_layers, n_steps)
    assert np.all(distance[:, 5] > 0.5)
    assert np.all(distance[:, -1] < [0.05, 0.12, 0.6])
    # errors are the noisiest: instantaneous differences of two filtered spike trains
    # (measured 0.012, 0.19, 1.3 relative to |h_l|: the output error is noise on a
    # small output)
    assert np.all(result["error_norm"][:2, -1] < [0.05, 0.4])
    assert np.all(np.isfinite(result["error_norm"]))
    spikes = result["spikes"]
    assert spikes["teacher"].sum() == 0  # the output is free: the teacher is silenced
    assert spikes["activity 1"].sum() > 0 and spikes["error 1"].sum() > 0
    for label, counts in result["synops"].items():
        np.testing.assert_allclose(counts.sum(), spikes[label].sum()
                                   * result["fan_out"][label], rtol=1e-4)


# ---------------------------------------------------------------------------------
# bad arguments


@pytest.mark.parametrize("kwargs, name", [
    ({"spiking": "yes"}, "spiking"),
    ({"spiking": True, "arch": mlp((5,), "tanh", n_in=6, n_out=3)}, "spiking"),
    ({"spiking": True, "pair_neuron_type": nengo.RectifiedLinear()}, "pair_neuron_type"),
    ({"input_coding": "rate"}, "input_coding"),
    ({"synapse": "lowpass"}, "synapse"),
])
def test_network_bad_arguments(kwargs, name):
    options = {"arch": mlp((5,), "lif", n_in=6, n_out=3), **kwargs}
    with pytest.raises(ValueError, match=rf"^(PredictiveCodingNetwork\.)?{name}:"):
        PredictiveCodingNetwork(**options)


@pytest.mark.parametrize("kwargs, name", [
    ({"images": np.zeros((4, 5))}, "images"),
    ({"images": np.full((2, 6), np.nan)}, "images"),
    ({"duration": 0.0}, "duration"),
    ({"sweep_time": 0.5}, "sweep_time"),
    ({"dt": -0.001}, "dt"),
    ({"synapse": "exp"}, "synapse"),
    ({"pair_amplitude": 0}, "pair_amplitude"),
    ({"input_coding": "rate"}, "input_coding"),
    ({"batch_size": 0}, "batch_size"),
])
def test_spiking_inference_bad_arguments(kwargs, name):
    pytest.importorskip("nengo_dl")
    from nengo_pc.networks.spiking import spiking_inference

    arch = mlp((5,), "lif", n_in=6, n_out=3)
    options = {"images": np.zeros((4, 6)), "duration": 0.1, **kwargs}
    with pytest.raises(ValueError, match=f"^{name}:"):
        spiking_inference(arch, init_params(arch), **options)


# ---------------------------------------------------------------------------------
# the nengo-gui script


def test_gui_script_and_layout(tmp_path, capsys, monkeypatch):
    import re
    import runpy
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    monkeypatch.setenv("NENGO_PC_PARAMS", str(tmp_path / "none.npz"))
    monkeypatch.setenv("NENGO_PC_DATA", str(tmp_path / "no-data"))
    script = repo / "networks" / "mnist_pc_spiking.py"
    module = runpy.run_path(str(script), run_name="gui")
    err = capsys.readouterr().err
    assert "untrained" in err and "blank images" in err
    model = module["model"]
    assert model.pc.spiking and isinstance(model.value_1.neuron_type,
                                           nengo.SpikingRectifiedLinear)
    assert isinstance(model.activity_1.neuron_type, nengo.LIF)
    assert model.error_3.label == "error 3"
    # every object the layout names exists in the model
    layout = (repo / "networks" / "mnist_pc_spiking.py.cfg").read_text()
    names = set(re.findall(r"nengo_gui\.components\.\w+\((model[\w.\[\]]*)\)", layout))
    assert {"model.value_1", "model.error_1", "model.image", "model.output_values"} <= names
    for name in names:
        assert eval(name, {"model": model}) is not None  # noqa: S307 -- our own file
    assert "main" not in module  # training is the nengo-pc command's
