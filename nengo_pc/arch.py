"""Architecture descriptions: the one place that says what a network is.

An `Architecture` is a small, immutable value: layer sizes and the hidden
nonlinearity. Every way a model runs is built from it -- the Nengo network trained by
NengoDL (`nengo_pc.nengo_net`), the plain Keras reference (`nengo_pc.keras_ref`) and the
predictive-coding numerics (`nengo_pc.pc`) -- so the copies cannot drift apart.

Parameters live next to the description in `Params`: one weight matrix per layer in
Keras layout ``(n_in, n_out)`` and one bias vector ``(n_out,)``. That is the layout
``nengo_pc.pc.weight_updates`` takes, and what checkpoints store.
"""

import dataclasses
import json
import os
import tempfile
from pathlib import Path

import numpy as np

#: Hidden nonlinearities every execution path knows. The output layer is linear.
#: ``"lif"`` is a spiking LIF neuron, trained through its soft-LIF rate curve.
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear", "lif")

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
    """A fully connected feedforward network.

    The input is not passed through the nonlinearity: ``h_1 = x W_1 + b_1``,
    ``h_l = f(h_{l-1}) W_l + b_l``, and the output ``h_L`` is linear (logits for
    classification).

    Parameters
    ----------
    sizes : tuple of int
        Widths from input to output, e.g. ``(784, 500, 500, 10)``; at least two.
    activation : str
        Hidden nonlinearity f, one of `ACTIVATIONS`.
    init : str
        Weight initialisation, one of `INITS`. ``"he_normal"`` draws every weight from
        a normal distribution with standard deviation ``sqrt(2 / n_in)`` (Kaiming He
        et al. 2015) and sets biases to zero.
    lif : LIFParams
        Neuron parameters, used when ``activation == "lif"``.
    """

    sizes: tuple
    activation: str = "relu"
    init: str = "he_normal"
    lif: LIFParams = LIFParams()

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

    @property
    def n_layers(self):
        """Number of weight layers (connections), ``len(sizes) - 1``."""
        return len(self.sizes) - 1

    @property
    def layer_shapes(self):
        """Weight shapes in Keras layout, ``[(n_in, n_out), ...]``."""
        return list(zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def n_params(self):
        """Number of trainable parameters (weights and biases)."""
        return sum(n_in * n_out + n_out for n_in, n_out in self.layer_shapes)

    def to_dict(self):
        """A JSON-serialisable description (inverse of `from_dict`)."""
        description = {
            "sizes": list(self.sizes), "activation": self.activation, "init": self.init
        }
        if self.activation == "lif":
            description["lif"] = dataclasses.asdict(self.lif)
        return description

    @classmethod
    def from_dict(cls, description):
        """Build an architecture from `to_dict` output."""
        return cls(
            sizes=tuple(description["sizes"]),
            activation=description.get("activation", "relu"),
            init=description.get("init", "he_normal"),
            lif=LIFParams(**description.get("lif", {})),
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


#: Named presets the CLI and benchmarks accept as ``--model``.
PRESETS = {
    "mlp": mlp,
    "softlif-mlp": softlif_mlp,
}


@dataclasses.dataclass
class Params:
    """Weights and biases of an `Architecture`, in Keras layout.

    Parameters
    ----------
    weights : list of ndarray
        ``weights[i]`` has shape ``(n_in, n_out)`` of layer ``i``.
    biases : list of ndarray
        ``biases[i]`` has shape ``(n_out,)``.
    """

    weights: list
    biases: list

    def check(self, arch):
        """Raise ValueError unless these parameters fit ``arch`` and are finite."""
        if len(self.weights) != arch.n_layers or len(self.biases) != arch.n_layers:
            raise ValueError(
                f"params: expected {arch.n_layers} weight and bias arrays for sizes "
                f"{arch.sizes}, got {len(self.weights)} and {len(self.biases)}"
            )
        for i, ((n_in, n_out), w, b) in enumerate(
            zip(arch.layer_shapes, self.weights, self.biases)
        ):
            if w.shape != (n_in, n_out) or b.shape != (n_out,):
                raise ValueError(
                    f"params: layer {i} expects weights {(n_in, n_out)} and biases "
                    f"{(n_out,)}, got {w.shape} and {b.shape}"
                )
            if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
                raise ValueError(f"params: layer {i} has non-finite values")
        return self


def init_params(arch, seed=0, dtype=np.float32):
    """Draw initial parameters for ``arch``.

    Parameters
    ----------
    arch : Architecture
        The network to initialise.
    seed : int
        Seed of the numpy generator; the same seed gives the same parameters, so the
        NengoDL and Keras versions of a model can start from identical values.
    dtype : numpy dtype
        Floating point type of the returned arrays.

    Returns
    -------
    Params
    """
    rng = np.random.default_rng(seed)
    weights, biases = [], []
    for n_in, n_out in arch.layer_shapes:
        # Kaiming He normal: keeps the variance of ReLU pre-activations constant
        std = np.sqrt(2.0 / n_in)
        weights.append(rng.normal(0.0, std, size=(n_in, n_out)).astype(dtype))
        biases.append(np.zeros(n_out, dtype=dtype))
    return Params(weights, biases)


def save_params(path, arch, params, **metadata):
    """Write ``arch`` and ``params`` to an ``.npz`` file atomically.

    The file is written next to its destination and renamed into place, so a crash
    mid-write never leaves a truncated checkpoint behind.

    Parameters
    ----------
    path : str or Path
        Destination (``.npz``).
    arch : Architecture
        Description stored with the parameters so `load_params` can rebuild the model.
    params : Params
        Values to store.
    **metadata
        JSON-serialisable extras (e.g. ``epoch``) stored alongside.
    """
    params.check(arch)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for i, (w, b) in enumerate(zip(params.weights, params.biases)):
        arrays[f"w{i}"] = np.asarray(w)
        arrays[f"b{i}"] = np.asarray(b)
    header = json.dumps({"architecture": arch.to_dict(), "metadata": metadata})
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, header=np.array(header), **arrays)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_params(path):
    """Read a file written by `save_params`.

    Returns
    -------
    arch : Architecture
    params : Params
    metadata : dict
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"parameter file {path} does not exist")
    with np.load(path, allow_pickle=False) as f:
        header = json.loads(str(f["header"]))
        arch = Architecture.from_dict(header["architecture"])
        weights = [f[f"w{i}"] for i in range(arch.n_layers)]
        biases = [f[f"b{i}"] for i in range(arch.n_layers)]
    return arch, Params(weights, biases).check(arch), header.get("metadata", {})
