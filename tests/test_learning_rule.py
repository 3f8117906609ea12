"""Tests of the local PC rule as a Nengo learning rule (`nengo_pc.networks.learning`).

The rule on a tiny neurons -> neurons connection whose error and presynaptic
activity do not depend on the weights (an input node and rate neurons driven by
inputs), so that every step's update is known in closed form and the updates of
minibatch items add up exactly.
"""

import nengo
import numpy as np
import pytest
from nengo.exceptions import BuildError, ValidationError

from nengo_pc.networks.learning import LocalPC, share_learned_weights

DT = 0.001
N_STEPS = 30
N_PRE, N_POST, D_POST = 3, 4, 2


def _signals(seed):
    """Presynaptic inputs and errors (with a 0/1 gate) of one item, per step."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (N_STEPS, 2))
    error = rng.normal(size=(N_STEPS, D_POST))
    # a learning window over the middle third
    steps = np.arange(N_STEPS)
    gate = ((steps >= N_STEPS // 3) & (steps < 2 * N_STEPS // 3)).astype(float)[:, None]
    return x, np.hstack([error, gate])


def _model(rule, x=None, error=None):
    """A signed pair population (rate neurons) -> post neurons, learning."""
    def at(values):
        return lambda t: values[min(int(round(t / DT)) - 1, len(values) - 1)]

    with nengo.Network(seed=0) as net:
        net.x = nengo.Node(at(x) if x is not None else np.zeros(2))
        net.error = nengo.Node(at(error) if error is not None else np.zeros(D_POST + 1))
        # encoders [I; -I]: neuron i carries relu(x_i), neuron 2 + i relu(-x_i)
        encoders = np.vstack([np.eye(2), -np.eye(2)])
        net.pre = nengo.Ensemble(4, 2, neuron_type=nengo.RectifiedLinear(),
                                 encoders=encoders, gain=np.ones(4), bias=np.zeros(4))
        net.post = nengo.Ensemble(N_POST, D_POST, neuron_type=nengo.RectifiedLinear(),
                                  gain=np.ones(N_POST), bias=np.zeros(N_POST))
        nengo.Connection(net.x, net.pre, synapse=None)
        w0 = np.random.default_rng(1).normal(size=(N_POST, 4))
        net.conn = nengo.Connection(net.pre.neurons, net.post.neurons, transform=w0,
                                    synapse=None, learning_rule_type=rule)
        size = D_POST + 1 if rule.gated else D_POST
        nengo.Connection(net.error[:size], net.conn.learning_rule, synapse=None)
        net.p_weights = nengo.Probe(net.conn, "weights")
        net.p_error = nengo.Probe(net.conn.learning_rule, "error")
        net.p_acts = nengo.Probe(net.conn.learning_rule, "activities")
        net.p_delta = nengo.Probe(net.conn.learning_rule, "delta")
    net.w0 = w0
    return net


RULES = {
    "plain": dict(learning_rate=20.0),
    "filtered": dict(learning_rate=20.0, pre_synapse=nengo.Lowpass(0.005)),
    "decoded gated": dict(learning_rate=60.0, pre_synapse=nengo.Lowpass(0.005),
                          decode_pre=True, gated=True, size_in=D_POST + 1),
}


@pytest.mark.parametrize("name", list(RULES))
def test_reference_update_is_closed_form(name):
    rule = LocalPC(**RULES[name])
    x, error = _signals(0)
    net = _model(rule, x, error)
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run_steps(N_STEPS)
    acts, err = sim.data[net.p_acts], sim.data[net.p_error]
    encoders = sim.data[net.post].encoders
    pre_enc = sim.data[net.pre].encoders
    assert acts.shape[1] == (2 if rule.decode_pre else 4)
    if rule.pre_synapse is not None:
        # a filtered activity reaches the rule a step later (as through a connection)
        acts = np.vstack([np.zeros_like(acts[:1]), acts[:-1]])
    products = np.array([
        -rule.learning_rate * DT * np.outer(
            encoders @ err[t, :D_POST],
            pre_enc @ acts[t] if rule.decode_pre else acts[t])
        for t in range(N_STEPS)])
    weights = sim.data[net.p_weights]
    if rule.gated:
        gate = err[:, D_POST]
        opened, closed = np.flatnonzero(gate)[0], np.flatnonzero(gate)[-1] + 1
        # the weights stay put while the window is open; the step after it closes
        # computes the sum of its gated products, which the weights have a step later
        np.testing.assert_array_equal(weights[:closed + 1],
                                      np.broadcast_to(net.w0, (closed + 1,)
                                                      + net.w0.shape))
        window = np.sum(gate[:, None, None] * products, axis=0)
        np.testing.assert_allclose(sim.data[net.p_delta][closed], window, atol=1e-12)
        np.testing.assert_allclose(weights[closed + 1:] - net.w0,
                                   np.broadcast_to(window, weights[closed + 1:].shape),
                                   atol=1e-12)
        assert opened > 0 and np.abs(window).max() > 0.02  # it did learn
    else:
        np.testing.assert_allclose(sim.data[net.p_delta], products, atol=1e-12)
        # the change of one step reaches the weights in the next
        changes = np.cumsum(products, axis=0)[:-1]
        np.testing.assert_allclose(weights[1:] - net.w0, changes, atol=1e-12)
    if rule.decode_pre:  # the pair halves stay mirror images
        w = sim.data[net.p_weights][-1] - net.w0
        np.testing.assert_allclose(w[:, :2], -w[:, 2:], atol=1e-12)


def _reference_weights(rule, seed, repeats=1):
    """Initial weights and the weights at every step of ``nengo.Simulator`` running
    one item's signals (``repeats`` times in a row)."""
    x, error = _signals(seed)
    net = _model(rule, np.tile(x, (repeats, 1)), np.tile(error, (repeats, 1)))
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run_steps(N_STEPS * repeats)
    return net.w0, sim.data[net.p_weights]


