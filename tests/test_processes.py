"""Tests for nengo_pc.processes.PoissonRateCode."""

import numpy as np
import pytest

import nengo
from nengo.exceptions import ValidationError

from nengo_pc.neurons import DEFAULT_TAU_REF
from nengo_pc.processes import PoissonRateCode

DT = 0.001
BAD_INPUT = r"input x must be finite intensities in the range \[0, 1\]"


def coded_network(x, seed=0, process_seed=None, fixed=False, **kwargs):
    """Network rate-coding intensities ``x``, from an input node or fixed values."""
    x = np.asarray(x, dtype=float)
    with nengo.Network(seed=seed) as net:
        if fixed:
            code = nengo.Node(PoissonRateCode(values=x, seed=process_seed, **kwargs))
        else:
            image = nengo.Node(x)
            code = nengo.Node(PoissonRateCode(size=x.size, seed=process_seed, **kwargs))
            nengo.Connection(image, code, synapse=None)
        probe = nengo.Probe(code)
    return net, probe


def run(net, probe, t, simulator=None, **sim_kwargs):
    """Run ``net`` for ``t`` seconds and return the probed output (squeezed)."""
    simulator = nengo.Simulator if simulator is None else simulator
    with simulator(net, dt=DT, progress_bar=False, **sim_kwargs) as sim:
        sim.run(t)
    return np.squeeze(sim.data[probe])


def check_rates(output, levels, n_per_level, t, max_rate):
    """Total count per intensity level is within 3 sigma of Poisson(rate * T).

    ``output`` has shape (n_steps, len(levels) * n_per_level), dimensions
    grouped by level. Pooling the ``n_per_level`` dimensions of a level gives a
    Poisson total with mean and variance ``n_per_level * x * max_rate * t``.
    """
    counts = output.sum(axis=0) * DT
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-6)
    for i, x in enumerate(levels):
        total = counts[i * n_per_level : (i + 1) * n_per_level].sum()
        mean = n_per_level * x * max_rate * t
        sigma = np.sqrt(mean)
        assert abs(total - mean) <= 3 * sigma, (x, total, mean, sigma)


LEVELS = [0.0, 0.05, 0.3, 0.7, 1.0]
N_PER_LEVEL = 40


@pytest.mark.parametrize("fixed", [False, True])
def test_rates(fixed):
    x = np.repeat(LEVELS, N_PER_LEVEL)
    out = run(*coded_network(x, fixed=fixed), t=0.5)
    assert out.shape == (500, x.size)
    check_rates(out, LEVELS, N_PER_LEVEL, 0.5, 1 / DEFAULT_TAU_REF)


def test_full_intensity_is_inverse_refractory_period():
    out = run(*coded_network(np.ones(50)), t=1.0)
    n = out.sum() * DT
    expected = 50 * 1.0 / DEFAULT_TAU_REF  # 500 Hz for 1 s in each of 50 dims
    assert abs(n - expected) <= 3 * np.sqrt(expected)


def test_max_rate():
    x = np.repeat([0.5, 1.0], 50)
    out = run(*coded_network(x, max_rate=250.0), t=0.5)
    check_rates(out, [0.5, 1.0], 50, 0.5, 250.0)


def test_zero_gives_no_spikes():
    out = run(*coded_network(np.zeros(20)), t=0.5)
    assert np.all(out == 0)


def test_counts_are_poisson_not_bernoulli():
    """Per-step counts have variance = mean and can exceed 1 spike per step."""
    out = run(*coded_network(np.ones(100), max_rate=1000.0), t=0.5)
    counts = out * DT  # lambda = max_rate * dt = 1 per step
    # sample variance of 5e4 Poisson(1) draws: standard error ~0.006
    assert counts.mean() == pytest.approx(1.0, abs=0.03)
    assert counts.var() == pytest.approx(counts.mean(), rel=0.05)
    assert counts.max() >= 3  # impossible for a Bernoulli (0/1) approximation


@pytest.mark.parametrize("dt", [0.001, 0.0005])
def test_output_multiples_of_inv_dt(dt):
    net, probe = coded_network(np.linspace(0, 1, 30))
    with nengo.Simulator(net, dt=dt, progress_bar=False) as sim:
        sim.run(0.2)
    counts = sim.data[probe] * dt
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)
    assert counts.max() >= 1


@pytest.mark.parametrize("bad, what", [(1.5, "1.5"), (-0.1, "-0.1"), (np.nan, "NaN"), (np.inf, "inf")])
def test_bad_input_raises(bad, what):
    # The image comes from a process node because nengo itself rejects NaN and
    # inf in constant or function Nodes (but does not check process outputs).
    with nengo.Network() as net:
        image = nengo.Node(nengo.processes.PresentInput([[0.2, bad, 0.4]], 0.1))
        code = nengo.Node(PoissonRateCode(size=3))
        nengo.Connection(image, code, synapse=None)
    with nengo.Simulator(net, progress_bar=False) as sim:
        with pytest.raises(ValueError, match=BAD_INPUT) as info:
            sim.run_steps(1)
    message = str(info.value)
    assert "index 1" in message and what in message


