"""Numpy face of the predictive-coding rules: checked inputs in, weight updates out.

`weight_updates` is the PC family's learning-rule interface: parameters and a batch
in, one (dW, db) per layer out, in the dtype of the inputs. It checks its inputs,
fills in each variant's defaults and calls the tensor implementation in
`nengo_pc.pc.core`, which a TensorFlow training loop can call directly.
`backprop_updates` gives the backprop reference with the same signature and sign,
and `energy` the PC energy of given value nodes.
"""

import warnings

import numpy as np
import tensorflow as tf

from nengo_pc.pc import core
from nengo_pc.pc.activations import get_activation
from nengo_pc.pc.options import ACTIVATIONS, VARIANTS, check_choice, resolve_options

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _as_array(name, value, ndim):
    array = np.asarray(value)
    if array.ndim != ndim:
        raise ValueError(
            f"{name}: must be a {ndim}-D array, got shape {array.shape}"
        )
    return array


def _check_sequence(name, value):
    if isinstance(value, np.ndarray) or not isinstance(value, (list, tuple)):
        raise ValueError(f"{name}: must be a list or tuple of arrays, one per layer")
    if len(value) == 0:
        raise ValueError(f"{name}: must contain at least one layer")


def _check_parameters(weights, biases):
    _check_sequence("weights", weights)
    _check_sequence("biases", biases)
    if len(weights) != len(biases):
        raise ValueError(
            f"biases: got {len(biases)} bias vectors for {len(weights)} weight matrices"
        )
    weights = [_as_array(f"weights[{i}]", w, 2) for i, w in enumerate(weights)]
    biases = [_as_array(f"biases[{i}]", b, 1) for i, b in enumerate(biases)]
    for i, (w, b) in enumerate(zip(weights, biases)):
        if i > 0 and w.shape[0] != weights[i - 1].shape[1]:
            raise ValueError(
                f"weights[{i}]: layer {i} has shape {w.shape}, but layer {i - 1} "
                f"outputs {weights[i - 1].shape[1]} units (weights[{i - 1}] has "
                f"shape {weights[i - 1].shape}), so expected "
                f"({weights[i - 1].shape[1]}, n_out)"
            )
        if b.shape != (w.shape[1],):
            raise ValueError(
                f"biases[{i}]: layer {i} has shape {b.shape}, but weights[{i}] has "
                f"shape {w.shape}, so expected ({w.shape[1]},)"
            )
    return weights, biases


def _check_batch(weights, x, y):
    x = _as_array("x", x, 2)
    y = _as_array("y", y, 2)
    if x.shape[1] != weights[0].shape[0]:
        raise ValueError(
            f"x: has {x.shape[1]} columns (shape {x.shape}), but weights[0] has "
            f"shape {weights[0].shape}, so expected {weights[0].shape[0]}"
        )
    if y.shape[0] != x.shape[0]:
        raise ValueError(
            f"y: has batch size {y.shape[0]} (shape {y.shape}), but x has batch "
            f"size {x.shape[0]} (shape {x.shape})"
        )
    if y.shape[1] != weights[-1].shape[1]:
        raise ValueError(
            f"y: has {y.shape[1]} columns (shape {y.shape}), but weights[-1] has "
            f"shape {weights[-1].shape}, so expected {weights[-1].shape[1]}"
        )
    return x, y


def _check_dtypes_and_values(named_arrays):
    """One float32/float64 dtype shared by all arrays, and only finite values."""
    first_name, first = named_arrays[0]
    for name, array in named_arrays:
        if array.dtype not in _DTYPES:
            raise ValueError(
                f"{name}: dtype must be float32 or float64, got {array.dtype}"
            )
        if array.dtype != first.dtype:
            raise ValueError(
                f"{name}: has dtype {array.dtype} but {first_name} has dtype "
                f"{first.dtype}; mixed dtypes are not supported (all arrays must "
                f"share one dtype)"
            )
    for name, array in named_arrays:
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name}: contains non-finite values (nan or inf)")
    return first.dtype


