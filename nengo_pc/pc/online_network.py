"""The PC network that learns online: `LocalPC` rules on its connections, in NengoDL.

`learning_network` builds a `~nengo_pc.networks.pc.PredictiveCodingNetwork` (the one
wiring of the PC network) and puts a `~nengo_pc.networks.learning.LocalPC` rule on
every prediction and bias connection (and, with ``feedback="transpose"``, on every
feedback connection), each fed the postsynaptic error it needs and a learning gate,
before anything is built; `OnlineSimulator` presents minibatches of images to it in
``nengo_dl.Simulator`` and reads the learned parameters back from the simulator.

The rules, per layer l (e~_l = e_l / gamma for hidden layers, e_L at the output):

* prediction connection (transform ``-[W_l^T; -W_l^T]``, after the pair decoder when
  its presynaptic population is a pair population, which the rule then decodes):
  error input e~_l, read from ``errors[l]`` through the network's synapse, so that
  dW_l = learning_rate * dt * g * a_{l-1}^T e~_l per step, a_{l-1} the presynaptic
  activity filtered by ``pre_synapse``;
* bias connection (from the one-neuron ``bias`` population, output 1): the same
  error, no presynaptic filter: db_l = learning_rate * dt * g * e~_l;
* feedback connection l (``feedback="transpose"``, transform ``[c; -c]`` with
  c = s B_l D, s = gamma at the output): the same local product seen from the other
  side, its presynaptic e_l times the activity a_{l-1} at its target, which keeps
  B_l equal to W_l (bit for bit when gamma is 1);
* g: the gate node ``learning gate``, fed by the caller (0 outside the learning
  window, the learning-rate factor inside).

**One shared set of weights.** The network is configured for NengoDL with
`~nengo_pc.networks.learning.share_learned_weights` among its graph
simplifications, so the learned weights are one matrix per connection that every
minibatch item reads and that changes by the sum of the items' updates, and with
``stateful=True``, since NengoDL keeps such weights as simulator state, which only a
stateful call keeps (see `nengo_pc.networks.learning`). Training presentations are
therefore stateful calls: the minibatch slots are B streams of images, each image
starting where the previous one in its slot left off (its sweep phase is the
settling), as one long ``nengo.Simulator`` run presents a stream; evaluations are
stateless calls, which change nothing. `OnlineSimulator.state` and
`OnlineSimulator.restore` save and restore the whole simulator state (NengoDL's
``save_params``/``load_params`` with ``include_state=True``), which makes a resumed
run continue exactly.
"""

import tempfile
import warnings
from pathlib import Path

import nengo
import numpy as np

from nengo_pc.networks.feedforward import as_synapse
from nengo_pc.networks.inference import data_nodes
from nengo_pc.networks.learning import LocalPC, share_learned_weights
from nengo_pc.networks.pairs import decode
from nengo_pc.pc.online_schedule import poisson_input
from nengo_pc.training.config import require_positive

#: Activations for which ``spiking=True`` uses the network's own spiking mode; other
#: activations (``"relu"``) keep rate activities with spiking pairs, as measured for
#: online learning (see `network_options`).
ONLINE_SPIKING_ACTIVATIONS = ("lif", "linear")


def network_options(arch, spiking, amplitude, synapse):
    """Keyword arguments making `PredictiveCodingNetwork` spike (or not).

    For ``"lif"`` and ``"linear"`` the network's ``spiking`` switch is used (LIF
    activities, spiking pairs). For ``"relu"`` only the signed pair populations
    spike, as `nengo.SpikingRectifiedLinear` neurons, and the activities stay rate
    neurons: a mixed network (the setting online learning was measured in). Either
    way the pairs fire at ``|z| / amplitude`` Hz for a signal z and the connections
    get ``synapse``.

    Parameters
    ----------
    arch : Architecture
    spiking : bool
    amplitude : float
        Signal carried by one spike of a pair neuron (> 0).
    synapse : float or nengo.synapses.Synapse or None
        Connection synapse of a spiking network (time constant in seconds).

    Returns
    -------
    options : dict
        Keyword arguments for `PredictiveCodingNetwork`.
    kind : str
        ``"rate"``, ``"spiking"`` (the network's spiking mode) or ``"spiking pairs"``
        (the mixed network).
    """
    if not spiking:
        return {}, "rate"
    options = {"synapse": as_synapse(synapse, "synapse"),
               "pair_neuron_type": nengo.SpikingRectifiedLinear(
                   amplitude=require_positive("amplitude", amplitude))}
    if arch.activation in ONLINE_SPIKING_ACTIVATIONS:
        options["spiking"] = True
        return options, "spiking"
    return options, "spiking pairs"


