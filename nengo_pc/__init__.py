"""nengo-pc: predictive coding, spiking LIF networks and backprop baselines in Nengo.

What a user composes is here, one name each:

* the description of a network: `mlp`, `cnn`, `Architecture`; its parameters:
  `Params`, `init_params`, `load_params`, `save_params`; the rate pass in numpy:
  `forward`;
* Nengo networks built from a description: `FeedforwardNetwork` (rate or spiking
  LIF) and `PredictiveCodingNetwork` (value and error ensembles, rate or spiking),
  with passthrough ``input`` / ``output`` nodes; `PoissonRateCode`, a
  ``nengo.Process`` turning intensities into spike trains;
* `rules`: the registry of learning rules, one name each (``nengo_pc.rules.names()``).

Importing this package is cheap on purpose: it builds no graphs, imports neither
TensorFlow nor NengoDL, and touches no data; each name above is imported on first
use (PEP 562). It does one thing on import: `nengo_pc.compat.install` makes NengoDL
3.6 work on TensorFlow >= 2.16 through tf-keras (a no-op on older TensorFlow), which
is why a script should import ``nengo_pc`` before ``tensorflow`` and ``nengo_dl``.
"""

import importlib

from nengo_pc import compat as _compat

_compat.install()

__version__ = "0.2.0"

# public name -> module that defines it, imported on first attribute access
_FACE = {
    "Architecture": "nengo_pc.arch",
    "mlp": "nengo_pc.arch",
    "cnn": "nengo_pc.arch",
    "Params": "nengo_pc.params",
    "init_params": "nengo_pc.params",
    "load_params": "nengo_pc.params",
    "save_params": "nengo_pc.params",
    "forward": "nengo_pc.rates",
    "FeedforwardNetwork": "nengo_pc.networks",
    "PredictiveCodingNetwork": "nengo_pc.networks",
    "PoissonRateCode": "nengo_pc.processes",
}

__all__ = ["__version__", "rules", *_FACE]


def __getattr__(name):
    if name in _FACE:
        return getattr(importlib.import_module(_FACE[name]), name)
    if name == "rules":
        return importlib.import_module("nengo_pc.rules")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
