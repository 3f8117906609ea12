"""A predictive-coding network built from Nengo ensembles (wiring only).

`PredictiveCodingNetwork` is the neuron-level form of the predictive-coding (PC) model
of `nengo_pc.pc.core`: value and error populations are `nengo.Ensemble` objects,
predictions are weighted connections into the error populations, errors feed back to
the values, and the values integrate the resulting drive until the network settles at
the minimum of the energy F. With the output free the network settles to the
feedforward pass (classification); with the output clamped to a target it settles to
the same fixed point as `nengo_pc.pc.core.relax`, and an optional local learning rule
(Nengo's `nengo.PES` on the prediction connections) changes the weights by
pre-activity times post-error. It composes like `nengo.networks.EnsembleArray`:
connect to its `input` and `target`, drive its mode through `clamp`, `learn` and
`sweep`, connect or probe its `output`. The reference simulator, NengoDL and
nengo-gui all run it.

Running it on data sets (classification, spiking inference) is in
`nengo_pc.networks.inference` and `nengo_pc.networks.spiking`; the pair coding and
the slope gates it is built from are in `nengo_pc.networks.pairs`, its run modes in
`nengo_pc.networks.modes`.

Why this module is long: the class docstring lists what is neural in the network
and what is not (some 175 lines); the code is the wiring.

Notation follows `nengo_pc.pc.core`: layers l = 0..L, x_0 the clamped input,
mu_l = f(x_{l-1}) W_l + b_l (mu_1 = x_0 W_1 + b_1), e_l = x_l - mu_l and, for hidden
layers, tau dx_l/dt = -e_l + f'(x_l) * (gamma_{l+1} e_{l+1} W_{l+1}^T), weights in
Keras layout ``(n_{l-1}, n_l)``.
"""

import warnings

import nengo
import numpy as np
from nengo.exceptions import ValidationError
from nengo.params import EnumParam

from nengo_pc.arch import (
    ACTIVATIONS,
    FEEDBACK,
    INPUT_CODINGS,
    PAIR_AMPLITUDE,
    SPIKING_ACTIVATIONS,
    VALUE_TAU,
    Architecture,
)
from nengo_pc.networks.feedforward import make_synapse, neuron_type
from nengo_pc.networks.modes import MODES, ModeDriver, check_mode
from nengo_pc.networks.pairs import (
    SlopeGate,
    decode,
    encode,
    pair_decoder,
    pair_encoders,
    relay,
)
from nengo_pc.networks.params import FlagParam, PositiveParam
from nengo_pc.params import Params, init_params
from nengo_pc.pc.options import check_lif_params

#: Synapse of a spiking network when ``synapse="auto"``: (kind, tau in seconds) for
#: `nengo_pc.networks.make_synapse`.
SPIKING_SYNAPSE = ("lowpass", 0.005)


