"""Architecture descriptions: the one place that says what a network is.

An `Architecture` is a small, immutable value: layer sizes, optional convolutional
layers (`~nengo_pc.conv.ConvLayer`) in front of the dense ones, and the hidden
nonlinearity. Every way a model runs is built from it -- the Nengo network trained by
NengoDL (`nengo_pc.networks`), the Keras forms, plain (the reference NengoDL is timed
against) and with batch norm (`nengo_pc.convert`), and the predictive-coding numerics
(`nengo_pc.pc`) -- so the copies cannot drift apart. The constants every path shares
(activations, feedback kinds, input codings, synapses, pair amplitude, value time
constant) are defined here, once.

The parameters of a description are `~nengo_pc.params.Params` (drawn, saved and
loaded in `nengo_pc.params`); a convolutional layer and its numpy reference are
`nengo_pc.conv`. Their names (`Params`, `init_params`, `save_params`,
`load_params`, `ConvLayer`, `conv2d`, `PADDINGS`) are importable from here as well.

Activities between layers are always *flattened*: a convolutional layer's output of
shape ``(height, width, channels)`` is a vector of ``height * width * channels``
neurons in channels-last order, the order of Keras' ``Flatten`` and of
``nengo.Convolution(channels_last=True)``. So ``sizes`` counts neurons for every
layer, ``sizes[0]`` is the flattened input width, and `Architecture.linear` defines
what each layer computes on such vectors; every execution path must agree with it.
"""

import dataclasses

import numpy as np

from nengo_pc.conv import PADDINGS, ConvLayer, conv2d
from nengo_pc.params import Params, init_params, load_params, save_params

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_CONV",
    "FEEDBACK",
    "INITS",
    "INPUT_CODINGS",
    "PAIR_AMPLITUDE",
    "PRESETS",
    "SPIKING_ACTIVATIONS",
    "SYNAPSES",
    "VALUE_TAU",
    "Architecture",
    "LIFParams",
    "cnn",
    "mlp",
    "softlif_cnn",
    "softlif_mlp",
    # defined in nengo_pc.conv / nengo_pc.params, importable from here too
    "PADDINGS",
    "ConvLayer",
    "conv2d",
    "Params",
    "init_params",
    "load_params",
    "save_params",
]

#: Hidden nonlinearities every execution path knows (the one list: the rate, spiking,
#: online and vectorised paths read it from here). The output layer is linear.
#: ``"lif"`` is a spiking LIF neuron, trained through its soft-LIF rate curve.
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear", "lif")

#: Hidden nonlinearities that have a spiking neuron (`nengo.LIF` for ``"lif"``,
#: integrate-and-fire `nengo.SpikingRectifiedLinear` for ``"relu"``; ``"linear"``
#: layers need none). ``"tanh"`` and ``"sigmoid"`` run in rate mode only.
SPIKING_ACTIVATIONS = ("relu", "linear", "lif")

#: Feedback weights carrying a predictive-coding error back to the layer below:
#: ``"transpose"`` (B = W, weight transport) or ``"random"`` (a fixed random B,
#: feedback alignment).
FEEDBACK = ("transpose", "random")

#: How an image reaches the first layer of a Nengo network: ``"constant"`` (the
#: intensities as a current) or ``"poisson"`` (Poisson spike trains of rate
#: ``x * max_rate``, `nengo_pc.processes.PoissonRateCode`).
INPUT_CODINGS = ("constant", "poisson")

#: How a spiking classifier's output is read (`nengo_pc.networks.presentation.Presentation`):
#: averaged over the presentation (the spike count), at its last step, or at its last
#: step through a lowpass of ``readout_tau`` (NengoDL's spiking-MNIST example's readout).
PRESENTATION_READOUTS = ("mean", "last", "lowpass")

#: What runs online learning's network (`nengo_pc.pc.online.OnlineConfig.simulator`):
#: NengoDL, or its Nengo operators in plain TensorFlow (`nengo_pc.pc.online_tf`).
ONLINE_SIMULATORS = ("nengo_dl", "tensorflow")

#: Synapse kinds of a spiking connection (`nengo_pc.networks.make_synapse`):
#: none, `nengo.Lowpass` or `nengo.Alpha`.
SYNAPSES = ("none", "lowpass", "alpha")

