"""A predictive-coding network built from Nengo ensembles.

`PredictiveCodingNetwork` is the neuron-level form of the predictive-coding (PC) model
of `nengo_pc.pc.core`: value and error populations are `nengo.Ensemble` objects,
predictions are weighted connections into the error populations, errors feed back to
the values, and the values integrate the resulting drive until the network settles at
the minimum of the energy F. With the output free the network settles to the
feedforward pass (classification); with the output clamped to a target it settles to
the same fixed point as `nengo_pc.pc.core.relax`, and an optional local learning rule
(Nengo's `nengo.PES` on the prediction connections) changes the weights by
pre-activity times post-error. It is an ordinary Nengo network: the reference
simulator, NengoDL and nengo-gui all run it.

`classify` and `settled_outputs` run the network in ``nengo_dl.Simulator`` with the
output free, for a fixed settle time per image (a feedforward sweep through the
network's populations, then free PC inference).

``spiking=True`` makes the network spike (LIF activities, integrate-and-fire pairs for
the signed values and errors, see `PredictiveCodingNetwork`); `nengo_pc.pc.spiking`
runs and measures spiking inference.

What is computed by neurons and what is not, and which connections carry the
transposed forward weights, is listed in the docstring of
`PredictiveCodingNetwork`.

Notation follows `nengo_pc.pc.core`: layers l = 0..L, x_0 the clamped input,
mu_l = f(x_{l-1}) W_l + b_l (mu_1 = x_0 W_1 + b_1), e_l = x_l - mu_l and, for hidden
layers, tau dx_l/dt = -e_l + f'(x_l) * (gamma_{l+1} e_{l+1} W_{l+1}^T), weights in
Keras layout ``(n_{l-1}, n_l)``.
"""

import math
import numbers
import sys
import time
import warnings

import nengo
import numpy as np
from nengo.builder import Builder as NengoBuilder
from nengo.builder import Operator
from nengo.params import EnumParam

from nengo_pc.arch import Architecture, Params, init_params
from nengo_pc.nengo_net import INPUT_CODINGS, make_synapse, neuron_type
from nengo_pc.pc.options import check_lif_params

#: Run modes of the network (see `PredictiveCodingNetwork.mode`).
MODES = ("free", "sweep", "clamped", "learning")

#: Feedback weights carrying e_{l+1} back to layer l.
FEEDBACK = ("transpose", "random")

#: Hidden nonlinearities the network supports: those whose derivative f' the
#: inference dynamics can use (`nengo_pc.pc.ACTIVATIONS`). ``"lif"`` runs nengo.LIF
#: (spiking) or nengo.LIFRate (rate mode) activities, with the soft-LIF slope in the
#: gates (the exact LIF curve has an unbounded slope at threshold).
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear", "lif")

#: Hidden nonlinearities the network can run with ``spiking=True``.
SPIKING_ACTIVATIONS = ("lif", "linear")

#: Amplitude of the spiking pair neurons when ``spiking=True`` and no
#: ``pair_neuron_type`` is given: a unit of signal fires at 1 / amplitude Hz.
SPIKING_PAIR_AMPLITUDE = 0.0005

#: Synapse of a spiking network when ``synapse="auto"``: (kind, tau in seconds) for
#: `nengo_pc.nengo_net.make_synapse`.
SPIKING_SYNAPSE = ("lowpass", 0.005)

# control-node outputs: each flag inhibits one gate population when it is 1
# (clamp: the free-output drive; release: the teacher; hold: the learning gates;
# sweep: the top-down feedback). _LEARN (unused by the network) marks learning phases
# in probes of the control node.
_CLAMP, _RELEASE, _LEARN, _HOLD, _SWEEP = range(5)
_FLAGS = {
    "free": np.array([0.0, 1.0, 0.0, 1.0, 0.0]),
    "sweep": np.array([0.0, 1.0, 0.0, 1.0, 1.0]),
    "clamped": np.array([1.0, 0.0, 0.0, 1.0, 0.0]),
    "learning": np.array([1.0, 0.0, 1.0, 0.0, 0.0]),
}


# ---------------------------------------------------------------------------------
# pair coding: a signed vector z of size n is carried by 2n rectified-linear neurons,
# neuron i with encoder +1 (output relu(z_i)) and neuron n + i with encoder -1
# (output relu(-z_i)), so z = r[:n] - r[n:] exactly


def pair_encoders(n):
    """Encoders of a pair-coded population of ``2 n`` neurons: ``[I; -I]``."""
    eye = np.eye(n)
    return np.vstack([eye, -eye])


def _sparse(shape, rows, cols, values):
    return nengo.Sparse(
        shape, indices=np.column_stack([rows, cols]).astype(np.int64), init=values
    )


def encode(n, scale=1.0):
    """Sparse transform of shape ``(2n, n)`` driving a pair population with z."""
    idx = np.arange(n)
    return _sparse((2 * n, n), np.r_[idx, idx + n], np.r_[idx, idx],
                   np.r_[np.full(n, scale), np.full(n, -scale)])


def decode(n, scale=1.0):
    """Sparse transform of shape ``(n, 2n)`` reading z from pair activities."""
    idx = np.arange(n)
    return _sparse((n, 2 * n), np.r_[idx, idx], np.r_[idx, idx + n],
                   np.r_[np.full(n, scale), np.full(n, -scale)])


def relay(n, scale=1.0):
    """Sparse transform ``encode @ decode`` (shape ``(2n, 2n)``): pairs to pairs."""
    idx = np.arange(n)
    return _sparse(
        (2 * n, 2 * n),
        np.r_[idx, idx, idx + n, idx + n],
        np.r_[idx, idx + n, idx, idx + n],
        np.r_[np.full(n, scale), np.full(n, -scale), np.full(n, -scale),
              np.full(n, scale)],
    )


