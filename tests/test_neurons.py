"""Tests for nengo_pc.neurons: LIF and soft-LIF rates and their Nengo counterparts."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

import nengo

from nengo_pc.neurons import (
    DEFAULT_TAU_REF,
    lif_rate,
    lif_rate_tf,
    nengo_dl_soft_lif,
    rates_from_spikes,
    simulated_lif_rates,
    soft_lif_rate,
    soft_lif_rate_tf,
)

# Parameter sets covering the defaults, the thesis' tau_ref, and a threshold,
# amplitude and time constants that differ from Nengo's fixed values.
PARAMS = [
    {},
    {"tau_ref": 0.004},
    {"tau_rc": 0.05, "tau_ref": 0.001, "v_th": 0.5, "amplitude": 0.01},
    {"tau_ref": 0.0, "v_th": 2.0},
]
EXTREMES = np.array([-1e308, -1e6, -1.0, 0.0, 1.0, 1.0 + 1e-15, 1.5, 1e6, 1e308])


@pytest.fixture(scope="module")
def tf():
    """TensorFlow, imported only by the tests that need it."""
    return pytest.importorskip("tensorflow")


def dense_currents(v_th=1.0):
    """Dense grid over [-2, 12] with extra points within 1e-2 of the threshold.

    The coarse grid skips the fine region, so no two points are a rounding
    error apart (there the comparison would test rounding, not monotonicity).
    """
    coarse = np.linspace(-2, 12, 140001)
    coarse = coarse[np.abs(coarse - v_th) > 1.01e-2]
    return np.sort(np.concatenate([coarse, v_th + np.linspace(-1e-2, 1e-2, 20001)]))


@pytest.mark.parametrize("params", PARAMS)
def test_lif_rate_closed_form(params):
    tau_rc = params.get("tau_rc", 0.02)
    tau_ref = params.get("tau_ref", DEFAULT_TAU_REF)
    v_th = params.get("v_th", 1.0)
    amp = params.get("amplitude", 1.0)
    j = np.linspace(v_th + 0.01, 10 * v_th, 50)
    expected = amp / (tau_ref - tau_rc * np.log(1 - v_th / j))
    np.testing.assert_allclose(lif_rate(j, **params), expected, rtol=1e-12)
    assert np.all(lif_rate(np.linspace(-5, v_th, 50), **params) == 0)


@pytest.mark.parametrize("tau_rc, tau_ref, amp", [(0.02, 0.002, 1), (0.03, 0.004, 0.1)])
def test_lif_rate_matches_nengo_lifrate(tau_rc, tau_ref, amp):
    """Same values as nengo.LIFRate, which computes J = gain * x + bias."""
    neuron = nengo.LIFRate(tau_rc=tau_rc, tau_ref=tau_ref, amplitude=amp)
    j = np.linspace(-3, 20, 2301)
    ours = lif_rate(j, tau_rc=tau_rc, tau_ref=tau_ref, amplitude=amp)

    # rates() with gain=1, bias=0 gives J = x
    rates = neuron.rates(j, gain=np.ones(1), bias=np.zeros(1))[:, 0]
    np.testing.assert_allclose(ours, rates, rtol=1e-13, atol=0)

    out = np.zeros_like(j)
    neuron.step(dt=0.001, J=j, output=out)
    np.testing.assert_allclose(ours, out, rtol=1e-13, atol=0)


@pytest.mark.filterwarnings("error")
def test_lif_rate_extremes():
    r = lif_rate(EXTREMES)
    assert np.all(np.isfinite(r))
    assert np.all(r[EXTREMES <= 1] == 0)
    assert np.all(r[EXTREMES > 1] > 0)
    assert r[-1] == pytest.approx(1 / DEFAULT_TAU_REF)
    # one ulp above threshold: rate close to the limit 0
    assert 0 < lif_rate(np.nextafter(1.0, 2.0)) < 2.0
    assert np.isnan(lif_rate(np.nan))
    assert np.ndim(lif_rate(2.0)) == 0


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("gamma", [1e-3, 0.02, 1.0])
def test_soft_lif_extremes(gamma):
    r = soft_lif_rate(EXTREMES, gamma=gamma)
    assert np.all(np.isfinite(r))
    assert np.all(r >= 0)
    assert np.all(r[1:-1] > 0)  # only +-1e308 may round to the limits 0 / 1/tau_ref
    assert r[1] < 1e-4  # j = -1e6: essentially silent
    assert r[-2] == pytest.approx(lif_rate(1e6), rel=1e-6)
    assert soft_lif_rate(np.inf, gamma=gamma) == pytest.approx(1 / DEFAULT_TAU_REF)
    assert soft_lif_rate(-np.inf, gamma=gamma) == 0
    assert np.isnan(soft_lif_rate(np.nan, gamma=gamma))


@pytest.mark.parametrize("gamma", [1e-3, 0.02, 1.0])
@pytest.mark.parametrize("params", PARAMS)
def test_soft_lif_monotonic(gamma, params):
    v_th = params.get("v_th", 1.0)
    r = soft_lif_rate(dense_currents(v_th), gamma=gamma, **params)
    assert np.all(np.diff(r) >= 0)


def test_soft_lif_converges_to_lif():
    """r_rho -> r as gamma -> 0, with the largest gap exactly at the threshold.

    At j = v_th the LIF rate is 0 while the soft-LIF rate is
    1 / (tau_ref + tau_rc * log(1 + 1 / (gamma * log 2))), which vanishes only
    logarithmically in gamma (6.8 Hz, i.e. 2.8% of r(10), at gamma = 1e-3).
    So a uniform bound of 1e-3 * r_max over all of [0, 10] is mathematically
    out of reach for any usable gamma; away from the threshold it holds.
    """
    j = np.union1d(np.linspace(0, 10, 200001), [1.0])
    r = lif_rate(j)
    r_max = r.max()
    sup = []
    for gamma in [1e-1, 1e-2, 1e-3, 1e-4]:
        diff = np.abs(soft_lif_rate(j, gamma=gamma) - r)
        sup.append(diff.max())
        # the worst point is the threshold, with the closed-form gap above
        assert j[diff.argmax()] == 1.0
        at_th = 1 / (DEFAULT_TAU_REF + 0.02 * np.log1p(1 / (gamma * np.log(2))))
        assert diff.max() == pytest.approx(at_th, rel=1e-12)
    assert np.all(np.diff(sup) < 0)

    gamma = 1e-3
    diff = np.abs(soft_lif_rate(j, gamma=gamma) - r)
    far = (j <= 0.75) | (j >= 1.05)
    assert diff[far].max() < 1e-3 * r_max
    # far above threshold the two agree to many digits
    assert diff[j >= 1.1].max() < 1e-9 * r_max


def test_soft_lif_v_th_scaling():
    """Documented mapping of a threshold v onto Nengo's threshold of 1."""
    j = np.linspace(-2, 10, 1001)
    v, gamma = 0.7, 0.03
    np.testing.assert_allclose(
        soft_lif_rate(j, gamma=gamma, v_th=v),
        soft_lif_rate(j / v, gamma=gamma / v, v_th=1.0),
        rtol=1e-12,
    )


