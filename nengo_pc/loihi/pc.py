"""The predictive-coding network's inference in a form Loihi runs.

`nengo_pc.networks.PredictiveCodingNetwork` does not build with nengo-loihi
(docs/loihi.md): its pair wiring is `nengo.Sparse`, which nengo-loihi neither sends
between host and chip nor splits over cores; its slope gates f'(x) * c are host
nodes; its bias neuron and input pairs fire faster than one spike per step. For
inference with the output free it does not need them. In mode ``"sweep"`` (what
`nengo_pc.networks.spiking.spiking_inference` runs by default) the top-down
feedback populations are inhibited, so the gates multiply f'(x) by zero, and the
teacher, the clamp and the learning gates are silent. `LoihiPCNetwork` is that
network without the silent parts:

* ``values[l]`` (l = 1..L): 2 n_l integrate-and-fire pairs, an integrator (recurrent
  relay through Lowpass(tau)) driven by ``-errors[l]`` through Lowpass(tau) (the
  output through ``output_drive``, as in the PC network), so that
  tau dx_l/dt = -e_l;
* ``errors[l]``: 2 n_l pairs receiving x_l from ``values[l]`` and the prediction
  ``-f(x_{l-1}) W_l`` from ``activities[l - 1]`` (layer 1: from the input layer),
  with ``-b_l`` as the compartments' own bias current (the PC network's one-neuron
  bias population would fire at ``1 / amplitude`` Hz, above Loihi's one spike per
  step);
* ``activities[l]`` (l = 1..L-1): n_l `nengo.LIF` neurons, gain 1, bias 0, reading
  the decoded value: their rate curve is f;
* ``input_layer``: the input value x_0 as ``arch.sizes[0]`` off-chip
  `nengo.SpikingRectifiedLinear` neurons at ``pixel * input_rate`` Hz, as the
  feedforward networks' input on Loihi (`nengo_pc.loihi.add_input_layer`); pixels
  are nonnegative, so the negative half of the input pairs is always silent and is
  left out.

Every transform is dense (a pair relay ``[[I, -I], [-I, I]]`` of a chunk is a
2m x 2m matrix), and every population is a list of chunks of at most `pair_chunk`
units, one core each, sized to a core's synapse memory: relays stay within a
chunk, predictions go from every chunk below to every chunk above.

**Rates.** A Loihi compartment spikes at most once per step and resets to zero, so
an integrate-and-fire neuron driven at ``J`` Hz fires at ``1 / (dt ceil(1 / (J
dt)))`` (`nengo_loihi.neurons.LoihiSpikingRectifiedLinear`): 600 Hz becomes 500 Hz.
The PC network's pair amplitude (`nengo_pc.arch.PAIR_AMPLITUDE`, 2e-5: a unit of
signal at 50,000 Hz) is therefore not available; `pair_amplitudes` chooses one per
layer so that the layer's largest value fires at ``max_rate`` (default
`PC_MAX_RATE`). Too low a rate makes every spike a large pulse (amplitude /
synapse tau) against the signal it codes, and the value and error loops turn
that into noise; rates near 1,000 Hz lose most to whole-step intervals. The
defaults, 1,000 Hz for a layer's largest value (its typical values, a tenth of the
largest or less, fire below 100 Hz) and a 10 ms synapse (`PC_SYNAPSE_TAU`, twice the PC network's 5 ms, which
halves the pulses), were chosen by ``benchmarks/loihi_pc.py --max-rate-sweep``
(results/loihi/pc_max_rate.json and docs/loihi.md).

**Thresholds.** nengo-loihi discretises each block with one scale: its largest
input weight maps to 255 and the threshold, biases and voltages scale with it
(``nengo_loihi.builder.discretize``); the threshold must stay at least 32 after
scaling (``vth_to_manexp``'s mantissa is a multiple of 2^6), else the build stops
with an ``AssertionError``. In the PC network made dense this fails first in
``"feedback 1"``, then ``"output drive"`` and ``"teacher"``: the gates silence a
population with a current of 1,000 through the pairs' gain 1 / 2e-5, weights of
5e7 against a threshold of 1 / dt = 1,000. The Loihi form has no gates (in sweep
mode they are either always shut or always open); `check_threshold` computes the
scaled threshold of every on-chip population before building and refuses one
that would round to 0, naming it.
"""

import nengo
import numpy as np

from nengo_pc.arch import VALUE_TAU
from nengo_pc.loihi import INPUT_RATE, LoihiConfigError, prepare, set_config
from nengo_pc.networks.pairs import pair_decoder, pair_encoders

