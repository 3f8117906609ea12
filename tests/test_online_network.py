"""The online learning network (`nengo_pc.pc.online_network`): `LocalPC` rules on
the PC network's connections, one set of weights shared by a NengoDL minibatch.

On a tiny rate network and a fixed seed: one training presentation of a minibatch in
NengoDL changes the parameters by the sum of what ``nengo.Simulator`` learns from
each image alone (the reference computation of the rule, float64), the feedback
weights stay the prediction weights (``feedback="transpose"``), and the simulator
holds one copy of every learned matrix.
"""

import nengo
import numpy as np
import pytest

from nengo_pc.arch import init_params, mlp
from nengo_pc.networks.modes import MODES
from nengo_pc.pc.online_network import OnlineSimulator, learning_network
from nengo_pc.pc.online_schedule import Presentation

pytest.importorskip("nengo_dl")

ARCH = mlp((5,), "relu", n_in=6, n_out=3)
DT = 0.001
SETTINGS = dict(spiking=False, learning_rate=2.0, pre_synapse=nengo.Lowpass(0.02),
                tau=0.005, output_precision=1.0, feedback="transpose",
                amplitude=2e-4, synapse=0.002, seed=0)


def _presentation():
    return Presentation(DT, sweep_time=0.01, settle_time=0.01, learn_time=0.01)


def _reference_change(params, image, target, factor):
    """What ``nengo.Simulator`` learns from one presentation of one image."""
    p = _presentation()
    net = learning_network(ARCH, params, **SETTINGS)
    modes = p.training_modes(1)[0]
    gate = p.learning_gate(1, factor)[0]

    def at(values):
        return lambda t: values[min(int(round(t / DT)) - 1, len(values) - 1)]

    # the nodes NengoDL is fed are constant nodes: give them the same values here
    net.images.output = image
    net.targets.output = target
    net.mode_node.output = at(modes)
    net.learning_gate.output = at(gate)
    with nengo.Simulator(net, dt=DT, progress_bar=False) as sim:
        sim.run_steps(p.n_train_steps)
        learned = net.params_from(sim)
        feedback = np.array(sim.signals[sim.model.sig[net.feedback_connections[2]]
                                        ["weights"]])
    return learned, feedback


def test_minibatch_learns_the_sum_of_its_items_reference_updates():
    params = init_params(ARCH, seed=3)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (3, ARCH.sizes[0])).astype(np.float32)
    targets = np.eye(3, dtype=np.float32)[[0, 2, 1]]
    factor = 0.5
    net = learning_network(ARCH, params, **SETTINGS)
    run = OnlineSimulator(net, _presentation(), 3, dt=DT, seed=0,
                          input_coding="constant", max_rate=500.0)
    try:
        run.train(images, targets, factor, rng)
        learned = run.params()
        sim = run.sim
        # one matrix per connection: no minibatch axis
        for conn in net.prediction_connections[1:] + net.bias_connections[1:]:
            assert np.ndim(sim.data[conn].weights) == 2
        feedback = np.array(sim.data[net.feedback_connections[2]].weights)
    finally:
        run.close()
    alone = [_reference_change(params, x, y, factor) for x, y in zip(images, targets)]
    initial = params.weights + params.biases
    for i, (w0, w) in enumerate(zip(initial, learned.weights + learned.biases)):
        total = sum(np.asarray((p.weights + p.biases)[i]) - w0 for p, _ in alone)
        assert np.abs(total).max() > 1e-3  # it learned
        np.testing.assert_allclose(np.asarray(w) - w0, total, rtol=2e-3,
                                   atol=2e-3 * np.abs(total).max())
    # B_2 follows W_2: the feedback transform is [c; -c] with c = B_2 D
    n_pre, n = ARCH.sizes[1], ARCH.sizes[2]
    np.testing.assert_allclose(feedback[:n_pre, :n], learned.weights[1], rtol=1e-5,
                               atol=1e-6)
    for p, reference_feedback in alone:  # and does in the reference simulator
        np.testing.assert_allclose(reference_feedback[:n_pre, :n], p.weights[1],
                                   rtol=1e-12, atol=1e-12)


def test_stateless_evaluation_changes_nothing():
    params = init_params(ARCH, seed=3)
    net = learning_network(ARCH, params, **SETTINGS)
    run = OnlineSimulator(net, _presentation(), 2, dt=DT, seed=0,
                          input_coding="constant", max_rate=500.0)
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 1, (2, ARCH.sizes[0])).astype(np.float32)
    try:
        first = run.outputs(images, 5, rng)
        state = run.state()
        again = run.outputs(images, 5, rng)
        after = run.state()
    finally:
        run.close()
    np.testing.assert_array_equal(first, again)
    assert state.keys() == after.keys()
    for key in state:
        np.testing.assert_array_equal(state[key], after[key])
    assert MODES["free"] == tuple(np.zeros(3))


def test_only_the_online_output_is_probed_and_a_foreign_state_is_refused():
    params = init_params(ARCH, seed=3)
    net = learning_network(ARCH, params, **SETTINGS)
    # NengoDL computes every probe every step: the network keeps only what online
    # learning reads
    assert net.all_probes == [net.online_output]
    assert net.value_probes == net.error_probes == [None] * (ARCH.n_layers + 1)
    run = OnlineSimulator(net, _presentation(), 2, dt=DT, seed=0,
                          input_coding="constant", max_rate=500.0)
    wider = mlp((7,), "relu", n_in=6, n_out=3)
    other = OnlineSimulator(learning_network(wider, init_params(wider, seed=3),
                                             **SETTINGS),
                            _presentation(), 2, dt=DT, seed=0,
                            input_coding="constant", max_rate=500.0)
    try:
        foreign = other.state()
        with pytest.raises(ValueError, match="^resume: the checkpoint's simulator "
                                             "state does not fit this network"):
            run.restore(foreign)
        run.restore(run.state())  # its own state fits
    finally:
        run.close()
        other.close()