@pytest.mark.parametrize("gamma", [1e-3, 0.02, 1.0])
def test_soft_lif_derivative_at_threshold(tf, gamma):
    h = 1e-6
    fd = (soft_lif_rate(1 + h, gamma=gamma) - soft_lif_rate(1 - h, gamma=gamma)) / (2 * h)
    assert np.isfinite(fd) and fd > 0

    j = tf.constant([1.0 - 1e-3, 1.0, 1.0 + 1e-3], dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(j)
        r = soft_lif_rate_tf(j, gamma=gamma)
    grad = tape.gradient(r, j).numpy()
    assert np.all(np.isfinite(grad)) and np.all(grad > 0)
    assert grad[1] == pytest.approx(fd, rel=1e-6)


def test_tf_gradients_finite(tf):
    j = tf.constant(EXTREMES[1:-1].tolist() + [0.5, 2.0, 10.0], dtype=tf.float64)
    for fn in (soft_lif_rate_tf, lif_rate_tf):
        with tf.GradientTape() as tape:
            tape.watch(j)
            r = fn(j)
        grad = tape.gradient(r, j).numpy()
        # (the hard LIF's one-sided derivative at v_th is infinite, but the
        # masked tf.where gives the sub-threshold side's 0 there, not NaN)
        assert np.all(np.isfinite(grad)), fn.__name__
        assert np.all(grad >= 0), fn.__name__


@pytest.mark.parametrize("params", PARAMS)
def test_tf_matches_numpy(tf, params):
    v_th = params.get("v_th", 1.0)
    j = np.concatenate([np.linspace(-5, 12, 3401), v_th + np.linspace(-1e-3, 1e-3, 201)])
    j = np.concatenate([j, [-1e6, 1e6]])
    jt = tf.constant(j, dtype=tf.float64)

    ours = lif_rate_tf(jt, **params)
    assert ours.dtype == tf.float64
    np.testing.assert_allclose(ours.numpy(), lif_rate(j, **params), rtol=1e-10, atol=0)

    for gamma in [1e-3, 0.02, 1.0]:
        ours = soft_lif_rate_tf(jt, gamma=gamma, **params).numpy()
        np.testing.assert_allclose(
            ours, soft_lif_rate(j, gamma=gamma, **params), rtol=1e-10, atol=0
        )


def test_tf_float32(tf):
    j = np.array([-1e6, 0.0, 1.0, 1.5, 1e6], dtype=np.float32)
    r = soft_lif_rate_tf(tf.constant(j), gamma=1e-3)
    assert r.dtype == tf.float32
    assert np.all(np.isfinite(r.numpy()))
    np.testing.assert_allclose(r.numpy(), soft_lif_rate(j, gamma=1e-3), rtol=1e-5)
    assert lif_rate_tf([0, 1, 2]).dtype == tf.float32  # integers become float32


@pytest.mark.parametrize("gamma", [1e-3, 0.02, 0.5, 1.0])
def test_nengo_dl_soft_lif_rates_match(gamma):
    """nengo_dl.SoftLIFRate(sigma=gamma) computes soft_lif_rate with v_th = 1."""
    neuron = nengo_dl_soft_lif(gamma=gamma, tau_rc=0.03, tau_ref=0.004, amplitude=0.5)
    assert neuron.sigma == gamma
    j = np.linspace(-2, 10, 2401)
    # NengoDL's own NumPy step warns (harmlessly) on overflow for large j / sigma
    with np.errstate(over="ignore", divide="ignore"):
        # (unlike nengo.LIFRate.rates, this returns J's shape, here (n,))
        theirs = np.ravel(neuron.rates(j, gain=np.ones(1), bias=np.zeros(1)))
        stepped = np.zeros_like(j)
        neuron.step(dt=0.001, J=j, output=stepped)
    ours = soft_lif_rate(j, gamma=gamma, tau_rc=0.03, tau_ref=0.004, amplitude=0.5)
    # NengoDL uses an asymptote for (j - 1) / sigma <= -20, good to ~1e-10
    np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=0)
    np.testing.assert_allclose(ours, stepped, rtol=1e-8, atol=0)