#: Signal carried by one spike of a spiking pair neuron of the predictive-coding
#: network: a unit of signal fires at ``1 / PAIR_AMPLITUDE`` Hz (integrate-and-fire
#: neurons, several spikes per step where needed). The network, spiking inference
#: and online learning default to it. Spike noise scales with it: a 8-16-3 relu
#: network's spiking output (issue #18's example) is within 1.5 % of the rate output
#: at 2e-5, 2.5 % at 5e-5 and 20 % at 5e-4 (the spiking PC benchmark's setting,
#: 25 times fewer spikes); online learning keeps level with the rate rule at 5e-5
#: (`nengo_pc.pc.update_fidelity`). Pass a larger amplitude for sparser spikes.
PAIR_AMPLITUDE = 2e-5

#: The pair amplitude of the spiking PC benchmark's headline record
#: (``results/bench_spiking_pc.json``, 97.70% on 2,000 MNIST test images) and of the
#: nengo-gui script ``networks/mnist_pc_spiking.py``: 25 times fewer spikes than
#: `PAIR_AMPLITUDE`, for a 784-500-500-10 network whose decisions it keeps.
BENCHMARK_PAIR_AMPLITUDE = 5e-4

#: Time constant (seconds) of the predictive-coding value integrators: the
#: inference time constant tau of ``tau dx/dt = -e + ...``.
VALUE_TAU = 0.01

#: Pair amplitude and value time constant of online learning (`nengo_pc.pc.online`):
#: the settings its records and tests were measured at. Learning needs fewer spikes
#: than precise inference (`PAIR_AMPLITUDE`) and a faster settling of the values in
#: the 20 ms settle phase of each presentation.
ONLINE_PAIR_AMPLITUDE = 2e-4
ONLINE_VALUE_TAU = 0.005

#: Weight initialisations.
INITS = ("he_normal",)

@dataclasses.dataclass(frozen=True)
class LIFParams:
    """Parameters of LIF hidden neurons (Hunsberger & Eliasmith 2015).

    A neuron with input current j fires at
    ``amplitude / (tau_ref - tau_rc * log(1 - 1/j))`` for j > 1 (threshold 1); training
    uses the soft-LIF curve with smoothing ``smoothing`` (gamma), see
    `nengo_pc.neurons`.

    Parameters
    ----------
    tau_rc : float
        Membrane time constant in seconds (0.02, as in Nengo and the thesis).
    tau_ref : float
        Refractory period in seconds. 0.002 (Nengo's default) so nengo.LIF, NengoDL's
        SoftLIFRate and `nengo_pc.neurons` agree without arguments; the thesis uses
        0.004.
    amplitude : float
        Output per spike, in units of rate: a neuron firing at 100 Hz outputs
        ``100 * amplitude`` on average. 0.01 keeps activities near 1 (as in NengoDL's
        spiking MNIST example), so He initialisation stays sensible.
    smoothing : float
        Soft-LIF gamma used for training (NengoDL's ``lif_smoothing``).
    """

    tau_rc: float = 0.02
    tau_ref: float = 0.002
    amplitude: float = 0.01
    smoothing: float = 0.02

    def __post_init__(self):
        for name in ("tau_rc", "tau_ref", "amplitude", "smoothing"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value > 0):
                raise ValueError(f"lif.{name}: must be a finite number > 0, got {value!r}")


