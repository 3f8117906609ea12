"""The terms of the predictive-coding energy, on TensorFlow tensors.

The building blocks every PC variant is written with (notation and numerics in
`nengo_pc.pc.core`): the feedforward pass, predictions and errors, the energy, the
displaced form of the errors that keeps float32 exact, one synchronous inference
step of the values, and the local (pre times post) weight update. The variants
themselves are in `nengo_pc.pc.relaxation` (standard and incremental inference) and
`nengo_pc.pc.exact` (the variants equal to backprop, and backprop).
"""

import tensorflow as tf


def feedforward(weights, biases, x, f):
    """The feedforward pass, as value nodes.

    Parameters
    ----------
    weights, biases : list of tf.Tensor
        W_l with shape (n_{l-1}, n_l) and b_l with shape (n_l,).
    x : tf.Tensor
        Input batch, shape (batch, n_0).
    f : callable
        Hidden nonlinearity.

    Returns
    -------
    list of tf.Tensor
        [x, h_1, ..., h_L]: the input and every layer's pre-activation; h_L is the
        (linear) output y_hat.
    """
    values = [x]
    for w, b in zip(weights, biases):
        pre = x if len(values) == 1 else f(values[-1])
        values.append(tf.matmul(pre, w) + b)
    return values


def presynaptic(values, f):
    """Activity each weight layer sees: [v_0, f(v_1), ..., f(v_{L-1})]."""
    return [values[0]] + [f(v) for v in values[1:-1]]


def predictions(values, weights, biases, f):
    """Predictions mu_l = phi_{l-1} W_l + b_l for l = 1..L from ``values``."""
    return [
        tf.matmul(pre, w) + b
        for pre, w, b in zip(presynaptic(values, f), weights, biases)
    ]


def prediction_errors(values, mus):
    """Errors e_l = v_l - mu_l for l = 1..L, computed directly."""
    return [v - mu for v, mu in zip(values[1:], mus)]


def precision_weighted(errors, output_precision):
    """The errors times their precisions, gamma_l e_l = -dF/dmu_l: only the output
    error carries the precision."""
    return list(errors[:-1]) + [output_precision * errors[-1]]


def energy(values, weights, biases, f, output_precision=1.0):
    """The energy F = sum_{l<L} ||e_l||^2 / 2 + gamma ||e_L||^2 / 2 (batch summed).

    Parameters
    ----------
    values : list of tf.Tensor
        [v_0, ..., v_L].
    weights, biases : list of tf.Tensor
        Parameters.
    f : callable
        Hidden nonlinearity.
    output_precision : float or tf.Tensor
        Precision gamma of the output error.

    Returns
    -------
    tf.Tensor
        Scalar.
    """
    errors = prediction_errors(values, predictions(values, weights, biases, f))
    return energy_of_errors(errors, output_precision)


def energy_of_errors(errors, output_precision):
    """F from the errors [e_1, ..., e_L] (see `energy`)."""
    weighted = precision_weighted(errors, output_precision)
    return sum(tf.reduce_sum(e * g) for e, g in zip(errors, weighted)) / 2


def initial_displacements(reference, y):
    """Displacements of the starting state: feedforward values, output clamped.

    Parameters
    ----------
    reference : list of tf.Tensor
        The feedforward pass [x, h_1, ..., h_L] (see `feedforward`).
    y : tf.Tensor
        Target batch.

    Returns
    -------
    list of tf.Tensor
        [d_0, ..., d_L] = [0, 0, ..., 0, y - h_L], aligned with the values.
    """
    return [tf.zeros_like(h) for h in reference[:-1]] + [y - reference[-1]]


def displaced_values(reference, displacements):
    """Values v_l = h_l + d_l (v_0 = x)."""
    return [reference[0]] + [h + d for h, d in zip(reference[1:], displacements[1:])]