def _dense_decode(n):
    eye = np.eye(n)
    return np.hstack([eye, -eye])


# ---------------------------------------------------------------------------------
# the slope gate f'(x) * c: a Nengo process with its own operator, so that both
# simulators run it natively (nengo_dl would otherwise call Python every step)


def _soft_lif_slope_numpy(x):
    """f'(x) of the ``"lif"`` activation (soft-LIF, default LIFParams) in numpy.

    The same formula as ``nengo_pc.pc.activations`` (there in TensorFlow):
    f' = amplitude tau_rc [sigmoid(y) / softplus(y)] / (gamma (rho + 1) D^2) with
    y = (x - 1) / gamma, rho = gamma softplus(y), D = tau_ref + tau_rc log(1 + 1/rho).
    """
    from nengo_pc.arch import LIFParams  # pylint: disable=import-outside-toplevel
    from nengo_pc.neurons import (  # pylint: disable=import-outside-toplevel
        _LOG_SOFTPLUS_CLIP,
        _log_softplus,
    )

    lif = LIFParams()
    x = np.asarray(x, dtype=float)
    y = (x - 1.0) / lif.smoothing
    log_sp = _log_softplus(y)
    u = np.exp(np.clip(y, _LOG_SOFTPLUS_CLIP, 0.0))
    with np.errstate(over="ignore"):
        ratio = np.where(y > 0, np.exp(-log_sp) / (1.0 + np.exp(-np.maximum(y, 0.0))),
                         u / ((1.0 + u) * np.log1p(u)))
    log_rho = np.log(lif.smoothing) + log_sp
    rho = np.exp(log_rho)
    q = np.logaddexp(0.0, -log_rho)
    den = lif.tau_ref + lif.tau_rc * q
    return (lif.amplitude * lif.tau_rc / lif.smoothing) * ratio / ((rho + 1.0) * den * den)


def _numpy_slope(activation):
    if activation == "lif":
        return _soft_lif_slope_numpy
    if activation == "relu":
        # 1 where the value is > 0, as the gradient of tf.nn.relu and core's f'
        return lambda x: (x > 0).astype(x.dtype)
    if activation == "tanh":
        return lambda x: 1.0 - np.tanh(x) ** 2
    if activation == "sigmoid":
        def slope(x):
            s = 1.0 / (1.0 + np.exp(-x))
            return s * (1.0 - s)
        return slope
    raise ValueError(f"activation: no slope gate for {activation!r}")


def _tf_slope(activation):
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    if activation == "lif":
        from nengo_pc.pc.activations import (  # pylint: disable=import-outside-toplevel
            get_activation,
        )

        return get_activation("lif").df
    if activation == "relu":
        return lambda x: tf.cast(x > 0, x.dtype)
    if activation == "tanh":
        return lambda x: 1.0 - tf.square(tf.tanh(x))
    if activation == "sigmoid":
        def slope(x):
            s = tf.sigmoid(x)
            return s * (1.0 - s)
        return slope
    raise ValueError(f"activation: no slope gate for {activation!r}")


class SlopeGate(nengo.Process):
    """Elementwise ``f'(x) * c``: the derivative term of PC inference.

    A node with this output takes ``[x, c]`` (size ``2 n``) and outputs
    ``f'(x) * c`` (size ``n``). It is the one computation of the network that is not
    done by neurons: a product of two signals, which rectified-linear neurons cannot
    form exactly. In ``nengo.Simulator`` it is a numpy operator, in
    ``nengo_dl.Simulator`` a TensorFlow one (registered when NengoDL builds it), so
    neither calls back into Python every step.

    Parameters
    ----------
    activation : str
        ``"relu"`` (f' = 1 where x > 0, else 0), ``"tanh"``, ``"sigmoid"`` or
        ``"lif"`` (the derivative of the soft-LIF curve the network is trained
        through, `nengo_pc.pc.activations`; finite everywhere).
    size : int
        n, the number of gated units.
    """

    activation = EnumParam("activation", values=("relu", "tanh", "sigmoid", "lif"))

    def __init__(self, activation, size, **kwargs):
        super().__init__(default_size_in=2 * size, default_size_out=size, **kwargs)
        self.activation = activation

    def make_step(self, shape_in, shape_out, dt, rng, state):
        n = shape_out[0]
        slope = _numpy_slope(self.activation)

        def step_slope_gate(t, x):
            return slope(x[:n]) * x[n:]

        return step_slope_gate


class SimSlopeGate(Operator):
    """Operator setting ``output = f'(input[:n]) * input[n:]``.

    Parameters
    ----------
    activation : str
        As for `SlopeGate`.
    input, output : nengo.builder.Signal
        Signals of sizes 2n and n.
    """

    def __init__(self, activation, input, output, tag=None):
        super().__init__(tag=tag)
        self.activation = activation
        self.sets = [output]
        self.incs = []
        self.reads = [input]
        self.updates = []

    @property
    def input(self):
        """The gate's input signal ``[x, c]``."""
        return self.reads[0]

    @property
    def output(self):
        """The gate's output signal."""
        return self.sets[0]

    @property
    def _descstr(self):
        return f"{self.activation}: {self.input} -> {self.output}"

    def make_step(self, signals, dt, rng):
        x = signals[self.input]
        out = signals[self.output]
        n = out.shape[0]
        slope = _numpy_slope(self.activation)

        def step_sim_slope_gate():
            out[...] = slope(x[:n]) * x[n:]

        return step_sim_slope_gate