def _checked(weights, biases, x, y, extra=()):
    weights, biases = _check_parameters(weights, biases)
    x, y = _check_batch(weights, x, y)
    named = (
        [(f"weights[{i}]", w) for i, w in enumerate(weights)]
        + [(f"biases[{i}]", b) for i, b in enumerate(biases)]
        + [("x", x), ("y", y)]
        + list(extra)
    )
    _check_dtypes_and_values(named)
    return weights, biases, x, y


def _to_numpy(updates):
    return [(dw.numpy(), db.numpy()) for dw, db in updates]


def weight_updates(
    weights,
    biases,
    x,
    y,
    variant,
    activation="tanh",
    n_steps=None,
    step_size=None,
    **variant_options,
):
    """Weight and bias updates that a predictive-coding variant prescribes.

    The network is the MLP ``h_1 = x W_1 + b_1``, ``h_l = f(h_{l-1}) W_l + b_l``
    with a linear output ``y_hat = h_L``; its PC counterpart has value nodes
    v_0 = x, v_1..v_L, errors e_l = v_l - mu_l and energy
    F = sum_{l<L} ||e_l||^2 / 2 + gamma ||e_L||^2 / 2, with v_L clamped to ``y``
    (see `nengo_pc.pc.core` for every formula). Returned updates are changes to
    *add* to the parameters: near the feedforward point they have the sign of
    -dL/dW for L = sum_batch ||y - y_hat||^2 / 2, and they are summed, not
    averaged, over the batch.

    Variants:

    ``"standard"``
        Inference learning (Whittington & Bogacz 2017). Values start at the
        feedforward pass; ``n_steps`` (default 20) synchronous steps of size
        ``step_size`` (default 0.1) of gradient descent on F, predictions and f'
        recomputed from the current values each step; then one update
        dW_l = f(v_{l-1})^T e_l (v_0^T e_1 for the first layer), db_l = sum e_l,
        from the final values. Hidden-layer updates are divided by
        ``output_precision``, so they approach -dL/dW in the weak-feedback limit
        gamma -> 0 (at equilibrium).
    ``"fixed_prediction"``
        Millidge et al. 2020 / Rosenbaum 2022 (FixedPred). Predictions, f' in the
        feedback term and the presynaptic activity of the update are all held at
        their feedforward values; only the errors evolve. Defaults
        ``step_size=1.0`` and ``n_steps=L``; with step size 1 and
        ``n_steps >= L - 1`` the errors are the BP deltas and the result is
        -dL/dW exactly.
    ``"zil"``
        Z-IL (Song et al. 2020): standard inference from the feedforward values
        (C1) with step size 1 (C3, the default), and the layer at distance k from
        the output updated from the errors of inference step k - 1 (C2), all with
        the original weights and returned together. Exactly -dL/dW; needs
        ``n_steps >= L`` (the default, L), more steps change nothing.
    ``"incremental"``
        Incremental PC (Salvatori et al.). Defaults as ``"standard"``. At each of
        the ``n_steps`` iterations the values take an inference step and the
        parameters change by ``learning_rate`` times the local update, both
        computed from the same errors (current values, current parameters); the
        changed parameters are used for the following iterations (on internal
        copies: the arrays passed in are not modified). Returns the total change,
        the sum of the per-step changes. ``learning_rate`` defaults to
        ``1 / n_steps``, which makes the total the size of one standard update.
        Updates are summed over the batch, so a rate that is stable for a small
        batch can diverge for a large one (with the default, a 784-256-256-10
        ReLU network on a batch of 100 standard-normal inputs does): scale it
        down with the batch size.

    Parameters
    ----------
    weights : list of array_like
        ``weights[i]`` has shape (n_in, n_out) (Keras layout), one per layer.
    biases : list of array_like
        ``biases[i]`` has shape (n_out,).
    x : array_like
        Input batch, shape (batch, n_in of the first layer).
    y : array_like
        Target batch, shape (batch, n_out of the last layer).
    variant : str
        One of `VARIANTS`: ``"standard"``, ``"fixed_prediction"``, ``"zil"``,
        ``"incremental"``.
    activation : str
        Hidden nonlinearity, one of `ACTIVATIONS`: ``"tanh"``, ``"relu"``
        (derivative 1 where the pre-activation is > 0, else 0), ``"sigmoid"``,
        ``"linear"``.
    n_steps : int, optional
        Number of inference iterations (>= 1); default depends on the variant.
    step_size : float, optional
        Inference step size (> 0); default depends on the variant.
    **variant_options
        ``output_precision`` : float, default 1.0
            Precision gamma (> 0) of the output error in F. The output error enters
            hidden inference weighted by gamma and hidden-layer updates are
            divided by gamma (all variants; for ``"fixed_prediction"`` and
            ``"zil"`` with step size 1 the result does not depend on gamma).
        ``learning_rate`` : float, optional
            ``"incremental"`` only: per-step scale of the weight changes (> 0);
            default ``1 / n_steps``.

    Returns
    -------
    list of (numpy.ndarray, numpy.ndarray)
        (dW, db) per layer, with the shapes and the dtype of the inputs.

    Raises
    ------
    ValueError
        Naming the offending argument: unknown ``variant`` or ``activation``;
        ``weights`` and ``biases`` of different lengths; a layer whose shape does
        not match its neighbours (which layer, which shapes); ``x`` or ``y`` whose
        width does not match the network or whose batch sizes differ; non-finite
        values in any array; an array that is not float32/float64 or not of the
        same dtype as the others; ``n_steps < 1`` (or ``< L`` for ``"zil"``);
        ``step_size``, ``output_precision`` or ``learning_rate`` not > 0;
        ``learning_rate`` with a variant other than ``"incremental"``.
    TypeError
        For an unknown keyword in ``variant_options``.

    Warns
    -----
    RuntimeWarning
        If an update is not finite (inference or in-place learning diverged), or
        (``"standard"``) if inference raised the energy instead of lowering it,
        naming the step size.
    """
    check_choice("variant", variant, VARIANTS)
    check_choice("activation", activation, ACTIVATIONS)
    weights, biases, x, y = _checked(weights, biases, x, y)
    options = resolve_options(
        variant, len(weights), n_steps, step_size, **variant_options
    )
    updates = core.pc_updates(
        [tf.constant(w) for w in weights],
        [tf.constant(b) for b in biases],
        tf.constant(x),
        tf.constant(y),
        variant,
        activation,
        **options,
    )
    updates = _to_numpy(updates)
    if not all(np.all(np.isfinite(a)) for pair in updates for a in pair):
        warnings.warn(
            f"weight_updates: variant {variant!r} produced non-finite updates; "
            "inference (step_size) or in-place learning (learning_rate) diverged",
            RuntimeWarning,
        )
    elif variant == "standard":
        _warn_if_energy_rose(weights, biases, x, y, activation, options)
    return updates