class PredictiveCodingNetwork(nengo.Network):
    """A predictive-coding network of Nengo ensembles.

    The network holds value populations x_0..x_L and errors e_1..e_L of the PC model
    of `nengo_pc.pc.core` (layer sizes and nonlinearity from ``arch``, parameters in
    Keras layout from ``params``):

    * predictions mu_l = f(x_{l-1}) W_l + b_l (mu_1 = x_0 W_1 + b_1), errors
      e_l = x_l - mu_l;
    * hidden values follow tau dx_l/dt = -e_l + f'(x_l) * (gamma_{l+1} e_{l+1}
      B_{l+1}^T), gradient descent on F = sum_l ||e_l||^2 / 2 (gamma weighting the
      output term) when B = W;
    * the input x_0 follows `input`; the output x_L is free (it follows its
      prediction, tau dx_L/dt = -e_L) or clamped to `target`.

    With the output free the only fixed point is the feedforward pass (all errors
    zero), so `output` settles to ``nengo_pc.forward(arch, params, x)``; with it
    clamped the fixed point is that of `nengo_pc.pc.core.relax`. Both are reached for
    any tau and dt that keep the dynamics stable, since every integrator stops
    exactly where its drive is zero.

    **Modes.** Three inputs, 0 or 1 each, like the ``gate`` and ``reset`` of
    `nengo.networks.InputGatedMemory`: `clamp` (the output follows `target`),
    `learn` (the PES rules are on; needs ``learning_rate``) and `sweep` (the
    top-down feedback is off). All zero is free inference. ``mode`` drives them from
    an internal node: ``"free"`` (0, 0, 0), ``"sweep"`` (0, 0, 1), ``"clamped"``
    (1, 0, 0), ``"learning"`` (1, 1, 0), or a function of simulation time returning
    one of these names (e.g. a `nengo_pc.networks.modes.ModeSchedule`);
    ``mode=None`` leaves the three inputs to the model. Every connection from them has no synapse: they are the
    experimenter's switches, not spiking signals, and act at once.

    Free inference from rest is slow for trained weights: the top-down feedback
    makes F ill-conditioned (a 784-256-256-10 MNIST network needs about 3000 steps
    of dt / tau = 0.1 for 1e-4 relative accuracy). In mode ``"sweep"`` each value
    simply follows its prediction and the network reaches the feedforward pass in a
    few tau per layer (200 steps: 5e-7); the feedforward pass is a fixed point of
    ``"free"`` too, so switching to ``"free"`` afterwards keeps it.

    **Pair coding.** Every signed quantity (a value, an error, a gated drive) is
    carried by a population of 2n rectified-linear neurons (``pair_neuron_type``,
    encoders +1 / -1: neuron i outputs relu(z_i), neuron n + i outputs relu(-z_i), so
    z = r[:n] - r[n:] exactly in rate mode; see `nengo_pc.networks.pairs`).
    Populations are connected neuron to neuron.

    **Spiking mode** (``spiking=True``). The same populations spike:

    * the signed pairs are `nengo.SpikingRectifiedLinear` neurons (integrate and
      fire without leak, amplitude `nengo_pc.arch.PAIR_AMPLITUDE` unless
      ``pair_neuron_type`` says otherwise): unit i of a pair fires at
      ``relu(+-z_i) / amplitude`` Hz, so the pair codes z linearly and with its sign;
    * the activities f(x_l) are `nengo.LIF` neurons for ``"lif"`` (gain 1, bias 0;
      their rate curve *is* f, and in rate mode they are `nengo.LIFRate`, the exact
      curve; the soft-LIF curve of `nengo_pc.pc.activations` is used only to
      train, and by the slope gates for f') and, for ``"relu"``, integrate-and-fire
      neurons of the pairs' type and amplitude (relu(x) is one half of a pair);
    * every connection that is not part of an integrator or a mode switch gets
      ``synapse`` (default `SPIKING_SYNAPSE`), the value integrators keep
      Lowpass(tau), and ``value_probes`` / ``error_probes`` read the decoded spikes
      through Lowpass(tau).

    The rate network's fixed points are unchanged; spiking adds noise of about
    ``amplitude / synapse tau`` per filtered spike train, which the integrators
    average further. Activations without a spiking neuron (``"tanh"``,
    ``"sigmoid"``) are refused with ``spiking=True``.

    **What is neural.** ``values[l]`` (pair ensembles "value l"; hidden and output
    values are integrators as in `nengo.networks.Integrator`: a recurrent
    connection with transform 1 and synapse Lowpass(tau), every drive entering
    through the same synapse); ``activities[l]`` ("activity l", n_l neurons of the
    hidden nonlinearity with gain 1 and bias 0, so they output f(x_l) exactly;
    linear networks have none); ``errors[l]`` ("error l", receiving x_l, -f(x_{l-1})
    W_l through ``prediction_connections[l]`` (transform ``-[W_l^T; -W_l^T]``, times
    the pair decoder D = [I, -I] when the presynaptic population is a pair
    population: the input, or any layer of a linear network) and -b_l from the
    one-neuron ``bias`` ensemble through ``bias_connections[l]``); ``top_down[l]``
    ("feedback l", carrying c_l = gamma_{l+1} B_{l+1} e_{l+1}); the gates of the
    output, ``output_drive`` (-e_L, the free output) and ``teacher`` (y - x_L, the
    clamped one), and ``learning_gates[l]``. Gating is by inhibition, the Nengo
    idiom: a current of -``inhibition`` silences a rectified-linear pair exactly as
    long as the gated signal is smaller than ``inhibition``. `clamp` inhibits
    ``output_drive`` and releases ``teacher``, `sweep` inhibits the ``top_down``
    populations, `learn` releases the learning gates.

    **What is not neural.** ``slope_gates[l]``: nodes computing f'(x_l) * c_l (a
    `nengo_pc.networks.pairs.SlopeGate`, native in both simulators); linear
    networks need none. The passthrough nodes `input`, `target`, `output`, `clamp`,
    `learn`, `sweep`, the constant node ``on`` and the ``mode`` node.

    **Feedback.** ``feedback_connections[l]`` (from ``errors[l]`` to
    ``top_down[l - 1]``, l = 2..L, transform ``[B_l D; -B_l D]``) carry
    c_{l-1} = gamma_l B_l e_l to ``slope_gates[l - 1]`` (or, for linear networks,
    straight into the integrator of ``values[l - 1]``); `feedback_matrix` returns
    B_l. With ``feedback="transpose"``, B_l is a copy of W_l (weight transport);
    with ``"random"`` a fixed random matrix (normal, standard deviation
    sqrt(2 / n_{l-1}); feedback alignment). The copies are made at construction:
    learning changes the prediction connections only.

    **Learning.** With ``learning_rate`` set, every prediction and bias connection
    carries a `nengo.PES` rule that sees only its presynaptic activity and the
    postsynaptic error e_l (through ``learning_gates[l]``, inhibited unless `learn`
    is 1). Each step with `learn` on changes W_l by ``learning_rate * dt *
    f(x_{l-1})^T e~_l`` and b_l by ``learning_rate * dt * e~_l``, with e~_l = e_l /
    gamma for hidden layers and e~_L = e_L; as for every Nengo learning rule, the
    change computed in one step reaches the weights in the next. After settling in
    mode ``"clamped"``, one step in mode ``"learning"`` is thus ``learning_rate *
    dt`` times the ``"standard"`` update of `nengo_pc.pc.weight_updates`. The first
    layer's update is exact for nonnegative inputs (pixel intensities).
    `params_from` reads the learned parameters.

    Parameters
    ----------
    arch : Architecture
        Layer sizes and hidden nonlinearity (one of `nengo_pc.arch.ACTIVATIONS`).
    params : Params, optional
        Weights and biases in Keras layout; default ``init_params(arch, seed)``.
    mode : str or callable or None
        The initial run mode (see Modes); default ``"sweep"``, which reaches the
        free output's fixed point quickly in rate and in spiking mode (free
        inference with synaptic delays is not stable, see
        `nengo_pc.networks.spiking`).
    tau : float
        Inference time constant in seconds (the synapse of the value integrators,
        > 0; default `nengo_pc.arch.VALUE_TAU`). dt / tau <= 0.1 keeps inference
        stable for typical weights.
    output_precision : float
        Precision gamma (> 0) of the output error.
    feedback : str
        ``"transpose"`` or ``"random"``, see Feedback.
    learning_rate : float, optional
        Rate (per second of simulated time, > 0) of the PES rules; None (default)
        builds no learning machinery.
    synapse : nengo.synapses.Synapse or None or "auto"
        Synapse of every connection that is not part of an integrator or a mode
        switch. ``"auto"`` (default): None in rate mode, `SPIKING_SYNAPSE` when
        spiking.
    spiking : bool
        Spiking mode (see above).
    pair_neuron_type : nengo.RectifiedLinear, optional
        Neuron type of the pair populations, any ``amplitude``; default
        `nengo.RectifiedLinear` in rate mode and `nengo.SpikingRectifiedLinear`
        (amplitude `nengo_pc.arch.PAIR_AMPLITUDE`) when spiking. Spiking pairs with
        ``spiking=False`` give a mixed network: spiking pairs, rate activities.
    inhibition : float
        Inhibitory current (> 0) that silences a gate population; must exceed every
        gated signal.
    input_coding : str
        ``"constant"``: the input drives ``values[0]`` as a current; ``"poisson"``:
        each input x in [0, 1] becomes a Poisson spike train of ``x * max_rate`` Hz
        (`nengo_pc.processes.PoissonRateCode`, node ``spike_input``) that goes
        straight into the ``values[0]`` pairs, which count the spikes.
    probe_values : bool
        Build ``value_probes`` and ``error_probes`` (default). Without them a
        simulator does less every step (NengoDL computes every probe every step:
        a decoder product and a filter each); probes are seeded last, so the rest
        of the network is the same.
    label, seed, add_to_container
        As for `nengo.Network`. ``seed`` also seeds the random feedback and, without
        ``params``, the initialisation (0 when None).

    Attributes
    ----------
    input, target : nengo.Node
        Passthrough nodes of sizes ``arch.sizes[0]`` and ``arch.sizes[-1]``.
    output : nengo.Node
        Passthrough node carrying the decoded output x_L (spikes when spiking).
    clamp, learn, sweep : nengo.Node
        Passthrough nodes of size 1: the mode inputs.
    mode_node : nengo.Node or None
        The node driving them from ``mode`` (None with ``mode=None``).
    values, activities, errors, slope_gates, top_down, learning_gates : list
        Indexed by layer l (None where a layer has none).
    bias : nengo.Ensemble
        One neuron with constant output 1, the presynaptic side of the biases.
    output_drive, teacher : nengo.Ensemble
        Gate populations of the free and of the clamped output.
    prediction_connections, bias_connections, feedback_connections : list
        Indexed by layer l (None where a layer has none).
    value_probes, error_probes : list of nengo.Probe
        Decoded x_l and e_l (l = 1..L; no synapse in rate mode, Lowpass(tau) when
        spiking); index 0 is None, and every entry with ``probe_values=False``.
        ``output_probe`` is ``value_probes[L]``.
    """

    tau = PositiveParam("tau")
    output_precision = PositiveParam("output_precision")
    feedback = EnumParam("feedback", values=FEEDBACK)
    learning_rate = PositiveParam("learning_rate", optional=True)
    spiking = FlagParam("spiking")
    inhibition = PositiveParam("inhibition")
    input_coding = EnumParam("input_coding", values=INPUT_CODINGS)
    probe_values = FlagParam("probe_values")

    def __init__(self, arch, params=None, *, mode="sweep", tau=VALUE_TAU,
                 output_precision=1.0, feedback="transpose", learning_rate=None,
                 synapse="auto", spiking=False, pair_neuron_type=None,
                 inhibition=1000.0, input_coding="constant", probe_values=True,
                 label=None, seed=None, add_to_container=None):
        self.spiking, self.probe_values = spiking, probe_values
        self._check_arch(arch)
        self.tau, self.output_precision, self.feedback = tau, output_precision, feedback
        self.learning_rate, self.inhibition = learning_rate, inhibition
        self.input_coding = input_coding
        if params is None:
            params = init_params(arch, seed=0 if seed is None else seed)
        if not isinstance(params, Params):
            raise ValidationError(f"expected a Params, got {type(params).__name__}",
                                  attr="params", obj=self)
        params.check(arch)
        self.synapse = self._synapse(synapse)
        self.pair_neuron_type = self._pair_type(pair_neuron_type)
        super().__init__(label=label, seed=seed, add_to_container=add_to_container)
        self.arch = arch
        self._mode_driver = None
        if mode is not None:
            self._mode_driver = ModeDriver("free")
            self.mode = mode
        # gain 1 / amplitude makes amplitude * rate equal the signal
        self._pair_gain = 1.0 / self.pair_neuron_type.amplitude
        # the feedback matrices B_l are arrays: private, so that nengo-gui's
        # NameFinder (which hashes every item of a network's public lists) can
        # name this network; read them with feedback_matrix
        self._feedback_matrices = [None] * (arch.n_layers + 1)
        self.config[nengo.Ensemble].update({
            "neuron_type": self.pair_neuron_type,
            "gain": nengo.dists.Choice([self._pair_gain]),
            "bias": nengo.dists.Choice([0.0]),
        })
        with self:
            self._build_io()
            self._build_layers(params)
            self._build_predictions(params)
            self._build_output()
            if self.learning_rate is not None:
                self._build_learning()
            self._build_probes()

    # -- arguments

    def _check_arch(self, arch):
        if not isinstance(arch, Architecture):
            raise ValidationError(f"expected an Architecture, got {type(arch).__name__}",
                                  attr="arch", obj=self)
        if arch.conv:
            raise ValidationError("convolutional architectures are not supported by "
                                  "the predictive-coding network", attr="arch", obj=self)
        if arch.activation not in ACTIVATIONS:
            raise ValidationError(
                f"activation {arch.activation!r} is not supported by predictive-coding "
                f"inference; use one of {', '.join(ACTIVATIONS)}", attr="arch", obj=self)
        check_lif_params("arch", arch)
        if self.spiking and arch.activation not in SPIKING_ACTIVATIONS:
            raise ValidationError(
                f"spiking networks need activities with a spiking neuron (arch "
                f"activation one of {', '.join(SPIKING_ACTIVATIONS)}), got "
                f"{arch.activation!r}", attr="spiking", obj=self)

    def _synapse(self, synapse):
        if isinstance(synapse, str) and synapse == "auto":
            return make_synapse(*SPIKING_SYNAPSE) if self.spiking else None
        if synapse is not None and not isinstance(synapse, nengo.synapses.Synapse):
            raise ValidationError(f"expected 'auto', None or a nengo Synapse, got "
                                  f"{synapse!r}", attr="synapse", obj=self)
        return synapse

    def _pair_type(self, pair_neuron_type):
        if pair_neuron_type is None:
            return (nengo.SpikingRectifiedLinear(amplitude=PAIR_AMPLITUDE)
                    if self.spiking else nengo.RectifiedLinear())
        if not isinstance(pair_neuron_type, nengo.RectifiedLinear):
            raise ValidationError(
                "pair coding needs rectified-linear neurons (nengo.RectifiedLinear or "
                f"nengo.SpikingRectifiedLinear), got {pair_neuron_type!r}",
                attr="pair_neuron_type", obj=self)
        if self.spiking and not isinstance(pair_neuron_type, nengo.SpikingRectifiedLinear):
            raise ValidationError(
                f"spiking=True needs spiking pairs (nengo.SpikingRectifiedLinear), got "
                f"{pair_neuron_type!r}", attr="pair_neuron_type", obj=self)
        return pair_neuron_type

    # -- wiring

    def _pairs(self, n, label):
        return nengo.Ensemble(2 * n, n, encoders=pair_encoders(n), label=label)

    def _inhibit(self, ens, switch, inverted=False):
        """Inhibit ``ens`` while ``switch`` is 1 (``inverted``: while it is 0)."""
        current = -self.inhibition * np.ones((ens.n_neurons, 1))
        if inverted:  # -inhibition * (1 - switch)
            nengo.Connection(self.on, ens.neurons, transform=current, synapse=None)
            current = -current
        nengo.Connection(switch, ens.neurons, transform=current, synapse=None)

    def _build_io(self):
        sizes = self.arch.sizes
        self.input = nengo.Node(size_in=sizes[0], label="input")
        self.target = nengo.Node(size_in=sizes[-1], label="target")
        self.output = nengo.Node(size_in=sizes[-1], label="output")
        self.clamp = nengo.Node(size_in=1, label="clamp")
        self.learn = nengo.Node(size_in=1, label="learn")
        self.sweep = nengo.Node(size_in=1, label="sweep")
        self.on = nengo.Node(1.0, label="on")
        self.mode_node = None
        if self._mode_driver is not None:
            self.mode_node = nengo.Node(self._mode_driver, size_out=3, label="mode")
            for k, switch in enumerate((self.clamp, self.learn, self.sweep)):
                nengo.Connection(self.mode_node[k], switch, synapse=None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            self.bias = nengo.Ensemble(1, 1, gain=np.ones(1),
                                       bias=np.full(1, self._pair_gain), label="bias")

    def _build_layers(self, params):
        sizes, n_layers, synapse = self.arch.sizes, self.arch.n_layers, self.synapse
        integrator = nengo.Lowpass(self.tau)
        none = [None] * (n_layers + 1)
        self.values = [self._pairs(n, f"value {l}") for l, n in enumerate(sizes)]
        self.activities, self.errors, self.slope_gates = list(none), list(none), list(none)
        self.spike_input = None
        if self.input_coding == "poisson":
            # Poisson spike trains of rate x * max_rate straight into the input pairs:
            # integrating neurons count the input spikes, so x_0 needs no synapse
            from nengo_pc.processes import (  # pylint: disable=import-outside-toplevel
                PoissonRateCode,
            )

            coder = PoissonRateCode(size=sizes[0])
            self.spike_input = nengo.Node(coder, label="poisson input")
            nengo.Connection(self.input, self.spike_input, synapse=None)
            nengo.Connection(self.spike_input, self.values[0].neurons,
                             transform=encode(sizes[0], 1.0 / coder.max_rate), synapse=None)
        else:
            nengo.Connection(self.input, self.values[0].neurons, transform=encode(sizes[0]),
                             synapse=synapse)

        for l in range(1, n_layers + 1):
            n, value = sizes[l], self.values[l]
            error = self.errors[l] = self._pairs(n, f"error {l}")
            # integrator: x keeps itself through the recurrent synapse, every drive
            # enters through the same synapse
            nengo.Connection(value.neurons, value.neurons, transform=relay(n),
                             synapse=integrator)
            nengo.Connection(value.neurons, error.neurons, transform=relay(n),
                             synapse=synapse)
            if l == n_layers:
                continue
            nengo.Connection(error.neurons, value.neurons, transform=relay(n, -1.0),
                             synapse=integrator)
            if self.arch.activation == "linear":
                continue
            self.activities[l] = self._activity(n, l)
            nengo.Connection(value.neurons, self.activities[l].neurons,
                             transform=decode(n), synapse=synapse)
            gate = self.slope_gates[l] = nengo.Node(
                SlopeGate(self.arch.activation, n), size_in=2 * n, size_out=n,
                label=f"slope gate {l}")
            nengo.Connection(value.neurons, gate[:n], transform=decode(n),
                             synapse=synapse)
            nengo.Connection(gate, value.neurons, transform=encode(n),
                             synapse=integrator)

    def _activity(self, n, l):
        activation = self.arch.activation
        if activation == "relu":
            # relu(x) is one half of a pair: the pairs' neuron type, gain and amplitude
            # (spiking only when the network spikes: mixed networks keep rate
            # activities)
            ntype = self.pair_neuron_type if self.spiking else nengo.RectifiedLinear()
            gain = 1.0 / ntype.amplitude
        else:
            ntype = neuron_type(activation, self.arch.lif, spiking=self.spiking)
            gain = 1.0
        with np.errstate(divide="ignore", invalid="ignore"):
            # LIF's max_rates_intercepts divides by zero for gain 1, bias 0; those
            # derived values are unused here
            return nengo.Ensemble(n, 1, neuron_type=ntype, gain=np.full(n, gain),
                                  bias=np.zeros(n), label=f"activity {l}")

    def _build_predictions(self, params):
        sizes, n_layers, synapse = self.arch.sizes, self.arch.n_layers, self.synapse
        none = [None] * (n_layers + 1)
        self.top_down, self.feedback_connections = list(none), list(none)
        self.prediction_connections, self.bias_connections = list(none), list(none)
        rng = np.random.default_rng(0 if self.seed is None else self.seed)
        for l in range(1, n_layers + 1):
            n_pre, n = sizes[l - 1], sizes[l]
            w = np.asarray(params.weights[l - 1], dtype=np.float64)
            b = np.asarray(params.biases[l - 1], dtype=np.float64)
            error = self.errors[l]
            pairs_pre = self.activities[l - 1] is None
            pre = self.values[l - 1] if pairs_pre else self.activities[l - 1]
            transform = -np.vstack([w.T, -w.T])
            if pairs_pre:
                transform = transform @ pair_decoder(n_pre)
            self.prediction_connections[l] = nengo.Connection(
                pre.neurons, error.neurons, transform=transform, synapse=synapse,
                learning_rule_type=self._pes(l, pre.n_neurons))
            self.bias_connections[l] = nengo.Connection(
                self.bias.neurons, error.neurons,
                transform=-np.concatenate([b, -b])[:, None], synapse=synapse,
                learning_rule_type=self._pes(l, 1))
            if l < 2:
                continue
            back = w.copy() if self.feedback == "transpose" else rng.normal(
                0.0, np.sqrt(2.0 / n_pre), size=(n_pre, n))
            self._feedback_matrices[l] = back
            scale = self.output_precision if l == n_layers else 1.0
            c = scale * back @ pair_decoder(n)  # e_l -> c_{l-1}
            top_down = self.top_down[l - 1] = self._pairs(n_pre, f"feedback {l - 1}")
            self.feedback_connections[l] = nengo.Connection(
                error.neurons, top_down.neurons, transform=np.vstack([c, -c]),
                synapse=synapse)
            self._inhibit(top_down, self.sweep)
            if self.slope_gates[l - 1] is not None:
                nengo.Connection(top_down.neurons, self.slope_gates[l - 1][n_pre:],
                                 transform=decode(n_pre), synapse=synapse)
            else:  # linear: f' = 1, straight into the integrator
                nengo.Connection(top_down.neurons, self.values[l - 1].neurons,
                                 transform=relay(n_pre), synapse=nengo.Lowpass(self.tau))

    def _build_output(self):
        n_out, out, synapse = self.arch.sizes[-1], self.values[-1], self.synapse
        integrator = nengo.Lowpass(self.tau)
        # free: the output follows its prediction; clamped: it follows the target
        self.output_drive = self._pairs(n_out, "output drive")
        nengo.Connection(self.errors[-1].neurons, self.output_drive.neurons,
                         transform=relay(n_out, -1.0), synapse=synapse)
        self._inhibit(self.output_drive, self.clamp)
        nengo.Connection(self.output_drive.neurons, out.neurons, transform=relay(n_out),
                         synapse=integrator)
        self.teacher = self._pairs(n_out, "teacher")
        nengo.Connection(self.target, self.teacher.neurons, transform=encode(n_out),
                         synapse=synapse)
        nengo.Connection(out.neurons, self.teacher.neurons, transform=relay(n_out, -1.0),
                         synapse=synapse)
        self._inhibit(self.teacher, self.clamp, inverted=True)
        nengo.Connection(self.teacher.neurons, out.neurons, transform=relay(n_out),
                         synapse=integrator)
        nengo.Connection(out.neurons, self.output, transform=decode(n_out), synapse=None)

    def _build_learning(self):
        sizes = self.arch.sizes
        self.learning_gates = [None] * (self.arch.n_layers + 1)
        for l in range(1, self.arch.n_layers + 1):
            n = sizes[l]
            gate = self.learning_gates[l] = self._pairs(n, f"learning gate {l}")
            nengo.Connection(self.errors[l].neurons, gate.neurons, transform=relay(n),
                             synapse=self.synapse)
            self._inhibit(gate, self.learn, inverted=True)
            for conn in (self.prediction_connections[l], self.bias_connections[l]):
                nengo.Connection(gate.neurons, conn.learning_rule,
                                 transform=pair_decoder(n), synapse=self.synapse)

    def _build_probes(self):
        n_layers = self.arch.n_layers
        if self.learning_rate is None:
            self.learning_gates = [None] * (n_layers + 1)
        # spikes are read through the integrators' own filter
        probe_synapse = nengo.Lowpass(self.tau) if self.spiking else None
        self.value_probes, self.error_probes = [None], [None]
        if not self.probe_values:
            self.value_probes = self.error_probes = [None] * (n_layers + 1)
            self.output_probe = None
            return
        for l in range(1, n_layers + 1):
            solver = nengo.solvers.NoSolver(pair_encoders(self.arch.sizes[l]))
            self.value_probes.append(nengo.Probe(
                self.values[l], synapse=probe_synapse, solver=solver, label=f"value {l}"))
            self.error_probes.append(nengo.Probe(
                self.errors[l], synapse=probe_synapse, solver=solver, label=f"error {l}"))
        self.output_probe = self.value_probes[-1]

    def _pes(self, layer, n_pre):
        """PES rule giving dW = learning_rate * dt * pre^T e~ per step (or None)."""
        if self.learning_rate is None:
            return None
        # PES divides by the number of presynaptic neurons and its local error is
        # scaled by the postsynaptic gain; hidden updates are divided by gamma
        # (e~_l = e_l / gamma), as in nengo_pc.pc.core.layer_update
        rate = self.learning_rate * n_pre / self._pair_gain
        if layer < self.arch.n_layers:
            rate /= self.output_precision
        with warnings.catch_warnings():
            # PES warns about rates >= 1, which the 1/n_pre scaling makes normal here
            warnings.simplefilter("ignore")
            return nengo.PES(learning_rate=rate, pre_synapse=None)

    # -- reading and driving

    def feedback_matrix(self, layer):
        """B_l, the feedback weights carrying e_l back to layer l - 1 (l = 2..L).

        Shape ``(n_{l-1}, n_l)``; a copy of W_l for ``feedback="transpose"``.
        """
        if not (isinstance(layer, (int, np.integer)) and 2 <= layer <= self.arch.n_layers):
            raise ValueError(f"layer: must be an integer in 2..{self.arch.n_layers}, "
                             f"got {layer!r}")
        return self._feedback_matrices[layer]

    @property
    def mode(self):
        """The run mode driving `clamp`, `learn` and `sweep` (see the class docstring).

        A name of `MODES` or a function of simulation time returning one. Set it
        between or during runs (``nengo.Simulator`` reads it every step, NengoDL when
        it generates the inputs of each call). None when the network was built with
        ``mode=None``.
        """
        return None if self._mode_driver is None else self._mode_driver.mode

    @mode.setter
    def mode(self, mode):
        if self._mode_driver is None:
            raise ValueError("mode: this network was built with mode=None; drive its "
                             "clamp, learn and sweep inputs instead")
        if not callable(mode):
            check_mode(mode)
            if mode == "learning" and self.learning_rate is None:
                raise ValueError(
                    "mode: 'learning' needs a network built with a learning_rate")
        self._mode_driver.mode = mode

    def params_from(self, sim):
        """The parameters in the prediction and bias connections of a simulator.

        Reads live values, so after learning these are the learned parameters.

        Parameters
        ----------
        sim : nengo.Simulator or nengo_dl.Simulator

        Returns
        -------
        Params
        """
        def live(conn):
            if type(sim).__module__.startswith("nengo_dl"):
                return np.array(sim.data[conn].weights)
            return np.array(sim.signals[sim.model.sig[conn]["weights"]])

        weights, biases = [], []
        for l in range(1, self.arch.n_layers + 1):
            n_pre, n = self.arch.sizes[l - 1], self.arch.sizes[l]
            # rows 0..n-1 drive the +1 neurons of the error pairs with -mu
            weights.append(-live(self.prediction_connections[l])[:n, :n_pre].T.copy())
            biases.append(-live(self.bias_connections[l])[:n, 0].copy())
        return Params(weights, biases).check(self.arch)