@NengoBuilder.register(SlopeGate)
def build_slope_gate(model, process, sig_in, sig_out, mode="set"):
    """Build a `SlopeGate` node output into a `SimSlopeGate` operator."""
    if mode != "set" or sig_in is None:
        raise nengo.exceptions.BuildError(
            "SlopeGate: only usable as the output of a node with an input"
        )
    model.add_op(SimSlopeGate(process.activation, sig_in, sig_out))
    # NengoDL builds the Nengo model (calling this function) before it looks up op
    # builders, so registering here covers every NengoDL simulator without importing
    # TensorFlow when only nengo is used
    if "nengo_dl" in sys.modules:
        _register_nengo_dl()


_NENGO_DL_REGISTERED = []


def _register_nengo_dl():
    if _NENGO_DL_REGISTERED:
        return
    # pylint: disable=import-outside-toplevel
    from nengo_dl.builder import Builder, OpBuilder

    class SlopeGateBuilder(OpBuilder):
        """NengoDL build class of `SimSlopeGate` (one TensorFlow op per gate)."""

        def build_pre(self, signals, config):
            super().build_pre(signals, config)
            op = self.ops[0]
            self.input_data = signals.combine([op.input])
            self.output_data = signals.combine([op.output])
            self.n = op.output.shape[0]
            self.slope = _tf_slope(op.activation)

        def build_step(self, signals):
            x = signals.gather(self.input_data)
            signals.scatter(self.output_data,
                            self.slope(x[..., :self.n]) * x[..., self.n:])

        @staticmethod
        def mergeable(x, y):
            # each gate is its own group: gates are few, and their split of the input
            # into [x, c] is per gate
            return False

    if SimSlopeGate not in Builder.builders:
        Builder.register(SimSlopeGate)(SlopeGateBuilder)
    _NENGO_DL_REGISTERED.append(True)


# ---------------------------------------------------------------------------------


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: must be a finite number > 0, got {value!r}")
    return float(value)


def _check_mode(mode):
    if not (isinstance(mode, str) and mode in MODES):
        raise ValueError(f"mode: {mode!r} is not one of {', '.join(MODES)}")
    return mode


class _Control:
    """Output function of the control node: flags derived from the current mode."""

    def __init__(self, mode):
        self.mode = mode

    def __call__(self, t):
        mode = self.mode(t) if callable(self.mode) else self.mode
        return _FLAGS[_check_mode(mode)]