def _warn_if_energy_rose(weights, biases, x, y, activation, options):
    """Warn, naming the step size, when standard inference raised the energy.

    Standard inference is gradient descent on the energy F from the feedforward
    point; F rising over the steps means the steps overshoot (divergence), and the
    updates read from those values are meaningless even while still finite.
    """
    trace = core.energy_trace(
        [tf.constant(w) for w in weights], [tf.constant(b) for b in biases],
        tf.constant(x), tf.constant(y), get_activation(activation),
        options["n_steps"], options["step_size"], options["output_precision"],
    ).numpy()
    start, end = float(trace[0]), float(trace[-1])
    # rounding may raise a converged energy by a few ulps; divergence is not subtle
    if not np.isfinite(end) or end > start * (1 + 1e-3) + 1e-12:
        warnings.warn(
            f"weight_updates: standard inference diverged: the energy rose from "
            f"{start:.3g} to {end:.3g} in {options['n_steps']} steps of step_size="
            f"{options['step_size']:g}; use a smaller step_size (stable below about "
            f"2 / (1 + ||f' W||^2) of the layer above)",
            RuntimeWarning,
        )


def backprop_updates(weights, biases, x, y, activation="tanh"):
    """Backprop updates -dL/dW, -dL/db for L = sum_batch ||y - y_hat||^2 / 2.

    Computed with ``tf.GradientTape`` in the dtype of the inputs; the reference for
    `weight_updates` (same arguments, shapes, dtype and sign).

    Parameters
    ----------
    weights, biases, x, y, activation
        As for `weight_updates`.

    Returns
    -------
    list of (numpy.ndarray, numpy.ndarray)
        (-dL/dW, -dL/db) per layer.
    """
    check_choice("activation", activation, ACTIVATIONS)
    weights, biases, x, y = _checked(weights, biases, x, y)
    return _to_numpy(
        core.backprop(
            [tf.constant(w) for w in weights],
            [tf.constant(b) for b in biases],
            tf.constant(x),
            tf.constant(y),
            activation,
        )
    )


