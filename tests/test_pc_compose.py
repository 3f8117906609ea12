"""The predictive-coding network composes like a Nengo network (issue #18).

Its `input`, `target` and `output` are passthrough nodes to connect to and probe; its
run mode is three inputs (`clamp`, `learn`, `sweep`) the model can drive; its
arguments are nengo parameters refused with a `ValidationError` naming them.
"""

import nengo
import numpy as np
import pytest
from nengo.exceptions import ValidationError

import nengo_pc.arch as A
import nengo_pc.params as P
import nengo_pc.rates as R
from nengo_pc.networks import PredictiveCodingNetwork
from nengo_pc.networks.modes import MODES, ModeSchedule


@pytest.mark.parametrize("spiking", [False, True])
def test_issue_snippet(spiking):
    # the example of issue #18, as a user writes it: rate mode, and spiking=True
    arch = A.mlp((16,), n_in=8, n_out=3)
    params = P.init_params(arch, seed=0)
    x = np.random.default_rng(0).uniform(0, 1, 8)
    with nengo.Network(seed=0) as net:
        stim = nengo.Node(x)
        pc = PredictiveCodingNetwork(arch, params, spiking=spiking)
        nengo.Connection(stim, pc.input, synapse=None)
        probe = nengo.Probe(pc.output, synapse=0.01)
    with nengo.Simulator(net, progress_bar=False) as sim:
        sim.run(0.3)
    reference = R.forward(arch, params, x[None])[0]
    got = sim.data[probe][-1]
    # within 2 %: measured 1.5e-4 (rate), see PAIR_AMPLITUDE for spiking
    assert np.linalg.norm(got - reference) <= 0.02 * np.linalg.norm(reference)


def test_sizes_and_passthrough_nodes():
    arch = A.mlp((5,), n_in=4, n_out=2)
    pc = PredictiveCodingNetwork(arch, add_to_container=False)
    for node, size in ((pc.input, 4), (pc.target, 2), (pc.output, 2), (pc.clamp, 1),
                       (pc.learn, 1), (pc.sweep, 1)):
        assert node.output is None and node.size_in == size
    assert pc.config[nengo.Ensemble].neuron_type is pc.pair_neuron_type


@pytest.mark.parametrize("mode", ["free", "sweep", "clamped"])
def test_mode_inputs_driven_by_the_model_equal_mode(mode):
    # mode=None: the model drives clamp / learn / sweep itself (as the gate and reset
    # of nengo.networks.InputGatedMemory); the result equals the mode argument's
    arch = A.mlp((5, 4), "tanh", n_in=6, n_out=3)
    params = P.init_params(arch, seed=1, dtype=np.float64)
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=6), rng.normal(size=3)
    outputs = []
    for driven in (False, True):
        with nengo.Network(seed=0) as model:
            pc = PredictiveCodingNetwork(arch, params, mode=None if driven else mode)
            nengo.Connection(nengo.Node(x), pc.input, synapse=None)
            nengo.Connection(nengo.Node(y), pc.target, synapse=None)
            if driven:
                flags = nengo.Node(MODES[mode])
                for k, switch in enumerate((pc.clamp, pc.learn, pc.sweep)):
                    nengo.Connection(flags[k], switch, synapse=None)
            probe = nengo.Probe(pc.output, synapse=None)
        with nengo.Simulator(model, progress_bar=False) as sim:
            sim.run(0.3)
        outputs.append(sim.data[probe])
    # the same network, up to the order of float additions
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-12, atol=1e-12)
    if mode == "clamped":
        np.testing.assert_allclose(outputs[1][-1], y, rtol=1e-6)
    else:
        np.testing.assert_allclose(outputs[1][-1], R.forward(arch, params, x[None])[0],
                                   rtol=1e-3, atol=1e-4)
    with pytest.raises(ValueError, match="^mode: .*mode=None"):
        pc.mode = "free"


def test_mode_switches_have_no_synapse():
    # the experimenter's switches act at once, in rate and in spiking networks
    arch = A.mlp((5,), "lif", n_in=4, n_out=2)
    for spiking in (False, True):
        pc = PredictiveCodingNetwork(arch, spiking=spiking, learning_rate=0.1,
                                     add_to_container=False)
        switches = {pc.clamp, pc.learn, pc.sweep, pc.on, pc.mode_node}
        conns = [c for c in pc.all_connections if c.pre_obj in switches]
        assert len(conns) > 5 and all(c.synapse is None for c in conns)


def test_mode_schedule():
    schedule = ModeSchedule([("sweep", 0.003), ("free", 0.002)], dt=0.001, period=0.005)
    modes = [schedule(k * 0.001) for k in range(1, 11)]
    assert modes == ["sweep"] * 3 + ["free"] * 2 + ["sweep"] * 3 + ["free"] * 2
    # it switches with PresentInput of the same presentation time
    with nengo.Network() as model:
        images = nengo.Node(nengo.processes.PresentInput([[0.0], [1.0]], 0.005))
        probe = nengo.Probe(images, synapse=None)
    with nengo.Simulator(model, progress_bar=False) as sim:
        sim.run_steps(10)
    assert list(sim.data[probe][:, 0]) == [0.0] * 5 + [1.0] * 5
    for phases, name in (([("bogus", 1.0)], "mode"), ([("free", -1.0)], "phases"),
                         ([], "phases")):
        with pytest.raises(ValueError, match=f"^{name}:"):
            ModeSchedule(phases)


@pytest.mark.parametrize("name, value", [
    ("tau", -1.0), ("tau", True), ("output_precision", float("inf")),
    ("feedback", "none"), ("learning_rate", 0), ("spiking", 1),
    ("inhibition", "high"), ("input_coding", "rate"),
])
def test_parameters_are_nengo_params(name, value):
    arch = A.mlp((5,), n_in=4, n_out=2)
    with pytest.raises(ValidationError, match=rf"^PredictiveCodingNetwork\.{name}:"):
        PredictiveCodingNetwork(arch, **{name: value})
    pc = PredictiveCodingNetwork(arch, add_to_container=False)
    with pytest.raises(ValidationError, match=rf"{name}"):
        setattr(pc, name, value)


def test_feedback_matrix():
    arch = A.mlp((5, 4), n_in=6, n_out=3)
    params = P.init_params(arch, seed=0)
    pc = PredictiveCodingNetwork(arch, params, add_to_container=False)
    np.testing.assert_array_equal(pc.feedback_matrix(2), params.weights[1])
    for layer in (1, 4, "2"):
        with pytest.raises(ValueError, match="^layer:"):
            pc.feedback_matrix(layer)


def test_importing_the_networks_does_not_import_tensorflow():
    import subprocess
    import sys

    code = ("import sys, nengo_pc.networks, nengo_pc.networks.pc, "
            "nengo_pc.networks.pairs, nengo_pc.networks.presentation, "
            "nengo_pc.networks.inference, nengo_pc.networks.spiking; "
            "assert 'tensorflow' not in sys.modules and 'nengo_dl' not in sys.modules")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