class PredictiveCodingNetwork(nengo.Network):
    """A predictive-coding network of Nengo ensembles.

    The network holds value nodes x_0..x_L and errors e_1..e_L of the PC model of
    `nengo_pc.pc.core` (layer sizes and nonlinearity from ``arch``, parameters in
    Keras layout from ``params``):

    * predictions mu_l = f(x_{l-1}) W_l + b_l (mu_1 = x_0 W_1 + b_1), errors
      e_l = x_l - mu_l;
    * hidden values follow tau dx_l/dt = -e_l + f'(x_l) * (gamma_{l+1} e_{l+1}
      B_{l+1}^T), gradient descent on F = sum_l ||e_l||^2 / 2 (gamma weighting the
      output term) when B = W;
    * the input x_0 is always clamped to `input`; the output x_L is clamped to
      `target` (modes ``"clamped"`` and ``"learning"``) or free (modes ``"free"``
      and ``"sweep"``), where tau dx_L/dt = -e_L, so that it follows its
      prediction.

    With the output free the only fixed point is the feedforward pass (all errors
    zero); with it clamped the fixed point is that of `nengo_pc.pc.core.relax`. Both
    are reached for any tau and dt that keep the dynamics stable, since every
    integrator stops exactly where its drive is zero.

    Free inference from rest is slow for trained weights: the top-down feedback
    makes F ill-conditioned (a 784-256-256-10 MNIST network needs about 3000 steps
    of dt / tau = 0.1 for 1e-4 relative accuracy). Mode ``"sweep"`` inhibits the
    top-down feedback, so each value simply follows its prediction and the network
    reaches the feedforward pass in a few tau per layer (200 steps: 5e-7); the
    feedforward pass is a fixed point of ``"free"`` too, so switching to ``"free"``
    afterwards keeps it. `settled_outputs` does exactly that.

    **Pair coding.** Every signed quantity (a value, an error, a gated drive) is
    carried by a population of 2n rectified-linear neurons (``pair_neuron_type``,
    default `nengo.RectifiedLinear`) with gain ``1 / amplitude``, bias 0 and
    encoders +1 / -1: neuron i outputs relu(z_i), neuron n + i outputs relu(-z_i), so
    z = r[:n] - r[n:] exactly in rate mode. Populations are connected neuron to
    neuron with explicit weight matrices.

    **Spiking mode** (``spiking=True``). The same populations spike:

    * the signed pairs (values, errors, feedback, output gates, learning gates) are
      `nengo.SpikingRectifiedLinear` neurons, integrate-and-fire neurons without
      leak (amplitude `SPIKING_PAIR_AMPLITUDE` unless ``pair_neuron_type`` says
      otherwise): unit i of a pair fires at ``relu(+-z_i) / amplitude`` Hz, so the
      pair codes z linearly and with its sign (a LIF neuron's rate is not linear in
      its input, so LIF pairs could not carry a signed value exactly);
    * the activities f(x_l) are `nengo.LIF` neurons (gain 1, bias 0, the network's
      LIF parameters), whose rate curve *is* f: with the default LIFParams,
      f(x) = amplitude * LIF rate(x). In rate mode they are `nengo.LIFRate`, the
      exact LIF curve; the soft-LIF curve of `nengo_pc.pc.activations` is used only
      to train, and by the slope gates for f' (the exact curve's slope is infinite
      at threshold);
    * every connection that is not part of an integrator gets ``synapse`` (default
      `SPIKING_SYNAPSE`), the value integrators keep Lowpass(tau), and
      ``value_probes`` / ``error_probes`` read the decoded spikes through
      Lowpass(tau).

    The rate network's fixed points are unchanged; spiking adds noise of about
    ``amplitude / synapse tau`` per filtered spike train, which the integrators
    average further. `nengo_pc.pc.spiking` runs and measures spiking inference.
    Spiking networks need ``"lif"`` activities (or a linear network).

    **Input coding.** ``input_coding="constant"`` drives ``values[0]`` with the
    input as a current; ``"poisson"`` turns each input x in [0, 1] into a Poisson
    spike train of ``x * max_rate`` Hz (`nengo_pc.processes.PoissonRateCode`, node
    ``spike_input``) that goes straight (no synapse) into the ``values[0]`` pairs,
    which count the input spikes and so code x_0 with the same mean.

    **What is neural.**

    * ``values[l]``: pair ensembles labelled ``"value l"``. Hidden and output values
      are integrators as in `nengo.networks.Integrator`: a recurrent connection with
      transform 1 and synapse ``Lowpass(tau)``, and every drive entering through the
      same synapse, so x changes by (1 - exp(-dt / tau)) * drive per step. Their fixed
      point is where the drive is zero, whatever tau and dt. ``values[0]`` is driven
      directly by `input` (clamped, no integration).
    * ``activities[l]``: ensembles labelled ``"activity l"`` of n_l neurons of the
      hidden nonlinearity (`nengo_pc.nengo_net.neuron_type`, gain 1, bias 0), so they
      output f(x_l) exactly. Linear networks have none (the values are the
      activity).
    * ``errors[l]``: pair ensembles labelled ``"error l"``, receiving x_l from
      ``values[l]``, -f(x_{l-1}) W_l from the prediction connection
      (``prediction_connections[l]``, transform ``-[W_l^T; -W_l^T]``) and -b_l from
      the one-neuron ``bias`` ensemble (``bias_connections[l]``). The first layer's
      prediction comes from the pair population ``values[0]`` (the input is not
      passed through f), as do all predictions of linear networks.
    * error to value: ``errors[l]`` drives ``values[l]`` with -e_l.
    * top-down feedback: ``top_down[l]``, pair ensembles labelled ``"feedback l"``
      carrying c_l = gamma_{l+1} B_{l+1} e_{l+1} (see Feedback).
    * gating by inhibition, the Nengo idiom: the free output is driven through
      ``output_drive`` (pairs carrying -e_L), the clamped output through
      ``teacher`` (pairs carrying y - x_L); the control node inhibits one of the
      two, the ``top_down`` populations (mode ``"sweep"``) and the learning gates
      (outside mode ``"learning"``) with a current of -``inhibition``, which
      silences rectified-linear pairs exactly as long as the gated signal is
      smaller than ``inhibition``.

    **What is not neural.**

    * ``slope_gates[l]``: nodes computing f'(x_l) * c_l with c_l = gamma_{l+1}
      B_{l+1} e_{l+1}, the elementwise product of two signals (a `SlopeGate`
      process, native in both simulators). Linear networks need none (f' = 1).
    * `input`, `target` and `control` nodes: the clamped input x_0, the target y,
      and the run mode as five 0/1 flags (clamp, release, learn, hold, sweep).

    **Feedback.** ``feedback_connections[l]`` (from ``errors[l]`` to
    ``top_down[l - 1]``, l = 2..L, transform ``[B_l D; -B_l D]`` with
    D = [I, -I] the pair decoder) carry c_{l-1} = gamma_l B_l e_l, which
    ``top_down[l - 1]`` passes on to ``slope_gates[l - 1]`` (or, for linear
    networks, straight into the integrator of ``values[l - 1]``);
    ``feedback_matrices[l]`` is B_l, of shape (n_{l-1}, n_l). With
    ``feedback="transpose"``, B_l is a copy of W_l: these connections use the
    transposes of the forward (prediction) transforms W_l^T (weight transport);
    with ``feedback="random"`` B_l is a fixed random matrix (entries normal with
    standard deviation sqrt(2 / n_{l-1}), the scale of He-initialised W_l;
    feedback alignment). The copies are made at construction: learning changes
    the prediction connections only, so after learning "transpose" feedback is
    that of the initial weights until the network is rebuilt from `params_from`.

    **Learning.** With ``learning_rate`` set, every prediction and bias connection
    carries a `nengo.PES` rule that sees only its presynaptic activity and the
    postsynaptic error e_l (the decoded activity of ``errors[l]``, passed through a
    pair population ``learning_gates[l]`` that the control node inhibits outside
    mode ``"learning"``). Each step in mode ``"learning"`` changes W_l by
    ``learning_rate * dt * f(x_{l-1})^T e~_l`` and b_l by
    ``learning_rate * dt * e~_l``, with e~_l = e_l / gamma for hidden layers and
    e~_L = e_L (PES's rate is scaled by the presynaptic population size to undo its
    1/n); as for every Nengo learning rule, the change computed in one step reaches
    the weights in the next. After settling in mode ``"clamped"``, one step in mode
    ``"learning"`` is thus ``learning_rate * dt`` times the ``"standard"`` update of
    `nengo_pc.pc.weight_updates`; staying in ``"learning"`` gives incremental PC
    (weights and values changing together). The first
    layer's presynaptic population is the input pairs: its update is exact for
    nonnegative inputs (pixel intensities); for negative inputs the two halves of a
    pair learn separately, so the map is no longer a single matrix W_1.
    `params_from` reads the learned parameters.

    Parameters
    ----------
    arch : Architecture
        Layer sizes and hidden nonlinearity (one of `ACTIVATIONS`).
    params : Params, optional
        Weights and biases in Keras layout; default ``init_params(arch, seed)``.
    tau : float
        Inference time constant in seconds: the synapse of the value integrators
        (> 0). The discrete step size is about dt / tau; dt / tau <= 0.1 keeps
        inference stable for typical weights.
    output_precision : float
        Precision gamma (> 0) of the output error: e_L enters the feedback to layer
        L - 1 (and the energy) weighted by gamma.
    feedback : str
        ``"transpose"`` or ``"random"``, see above.
    clamp_output : bool
        Initial mode: ``"clamped"`` if True, else ``"free"``; change it with `mode`.
    learning_rate : float, optional
        Rate (per second of simulated time, > 0) of the PES rules; None (default)
        builds no learning machinery.
    synapse : nengo.synapses.Synapse or None or "auto"
        Synapse of every connection that is not part of an integrator. ``"auto"``
        (default): None (no filtering, exact) in rate mode, `SPIKING_SYNAPSE` (via
        `nengo_pc.nengo_net.make_synapse`) when spiking.
    pair_neuron_type : nengo.RectifiedLinear, optional
        Neuron type of the pair populations, any ``amplitude``:
        `nengo.RectifiedLinear` in rate mode (the default), and
        `nengo.SpikingRectifiedLinear` with ``spiking=True`` (default amplitude
        `SPIKING_PAIR_AMPLITUDE`). Spiking pairs with ``spiking=False`` give a
        mixed network: spiking pairs, rate activities.
    inhibition : float
        Inhibitory current (in units of the gated signal, > 0) that silences a gate
        population; must exceed every gated signal (|e_L|, |y - x_L|, |e_l|).
    spiking : bool
        Spiking mode (see above); needs a ``"lif"`` (or ``"linear"``) ``arch``.
    input_coding : str
        ``"constant"`` or ``"poisson"`` (see above).
    label : str, optional
        Name of the network.
    seed : int, optional
        Seed of the network, of the random feedback and, without ``params``, of the
        initialisation (0 when None).
    add_to_container : bool, optional
        Whether to add this network to the current context.

    Attributes
    ----------
    arch : Architecture
    input : nengo.Node
        The clamped input x_0 (zeros; set ``input.output`` or feed it in NengoDL).
    spike_input : nengo.Node or None
        The Poisson coder of the input (``input_coding="poisson"``), else None.
    spiking : bool
    input_coding : str
    target : nengo.Node
        The target y for the clamped output (zeros by default).
    control : nengo.Node
        Mode flags (see `mode`).
    values : list of nengo.Ensemble
        ``values[l]`` is "value l", l = 0..L.
    activities : list
        ``activities[l]`` is "activity l" (f(x_l)) for hidden layers of nonlinear
        networks, else None.
    errors : list
        ``errors[l]`` is "error l" for l = 1..L; ``errors[0]`` is None.
    slope_gates : list
        ``slope_gates[l]``: "slope gate l" node for hidden layers, else None.
    bias : nengo.Ensemble
        One neuron with constant output 1, the presynaptic side of the biases.
    output_drive, teacher : nengo.Ensemble
        Gate populations of the free and of the clamped output.
    top_down : list
        ``top_down[l]``: "feedback l" pair ensemble for hidden layers, else None.
    learning_gates : list
        ``learning_gates[l]``, l >= 1, when learning, else None entries.
    prediction_connections, bias_connections, feedback_connections : list
        Indexed by layer l (None where a layer has none).
    feedback_matrices : list
        B_l, l = 2..L (None elsewhere).
    value_probes, error_probes : list of nengo.Probe
        Decoded values x_l and errors e_l (l = 1..L; no synapse in rate mode,
        Lowpass(tau) when spiking); index 0 is None.
    output_probe : nengo.Probe
        ``value_probes[L]``, the output x_L.
    """

    def __init__(
        self,
        arch,
        params=None,
        tau=0.01,
        output_precision=1.0,
        feedback="transpose",
        clamp_output=False,
        learning_rate=None,
        synapse="auto",
        pair_neuron_type=None,
        inhibition=1000.0,
        spiking=False,
        input_coding="constant",
        label=None,
        seed=None,
        add_to_container=None,
    ):
        if not isinstance(arch, Architecture):
            raise ValueError(f"arch: expected an Architecture, got {type(arch).__name__}")
        if arch.activation not in ACTIVATIONS:
            raise ValueError(
                f"arch: activation {arch.activation!r} is not supported by "
                f"predictive-coding inference; use one of {', '.join(ACTIVATIONS)}"
            )
        check_lif_params("arch", arch)
        if not isinstance(spiking, (bool, np.bool_)):
            raise ValueError(f"spiking: must be True or False, got {spiking!r}")
        spiking = bool(spiking)
        if spiking and arch.activation not in SPIKING_ACTIVATIONS:
            raise ValueError(
                f"spiking: spiking networks need LIF activities (arch activation "
                f"'lif', or 'linear'), got {arch.activation!r}"
            )
        if input_coding not in INPUT_CODINGS:
            raise ValueError(
                f"input_coding: {input_coding!r} is not one of {', '.join(INPUT_CODINGS)}"
            )
        if params is None:
            params = init_params(arch, seed=0 if seed is None else seed)
        if not isinstance(params, Params):
            raise ValueError(f"params: expected a Params, got {type(params).__name__}")
        params.check(arch)
        self.tau = _check_positive("tau", tau)
        self.output_precision = _check_positive("output_precision", output_precision)
        if feedback not in FEEDBACK:
            raise ValueError(f"feedback: {feedback!r} is not one of {', '.join(FEEDBACK)}")
        if not isinstance(clamp_output, (bool, np.bool_)):
            raise ValueError(f"clamp_output: must be True or False, got {clamp_output!r}")
        if learning_rate is not None:
            learning_rate = _check_positive("learning_rate", learning_rate)
        if isinstance(synapse, str) and synapse == "auto":
            synapse = make_synapse(*SPIKING_SYNAPSE) if spiking else None
        if synapse is not None and not isinstance(synapse, nengo.synapses.Synapse):
            raise ValueError(
                f"synapse: expected 'auto', None or a nengo Synapse, got {synapse!r}"
            )
        if pair_neuron_type is None:
            pair_neuron_type = (
                nengo.SpikingRectifiedLinear(amplitude=SPIKING_PAIR_AMPLITUDE)
                if spiking else nengo.RectifiedLinear())
        if not isinstance(pair_neuron_type, nengo.RectifiedLinear):
            raise ValueError(
                "pair_neuron_type: pair coding needs rectified-linear neurons "
                "(nengo.RectifiedLinear or nengo.SpikingRectifiedLinear), got "
                f"{pair_neuron_type!r}"
            )
        if spiking and not isinstance(pair_neuron_type, nengo.SpikingRectifiedLinear):
            raise ValueError(
                f"pair_neuron_type: spiking=True needs spiking pairs "
                f"(nengo.SpikingRectifiedLinear), got {pair_neuron_type!r}"
            )
        self.inhibition = _check_positive("inhibition", inhibition)

        super().__init__(label=label, seed=seed, add_to_container=add_to_container)
        self.arch = arch
        self.feedback = feedback
        self.learning_rate = learning_rate
        self.synapse = synapse
        self.pair_neuron_type = pair_neuron_type
        self.spiking = spiking
        self.input_coding = input_coding
        self._control_fn = _Control("clamped" if clamp_output else "free")

        sizes, n_layers = arch.sizes, arch.n_layers
        gamma = self.output_precision
        weights = [np.asarray(w, dtype=np.float64) for w in params.weights]
        biases = [np.asarray(b, dtype=np.float64) for b in params.biases]
        # pair neurons: gain 1 / amplitude makes amplitude * rate equal the signal
        self._pair_gain = 1.0 / pair_neuron_type.amplitude
        integrator = nengo.Lowpass(self.tau)
        rng = np.random.default_rng(0 if seed is None else seed)

        def pair_ensemble(n, name):
            return nengo.Ensemble(
                2 * n, n, neuron_type=pair_neuron_type, encoders=pair_encoders(n),
                gain=np.full(2 * n, self._pair_gain), bias=np.zeros(2 * n), label=name,
            )

        def inhibit(flag, ens):
            nengo.Connection(self.control[flag], ens.neurons,
                             transform=-self.inhibition * np.ones((ens.n_neurons, 1)),
                             synapse=synapse)

        with self:
            self.input = nengo.Node(np.zeros(sizes[0]), label="input")
            self.target = nengo.Node(np.zeros(sizes[-1]), label="target")
            self.control = nengo.Node(self._control_fn, size_out=len(_FLAGS["free"]),
                                      label="control")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                self.bias = nengo.Ensemble(
                    1, 1, neuron_type=pair_neuron_type, gain=np.ones(1),
                    bias=np.full(1, self._pair_gain), label="bias",
                )

            none = [None] * (n_layers + 1)
            self.values, self.activities, self.errors = [], list(none), list(none)
            self.slope_gates, self.learning_gates = list(none), list(none)
            self.top_down = list(none)
            self.prediction_connections, self.bias_connections = list(none), list(none)
            self.feedback_connections, self.feedback_matrices = list(none), list(none)
            self.value_probes, self.error_probes = list(none), list(none)

            for l, n in enumerate(sizes):
                self.values.append(pair_ensemble(n, f"value {l}"))
            self.spike_input = None
            if input_coding == "poisson":
                # Poisson spike trains of rate x * max_rate (x in [0, 1]) straight into
                # the input pairs: integrating neurons count the input spikes, so
                # x_0 is coded without a further synapse
                from nengo_pc.processes import (  # pylint: disable=import-outside-toplevel
                    PoissonRateCode,
                )

                coder = PoissonRateCode(size=sizes[0])
                self.spike_input = nengo.Node(coder, label="poisson input")
                nengo.Connection(self.input, self.spike_input, synapse=None)
                nengo.Connection(self.spike_input, self.values[0].neurons,
                                 transform=encode(sizes[0], 1.0 / coder.max_rate),
                                 synapse=None)
            else:
                nengo.Connection(self.input, self.values[0].neurons,
                                 transform=encode(sizes[0]), synapse=synapse)

            for l in range(1, n_layers + 1):
                n = sizes[l]
                value = self.values[l]
                error = self.errors[l] = pair_ensemble(n, f"error {l}")
                # integrator: x keeps itself through the recurrent synapse, every drive
                # enters through the same synapse
                nengo.Connection(value.neurons, value.neurons, transform=relay(n),
                                 synapse=integrator)
                nengo.Connection(value.neurons, error.neurons, transform=relay(n),
                                 synapse=synapse)
                if l < n_layers:
                    nengo.Connection(error.neurons, value.neurons,
                                     transform=relay(n, -1.0), synapse=integrator)
                    if arch.activation != "linear":
                        with np.errstate(divide="ignore", invalid="ignore"):
                            # LIF's max_rates_intercepts divides by zero for gain 1,
                            # bias 0; those derived values are unused here
                            act = self.activities[l] = nengo.Ensemble(
                                n, 1, neuron_type=neuron_type(arch.activation, arch.lif,
                                                              spiking=spiking),
                                gain=np.ones(n), bias=np.zeros(n), label=f"activity {l}",
                            )
                        nengo.Connection(value.neurons, act.neurons,
                                         transform=decode(n), synapse=synapse)
                        gate = self.slope_gates[l] = nengo.Node(
                            SlopeGate(arch.activation, n), size_in=2 * n, size_out=n,
                            label=f"slope gate {l}",
                        )
                        nengo.Connection(value.neurons, gate[:n], transform=decode(n),
                                         synapse=synapse)
                        nengo.Connection(gate, value.neurons, transform=encode(n),
                                         synapse=integrator)

            # predictions, biases and feedback
            for l in range(1, n_layers + 1):
                n_pre, n = sizes[l - 1], sizes[l]
                w, b = weights[l - 1], biases[l - 1]
                error = self.errors[l]
                pairs_pre = self.activities[l - 1] is None
                pre = self.values[l - 1] if pairs_pre else self.activities[l - 1]
                transform = -np.vstack([w.T, -w.T])
                if pairs_pre:
                    transform = transform @ _dense_decode(n_pre)
                rate = self._pes_rate(l, pre.n_neurons)
                self.prediction_connections[l] = nengo.Connection(
                    pre.neurons, error.neurons, transform=transform, synapse=synapse,
                    learning_rule_type=self._pes(rate),
                )
                self.bias_connections[l] = nengo.Connection(
                    self.bias.neurons, error.neurons,
                    transform=-np.concatenate([b, -b])[:, None], synapse=synapse,
                    learning_rule_type=self._pes(self._pes_rate(l, 1)),
                )
                if l >= 2:
                    back = w.copy() if feedback == "transpose" else rng.normal(
                        0.0, np.sqrt(2.0 / n_pre), size=(n_pre, n))
                    self.feedback_matrices[l] = back
                    scale = gamma if l == n_layers else 1.0
                    c = scale * back @ _dense_decode(n)  # e_l -> c_{l-1}
                    top_down = self.top_down[l - 1] = pair_ensemble(
                        n_pre, f"feedback {l - 1}")
                    self.feedback_connections[l] = nengo.Connection(
                        error.neurons, top_down.neurons, transform=np.vstack([c, -c]),
                        synapse=synapse)
                    inhibit(_SWEEP, top_down)
                    if self.slope_gates[l - 1] is not None:
                        nengo.Connection(top_down.neurons, self.slope_gates[l - 1][n_pre:],
                                         transform=decode(n_pre), synapse=synapse)
                    else:  # linear: f' = 1, straight into the integrator
                        nengo.Connection(top_down.neurons, self.values[l - 1].neurons,
                                         transform=relay(n_pre), synapse=integrator)

            # the output: free (follows its prediction) or clamped (follows the target)
            n_out, out = sizes[-1], self.values[-1]
            self.output_drive = pair_ensemble(n_out, "output drive")
            nengo.Connection(self.errors[-1].neurons, self.output_drive.neurons,
                             transform=relay(n_out, -1.0), synapse=synapse)
            inhibit(_CLAMP, self.output_drive)
            nengo.Connection(self.output_drive.neurons, out.neurons,
                             transform=relay(n_out), synapse=integrator)
            self.teacher = pair_ensemble(n_out, "teacher")
            nengo.Connection(self.target, self.teacher.neurons, transform=encode(n_out),
                             synapse=synapse)
            nengo.Connection(out.neurons, self.teacher.neurons,
                             transform=relay(n_out, -1.0), synapse=synapse)
            inhibit(_RELEASE, self.teacher)
            nengo.Connection(self.teacher.neurons, out.neurons, transform=relay(n_out),
                             synapse=integrator)

            if learning_rate is not None:
                for l in range(1, n_layers + 1):
                    n = sizes[l]
                    lgate = self.learning_gates[l] = pair_ensemble(n, f"learning gate {l}")
                    nengo.Connection(self.errors[l].neurons, lgate.neurons,
                                     transform=relay(n), synapse=synapse)
                    inhibit(_HOLD, lgate)
                    for conn in (self.prediction_connections[l], self.bias_connections[l]):
                        nengo.Connection(lgate.neurons, conn.learning_rule,
                                         transform=_dense_decode(n), synapse=synapse)

            # spikes are read through the integrators' own filter
            probe_synapse = nengo.Lowpass(self.tau) if spiking else None
            for l in range(1, n_layers + 1):
                solver = nengo.solvers.NoSolver(pair_encoders(sizes[l]))
                self.value_probes[l] = nengo.Probe(
                    self.values[l], synapse=probe_synapse, solver=solver,
                    label=f"value {l}")
                self.error_probes[l] = nengo.Probe(
                    self.errors[l], synapse=probe_synapse, solver=solver,
                    label=f"error {l}")
            self.output_probe = self.value_probes[-1]

    def _pes_rate(self, layer, n_pre):
        """PES rate giving dW = learning_rate * dt * pre^T e~ per step."""
        if self.learning_rate is None:
            return None
        # PES divides by the number of presynaptic neurons and its local error is
        # scaled by the postsynaptic gain; hidden updates are divided by gamma
        # (e~_l = e_l / gamma), as in nengo_pc.pc.core.layer_update
        rate = self.learning_rate * n_pre / self._pair_gain
        return rate / self.output_precision if layer < self.arch.n_layers else rate

    @staticmethod
    def _pes(rate):
        if rate is None:
            return None
        with warnings.catch_warnings():
            # PES warns about rates >= 1, which the 1/n_pre scaling makes normal here
            warnings.simplefilter("ignore")
            return nengo.PES(learning_rate=rate, pre_synapse=None)

    @property
    def mode(self):
        """The run mode: ``"free"``, ``"sweep"``, ``"clamped"`` or ``"learning"``.

        ``"free"``: the output follows its prediction (inference / testing).
        ``"sweep"``: as ``"free"`` with the top-down feedback inhibited (a
        feedforward sweep through the same populations). ``"clamped"``: the output is
        pulled to `target`. ``"learning"``: clamped, and the PES rules are on (needs
        ``learning_rate``). Set it between or during runs (``nengo.Simulator`` reads
        it every step, NengoDL when it generates the inputs of each call), or set a
        function of simulation time returning a mode name.
        """
        return self._control_fn.mode

    @mode.setter
    def mode(self, mode):
        if not callable(mode):
            _check_mode(mode)
            if mode == "learning" and self.learning_rate is None:
                raise ValueError(
                    "mode: 'learning' needs a network built with a learning_rate"
                )
        self._control_fn.mode = mode

    def params_from(self, sim):
        """The parameters in the prediction and bias connections of a simulator.

        Reads live values, so after running in mode ``"learning"`` these are the
        learned parameters.

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


# ---------------------------------------------------------------------------------
# classification with NengoDL


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name}: must be an integer >= {low}, got {value!r}")
    return int(value)


def padded_batches(images, batch_size):
    """Split ``images`` into whole minibatches, as NengoDL needs them.

    Yields ``(start, m, batch)``: the first index, the number of real images and a
    batch of exactly ``batch_size`` rows (the last one padded with zeros, whose
    outputs the caller drops).
    """
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        m = len(batch)
        if m < batch_size:
            batch = np.concatenate(
                [batch, np.zeros((batch_size - m,) + batch.shape[1:], batch.dtype)])
        yield start, m, batch


def settled_outputs(arch, params, images, *, settle_time=0.2, sweep_time=0.15, dt=0.001,
                    tau=0.01, batch_size=100, output_precision=1.0, feedback="transpose",
                    seed=0, progress=False):
    """Output values of the PC network after settling on each image, output free.

    Builds a `PredictiveCodingNetwork` and runs it in ``nengo_dl.Simulator`` (rate
    mode), every image from rest (all values zero) for ``round(settle_time / dt)``
    steps: mode ``"sweep"`` for the first ``sweep_time`` seconds (top-down feedback
    inhibited, so each value follows its prediction and the network reaches the
    feedforward pass in a few tau per layer), then mode ``"free"`` (full PC
    inference with the output free) for the rest; returns x_L at the last step.
    The feedforward pass is the one fixed point of both modes, so the second phase
    holds it; with ``sweep_time=0`` the network settles by PC inference alone,
    which with trained weights needs thousands of steps (see
    `PredictiveCodingNetwork`).

    Parameters
    ----------
    arch : Architecture
    params : Params
    images : ndarray
        Shape ``(N, arch.sizes[0])``.
    settle_time : float
        Simulated seconds per image (> 0).
    sweep_time : float
        Seconds of the initial feedforward sweep (0 <= sweep_time <= settle_time).
    dt : float
        Simulator time step in seconds (> 0).
    tau, output_precision, feedback
        As for `PredictiveCodingNetwork`.
    batch_size : int
        Images per simulator call (the minibatch size).
    seed : int
        Network and simulator seed.
    progress : bool
        Print one line per simulator call to stderr.

    Returns
    -------
    ndarray
        Shape ``(N, arch.sizes[-1])``.
    """
    import nengo_dl  # pylint: disable=import-outside-toplevel
    from nengo_dl import graph_optimizer  # pylint: disable=import-outside-toplevel

    images = np.asarray(images)
    if images.ndim != 2 or images.shape[1] != arch.sizes[0] or len(images) == 0:
        raise ValueError(
            f"images: expected shape (N >= 1, {arch.sizes[0]}), got {images.shape}"
        )
    _check_positive("settle_time", settle_time)
    if isinstance(sweep_time, bool) or not isinstance(sweep_time, numbers.Real) \
            or not 0 <= sweep_time <= settle_time:
        raise ValueError(
            f"sweep_time: must be a number in [0, settle_time={settle_time}], "
            f"got {sweep_time!r}"
        )
    _check_positive("dt", dt)
    batch_size = _check_int("batch_size", batch_size, 1)
    n_steps = max(1, int(round(settle_time / dt)))
    n_sweep = int(round(sweep_time / dt))
    net = PredictiveCodingNetwork(arch, params, tau=tau, output_precision=output_precision,
                                  feedback=feedback, seed=seed, label="pc classifier")
    # step k (k = 1..n_steps) runs at t = k dt
    net.mode = lambda t: "sweep" if t < (n_sweep + 0.5) * dt else "free"
    with net:
        # every call starts from rest; only the last step of each probe is needed.
        # NengoDL's default operator merging makes this network 10-20 times slower
        # (measured: 270 vs 16 ms per step for 784-256-256-10, batch 100), so it is off
        nengo_dl.configure_settings(
            stateful=False, keep_history=False, inference_only=True,
            planner=graph_optimizer.noop_planner,
            sorter=graph_optimizer.noop_order_signals,
        )
    n = len(images)
    batch_size = min(batch_size, n)
    outputs = np.zeros((n, arch.sizes[-1]))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No GPU support detected")
        with nengo_dl.Simulator(net, dt=dt, minibatch_size=batch_size, seed=seed,
                                progress_bar=False) as sim:
            for start, m, batch in padded_batches(images, batch_size):
                x = np.repeat(batch[:, None, :], n_steps, axis=1)
                out = sim.predict_on_batch({net.input: x})
                outputs[start:start + m] = out[net.output_probe][:m, -1]
                if progress:
                    print(f"settled {start + m}/{n} images "
                          f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr,
                          flush=True)
    return outputs


def classify(arch, params, images, **kwargs):
    """Predicted labels of the PC network with the output free.

    The argmax of `settled_outputs` (same arguments).

    Returns
    -------
    ndarray of int
        Shape ``(N,)``.
    """
    return np.argmax(settled_outputs(arch, params, images, **kwargs), axis=1)
