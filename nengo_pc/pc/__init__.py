"""Predictive coding (PC) learning rules for multilayer perceptrons.

The PC family's face of the learning-rule interface is `weight_updates`: parameters
and a batch in, one (dW, db) per layer out, for the variants in `VARIANTS`
(``"standard"`` inference learning, ``"fixed_prediction"``, ``"zil"`` and
``"incremental"``). `backprop_updates` is the backprop reference with the same
signature and sign, `energy` the PC energy of given value nodes and `energy_trace`
the energy at every step of standard inference.

Submodules:

* `nengo_pc.pc.options`: variant names, defaults and option checks (no TensorFlow).
* `nengo_pc.pc.core`: the math, on TensorFlow tensors, for use inside a
  ``tf.function`` training loop.
* `nengo_pc.pc.numerics`: the checked numpy interface re-exported here.

Importing this package does not import TensorFlow: `VARIANTS`, `ACTIVATIONS` and
`nengo_pc.pc.options` are available at once, and the functions load
`nengo_pc.pc.numerics` (and TensorFlow) on first use.
"""

from nengo_pc.pc.options import ACTIVATIONS, VARIANTS

# name -> submodule that defines it, imported on first attribute access (PEP 562)
_LAZY = {
    "weight_updates": "numerics",
    "backprop_updates": "numerics",
    "energy": "numerics",
    "energy_trace": "numerics",
}

__all__ = ["ACTIVATIONS", "VARIANTS", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib  # pylint: disable=import-outside-toplevel

        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