def test_bad_input_raises_in_apply():
    with pytest.raises(ValueError, match=BAD_INPUT):
        PoissonRateCode(size=2).apply(np.array([[0.2, 0.3], [0.2, np.nan]]))


@pytest.mark.parametrize("bad", [1.5, -0.1, np.nan, np.inf])
def test_bad_values_raise(bad):
    with pytest.raises(ValueError, match=r"values must be finite intensities in the range"):
        PoissonRateCode(values=[0.5, bad])


def test_parameter_validation():
    with pytest.raises(ValidationError, match="max_rate"):
        PoissonRateCode(size=2, max_rate=0)
    with pytest.raises(ValidationError, match="size"):
        PoissonRateCode(values=[0.1, 0.2], size=3)
    with pytest.raises(ValidationError, match="values"):
        PoissonRateCode(values=[])


@pytest.mark.parametrize(
    "node_kwargs, match",
    [
        ({"size_in": 3}, r"size_out \(1\) must equal size_in \(3\)"),
        ({"size_in": 0}, "needs intensities"),
    ],
)
def test_node_size_errors(node_kwargs, match):
    with nengo.Network() as net:
        nengo.Node(PoissonRateCode(), **node_kwargs)
    with pytest.raises(ValidationError, match=match):
        nengo.Simulator(net, progress_bar=False)


def test_fixed_values_take_no_input():
    with nengo.Network() as net:
        nengo.Node(PoissonRateCode(values=[0.1, 0.2]), size_in=2)
    with pytest.raises(ValidationError, match="takes no input"):
        nengo.Simulator(net, progress_bar=False)


def test_node_with_explicit_sizes():
    x = np.repeat([0.3, 1.0], 50)
    with nengo.Network(seed=1) as net:
        image = nengo.Node(x)
        code = nengo.Node(PoissonRateCode(), size_in=x.size, size_out=x.size)
        nengo.Connection(image, code, synapse=None)
        probe = nengo.Probe(code)
    check_rates(run(net, probe, t=0.5), [0.3, 1.0], 50, 0.5, 1 / DEFAULT_TAU_REF)


def test_seeded_reproducibility():
    x = np.linspace(0, 1, 20)
    a = run(*coded_network(x, seed=3), t=0.1)
    b = run(*coded_network(x, seed=3), t=0.1)
    c = run(*coded_network(x, seed=4), t=0.1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # a process seed fixes the spikes whatever the network seed
    d = run(*coded_network(x, seed=5, process_seed=7), t=0.1)
    e = run(*coded_network(x, seed=6, process_seed=7), t=0.1)
    np.testing.assert_array_equal(d, e)


@pytest.fixture(scope="module")
def nengo_dl():
    """NengoDL, imported only by the tests that need it."""
    return pytest.importorskip("nengo_dl")


def test_nengo_dl(nengo_dl):
    """NengoDL runs the process via its generic (tf.numpy_function) builder.

    With the same network seed it draws the same spikes as nengo.Simulator.
    """
    x = np.repeat(LEVELS, N_PER_LEVEL)
    net, probe = coded_network(x, seed=2)
    out = run(net, probe, t=0.5, simulator=nengo_dl.Simulator)
    assert out.shape == (500, x.size)
    check_rates(out, LEVELS, N_PER_LEVEL, 0.5, 1 / DEFAULT_TAU_REF)
    np.testing.assert_allclose(out, run(net, probe, t=0.5))


def test_nengo_dl_fixed_values_minibatch(nengo_dl):
    """Fixed values, minibatch of 2: independent draws, same statistics."""
    x = np.repeat(LEVELS, N_PER_LEVEL)
    net, probe = coded_network(x, seed=2, fixed=True)
    with nengo_dl.Simulator(net, dt=DT, minibatch_size=2, progress_bar=False) as sim:
        sim.run(0.5)
    out = sim.data[probe]
    assert out.shape == (2, 500, x.size)
    assert not np.array_equal(out[0], out[1])
    for item in out:
        check_rates(item, LEVELS, N_PER_LEVEL, 0.5, 1 / DEFAULT_TAU_REF)


def test_nengo_dl_bad_input(nengo_dl):
    """The step's ValueError surfaces as TensorFlow's InvalidArgumentError."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    net, _ = coded_network([0.2, 1.5])
    with nengo_dl.Simulator(net, progress_bar=False) as sim:
        with pytest.raises(tf.errors.InvalidArgumentError, match=BAD_INPUT):
            sim.run_steps(1)