def add_rule(conn, rule, error_source, error_transform, error_synapse, gate):
    """Put ``rule`` (a gated `LocalPC`) on ``conn``, its error from ``error_source``
    and its gate (the last input dimension) from ``gate``."""
    conn.learning_rule_type = rule
    n = conn.learning_rule.size_in - 1
    nengo.Connection(error_source, conn.learning_rule[:n], transform=error_transform,
                     synapse=error_synapse)
    nengo.Connection(gate, conn.learning_rule[n], synapse=None)


def learning_network(arch, params, *, spiking, learning_rate, pre_synapse, tau,
                     output_precision, feedback, amplitude, synapse, seed,
                     network_kwargs=None):
    """A `PredictiveCodingNetwork` whose connections learn by `LocalPC` rules.

    Parameters
    ----------
    arch : Architecture
    params : Params
    spiking, amplitude, synapse
        As for `network_options`.
    learning_rate : float
        Rate of the rules per second of learning (> 0).
    pre_synapse : nengo.synapses.Synapse or None
        Filter of the presynaptic activities the prediction rules read.
    tau, output_precision, feedback, seed
        As for `PredictiveCodingNetwork`.
    network_kwargs : dict, optional
        Further `PredictiveCodingNetwork` arguments (override the derived ones).

    Returns
    -------
    net : PredictiveCodingNetwork
        With attributes ``learning_gate`` (the gate Node, size 1), ``images`` and
        ``targets`` (the Nodes NengoDL feeds), ``online_output`` (a Probe of the
        decoded output, every step) and ``network_kind``; its only probe is
        ``online_output`` (``value_probes``, ``error_probes`` and ``output_probe``
        are None).
    """
    import nengo_dl  # pylint: disable=import-outside-toplevel
    from nengo_dl import graph_optimizer  # pylint: disable=import-outside-toplevel

    from nengo_pc.networks.pc import (  # pylint: disable=import-outside-toplevel
        PredictiveCodingNetwork,
    )

    options, kind = network_options(arch, spiking, amplitude, synapse)
    # online learning reads online_output only; the network's decoded value and
    # error probes would cost NengoDL a decoder product and a filter each, every step
    options["probe_values"] = False
    options.update(network_kwargs or {})
    net = PredictiveCodingNetwork(arch, params, tau=tau, output_precision=output_precision,
                                  feedback=feedback, seed=seed, label="pc online",
                                  **options)
    net.network_kind = kind
    net.images, net.targets = data_nodes(net)
    sizes, n_layers, gamma = arch.sizes, arch.n_layers, net.output_precision
    with net:
        net.learning_gate = nengo.Node(np.zeros(1), label="learning gate")
        for l in range(1, n_layers + 1):
            n, n_pre = sizes[l], sizes[l - 1]
            pairs_pre = net.activities[l - 1] is None
            hidden = 1.0 / gamma if l < n_layers else 1.0  # e~_l = e_l / gamma
            for conn, filt, decode_pre in (
                    (net.prediction_connections[l], pre_synapse, pairs_pre),
                    (net.bias_connections[l], None, False)):
                add_rule(conn, LocalPC(learning_rate, pre_synapse=filt, size_in=n + 1,
                                       decode_pre=decode_pre, gated=True),
                         net.errors[l].neurons, decode(n, hidden), net.synapse,
                         net.learning_gate)
            if feedback == "transpose" and net.feedback_connections[l] is not None:
                # its error input is the activity a_{l-1} at its target, scaled as
                # the feedback carries e_l: B_l learns what W_l learns
                scale = gamma if l == n_layers else hidden
                pre = net.prediction_connections[l].pre_obj
                # a sparse pair decoder or a scalar: NengoDL makes a dense
                # matrix a product per step (docs/performance.md)
                error = decode(n_pre, -scale) if pairs_pre else -scale
                add_rule(net.feedback_connections[l],
                         LocalPC(learning_rate, pre_synapse=net.synapse,
                                 size_in=n_pre + 1, decode_pre=True, gated=True),
                         pre, error, pre_synapse, net.learning_gate)
        net.online_output = nengo.Probe(net.output, synapse=None, label="online output")
        nengo_dl.configure_settings(
            # the learned weights are state shared by the minibatch (module docstring)
            stateful=True,
            simplifications=(share_learned_weights,)
            + tuple(graph_optimizer.default_simplifications),
            keep_history=False,
            # operator merging makes this network many times slower (see
            # nengo_pc.networks.inference.configure_inference)
            planner=graph_optimizer.noop_planner,
            sorter=graph_optimizer.noop_order_signals,
        )
        net.config[net.online_output].keep_history = True
    return net


