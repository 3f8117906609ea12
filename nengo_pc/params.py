"""The parameters of an `~nengo_pc.arch.Architecture`: `Params`, drawn by
`init_params`, stored by `save_params` and read back by `load_params`.

One weight array per layer in Keras layout -- ``(n_in, n_out)`` for dense layers,
``(kh, kw, in_channels, filters)`` for convolutional ones -- and one bias vector per
layer: ``(n_out,)``, or ``(filters,)`` for a convolution (biases are tied across
positions, as in Keras). That is the layout the learning rules (`nengo_pc.rules`)
take and what checkpoints store: an ``.npz`` file holding the arrays and, as JSON,
the architecture's description (`~nengo_pc.arch.Architecture.to_dict`) and any
metadata.
"""

import dataclasses
import json
import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["Params", "init_params", "load_params", "save_params"]


@dataclasses.dataclass
class Params:
    """Weights and biases of an `Architecture`, in Keras layout.

    Parameters
    ----------
    weights : list of ndarray
        ``weights[i]`` has shape ``arch.weight_shapes[i]``: ``(n_in, n_out)`` for a
        dense layer, ``(kh, kw, in_channels, filters)`` for a convolution.
    biases : list of ndarray
        ``biases[i]`` has shape ``arch.bias_shapes[i]``: ``(n_out,)``, or
        ``(filters,)`` for a convolution.
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
        for i, (w_shape, b_shape, w, b) in enumerate(
            zip(arch.weight_shapes, arch.bias_shapes, self.weights, self.biases)
        ):
            if np.shape(w) != w_shape or np.shape(b) != b_shape:
                raise ValueError(
                    f"params: layer {i} expects weights {w_shape} and biases "
                    f"{b_shape}, got {np.shape(w)} and {np.shape(b)}"
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
    for i, (w_shape, b_shape) in enumerate(zip(arch.weight_shapes, arch.bias_shapes)):
        # Kaiming He normal: keeps the variance of ReLU pre-activations constant
        std = np.sqrt(2.0 / arch.fan_in(i))
        weights.append(rng.normal(0.0, std, size=w_shape).astype(dtype))
        biases.append(np.zeros(b_shape, dtype=dtype))
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
    # imported here: nengo_pc.arch re-exports this module's names at import time
    from nengo_pc.arch import Architecture  # pylint: disable=import-outside-toplevel

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"parameter file {path} does not exist")
    with np.load(path, allow_pickle=False) as f:
        header = json.loads(str(f["header"]))
        arch = Architecture.from_dict(header["architecture"])
        weights = [f[f"w{i}"] for i in range(arch.n_layers)]
        biases = [f[f"b{i}"] for i in range(arch.n_layers)]
    return arch, Params(weights, biases).check(arch), header.get("metadata", {})