def displaced_errors(reference, displacements, weights, act, param_changes=None):
    """Errors e_l = v_l - mu_l of the values v = h + d, without cancellation.

    With h the feedforward pass of the parameters (W_l - dW_l, b_l - db_l), so that
    h_l = phi_{l-1}(h_{l-1}) (W_l - dW_l) + b_l - db_l,

        e_l = d_l - (phi_{l-1}(h_{l-1} + d_{l-1}) - phi_{l-1}(h_{l-1})) W_l
                  - (phi_{l-1}(h_{l-1}) dW_l + db_l),

    where the change of phi comes from ``act.change`` (phi_0 never changes: the input
    is clamped). Every term is of the size of the errors, so nothing large cancels.

    Parameters
    ----------
    reference : list of tf.Tensor
        The feedforward pass [x, h_1, ..., h_L] of the parameters without the
        changes ``param_changes``.
    displacements : list of tf.Tensor
        [d_0, ..., d_L]; d_0 is ignored.
    weights : list of tf.Tensor
        The current weights W_l (including ``param_changes``).
    act : Activation
        Hidden nonlinearity.
    param_changes : list of (tf.Tensor, tf.Tensor) or None
        Changes (dW_l, db_l) made to the parameters since ``reference`` was
        computed; None if there are none.

    Returns
    -------
    list of tf.Tensor
        [e_1, ..., e_L].
    """
    if param_changes is not None:
        presyn = presynaptic(reference, act.f)
    errors = []
    for l in range(1, len(reference)):
        error = displacements[l]
        if l > 1:
            change = act.change(reference[l - 1], displacements[l - 1])
            error = error - tf.matmul(change, weights[l - 1])
        if param_changes is not None:
            dw, db = param_changes[l - 1]
            error = error - (tf.matmul(presyn[l - 1], dw) + db)
        errors.append(error)
    return errors


def value_step(values, errors, weights, slopes, step_size, output_precision=1.0):
    """One synchronous gradient-descent step of the hidden values on F.

    The step is the same for values and for their displacements from a fixed
    reference, so either can be passed.

    Parameters
    ----------
    values : list of tf.Tensor
        [v_0, ..., v_L] (or displacements [d_0, ..., d_L]); entries 0 and L are
        returned unchanged (clamped).
    errors : list of tf.Tensor
        [e_1, ..., e_L] at ``values``.
    weights : list of tf.Tensor
        W_1..W_L; W_{l+1}^T carries e_{l+1} back to layer l.
    slopes : list of tf.Tensor
        f' for hidden layers 1..L-1, evaluated wherever the variant prescribes
        (at the current values for standard PC, at the feedforward values under the
        fixed-prediction assumption).
    step_size : float or tf.Tensor
        Inference rate.
    output_precision : float or tf.Tensor
        Precision gamma of the output error.

    Returns
    -------
    list of tf.Tensor
        The new values: v_l + step_size * (-e_l + f'_l * (gamma_{l+1} e_{l+1}
        W_{l+1}^T)) for hidden l.
    """
    weighted = precision_weighted(errors, output_precision)
    new_values = [values[0]]
    for l in range(1, len(values) - 1):
        # errors[l - 1] is e_l, weighted[l] is gamma_{l+1} e_{l+1} and weights[l]
        # is W_{l+1}
        feedback = tf.matmul(weighted[l], weights[l], transpose_b=True)
        new_values.append(
            values[l] + step_size * (slopes[l - 1] * feedback - errors[l - 1])
        )
    new_values.append(values[-1])
    return new_values


def layer_update(presyn, errors, layer, output_precision=1.0):
    """Local update (dW, db) of one layer: pre-activity times post-error.

    Parameters
    ----------
    presyn : list of tf.Tensor
        Presynaptic activities, as returned by `presynaptic`.
    errors : list of tf.Tensor
        [e_1, ..., e_L].
    layer : int
        0-based layer index (``layer = l - 1``).
    output_precision : float or tf.Tensor
        Precision gamma of the output error.

    Returns
    -------
    dW, db : tf.Tensor
        -dF/dW_l / gamma and -dF/db_l / gamma, summed over the batch.
    """
    error = errors[layer]
    if layer < len(errors) - 1:
        # -dF/dmu_l = e_l for hidden layers; dividing by gamma makes the update
        # approach -dL/dW as gamma -> 0 instead of vanishing
        error = error / output_precision
    return tf.matmul(presyn[layer], error, transpose_a=True), tf.reduce_sum(error, 0)


def local_updates(presyn, errors, output_precision=1.0):
    """Local updates of every layer; see `layer_update`.

    Returns
    -------
    list of (tf.Tensor, tf.Tensor)
        (dW_l, db_l) for l = 1..L.
    """
    return [
        layer_update(presyn, errors, layer, output_precision)
        for layer in range(len(errors))
    ]