def _nengo_dl_weights(rule, seeds, shared=False, calls=1):
    """The weights NengoDL learns with the items' signals: per-item copies kept
    equal (NengoDL's own layout) or, with ``shared``, one matrix
    (`share_learned_weights`, stateful calls)."""
    pytest.importorskip("nengo_dl")
    import nengo_dl  # after nengo_pc (conftest), which selects the Keras NengoDL needs

    signals = [_signals(seed) for seed in seeds]
    net = _model(rule)
    with net:
        if shared:
            nengo_dl.configure_settings(
                stateful=True, simplifications=(share_learned_weights,)
                + tuple(nengo_dl.graph_optimizer.default_simplifications))
        else:
            nengo_dl.configure_settings(stateful=False)
    feed = {net.x: np.stack([x for x, _ in signals]).astype(np.float32),
            net.error: np.stack([e for _, e in signals]).astype(np.float32)}
    with nengo_dl.Simulator(net, dt=DT, minibatch_size=len(seeds),
                            progress_bar=False) as sim:
        for _ in range(calls):
            out = sim.predict_on_batch(feed, stateful=shared)
        # what the calls learned persists in the simulator
        after = np.array(sim.data[net.conn].weights)
        if shared:  # a stateless call reads the weights and changes nothing
            sim.predict_on_batch(feed, stateful=False)
            np.testing.assert_array_equal(np.array(sim.data[net.conn].weights), after)
    return out[net.p_weights], after


@pytest.mark.parametrize("name", list(RULES))
def test_nengo_dl_minibatch_items_share_the_sum_of_their_updates(name):
    rule = LocalPC(**RULES[name])
    seeds = [0, 1, 2, 3]
    weights, after = _nengo_dl_weights(rule, seeds)
    w0 = None
    total = 0
    for seed in seeds:
        w0, ref = _reference_weights(rule, seed)
        total = total + (ref - w0)
    # every item's copy holds the same matrix: the initial one plus all items' updates
    assert weights.shape == (len(seeds), N_STEPS, N_POST, 4)
    for item in weights:
        np.testing.assert_array_equal(item, weights[0])
    np.testing.assert_allclose(weights[0], w0 + total, rtol=1e-5, atol=1e-5)
    assert np.abs(total[-1]).max() > 0.05  # it did learn
    for item in after.reshape((-1, N_POST, 4)):
        np.testing.assert_array_equal(item, weights[0, -1])


