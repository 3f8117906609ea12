"""Architecture + parameters -> a feedforward Nengo network.

`FeedforwardNetwork` is the neuron-level form of an `~nengo_pc.arch.Architecture`:
each hidden layer is a `nengo.Ensemble` whose neurons compute the layer's
nonlinearity, each weight matrix is a `nengo.Connection` between neuron populations,
and each bias is the ensemble's neuron bias. A convolutional layer's connection
carries a `nengo.Convolution` transform (channels last) with the Keras kernel as its
``init``. It is an ordinary Nengo network, so the same object is trained by
``nengo_dl.Simulator.fit``, run by ``nengo.Simulator`` and shown in nengo-gui.

Convolutional biases are tied: one value per filter, as in Keras. A neuron bias is
per neuron, so NengoDL would train the copies apart; instead the conv ensembles have
bias 0 (made non-trainable by `configure_nengo_dl`) and each conv layer receives its
bias through a 1x1 `nengo.Convolution` from a constant node of ones with one
value per output position: output ``(y, x, c)`` gets ``1 * kernel[0, 0, 0, c]``,
i.e. the filter's bias, and training updates the one shared value.
"""

import math
import numbers

import nengo
import numpy as np
from nengo.exceptions import ValidationError
from nengo.params import EnumParam
from nengo.synapses import SynapseParam

from nengo_pc.arch import INPUT_CODINGS, SYNAPSES, Architecture, LIFParams
from nengo_pc.networks.params import FlagParam
from nengo_pc.params import Params, init_params


def neuron_type(activation, lif=LIFParams(), spiking=True):
    """The Nengo neuron type whose rate response is ``activation``.

    With gain 1 and bias b a neuron receives ``j = x + b``; the types below then
    output exactly ``f(j)``, which is what keeps the Nengo network equal to the
    description. ``"linear"`` has no neuron type: such layers are `nengo.Node`.
    ``"lif"`` gives spiking `nengo.LIF` neurons; NengoDL trains them through their
    rate curve (soft-LIF when ``lif_smoothing`` is configured, see
    `configure_nengo_dl`). ``spiking=False`` gives `nengo.LIFRate` instead: the
    same neurons in rate mode.
    """
    if activation == "lif" and not spiking:
        return nengo.LIFRate(tau_rc=lif.tau_rc, tau_ref=lif.tau_ref, amplitude=lif.amplitude)
    if activation == "lif":
        return nengo.LIF(tau_rc=lif.tau_rc, tau_ref=lif.tau_ref, amplitude=lif.amplitude)
    if activation == "relu":
        return nengo.RectifiedLinear()
    if activation == "tanh":
        # nengo.Tanh outputs tanh(j) / tau_ref
        return nengo.Tanh(tau_ref=1.0)
    if activation == "sigmoid":
        # nengo.Sigmoid outputs sigmoid(j) / tau_ref
        return nengo.Sigmoid(tau_ref=1.0)
    if activation == "linear":
        return None
    raise ValueError(f"activation: no Nengo neuron type for {activation!r}")


