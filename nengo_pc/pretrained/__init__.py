"""Trained parameters shipped with the package, one file per ``networks/`` script.

A fresh checkout (or a wheel) can open every ``networks/`` script in nengo-gui and
run ``nengo-pc evaluate --pretrained NAME`` without training first. Each file is a
`nengo_pc.params.save_params` file with the weights stored as float16 (half the
size; the measured accuracy change is in ``results/pretrained.json``), its
metadata naming the training command, the run's test accuracy and the float16
accuracy. They are made by ``python benchmarks/make_pretrained.py``, which trains
each network with the ``nengo-pc train`` command listed in `TRAIN_COMMANDS` and
packs the result (docs/pretrained.md).

Examples
--------
>>> import nengo_pc.pretrained
>>> arch, params, meta = nengo_pc.pretrained.load("mnist-softlif-mlp")  # doctest: +SKIP
"""

from pathlib import Path

import numpy as np

#: The shipped networks (the ``NAME`` of each ``networks/`` script) and the
#: ``nengo-pc train`` options that train them (``--out-dir`` is added).
TRAIN_COMMANDS = {
    "mnist-softlif-mlp": ["--model", "softlif-mlp"],
    "mnist-softlif-cnn": ["--model", "softlif-cnn"],
    "mnist-pc": ["--rule", "pc-standard", "--hidden", "256", "256", "--epochs", "5"],
    # the spiking PC benchmark's recipe (benchmarks/spiking_pc.py: Z-IL, i.e. exact
    # backprop of the squared error through the soft-LIF curve) in 5 epochs, not 20
    "mnist-pc-spiking": ["--rule", "pc-zil", "--activation", "lif", "--hidden", "500",
                         "500", "--epochs", "5", "--lr", "5e-4"],
}

#: Largest file the package ships, and the largest total (bytes).
MAX_FILE_BYTES = 3 * 2 ** 20
MAX_TOTAL_BYTES = 12 * 2 ** 20

_HERE = Path(__file__).resolve().parent


def names():
    """The names of the shipped networks, in `TRAIN_COMMANDS` order."""
    return tuple(TRAIN_COMMANDS)


def path(name):
    """The file of the shipped network ``name`` (it may be missing in a checkout
    that has not made it yet: see `available`).

    Raises
    ------
    ValueError
        If ``name`` is not one of `names`.
    """
    if name not in TRAIN_COMMANDS:
        raise ValueError(f"pretrained: {name!r} is not a shipped network; known: "
                         f"{', '.join(TRAIN_COMMANDS)}")
    return _HERE / f"{name}.npz"


def available(name):
    """Whether the parameters of ``name`` are shipped (the file exists)."""
    return path(name).is_file()


def load(name):
    """Architecture, float32 parameters and metadata of the shipped network ``name``.

    Returns
    -------
    arch : nengo_pc.arch.Architecture
    params : nengo_pc.params.Params
        Float32 copies of the stored float16 arrays.
    metadata : dict
        The training command, the run's accuracy and the float16 accuracy.

    Raises
    ------
    ValueError
        If ``name`` is unknown.
    FileNotFoundError
        If its file is not shipped.
    """
    from nengo_pc.params import Params, load_params  # noqa: PLC0415

    file = path(name)
    if not file.is_file():
        raise FileNotFoundError(
            f"{file} is not there; make it with "
            f"'python benchmarks/make_pretrained.py --names {name}'")
    arch, params, meta = load_params(file)
    as32 = [np.asarray(a, np.float32) for a in params.weights + params.biases]
    n = len(params.weights)
    return arch, Params(as32[:n], as32[n:]).check(arch), meta