#: Highest rate (Hz) of a pair population on Loihi by default, for the largest value
#: of its layer (`pair_amplitudes`).
PC_MAX_RATE = 1000.0

#: Synapse of every connection that is not an integrator, seconds (the spiking PC
#: network's is 5 ms; 10 ms halves the pulse of each of the sparser Loihi spikes).
PC_SYNAPSE_TAU = 0.01


def _dense_relay(n, scale=1.0):
    # [[I, -I], [-I, I]]: a pair population's z, encoded into another pair
    # population, as one dense matrix (Loihi takes no sparse transforms)
    return scale * pair_encoders(n) @ pair_decoder(n)


def pair_amplitudes(arch, params, images, max_rate=PC_MAX_RATE):
    """Pair amplitude of each layer so that its largest value fires at ``max_rate``.

    Parameters
    ----------
    arch, params
        The trained network.
    images : ndarray
        Calibration images (e.g. the first training images): the values x_l of the
        feedforward pass (the free output's fixed point) on them set the scale.
    max_rate : float
        Hz for the largest |x_l| (<= 1000 at dt = 1 ms: one spike per step). Lower
        rates lose less to Loihi's whole-step inter-spike intervals, higher ones
        carry less spike noise; values above the calibration's largest saturate.

    Returns
    -------
    list of float
        ``[a_1, ..., a_L]``: value ``x`` of layer l fires ``|x| / a_l`` Hz.
    """
    from nengo_pc.networks.inference import fixed_point

    if not 0 < max_rate <= 1000:
        raise LoihiConfigError(f"max_rate: must be in (0, 1000] Hz, got {max_rate!r}")
    values = fixed_point(arch, params, np.asarray(images))
    return [float(np.abs(x).max()) / max_rate for x in values]


def quantised_params(arch, params, amplitudes, input_rate=INPUT_RATE, weight_bits=8):
    """The weights as the Loihi PC network's error blocks resolve them.

    nengo-loihi gives all synapses of a block one resolution: its largest weight
    / 255 (a connection with smaller weights gets a smaller weight exponent, but the
    chip's shift drops those bits again: nengo-loihi's "Lost N extra bits in weight
    rounding"). In an error block the largest weight is the relay from its value
    population (transform 1 x gain ``1 / a_l`` x amplitude ``a_l``: 1) unless a
    prediction weight, ``W x a_pre / a_l`` with ``a_pre`` the presynaptic amplitude
    (``1 / input_rate`` for the input layer, the LIF amplitude above), is larger.
    This rounds W to that resolution, the rest of the network exact, to measure
    what the weight quantisation alone costs (`nengo_pc.rates.forward` of the result).

    Returns
    -------
    Params
    """
    from nengo_pc.params import Params

    weights = []
    for l, w in enumerate(params.weights):
        pre = 1.0 / input_rate if l == 0 else arch.lif.amplitude
        unit = pre / amplitudes[l]  # block units of one unit of W
        step = max(1.0, float(np.abs(w).max()) * unit) / (2 ** weight_bits - 1)
        weights.append(np.round(np.asarray(w) * unit / step) * step / unit)
    return Params(weights, [np.asarray(b) for b in params.biases]).check(arch)