@dataclasses.dataclass(frozen=True)
class Architecture:
    """A feedforward network: optional convolutional layers, then dense layers.

    The input is not passed through the nonlinearity: ``h_1 = L_1(x)``,
    ``h_l = L_l(f(h_{l-1}))``, where ``L_l`` is layer l's linear part (a convolution or
    a dense product, plus bias; see `linear`), and the output ``h_L`` is linear
    (logits for classification). The last layer is always dense.

    Parameters
    ----------
    sizes : tuple of int
        Widths (neuron counts) from input to output, e.g. ``(784, 500, 500, 10)``; at
        least two. With convolutional layers, ``sizes[0]`` is the flattened input and
        ``sizes[1 + k]`` the flattened output of conv layer k (use `cnn` or
        `softlif_cnn` to have them computed).
    activation : str
        Hidden nonlinearity f, one of `ACTIVATIONS`.
    init : str
        Weight initialisation, one of `INITS`. ``"he_normal"`` draws every weight from
        a normal distribution with standard deviation ``sqrt(2 / fan_in)`` (Kaiming He
        et al. 2015; ``fan_in = n_in`` for dense layers, ``kh * kw * in_channels`` for
        convolutions) and sets biases to zero.
    lif : LIFParams
        Neuron parameters, used when ``activation == "lif"``.
    input_shape : tuple of int, optional
        ``(height, width, channels)`` of the input image, required with ``conv``.
    conv : tuple of ConvLayer
        Convolutional layers applied first, in order; ``()`` for a multilayer
        perceptron.
    """

    sizes: tuple
    activation: str = "relu"
    init: str = "he_normal"
    lif: LIFParams = LIFParams()
    input_shape: tuple = None
    conv: tuple = ()

    def __post_init__(self):
        sizes = tuple(self.sizes)
        if len(sizes) < 2:
            raise ValueError(
                f"sizes: need at least an input and an output width, got {sizes!r}"
            )
        for size in sizes:
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
                raise ValueError(f"sizes: widths must be integers, got {sizes!r}")
            if size < 1:
                raise ValueError(f"sizes: widths must be >= 1, got {sizes!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"activation: {self.activation!r} is not one of {', '.join(ACTIVATIONS)}"
            )
        if self.init not in INITS:
            raise ValueError(f"init: {self.init!r} is not one of {', '.join(INITS)}")
        # normalise numpy integers so descriptions compare and serialise cleanly
        object.__setattr__(self, "sizes", tuple(int(s) for s in sizes))
        conv = tuple(self.conv)
        for layer in conv:
            if not isinstance(layer, ConvLayer):
                raise ValueError(f"conv: expected ConvLayer entries, got {layer!r}")
        object.__setattr__(self, "conv", conv)
        if self.input_shape is not None:
            shape = tuple(self.input_shape)
            if len(shape) != 3 or any(
                isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1
                for v in shape
            ):
                raise ValueError(
                    f"input_shape: must be (height, width, channels) of integers >= 1, "
                    f"got {self.input_shape!r}"
                )
            object.__setattr__(self, "input_shape", tuple(int(v) for v in shape))
            if np.prod(self.input_shape) != self.sizes[0]:
                raise ValueError(
                    f"sizes: sizes[0] = {self.sizes[0]} is not the number of input "
                    f"values of input_shape {self.input_shape}"
                )
        if conv:
            if self.input_shape is None:
                raise ValueError("input_shape: convolutional layers need the input's "
                                 "(height, width, channels)")
            # validates that every kernel fits
            expected = [int(np.prod(shape))
                        for shape in self.activation_shapes[:len(conv) + 1]]
            if len(sizes) < len(conv) + 2 or list(self.sizes[:len(conv) + 1]) != expected:
                raise ValueError(
                    f"sizes: with these conv layers sizes must start {tuple(expected)} "
                    f"(the flattened input and conv outputs) and end with at least the "
                    f"output width, got {self.sizes}; use nengo_pc.arch.cnn to build it"
                )

    @property
    def n_layers(self):
        """Number of weight layers (connections), ``len(sizes) - 1``."""
        return len(self.sizes) - 1

    @property
    def n_conv(self):
        """Number of convolutional layers (the first ``n_conv`` weight layers)."""
        return len(self.conv)

    def is_conv(self, i):
        """Whether weight layer ``i`` is convolutional."""
        return i < len(self.conv)

    @property
    def activation_shapes(self):
        """Unflattened activity shapes, input first: ``(h, w, c)`` for the input and
        conv outputs of a CNN, ``(n,)`` otherwise; ``len == n_layers + 1``."""
        if self.input_shape is None:
            return [(n,) for n in self.sizes]
        shapes = [self.input_shape]
        for layer in self.conv:
            shapes.append(layer.output_shape(shapes[-1]))
        return shapes + [(n,) for n in self.sizes[len(shapes):]]

    @property
    def layer_shapes(self):
        """Flattened ``[(n_in, n_out), ...]`` of every layer: fan-in width and width.

        For dense layers this is the weight shape in Keras layout; see
        `weight_shapes` for convolutions.
        """
        return list(zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def weight_shapes(self):
        """Weight shapes in Keras layout: ``(kh, kw, in_channels, filters)`` for
        convolutions, ``(n_in, n_out)`` for dense layers."""
        shapes = self.activation_shapes
        return [
            (*self.conv[i].kernel_size, shapes[i][-1], self.conv[i].filters)
            if self.is_conv(i) else (n_in, n_out)
            for i, (n_in, n_out) in enumerate(self.layer_shapes)
        ]

    @property
    def bias_shapes(self):
        """Bias shapes: ``(filters,)`` for convolutions (tied), ``(n_out,)`` otherwise."""
        return [(shape[-1],) for shape in self.weight_shapes]

    def fan_in(self, i):
        """Inputs per neuron of layer ``i`` (``kh * kw * in_channels`` for a conv)."""
        return int(np.prod(self.weight_shapes[i][:-1]))

    def fan_out(self, i):
        """Synapses leaving each input neuron of layer ``i``, shape ``(sizes[i],)``.

        Dense: ``sizes[i + 1]`` everywhere. Convolution: ``filters`` times the number of
        output positions whose kernel covers that input (fewer near the borders and
        with strides that skip inputs). A spike of input neuron ``k`` costs
        ``fan_out(i)[k]`` synaptic operations.
        """
        if not self.is_conv(i):
            return np.full(self.sizes[i], self.sizes[i + 1], dtype=np.int64)
        in_shape = self.activation_shapes[i]
        layer = self.conv[i]
        (top, bottom), (left, right) = layer.pads(in_shape)
        # count, on the padded input, how many kernel placements use each position
        counts = np.zeros((in_shape[0] + top + bottom, in_shape[1] + left + right))
        out = layer.output_shape(in_shape)
        kh, kw = layer.kernel_size
        sh, sw = layer.strides
        for y in range(kh):
            for x in range(kw):
                counts[y:y + sh * out[0]:sh, x:x + sw * out[1]:sw] += 1
        counts = counts[top:top + in_shape[0], left:left + in_shape[1]]
        return np.repeat(counts.reshape(-1).astype(np.int64) * layer.filters, in_shape[2])

    @property
    def n_connections(self):
        """Synapses (= multiply-accumulates of one rate-mode pass) per layer."""
        return [int(self.fan_out(i).sum()) for i in range(self.n_layers)]

    @property
    def n_params(self):
        """Number of trainable parameters (weights and biases)."""
        return sum(int(np.prod(w)) + int(np.prod(b))
                   for w, b in zip(self.weight_shapes, self.bias_shapes))

    def linear(self, i, weights, bias, h):
        """The linear part of layer ``i`` on flattened activities, in numpy.

        The reference every execution path reproduces: a dense product, or a
        convolution of the ``(N, sizes[i])`` activities reshaped channels-last to
        ``activation_shapes[i]``, plus the (tied) bias; returns ``(N, sizes[i + 1])``.
        """
        h = np.asarray(h)
        if not self.is_conv(i):
            return h @ weights + bias
        layer = self.conv[i]
        in_shape = self.activation_shapes[i]
        out = conv2d(h.reshape(-1, *in_shape), np.asarray(weights), layer.strides,
                     layer.pads(in_shape))
        return (out + bias).reshape(len(h), -1)

    def to_dict(self):
        """A JSON-serialisable description (inverse of `from_dict`)."""
        description = {
            "sizes": list(self.sizes), "activation": self.activation, "init": self.init
        }
        if self.activation == "lif":
            description["lif"] = dataclasses.asdict(self.lif)
        if self.input_shape is not None:
            description["input_shape"] = list(self.input_shape)
        if self.conv:
            description["conv"] = [layer.to_dict() for layer in self.conv]
        return description

    @classmethod
    def from_dict(cls, description):
        """Build an architecture from `to_dict` output."""
        shape = description.get("input_shape")
        return cls(
            sizes=tuple(description["sizes"]),
            activation=description.get("activation", "relu"),
            init=description.get("init", "he_normal"),
            lif=LIFParams(**description.get("lif", {})),
            input_shape=None if shape is None else tuple(shape),
            conv=tuple(ConvLayer(**layer) for layer in description.get("conv", ())),
        )


def mlp(hidden=(500, 500), activation="relu", n_in=784, n_out=10, lif=LIFParams()):
    """The multilayer perceptron used across the suite (default 784-500-500-10, ReLU).

    Parameters
    ----------
    hidden : sequence of int
        Hidden layer widths; the depth is ``len(hidden) + 1`` weight layers.
    activation : str
        Hidden nonlinearity, one of `ACTIVATIONS`.
    n_in, n_out : int
        Input and output widths.
    lif : LIFParams
        Neuron parameters when ``activation == "lif"``.
    """
    return Architecture(sizes=(n_in, *hidden, n_out), activation=activation, lif=lif)


def softlif_mlp(hidden=(500, 500), activation="lif", n_in=784, n_out=10, lif=LIFParams()):
    """The spiking MLP of Hunsberger & Eliasmith: LIF hidden layers, soft-LIF training.

    Same parameters as `mlp`; ``activation`` must be ``"lif"``.
    """
    if activation != "lif":
        raise ValueError(f"activation: softlif_mlp uses 'lif' neurons, got {activation!r}")
    return mlp(hidden, "lif", n_in, n_out, lif)


#: Convolutional stack of `softlif_cnn` (NengoDL's spiking MNIST example): 26x26x32,
#: 12x12x64 and 5x5x128 neurons for a 28x28 input.
DEFAULT_CONV = (ConvLayer(32, 3, 1), ConvLayer(64, 3, 2), ConvLayer(128, 3, 2))


def cnn(conv=DEFAULT_CONV, hidden=(), activation="relu", input_shape=(28, 28, 1),
        n_out=10, lif=LIFParams()):
    """A convolutional network: ``conv`` layers, then dense ``hidden`` layers, then a
    dense linear output; ``sizes`` is computed.

    Parameters
    ----------
    conv : sequence of ConvLayer
        Convolutional layers (at least one).
    hidden : sequence of int
        Widths of dense hidden layers after the convolutions (may be empty).
    activation : str
        Hidden nonlinearity of every conv and dense hidden layer, one of `ACTIVATIONS`.
    input_shape : (int, int, int)
        Input ``(height, width, channels)``.
    n_out : int
        Output width.
    lif : LIFParams
        Neuron parameters when ``activation == "lif"``.
    """
    conv = tuple(conv)
    if not conv:
        raise ValueError("conv: a CNN needs at least one ConvLayer; use mlp otherwise")
    shapes = [tuple(input_shape)]
    if len(shapes[0]) != 3:
        raise ValueError(
            f"input_shape: must be (height, width, channels), got {input_shape!r}")
    for layer in conv:
        if not isinstance(layer, ConvLayer):
            raise ValueError(f"conv: expected ConvLayer entries, got {layer!r}")
        shapes.append(layer.output_shape(shapes[-1]))
    sizes = (*(int(np.prod(s)) for s in shapes), *hidden, n_out)
    return Architecture(sizes=sizes, activation=activation, lif=lif,
                        input_shape=tuple(input_shape), conv=conv)


def softlif_cnn(hidden=(), activation="lif", conv=DEFAULT_CONV, input_shape=(28, 28, 1),
                n_out=10, lif=LIFParams()):
    """A spiking CNN: LIF conv and dense hidden layers trained through soft-LIF.

    The default is NengoDL's spiking MNIST network: conv 32 3x3 stride 1, conv 64 3x3
    stride 2, conv 128 3x3 stride 2, then ``hidden`` dense LIF layers (the CLI's
    ``--hidden``) and a dense linear output. Other parameters as in `cnn`;
    ``activation`` must be ``"lif"``.
    """
    if activation != "lif":
        raise ValueError(f"activation: softlif_cnn uses 'lif' neurons, got {activation!r}")
    return cnn(conv, hidden, "lif", input_shape, n_out, lif)


#: Named presets the CLI and benchmarks accept as ``--model``. Each is called as
#: ``PRESETS[name](hidden=..., activation=..., lif=...)``.
PRESETS = {
    "mlp": mlp,
    "softlif-mlp": softlif_mlp,
    "softlif-cnn": softlif_cnn,
}
