"""The PC variants that equal backprop, and the backprop reference, on tensors.

Fixed prediction (`fixed_prediction_updates`) and zero-divergence inference
learning (`zil_updates`) give -dL/dW of the squared error exactly at step size 1;
`backprop` computes it with ``tf.GradientTape``, the one tape of the PC math.
Notation in `nengo_pc.pc.core`; the terms in `nengo_pc.pc.primitives`.
"""

import tensorflow as tf

from nengo_pc.pc.activations import get_activation
from nengo_pc.pc.primitives import (
    feedforward,
    initial_displacements,
    local_updates,
    presynaptic,
    value_step,
)


def fixed_prediction_updates(
    weights, biases, x, y, act, n_steps, step_size, output_precision=1.0
):
    """PC under the fixed-prediction assumption (Millidge et al. 2020; FixedPred).

    The predictions are held at their feedforward values, mu_l = h_l, for the whole
    of inference, and so is everything that depends on them: f' in the feedback term
    is f'(h_l), and the update uses the feedforward presynaptic activity f(h_{l-1}).
    Only the errors e_l = v_l - h_l evolve; e_L = y - y_hat stays fixed. Each step
    is e_l <- (1 - step_size) e_l + step_size f'(h_l) * (gamma_{l+1} e_{l+1}
    W_{l+1}^T), whose fixed point is the backprop recursion. With ``step_size = 1``
    the exact BP deltas (times gamma) reach layer L - k after k steps, so
    ``n_steps >= L - 1`` gives -dL/dW exactly, for any gamma (the division by gamma
    in the update cancels it). Smaller step sizes converge to the same point
    geometrically.

    Parameters
    ----------
    weights, biases, x, y, act, n_steps, step_size, output_precision
        As for `relax`.

    Returns
    -------
    list of (tf.Tensor, tf.Tensor)
        (dW_l, db_l) for every layer, from the final errors.
    """
    reference = feedforward(weights, biases, x, act.f)
    slopes = [act.df(h) for h in reference[1:-1]]
    # with the predictions fixed at h, the displacements d_l = v_l - h_l *are* the
    # errors e_1..e_L
    errors = initial_displacements(reference, y)
    for _ in range(n_steps):
        errors = value_step(
            errors, errors[1:], weights, slopes, step_size, output_precision
        )
    return local_updates(presynaptic(reference, act.f), errors[1:], output_precision)


def zil_updates(weights, biases, x, y, act, step_size=1.0, output_precision=1.0):
    """Zero-divergence inference learning, Z-IL (Song et al. 2020).

    Standard PC inference (predictions and f' from the current values), with each
    layer's update taken at its own inference step. Z-IL equals backprop exactly
    under three conditions:

    * C1: every value starts at its feedforward prediction, so all errors are zero
      except the output's;
    * C2: the weights of the layer at distance k from the output (output layer
      k = 1) are updated only at inference step k - 1, from the errors and
      presynaptic activities at that step;
    * C3: the inference step size is exactly 1.

    Then the BP delta travels down one layer per step without disturbing the
    presynaptic activity of the layer it reaches, because the layers below are still
    at their feedforward values. The updates are recorded with the original weights
    and returned together (applied once per batch), so they are the changes Z-IL
    prescribes. Step t = L - 1 updates the first layer, so L steps (L - 1 value
    updates) suffice and more would change nothing.

    Parameters
    ----------
    weights, biases, x, y, act
        As for `relax`.
    step_size : float or tf.Tensor
        Inference rate; 1 for exactness (C3).
    output_precision : float or tf.Tensor
        Precision gamma of the output error; with step size 1 the hidden errors are
        gamma times the BP deltas, so after the division by gamma the result does
        not depend on it.

    Returns
    -------
    list of (tf.Tensor, tf.Tensor)
        (dW_l, db_l) for every layer.
    """
    n_layers = len(weights)
    reference = feedforward(weights, biases, x, act.f)
    # under C1 the layers the output error has not reached yet stay exactly at their
    # feedforward values: their errors and displacements are exact zeros, so each
    # step only computes the layers from the front of the error upwards (the same
    # numbers as stepping every layer, at about half the matrix products)
    presyn = presynaptic(reference, act.f)
    displacements = initial_displacements(reference, y)
    updates = [None] * n_layers
    for t in range(n_layers):
        front = n_layers - t  # 1-based layer the error has reached (distance t + 1)
        errors = {}
        for l in range(front, n_layers + 1):
            error = displacements[l]
            if l > front:  # d_{front - 1} = 0: no change of presynaptic activity
                change = act.change(reference[l - 1], displacements[l - 1])
                error = error - tf.matmul(change, weights[l - 1])
            errors[l] = error
        # C2: this layer's update, from presynaptic activity still at its
        # feedforward value
        error = errors[front]
        if front < n_layers:
            error = error / output_precision
        updates[front - 1] = (tf.matmul(presyn[front - 1], error, transpose_a=True),
                              tf.reduce_sum(error, 0))
        if t == n_layers - 1:
            break  # the last value step would change nothing that is used
        for l in range(max(front - 1, 1), n_layers):
            above = errors[l + 1] * (output_precision if l + 1 == n_layers else 1.0)
            feedback = tf.matmul(above, weights[l], transpose_b=True)
            slope = act.df(reference[l] + displacements[l])
            own = errors.get(l, 0.0)
            displacements[l] = displacements[l] + step_size * (slope * feedback - own)
    return updates


def backprop(weights, biases, x, y, activation):
    """Backprop reference: -dL/dW and -dL/db with L = sum_batch ||y - y_hat||^2 / 2.

    Uses ``tf.GradientTape`` on `feedforward`.

    Parameters
    ----------
    weights, biases : list of tf.Tensor
        Parameters.
    x, y : tf.Tensor
        Input and target batches.
    activation : str or Activation
        Hidden nonlinearity.

    Returns
    -------
    list of (tf.Tensor, tf.Tensor)
        (-dL/dW_l, -dL/db_l) for every layer.
    """
    f = get_activation(activation).f
    params = [tf.convert_to_tensor(p) for p in list(weights) + list(biases)]
    n_layers = len(weights)
    with tf.GradientTape() as tape:
        tape.watch(params)
        y_hat = feedforward(params[:n_layers], params[n_layers:], x, f)[-1]
        loss = tf.reduce_sum(tf.square(y - y_hat)) / 2
    grads = tape.gradient(loss, params)
    return [(-gw, -gb) for gw, gb in zip(grads[:n_layers], grads[n_layers:])]