def energy(weights, biases, values, activation="tanh", output_precision=1.0):
    """PC energy F = sum_{l<L} ||e_l||^2 / 2 + gamma ||e_L||^2 / 2, batch summed.

    Parameters
    ----------
    weights, biases : list of array_like
        As for `weight_updates`.
    values : list of array_like
        Value nodes [v_0, v_1, ..., v_L], each of shape (batch, n_l); v_0 is the
        input and v_L the output (the target, when clamped).
    activation : str
        One of `ACTIVATIONS`.
    output_precision : float
        Precision gamma (> 0) of the output error.

    Returns
    -------
    numpy.floating
        F, in the dtype of the inputs.
    """
    check_choice("activation", activation, ACTIVATIONS)
    _check_sequence("values", values)
    weights, biases = _check_parameters(weights, biases)
    if len(values) != len(weights) + 1:
        raise ValueError(
            f"values: need {len(weights) + 1} arrays (input, then one per layer), "
            f"got {len(values)}"
        )
    values = [_as_array(f"values[{i}]", v, 2) for i, v in enumerate(values)]
    x, y = _check_batch(weights, values[0], values[-1])
    for i in range(1, len(weights)):
        expected = (x.shape[0], weights[i - 1].shape[1])
        if values[i].shape != expected:
            raise ValueError(
                f"values[{i}]: has shape {values[i].shape}, expected {expected}"
            )
    _checked(
        weights,
        biases,
        x,
        y,
        extra=[(f"values[{i}]", values[i]) for i in range(1, len(weights))],
    )
    output_precision = resolve_options(
        "standard", len(weights), output_precision=output_precision
    )["output_precision"]
    result = core.energy(
        [tf.constant(v) for v in values],
        [tf.constant(w) for w in weights],
        [tf.constant(b) for b in biases],
        get_activation(activation).f,
        output_precision,
    )
    return result.numpy()


def energy_trace(weights, biases, x, y, activation="tanh", n_steps=20, step_size=0.1,
                 output_precision=1.0):
    """The energy F at every step of standard PC inference, output clamped to ``y``.

    Inference starts at the feedforward pass with the output clamped and takes
    ``n_steps`` synchronous gradient steps on F (the inference of the
    ``"standard"`` variant of `weight_updates`).

    Parameters
    ----------
    weights, biases, x, y, activation
        As for `weight_updates`.
    n_steps : int
        Inference steps (>= 1).
    step_size : float
        Inference step size (> 0).
    output_precision : float
        Precision gamma (> 0) of the output error.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_steps + 1,)``, F summed over the batch before the first step and
        after each step, in the dtype of the inputs.
    """
    check_choice("activation", activation, ACTIVATIONS)
    weights, biases, x, y = _checked(weights, biases, x, y)
    options = resolve_options("standard", len(weights), n_steps, step_size,
                              output_precision=output_precision)
    return core.energy_trace(
        [tf.constant(w) for w in weights],
        [tf.constant(b) for b in biases],
        tf.constant(x),
        tf.constant(y),
        get_activation(activation),
        options["n_steps"],
        options["step_size"],
        options["output_precision"],
    ).numpy()
