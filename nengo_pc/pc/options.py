"""Names and defaults of the predictive-coding variants (no TensorFlow here).

Kept apart from the numerics so that a command line or a config file can list the
variants and check options without paying for a TensorFlow import.
"""

import math
import numbers

#: Predictive-coding variants understood by `nengo_pc.pc.weight_updates`.
VARIANTS = ("standard", "fixed_prediction", "zil", "incremental")

#: Hidden nonlinearities f. The output layer is always linear and the input is never
#: passed through f. ``"lif"`` is the soft-LIF rate curve of the default
#: `nengo_pc.arch.LIFParams` (see `check_lif_params`).
ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear", "lif")

#: Options each variant accepts through ``**variant_options``.
VARIANT_OPTIONS = {
    "standard": ("output_precision",),
    "fixed_prediction": ("output_precision",),
    "zil": ("output_precision",),
    "incremental": ("output_precision", "learning_rate"),
}

# Defaults as (n_steps, step_size); None for n_steps means "the number of layers".
_DEFAULTS = {
    "standard": (20, 0.1),
    "fixed_prediction": (None, 1.0),
    "zil": (None, 1.0),
    "incremental": (20, 0.1),
}


def check_choice(name, value, choices):
    """Raise ValueError naming ``name`` unless ``value`` is one of ``choices``.

    Parameters
    ----------
    name : str
        Argument name, used in the message.
    value : object
        The value given.
    choices : tuple of str
        Accepted values.

    Returns
    -------
    str
        ``value``, unchanged.
    """
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}: must be one of {choices}, got {value!r}")
    return value


def check_lif_params(name, arch):
    """Raise ValueError naming ``name`` unless a ``"lif"`` ``arch`` uses default LIF
    parameters.

    The PC path's ``"lif"`` nonlinearity (`nengo_pc.pc.activations`) is one fixed
    curve: ``f(v) = amplitude * soft-LIF rate(v)`` with the default
    `nengo_pc.arch.LIFParams` (tau_rc 0.02 s, tau_ref 0.002 s, amplitude 0.01,
    smoothing 0.02), threshold 1, gain 1 and bias 0 -- NengoDL's ``SoftLIFRate``
    with ``sigma = lif_smoothing``. Other parameters would silently train one curve
    and run another, so they are refused. Architectures with other activations pass.

    Parameters
    ----------
    name : str
        Argument name, used in the message.
    arch : nengo_pc.arch.Architecture
        The network.

    Returns
    -------
    Architecture
        ``arch``, unchanged.
    """
    from nengo_pc.arch import LIFParams  # pylint: disable=import-outside-toplevel

    if getattr(arch, "activation", None) == "lif" and arch.lif != LIFParams():
        raise ValueError(
            f"{name}: predictive coding with 'lif' neurons uses the default "
            f"LIFParams() ({LIFParams()}); got {arch.lif}"
        )
    return arch


def _positive_real(name, value):
    # bool is an Integral; a True step size is almost certainly a mistake
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: must be a real number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: must be finite and > 0, got {value!r}")
    return float(value)


def resolve_options(variant, n_layers, n_steps=None, step_size=None, **variant_options):
    """Fill in defaults and check the scalar options of one variant.

    Parameters
    ----------
    variant : str
        One of `VARIANTS`.
    n_layers : int
        Number of weight layers L.
    n_steps : int or None
        Number of inference iterations; None selects the variant's default (20 for
        ``"standard"`` and ``"incremental"``, L for ``"fixed_prediction"`` and
        ``"zil"``).
    step_size : float or None
        Inference step size; None selects the default (0.1 for ``"standard"`` and
        ``"incremental"``, 1.0 for ``"fixed_prediction"`` and ``"zil"``).
    **variant_options
        ``output_precision`` (all variants, default 1.0) and ``learning_rate``
        (``"incremental"`` only, default ``1 / n_steps``).

    Returns
    -------
    dict
        ``n_steps``, ``step_size``, ``output_precision`` and ``learning_rate`` (None
        unless the variant is ``"incremental"``), ready for
        `nengo_pc.pc.core.pc_updates`.

    Raises
    ------
    TypeError
        For an option name no variant knows (as Python does for a bad keyword).
    ValueError
        Naming the argument, for an unknown variant, ``n_steps < 1``, ``zil`` with
        fewer than L steps, a non-positive or non-finite ``step_size``,
        ``output_precision`` or ``learning_rate``, or a ``learning_rate`` given to a
        variant other than ``"incremental"``.
    """
    check_choice("variant", variant, VARIANTS)
    known = {name for names in VARIANT_OPTIONS.values() for name in names}
    for name in variant_options:
        if name not in known:
            raise TypeError(
                f"weight_updates() got an unexpected keyword argument {name!r}; "
                f"variant options are {sorted(known)}"
            )
    default_steps, default_step_size = _DEFAULTS[variant]

    if n_steps is None:
        n_steps = n_layers if default_steps is None else default_steps
    if isinstance(n_steps, bool) or not isinstance(n_steps, numbers.Integral):
        raise ValueError(f"n_steps: must be an integer, got {n_steps!r}")
    n_steps = int(n_steps)
    if n_steps < 1:
        raise ValueError(f"n_steps: must be >= 1, got {n_steps}")
    if variant == "zil" and n_steps < n_layers:
        # the layer furthest from the output is updated at iteration L - 1
        raise ValueError(
            f"n_steps: variant 'zil' needs at least one iteration per layer "
            f"(n_steps >= {n_layers}), got {n_steps}"
        )

    step_size = _positive_real(
        "step_size", default_step_size if step_size is None else step_size
    )
    output_precision = _positive_real(
        "output_precision", variant_options.get("output_precision", 1.0)
    )

    learning_rate = variant_options.get("learning_rate", None)
    if variant == "incremental":
        learning_rate = _positive_real(
            "learning_rate", 1.0 / n_steps if learning_rate is None else learning_rate
        )
    elif learning_rate is not None:
        raise ValueError(
            f"learning_rate: only used by variant 'incremental', not {variant!r}"
        )

    return {
        "n_steps": n_steps,
        "step_size": step_size,
        "output_precision": output_precision,
        "learning_rate": learning_rate,
    }