class FeedforwardNetwork(nengo.Network):
    """A feedforward network of neuron populations built from an architecture.

    Parameters
    ----------
    arch : Architecture
        Sizes and hidden nonlinearity.
    params : Params, optional
        Weights and biases (Keras layout). Defaults to ``init_params(arch, seed)``.
    synapse : nengo.synapses.Synapse or None
        Synapse on every weight connection. ``None`` (no filtering) is what
        rate-mode training and single-step inference use; spiking runs use
        ``nengo.Lowpass(tau)`` or ``nengo.Alpha(tau)``.
    input_coding : str
        ``"constant"``: the image drives the first layer directly. ``"poisson"``:
        each pixel intensity x in [0, 1] becomes a Poisson spike train of rate
        ``x * max_rate`` (`nengo_pc.processes.PoissonRateCode`), scaled by
        ``1 / max_rate`` so its mean equals the constant input.
    spiking : bool
        For ``"lif"`` networks: spiking `nengo.LIF` neurons (True) or their rate
        curve, `nengo.LIFRate` (False). Other nonlinearities have no spiking form.
    label : str, optional
        Name of the network.
    seed : int, optional
        Seed for the network and, when ``params`` is omitted, for initialisation.
    add_to_container : bool, optional
        Whether to add this network to the current context.

    Attributes
    ----------
    input : nengo.Node
        Input of width ``arch.sizes[0]``: a node with output (zeros), which NengoDL
        feeds with data (``sim.fit({net.input: x}, ...)``); set its ``output`` to
        drive it in ``nengo.Simulator``.
    layers : list
        One entry per hidden layer: a `nengo.Ensemble` (neurons with gain 1 and the
        layer's bias), or a `nengo.Node` for linear layers.
    output : nengo.Node
        Linear output (logits) of width ``arch.sizes[-1]``.
    weight_connections : list of nengo.Connection
        The weight matrices, one per layer: ``transform = W.T`` for dense layers, a
        `nengo.Convolution` for convolutional ones.
    bias_connections : dict
        For layers that are Nodes (linear hidden layers and the output), the
        connection from `bias_node` that adds the bias, and for convolutional layers
        the 1x1 convolution from a node of ones (see the module docstring), keyed by
        layer index.
    conv_layers : list
        The hidden layers that are convolutional (their ensembles' own biases are 0).
    probe : nengo.Probe
        Probe on `output` with no synapse.
    """

    synapse = SynapseParam("synapse", optional=True)
    input_coding = EnumParam("input_coding", values=INPUT_CODINGS)
    spiking = FlagParam("spiking")

    def __init__(
        self,
        arch,
        params=None,
        synapse=None,
        input_coding="constant",
        spiking=True,
        label=None,
        seed=None,
        add_to_container=None,
    ):
        if not isinstance(arch, Architecture):
            raise ValidationError(f"expected an Architecture, got {type(arch).__name__}",
                                  attr="arch", obj=self)
        self.synapse, self.input_coding = synapse, input_coding
        self.spiking = spiking
        super().__init__(label=label, seed=seed, add_to_container=add_to_container)
        self.arch = arch
        params = init_params(arch, seed=0 if seed is None else seed) if params is None else params
        params.check(arch)

        with self:
            self.input = nengo.Node(np.zeros(arch.sizes[0]), label="input")
            # A constant 1 whose outgoing weights are the biases of Node layers.
            self.bias_node = nengo.Node(1.0, label="bias")
            self.layers, self.weight_connections, self.bias_connections = [], [], {}
            self.conv_layers = []
            shapes = arch.activation_shapes

            pre = self.input
            if input_coding == "poisson":
                from nengo_pc.processes import PoissonRateCode

                coder = PoissonRateCode(size=arch.sizes[0])
                self.spike_input = nengo.Node(coder, label="poisson input")
                nengo.Connection(self.input, self.spike_input, synapse=None)
                pre = nengo.Node(size_in=arch.sizes[0], label="coded input")
                nengo.Connection(self.spike_input, pre, transform=1.0 / coder.max_rate,
                                 synapse=None)
            last = arch.n_layers - 1
            for i, (w, b) in enumerate(zip(params.weights, params.biases)):
                ntype = None if i == last else neuron_type(arch.activation, arch.lif, spiking)
                name = "output" if i == last else (
                    f"conv{i + 1}" if arch.is_conv(i) else f"hidden{i + 1}")
                n_out = arch.sizes[i + 1]
                if arch.is_conv(i):
                    transform = _convolution(arch.conv[i], shapes[i], np.array(w))
                else:
                    transform = np.array(w.T)
                if ntype is None:
                    layer = nengo.Node(size_in=n_out, label=name)
                    target = layer
                    if not arch.is_conv(i):
                        self.bias_connections[i] = nengo.Connection(
                            self.bias_node, layer, transform=b[:, None], synapse=None
                        )
                else:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        # LIF's max_rates_intercepts divides by zero for gain 1,
                        # bias 0; those derived values are unused here
                        layer = nengo.Ensemble(
                            n_out,
                            1,
                            neuron_type=ntype,
                            gain=np.ones(n_out),
                            # a conv layer's tied bias arrives through a connection
                            bias=np.zeros(n_out) if arch.is_conv(i) else np.array(b),
                            label=name,
                        )
                    target = layer.neurons
                if arch.is_conv(i):
                    if ntype is not None:
                        self.conv_layers.append(layer)
                    ones = nengo.Node(np.ones(n_out // b.shape[0]),
                                      label=f"{name} bias ones")
                    self.bias_connections[i] = nengo.Connection(
                        ones, target, synapse=None,
                        transform=nengo.Convolution(
                            b.shape[0], (*shapes[i + 1][:2], 1), kernel_size=(1, 1),
                            init=np.array(b).reshape(1, 1, 1, -1)),
                    )
                self.weight_connections.append(
                    nengo.Connection(pre, target, transform=transform, synapse=synapse)
                )
                if i < last:
                    self.layers.append(layer)
                    pre = layer.neurons if ntype is not None else layer
                else:
                    self.output = layer

            self.probe = nengo.Probe(self.output, synapse=None, label="output_probe")

    def params_from(self, sim):
        """Read the current parameters from a simulator running this network.

        With ``nengo_dl.Simulator`` these are the live (trained) values.

        Parameters
        ----------
        sim : nengo.Simulator or nengo_dl.Simulator

        Returns
        -------
        Params
        """
        weights, biases = [], []
        for i, conn in enumerate(self.weight_connections):
            w = np.array(sim.data[conn].weights)
            # a Convolution's weights are its kernel, already in Keras layout
            weights.append(w.copy() if self.arch.is_conv(i) else w.T.copy())
            if i in self.bias_connections:
                biases.append(np.array(sim.data[self.bias_connections[i]].weights)
                              .reshape(-1).copy())
            else:
                biases.append(np.array(sim.data[self.layers[i]].bias).copy())
        return Params(weights, biases).check(self.arch)


def _convolution(layer, input_shape, kernel):
    """The `nengo.Convolution` transform of a `~nengo_pc.conv.ConvLayer`."""
    return nengo.Convolution(
        layer.filters, input_shape, kernel_size=layer.kernel_size, strides=layer.strides,
        padding=layer.padding, channels_last=True, init=kernel,
    )


def make_synapse(kind, tau):
    """A Nengo synapse from a name (one of `nengo_pc.arch.SYNAPSES`) and a time
    constant in seconds."""
    if kind == "none":
        return None
    if not (isinstance(tau, (int, float)) and math.isfinite(tau) and tau > 0):
        raise ValueError(f"tau: must be a finite number > 0 seconds, got {tau!r}")
    if kind == "lowpass":
        return nengo.Lowpass(tau)
    if kind == "alpha":
        return nengo.Alpha(tau)
    raise ValueError(f"synapse: {kind!r} is not one of {', '.join(SYNAPSES)}")


def as_synapse(value, name="synapse"):
    """None, a nengo Synapse, or a time constant in seconds as a `nengo.Lowpass`.

    Raises ValueError naming ``name`` unless ``value`` is one of those (a time
    constant must be a finite number > 0).
    """
    if value is None or isinstance(value, nengo.synapses.Synapse):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: must be a finite number > 0, got {value!r}")
    return nengo.Lowpass(float(value))


def configure_nengo_dl(net, one_step=False):
    """NengoDL settings for training ``net`` (a `FeedforwardNetwork`).

    LIF networks train through the soft-LIF rate curve with smoothing
    ``arch.lif.smoothing`` (NengoDL's ``lif_smoothing``: its SoftLIFRate with
    sigma = gamma, checked in ``tests/test_neurons.py``); ``sim.fit`` uses rates,
    ``sim.predict`` spikes. Convolutional ensembles are made non-trainable: their
    neuron biases stay 0 and the tied per-filter bias (its own connection) trains.

    Parameters
    ----------
    net : FeedforwardNetwork
    one_step : bool
        The simulator presents every image for one step and every call fresh
        images (rate-mode training and prediction): no state carried between
        calls, no ``tf.while_loop`` around the one step (0.76x the time per epoch
        of ``fit``), and NengoDL's ``noop_planner``. Its default planner merges
        the hidden layers' bias copies into one operator, so their neuron inputs
        share one array and each layer's input arrives by an element-wise scatter
        (and its gradient); unmerged, every signal is an array of its own, written
        whole: the same network in less time (docs/performance.md, "NengoDL
        training against plain Keras").
    """
    import nengo_dl
    from nengo_dl.graph_optimizer import noop_planner

    with net:
        if one_step:
            nengo_dl.configure_settings(stateful=False, use_loop=False,
                                        planner=noop_planner)
        if net.arch.activation == "lif":
            nengo_dl.configure_settings(lif_smoothing=net.arch.lif.smoothing)
        if net.conv_layers:
            nengo_dl.configure_settings(trainable=None)
            for ensemble in net.conv_layers:
                net.config[ensemble].trainable = False