def test_nengo_dl_soft_lif_simulator_matches():
    """NengoDL's TensorFlow SoftLIFRate builder (float32) agrees too."""
    nengo_dl = pytest.importorskip("nengo_dl")
    gamma = 0.02
    j = np.linspace(-1, 5, 61)
    with nengo.Network() as net:
        stim = nengo.Node(j)
        ens = nengo.Ensemble(
            j.size,
            1,
            neuron_type=nengo_dl_soft_lif(gamma),
            gain=np.ones(j.size),
            bias=np.zeros(j.size),
        )
        nengo.Connection(stim, ens.neurons, synapse=None)
        probe = nengo.Probe(ens.neurons)
    with np.errstate(divide="ignore"):  # Nengo's max_rates for intercept 1
        sim = nengo_dl.Simulator(net, progress_bar=False)
    with sim:
        sim.run_steps(2)
    np.testing.assert_allclose(
        sim.data[probe][-1], soft_lif_rate(j, gamma=gamma), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize(
    "fn, kwargs, name",
    [
        (lif_rate, {"tau_rc": 0}, "tau_rc"),
        (lif_rate, {"tau_ref": -0.001}, "tau_ref"),
        (lif_rate, {"v_th": 0}, "v_th"),
        (lif_rate, {"amplitude": np.nan}, "amplitude"),
        (soft_lif_rate, {"gamma": 0}, "gamma"),
        (soft_lif_rate, {"tau_rc": "a"}, "tau_rc"),
        (nengo_dl_soft_lif, {"gamma": -1}, "gamma"),
    ],
)
def test_invalid_parameters(fn, kwargs, name):
    args = () if fn is nengo_dl_soft_lif else (1.5,)
    with pytest.raises(ValueError, match=name):
        fn(*args, **kwargs)


def test_simulated_lif_matches_theory():
    """A spiking nengo.LIF driven by constant current fires at lif_rate(j).

    Nengo's LIF integrates constant input exactly and interpolates spike times
    within a step, so the firing period is exact; the rate is measured from
    the first to the last spike ((n - 1) / (t_last - t_first)), which is off by
    less than dt / (t_last - t_first) = 0.1%. Counting spikes over the window
    (n / T) would be off by up to one spike, 5% at 20 Hz (j = 1.1) over 1 s.
    """
    j = np.array([0.5, 1.0, 1.1, 1.5, 2.0, 3.5, 6.0, 10.0])
    measured = simulated_lif_rates(j, t=1.0, dt=0.001)
    expected = lif_rate(j)
    assert np.all(measured[j <= 1] == 0)
    above = j > 1
    rel = np.abs(measured[above] - expected[above]) / expected[above]
    assert rel.max() < 0.02
    assert rel.max() < 0.002  # the bound derived above, with margin


def test_simulated_lif_tau_ref():
    j = np.array([1.5, 4.0])
    measured = simulated_lif_rates(j, t=1.0, tau_ref=0.004, tau_rc=0.03)
    np.testing.assert_allclose(measured, lif_rate(j, tau_rc=0.03, tau_ref=0.004), rtol=0.002)


def test_rates_from_spikes():
    dt = 0.001
    spikes = np.zeros((1000, 3))
    spikes[[100, 300, 500, 700], 0] = 1 / dt  # 4 spikes, 3 intervals of 0.2 s
    spikes[10, 1] = 1 / dt  # one spike: falls back to count / t
    rates = rates_from_spikes(spikes, t=1.0, dt=dt)
    np.testing.assert_allclose(rates, [5.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="spikes"):
        rates_from_spikes(np.zeros(10), t=1.0, dt=dt)
    with pytest.raises(ValueError, match="currents"):
        simulated_lif_rates([1.5, np.nan])


def test_import_does_not_load_tensorflow():
    code = (
        "import sys, nengo_pc.neurons, nengo_pc.processes; "
        "bad = [m for m in ('tensorflow', 'nengo_dl') if m in sys.modules]; "
        "assert not bad, bad"
    )
    # run from the repo root so the checkout is importable however pytest was started
    root = pathlib.Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)
