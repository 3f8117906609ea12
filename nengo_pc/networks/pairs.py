"""Pair coding and slope gates: the building blocks of the predictive-coding network.

**Pair coding.** A signed vector z of size n is carried by a population of 2n
rectified-linear neurons: neuron i with encoder +1 outputs relu(z_i), neuron n + i
with encoder -1 outputs relu(-z_i), so z = r[:n] - r[n:] exactly (in rate mode; the
integrate-and-fire `nengo.SpikingRectifiedLinear` codes the same rates with
spikes). `encode`, `decode` and `relay` are the sparse transforms connecting such
populations with each other and with ordinary signals.

They are `PairTransform` objects: `nengo.Sparse` transforms (2 or 4 entries per
unit), whose sampled matrix also compares with a number elementwise, which is what
nengo-gui 0.6 asks of every transform into ``.neurons`` (``NetGraph.connection_kind``
evaluates ``transform <= 0``; a plain sparse matrix raises there, and the expanded
network is drawn without its connections). Dense matrices would do that too, but a
2n x 2n dense relay makes NengoDL do n times the work; other wirings (scalar
transforms on slices of the populations) were measured 1.7 times slower per
NengoDL step on a 784-256-256-10 network (23 vs 13.6 ms of CPU time).

**Slope gates.** `SlopeGate` is the one computation of the network that neurons do
not do: the elementwise product f'(x) * c of PC inference. It is a `nengo.Process`
with its own operator (`SimSlopeGate`), which the reference simulator runs in numpy
and NengoDL in TensorFlow (a builder registered when NengoDL builds a network that
uses it), so neither calls back into Python every step.
"""

import sys

import nengo
import numpy as np
from nengo.builder import Builder as NengoBuilder
from nengo.builder import Operator
from nengo.params import EnumParam

from nengo_pc.arch import LIFParams

#: Hidden nonlinearities that have a slope gate (``"linear"`` needs none: f' = 1).
SLOPES = ("relu", "tanh", "sigmoid", "lif")


def pair_encoders(n):
    """Encoders of a pair-coded population of ``2 n`` neurons: ``[I; -I]``."""
    eye = np.eye(n)
    return np.vstack([eye, -eye])


def pair_decoder(n):
    """The matrix ``D = [I, -I]`` (shape ``(n, 2n)``) reading z from pair activities."""
    eye = np.eye(n)
    return np.hstack([eye, -eye])


def is_pair_encoders(matrix):
    """Whether ``matrix`` is `pair_encoders` ``[I; -I]`` of some size."""
    matrix = np.asarray(matrix)
    return (matrix.ndim == 2 and matrix.shape[0] == 2 * matrix.shape[1]
            and np.array_equal(matrix, pair_encoders(matrix.shape[1])))


def is_pair_decoder(matrix):
    """Whether ``matrix`` is `pair_decoder` ``[I, -I]`` of some size."""
    matrix = np.asarray(matrix)
    return (matrix.ndim == 2 and matrix.shape[1] == 2 * matrix.shape[0]
            and np.array_equal(matrix, pair_decoder(matrix.shape[0])))


class ComparableSparseMatrix(nengo.transforms.SparseMatrix):
    """A `nengo.transforms.SparseMatrix` that compares with a number elementwise.

    ``m <= 0`` is ``m.data <= 0`` (its stored entries) and ``np.asarray(m)`` its
    dense form: what nengo-gui 0.6's ``NetGraph.connection_kind`` asks of the
    sampled transform of every connection into ``.neurons`` to tell inhibitory
    connections from others. Nengo and NengoDL build it as any sparse matrix.
    """

    def __le__(self, other):
        return self.data <= other

    def __array__(self, dtype=None):
        return np.asarray(self.toarray(), dtype=dtype)


class PairTransform(nengo.Sparse):
    """A `nengo.Sparse` transform between pair populations and signals.

    Built exactly as `nengo.Sparse` (one sparse product in NengoDL, as cheap as the
    pair structure allows); its sampled matrix is a `ComparableSparseMatrix`, so
    that nengo-gui can draw the connections of a network that uses it.

    Parameters
    ----------
    shape : tuple of int
    rows, cols : array_like of int
        Coordinates of the nonzero entries.
    values : array_like
        The entries.
    """

    def __init__(self, shape, rows, cols, values):
        super().__init__(shape, indices=np.column_stack([rows, cols]).astype(np.int64),
                         init=np.asarray(values, dtype=np.float64))

    def sample(self, rng=np.random):
        init = self.init
        return ComparableSparseMatrix(init.indices, init.data, init.shape)


def encode(n, scale=1.0):
    """Transform of shape ``(2n, n)`` driving a pair population with ``scale * z``."""
    idx = np.arange(n)
    return PairTransform((2 * n, n), np.r_[idx, idx + n], np.r_[idx, idx],
                         np.r_[np.full(n, scale), np.full(n, -scale)])


def decode(n, scale=1.0):
    """Transform of shape ``(n, 2n)`` reading ``scale * z`` from pair activities."""
    idx = np.arange(n)
    return PairTransform((n, 2 * n), np.r_[idx, idx], np.r_[idx, idx + n],
                         np.r_[np.full(n, scale), np.full(n, -scale)])