def check_state(ours, theirs):
    """ValueError naming ``resume`` unless the state ``theirs`` has the arrays (names
    and shapes) of the simulator state ``ours``."""
    ours = {name: np.shape(value) for name, value in ours.items()}
    theirs = {name: np.shape(value) for name, value in theirs.items()}
    if ours != theirs:
        differ = sorted(set(ours) ^ set(theirs)
                        | {k for k in set(ours) & set(theirs) if ours[k] != theirs[k]})
        raise ValueError(
            f"resume: the checkpoint's simulator state does not fit this network "
            f"({len(theirs)} arrays, this network {len(ours)}; first difference: "
            f"{differ[0]} {theirs.get(differ[0])} against {ours.get(differ[0])}); "
            f"it was written by another network, another version of the online "
            f"learning network or another simulator")


class OnlineSimulator:
    """A `learning_network` in ``nengo_dl.Simulator``: presentations of minibatches.

    Parameters
    ----------
    net : PredictiveCodingNetwork
        From `learning_network`.
    presentation : nengo_pc.pc.online_schedule.Presentation
    batch_size : int
    dt : float
    seed : int
    input_coding : str
        ``"constant"`` or ``"poisson"``.
    max_rate : float
        Poisson rate of intensity 1.
    """

    def __init__(self, net, presentation, batch_size, *, dt, seed, input_coding,
                 max_rate):
        import nengo_dl  # pylint: disable=import-outside-toplevel

        self.net, self.presentation, self.batch_size = net, presentation, batch_size
        self.dt, self.input_coding, self.max_rate = dt, input_coding, max_rate
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="No GPU support detected")
            self.sim = nengo_dl.Simulator(net, dt=dt, minibatch_size=batch_size,
                                          seed=seed, progress_bar=False)

    def close(self):
        """Close the simulator."""
        self.sim.close()

    def _inputs(self, images, n_steps, rng):
        if self.input_coding == "poisson":
            return poisson_input(images, n_steps, self.dt, self.max_rate, rng)
        return np.repeat(images[:, None, :].astype(np.float32), n_steps, axis=1)

    def _run(self, images, targets, modes, gate, rng, stateful):
        n_steps = gate.shape[1]
        net = self.net
        # every probe's data, kept for tests that add probes to the network
        self.probe_data = self.sim.predict_on_batch({
            net.images: self._inputs(images, n_steps, rng),
            net.targets: np.repeat(targets[:, None, :], n_steps, axis=1),
            net.mode_node: modes,
            net.learning_gate: gate,
        }, stateful=stateful)
        return self.probe_data[net.online_output]

    def train(self, images, targets, factor, rng):
        """Present a minibatch with the output clamped to ``targets``, learning at
        ``factor`` times the rules' rate; returns the output at every step."""
        p = self.presentation
        return self._run(images, targets, p.training_modes(self.batch_size),
                         p.learning_gate(self.batch_size, factor), rng, stateful=True)

    def outputs(self, images, n_average, rng):
        """The free network's output averaged over its last ``n_average`` steps,
        for a whole minibatch of images (a stateless call: it changes nothing)."""
        p = self.presentation
        gate = np.zeros((self.batch_size, p.n_steps, 1), np.float32)
        targets = np.zeros((self.batch_size, self.net.arch.sizes[-1]), np.float32)
        out = self._run(images, targets, p.evaluation_modes(self.batch_size), gate, rng,
                        stateful=False)
        return out[:, -n_average:].mean(axis=1)

    def params(self):
        """The learned parameters, read from the simulator (float32)."""
        return self.net.params_from(self.sim)

    def state(self):
        """The simulator's state: ``{name: ndarray}`` (NengoDL's ``save_params``
        with ``include_state=True``: parameters, learned weights, neuron states)."""
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "state"
            self.sim.save_params(str(path), include_state=True)
            with np.load(str(path) + ".npz") as saved:
                return {name: saved[name] for name in saved.files}

    def restore(self, state):
        """Set the simulator's state to ``state`` (from `state`, same network).

        Raises
        ------
        ValueError
            Naming ``resume``, if ``state`` does not have this simulator's arrays
            (another network, or one built by a version of `learning_network` with
            other signals: the learning network lost its unread probes in
            session 11).
        """
        check_state(self.state(), state)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "state"
            np.savez(str(path) + ".npz", **state)
            self.sim.load_params(str(path), include_state=True)