def pair_chunk(n, n_pre_axons):
    """Units per core of a pair-coded layer of ``n`` units on Loihi.

    A chunk of k units is 2k error compartments receiving ``n_pre_axons``
    prediction axons and 2k relay axons from its value chunk (and 2k value
    compartments receiving 4k axons): the largest k whose error block fits a
    core's compartments and synapse memory (`nengo_pc.loihi.synapse_bits`), then
    equal chunks.
    """
    from nengo_pc.loihi import MAX_COMPARTMENTS, MAX_SYNAPSE_BITS, synapse_bits

    k = min(n, MAX_COMPARTMENTS // 2)
    while k > 0 and synapse_bits(n_pre_axons + 2 * k, 2 * k) > MAX_SYNAPSE_BITS:
        k -= 1
    if k == 0:
        raise LoihiConfigError(f"layer of {n} units: {n_pre_axons} prediction axons "
                               "leave no room for a pair on a Loihi core")
    n_chunks = -(-n // k)
    return -(-n // n_chunks)


class LoihiPCNetwork(nengo.Network):
    """Spiking PC inference, output free, in mode ``"sweep"``, built for Loihi.

    See the module docstring for its populations. Each population of layer l is a
    list of ensembles of at most `pair_chunk` units (2 neurons a unit for pairs),
    one Loihi core each, unit i of ``values[l][c]`` relaying to unit i of
    ``errors[l][c]`` only: the same network as one ensemble a population with a
    block-diagonal relay, but nengo-loihi splits a dense connection by sending
    every presynaptic spike to every block of the postsynaptic population (the
    zeros included), which made the emulator several times slower and its build
    dominated by splitting. Connect images to `input`; `output` decodes x_L from
    the probed spikes of ``values[-1]``.

    Parameters
    ----------
    arch : Architecture
        A dense ``"lif"`` network.
    params : Params
    amplitudes : list of float
        Pair amplitude of layers 1..L (`pair_amplitudes`); the errors and the
        output drive of a layer use its values' amplitude.
    tau : float
        Inference time constant (the value integrators' synapse), seconds.
    synapse_tau : float
        Lowpass synapse of every other connection, seconds.
    input_rate : float
        Rate of the input layer for a pixel of 1, Hz (<= 1 / dt).
    dt : float
        Simulator step, seconds.
    pair_neuron_type, activity_neuron_type : callable, optional
        ``f(amplitude) -> neuron type`` and ``f(lif) -> neuron type`` replacing the
        pairs' `nengo.SpikingRectifiedLinear` and the activities' `nengo.LIF` (e.g.
        nengo-loihi's ``LoihiSpikingRectifiedLinear`` and ``LoihiLIF``, to see
        Loihi's neuron discretisation alone in `nengo.Simulator`).
    label, seed, add_to_container
        As for `nengo.Network`.

    Attributes
    ----------
    values, errors, activities : tuple of list of nengo.Ensemble
        Indexed by layer l, then chunk (``[]`` where a layer has none).
    chunks : tuple of list of ndarray
        The units of each chunk of layer l.
    input, input_layer, output_drive, output_probes
    """

    def __init__(self, arch, params, amplitudes, *, tau=VALUE_TAU,
                 synapse_tau=PC_SYNAPSE_TAU, input_rate=INPUT_RATE, dt=0.001,
                 pair_neuron_type=None, activity_neuron_type=None, label=None,
                 seed=None, add_to_container=None):
        if arch.conv or arch.activation != "lif":
            raise LoihiConfigError(
                f"arch: the Loihi PC network runs dense 'lif' networks; this one is "
                f"{'convolutional' if arch.conv else repr(arch.activation)}")
        params.check(arch)
        if len(amplitudes) != arch.n_layers or not all(a > 0 for a in amplitudes):
            raise LoihiConfigError(f"amplitudes: need {arch.n_layers} positive pair "
                                   f"amplitudes (layers 1..L), got {amplitudes!r}")
        if not 0 < input_rate <= 1 / dt:
            raise LoihiConfigError(f"input_rate: must be in (0, {1 / dt:g}] Hz (one "
                                   f"spike per step), got {input_rate!r}")
        super().__init__(label=label, seed=seed, add_to_container=add_to_container)
        self.arch, self.amplitudes = arch, [float(a) for a in amplitudes]
        self.tau, self.synapse_tau, self.input_rate = tau, synapse_tau, input_rate
        zero = {"voltage": nengo.dists.Choice([0])}  # Loihi starts at voltage 0

        def pair_type(a):
            if pair_neuron_type is not None:
                return pair_neuron_type(a)
            return nengo.SpikingRectifiedLinear(amplitude=a, initial_state=zero)

        lif = arch.lif
        activity_type = (activity_neuron_type(lif) if activity_neuron_type is not None
                         else nengo.LIF(tau_rc=lif.tau_rc, tau_ref=lif.tau_ref,
                                        amplitude=lif.amplitude, initial_state=zero))
        sizes, n_layers = arch.sizes, arch.n_layers
        synapse, integrator = nengo.Lowpass(synapse_tau), nengo.Lowpass(tau)

        def pairs(n, a, label, bias=None):
            return nengo.Ensemble(
                2 * n, 1, neuron_type=pair_type(a), gain=np.full(2 * n, 1.0 / a),
                bias=np.zeros(2 * n) if bias is None else bias, label=label)

        def name(kind, l, units):
            return f"{kind} {l}[{units[0]}:{units[-1] + 1}]"

        with self:
            # a source node: its output may be replaced by a process (PresentInput)
            self.input = nengo.Node(np.zeros(sizes[0]), label="input")
            self.input_layer = nengo.Ensemble(
                sizes[0], 1, neuron_type=nengo.SpikingRectifiedLinear(
                    amplitude=1.0 / input_rate, initial_state=zero),
                gain=np.ones(sizes[0]), bias=np.zeros(sizes[0]), label="input layer")
            nengo.Connection(self.input, self.input_layer.neurons,
                             transform=input_rate, synapse=None)
            self.values, self.errors, self.activities = [[]], [[]], [[]]
            self.chunks = [[np.arange(sizes[0])]]
            pre_chunks, pre_pops = self.chunks[0], [self.input_layer]
            for l in range(1, n_layers + 1):
                n, a = sizes[l], self.amplitudes[l - 1]
                w = np.asarray(params.weights[l - 1], dtype=np.float64)
                b = np.asarray(params.biases[l - 1], dtype=np.float64)
                k = pair_chunk(n, sizes[l - 1])
                chunks = [np.arange(i, min(i + k, n)) for i in range(0, n, k)]
                values, errors, activities = [], [], []
                for units in chunks:
                    m = len(units)
                    value = pairs(m, a, name("value", l, units))
                    # -b_l as bias current: gain * (-b) on the + half, gain * b on -
                    error = pairs(m, a, name("error", l, units),
                                  bias=np.concatenate([-b[units], b[units]]) / a)
                    nengo.Connection(value.neurons, value.neurons,
                                     transform=_dense_relay(m), synapse=integrator)
                    nengo.Connection(value.neurons, error.neurons,
                                     transform=_dense_relay(m), synapse=synapse)
                    for pre_units, pre in zip(pre_chunks, pre_pops):
                        block = w[np.ix_(pre_units, units)]
                        nengo.Connection(pre.neurons, error.neurons,
                                         transform=-np.vstack([block.T, -block.T]),
                                         synapse=synapse)
                    if l < n_layers:
                        nengo.Connection(error.neurons, value.neurons,
                                         transform=_dense_relay(m, -1.0),
                                         synapse=integrator)
                        with np.errstate(divide="ignore", invalid="ignore"):
                            # nengo derives LIF max rates from gain 1, bias 0 (unused)
                            activity = nengo.Ensemble(
                                m, 1, neuron_type=activity_type, gain=np.ones(m),
                                bias=np.zeros(m), label=name("activity", l, units))
                        nengo.Connection(value.neurons, activity.neurons,
                                         transform=pair_decoder(m), synapse=synapse)
                        activities.append(activity)
                    else:  # the free output follows -e_L through its drive population
                        drive = pairs(m, a, name("output drive", l, units))
                        nengo.Connection(error.neurons, drive.neurons,
                                         transform=_dense_relay(m, -1.0),
                                         synapse=synapse)
                        nengo.Connection(drive.neurons, value.neurons,
                                         transform=_dense_relay(m), synapse=integrator)
                        self.output_drive = drive
                    values.append(value)
                    errors.append(error)
                self.values.append(values)
                self.errors.append(errors)
                self.activities.append(activities)
                self.chunks.append(chunks)
                pre_chunks, pre_pops = chunks, activities
            # tuples: nengo-gui names the items of a network's list attributes and
            # fails on a list of lists (unhashable)
            self.values, self.errors = tuple(self.values), tuple(self.errors)
            self.activities, self.chunks = tuple(self.activities), tuple(self.chunks)
            self.output_probes = [nengo.Probe(v.neurons, synapse=None,
                                              label=f"{v.label} spikes")
                                  for v in self.values[-1]]
        set_config(self, self.input_layer, on_chip=False)

    def output(self, sim):
        """x_L at every step, ``(n_steps, n_out)``, from a simulator's probed spikes
        of ``values[-1]`` (a spike is recorded as amplitude / dt)."""
        parts = []
        for probe in self.output_probes:
            spikes = np.asarray(sim.data[probe])
            m = spikes.shape[-1] // 2
            parts.append(spikes[..., :m] - spikes[..., m:])
        return np.concatenate(parts, axis=-1)

    def connect_output(self, post, synapse):
        """Connect x_L, decoded from the spikes of ``values[-1]``, to ``post``
        (``n_out`` dimensions) through ``synapse``."""
        for units, value in zip(self.chunks[-1], self.values[-1]):
            nengo.Connection(value.neurons, post[units[0]:units[-1] + 1],
                             transform=pair_decoder(len(units)), synapse=synapse)

    def prepare(self, dt=0.001, model=None):
        """`check_threshold`, then `nengo_pc.loihi.prepare` this network (one core
        a chunk); returns what `prepare` returns.

        ``model``: the network the simulator will get, if this one is inside it.
        """
        check_threshold(self, dt)
        if model is not None:
            set_config(model, self.input_layer, on_chip=False)
        return prepare(self, input_rate=None, dt=dt, model=model)


def scaled_thresholds(net, dt=0.001):
    """Thresholds of the on-chip populations as nengo-loihi 1.1 discretises them.

    ``nengo_loihi.builder.discretize.discretize_compartment`` scales a block so that
    its largest input weight (transform x post gain x pre amplitude; 1 for a host
    node) becomes 255, and the threshold (``1 / dt`` for integrate-and-fire, 1 for
    LIF) by the same factor times its synapse and membrane input scaling; the
    threshold is then stored as a mantissa times 2^6, which must not round to 0
    (``vth_to_manexp``'s ``AssertionError``). Computed here from the network, for
    the first weight exponent nengo-loihi tries (the one it keeps unless the
    threshold overflows).

    Returns
    -------
    dict
        ``{population label: (scaled threshold, largest input weight)}`` for every
        on-chip ensemble with inputs.
    """
    from nengo_loihi.block import SynapseConfig
    from nengo_loihi.builder.discretize import decay_magnitude

    def integer_decay(tau):
        return 1.0 if not tau else float(-np.expm1(-dt / tau))

    out = {}
    for ens in net.all_ensembles:
        if getattr(net.config[ens], "on_chip", None) is False:
            continue
        gain = 1.0 if ens.gain is None else ens.gain
        if isinstance(gain, nengo.dists.Distribution):  # e.g. the PC network's Choice
            gain = gain.sample(ens.n_neurons, rng=np.random.RandomState(0))
        gain = np.asarray(gain, dtype=np.float64)
        w_max, taus = 0.0, []
        for conn in net.all_connections:
            if getattr(conn.post_obj, "ensemble", None) is not ens:
                continue  # only connections into .neurons
            pre = conn.pre_obj
            amplitude = (pre.ensemble.neuron_type.amplitude
                         if isinstance(pre, nengo.ensemble.Neurons) else 1.0)
            init = conn.transform.init
            w = np.abs(init.toarray() if hasattr(init, "toarray") else np.asarray(init))
            w = w * (gain[:, None] if w.ndim == 2 else gain)
            w_max = max(w_max, float(w.max()) * amplitude)
            taus.append(getattr(conn.synapse, "tau", 0.0))
        if w_max == 0:
            continue
        decay_u = np.clip(np.round(integer_decay(max(taus)) * 4095 - 1), 0, 4095)
        u_infactor = 1.0 / decay_magnitude(decay_u, x0=2 ** 21, offset=1)
        if isinstance(ens.neuron_type, nengo.LIF):
            vth = 1.0
            decay_v = np.round(integer_decay(ens.neuron_type.tau_rc) * 4095)
            v_infactor = 1.0 / decay_magnitude(decay_v, x0=2 ** 21)
        else:
            vth, v_infactor = 1.0 / dt, 1.0
        v_scale = 255.0 / w_max * SynapseConfig.get_scale(0) / (u_infactor * v_infactor)
        out[ens.label] = (float(np.round(vth * v_scale)), w_max)
    return out


def check_threshold(net, dt=0.001):
    """Refuse, naming the population, a block whose threshold nengo-loihi would
    round to 0 (`scaled_thresholds`): its largest input weight is too large
    against its threshold.

    The predictive-coding network's gates are the example: silencing a
    population by an inhibitory current of 1,000 through its pair gain of
    ``1 / amplitude`` (50,000 at `nengo_pc.arch.PAIR_AMPLITUDE`) gives weights of
    5e7 against a threshold of 1,000 (``"feedback 1"`` fails first).
    """
    from nengo_loihi.builder.discretize import VTH_EXP

    thresholds = scaled_thresholds(net, dt)
    failing = [(label, w_max) for label, (vth, w_max) in thresholds.items()
               if np.round(vth / 2 ** VTH_EXP) < 1]
    if failing:
        label, w_max = failing[0]
        others = (f" (also: {', '.join(repr(f[0]) for f in failing[1:])})"
                  if len(failing) > 1 else "")
        raise LoihiConfigError(
            f"layer {label!r}: its largest input weight ({w_max:.3g}, transform x "
            f"gain x presynaptic amplitude) is too large against its threshold: "
            f"nengo-loihi would round the threshold to 0; lower that weight (e.g. a "
            f"gating inhibition) or the layer's gain{others}")
    return thresholds