def relay(n, scale=1.0):
    """Transform ``encode @ decode`` (shape ``(2n, 2n)``): pairs to pairs."""
    idx = np.arange(n)
    return PairTransform(
        (2 * n, 2 * n),
        np.r_[idx, idx, idx + n, idx + n],
        np.r_[idx, idx + n, idx, idx + n],
        np.r_[np.full(n, scale), np.full(n, -scale), np.full(n, -scale),
              np.full(n, scale)],
    )


# ---------------------------------------------------------------------------------
# the slope gate f'(x) * c


def soft_lif_slope(x, lif=LIFParams()):
    """f'(x) of the ``"lif"`` activation (the soft-LIF curve) in numpy.

    The same formula as ``nengo_pc.pc.activations`` (there in TensorFlow):
    f' = amplitude tau_rc [sigmoid(y) / softplus(y)] / (gamma (rho + 1) D^2) with
    y = (x - 1) / gamma, rho = gamma softplus(y), D = tau_ref + tau_rc log(1 + 1/rho).
    """
    # pylint: disable=import-outside-toplevel
    from nengo_pc.neurons import LOG_SOFTPLUS_CLIP, log_softplus

    x = np.asarray(x, dtype=float)
    y = (x - 1.0) / lif.smoothing
    log_sp = log_softplus(y)
    u = np.exp(np.clip(y, LOG_SOFTPLUS_CLIP, 0.0))
    with np.errstate(over="ignore"):
        ratio = np.where(y > 0, np.exp(-log_sp) / (1.0 + np.exp(-np.maximum(y, 0.0))),
                         u / ((1.0 + u) * np.log1p(u)))
    log_rho = np.log(lif.smoothing) + log_sp
    rho = np.exp(log_rho)
    q = np.logaddexp(0.0, -log_rho)
    den = lif.tau_ref + lif.tau_rc * q
    return (lif.amplitude * lif.tau_rc / lif.smoothing) * ratio / ((rho + 1.0) * den * den)


def _sigmoid_slope(x):
    s = 1.0 / (1.0 + np.exp(-x))
    return s * (1.0 - s)


_NUMPY_SLOPES = {
    "lif": soft_lif_slope,
    # 1 where the value is > 0, as the gradient of tf.nn.relu and core's f'
    "relu": lambda x: (x > 0).astype(x.dtype),
    "tanh": lambda x: 1.0 - np.tanh(x) ** 2,
    "sigmoid": _sigmoid_slope,
}


def numpy_slope(activation):
    """f' of ``activation`` (one of `SLOPES`) as a numpy function."""
    if activation not in _NUMPY_SLOPES:
        raise ValueError(f"activation: no slope gate for {activation!r}")
    return _NUMPY_SLOPES[activation]


def tf_slope(activation):
    """f' of ``activation`` (one of `SLOPES`) as a TensorFlow function."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel

    if activation not in _NUMPY_SLOPES:
        raise ValueError(f"activation: no slope gate for {activation!r}")
    if activation == "lif":
        from nengo_pc.pc.activations import (  # pylint: disable=import-outside-toplevel
            get_activation,
        )

        return get_activation("lif").df
    if activation == "relu":
        return lambda x: tf.cast(x > 0, x.dtype)
    if activation == "tanh":
        return lambda x: 1.0 - tf.square(tf.tanh(x))

    def sigmoid_slope(x):
        s = tf.sigmoid(x)
        return s * (1.0 - s)

    return sigmoid_slope


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

    activation = EnumParam("activation", values=SLOPES)

    def __init__(self, activation, size, **kwargs):
        super().__init__(default_size_in=2 * size, default_size_out=size, **kwargs)
        self.activation = activation

    def make_step(self, shape_in, shape_out, dt, rng, state):
        n = shape_out[0]
        slope = numpy_slope(self.activation)

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
        slope = numpy_slope(self.activation)

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
        register_nengo_dl()


def register_nengo_dl():
    """Register the NengoDL builder of `SimSlopeGate` (imports NengoDL; idempotent)."""
    # pylint: disable=import-outside-toplevel
    from nengo_dl.builder import Builder, OpBuilder

    if SimSlopeGate in Builder.builders:
        return

    class SlopeGateBuilder(OpBuilder):
        """NengoDL build class of `SimSlopeGate` (one TensorFlow op per gate)."""

        def build_pre(self, signals, config):
            super().build_pre(signals, config)
            op = self.ops[0]
            self.input_data = signals.combine([op.input])
            self.output_data = signals.combine([op.output])
            self.n = op.output.shape[0]
            self.slope = tf_slope(op.activation)

        def build_step(self, signals):
            x = signals.gather(self.input_data)
            signals.scatter(self.output_data,
                            self.slope(x[..., :self.n]) * x[..., self.n:])

        @staticmethod
        def mergeable(x, y):
            # each gate is its own group: gates are few, and their split of the input
            # into [x, c] is per gate
            return False

    Builder.register(SimSlopeGate)(SlopeGateBuilder)