@pytest.mark.parametrize("name", list(RULES))
def test_nengo_dl_shared_weights_are_one_matrix_learning_the_sum(name):
    """With `share_learned_weights` NengoDL keeps one unbatched matrix (no per-item
    copies) that learns what the per-item copies learn: the sum of the items'
    updates, kept by stateful calls."""
    rule = LocalPC(**RULES[name])
    seeds = [0, 1, 2, 3]
    weights, after = _nengo_dl_weights(rule, seeds, shared=True)
    copies, _ = _nengo_dl_weights(rule, seeds)
    total = sum(_reference_weights(rule, seed)[1] - _reference_weights(rule, seed)[0]
                for seed in seeds)
    w0 = _reference_weights(rule, 0)[0]
    # one matrix: the probe has no per-item axis (NengoDL adds a leading 1)
    assert weights.shape == (1, N_STEPS, N_POST, 4) and after.shape == (N_POST, 4)
    np.testing.assert_allclose(weights[0], w0 + total, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(weights[0], copies[0], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(after, weights[0, -1], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", list(RULES))
def test_nengo_dl_shared_weights_persist_across_stateful_calls(name):
    """Two stateful calls learn what each item's signals, run twice in a row in
    ``nengo.Simulator``, learn, summed over the items: the weights, the filter
    states and the eligibility trace carry over from call to call."""
    rule = LocalPC(**RULES[name])
    seeds = [0, 1]
    _, once = _nengo_dl_weights(rule, seeds, shared=True)
    _, twice = _nengo_dl_weights(rule, seeds, shared=True, calls=2)
    w0 = _reference_weights(rule, 0)[0]
    total = sum(_reference_weights(rule, seed, repeats=2)[1][-1] - w0
                for seed in seeds)
    assert np.abs(twice - once).max() > 0.02  # the second call learned too
    np.testing.assert_allclose(twice, w0 + total, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", list(RULES))
@pytest.mark.parametrize("shared", [False, True])
def test_nengo_dl_with_one_item_equals_reference(name, shared):
    rule = LocalPC(**RULES[name])
    weights, _ = _nengo_dl_weights(rule, [5], shared=shared)
    _, ref = _reference_weights(rule, 5)
    np.testing.assert_allclose(weights[0], ref, rtol=1e-5, atol=1e-6)


def test_bad_rule_arguments_and_connections():
    with pytest.raises(ValidationError, match="learning_rate"):
        LocalPC(learning_rate=-1.0)
    with pytest.raises(ValidationError, match="decode_pre"):
        LocalPC(decode_pre="yes")
    with nengo.Network() as net:
        a, b = nengo.Ensemble(3, 1), nengo.Ensemble(3, 1)
        with pytest.raises(ValidationError, match="connections to neurons"):
            nengo.Connection(a, b, learning_rule_type=LocalPC())
        # weights solved from decoders: not a connection between neurons
        nengo.Connection(a, b, solver=nengo.solvers.LstsqL2(weights=True),
                         learning_rule_type=LocalPC())
    with pytest.raises(BuildError, match="neurons to neurons"):
        nengo.Simulator(net, progress_bar=False)
    with nengo.Network() as net:
        a, b = nengo.Ensemble(3, 1), nengo.Ensemble(3, 1)
        nengo.Connection(a.neurons, b.neurons, transform=np.ones((3, 3)),
                         learning_rule_type=LocalPC(gated=True))
    with pytest.raises(BuildError, match="size_in counts the gate"):
        nengo.Simulator(net, progress_bar=False)


def test_importing_the_rule_does_not_import_tensorflow():
    import subprocess
    import sys

    code = ("import sys, nengo, nengo_pc.networks.learning as m\n"
            "with nengo.Network() as net:\n"
            "    a = nengo.Ensemble(2, 1); b = nengo.Ensemble(2, 1)\n"
            "    c = nengo.Connection(a.neurons, b.neurons, transform=[[1, 0], [0, 1]],"
            " learning_rule_type=m.LocalPC())\n"
            "nengo.Simulator(net, progress_bar=False)\n"
            "assert 'tensorflow' not in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
