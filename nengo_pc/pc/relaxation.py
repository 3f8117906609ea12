"""Standard PC inference and the variants built on it, on TensorFlow tensors.

Inference learning (`standard_updates`: relax the values by gradient descent on
the energy, then update once), the energy along the way (`energy_trace`) and
incremental PC (`incremental_updates`: the weights change at every inference
step). Notation in `nengo_pc.pc.core`; the terms in `nengo_pc.pc.primitives`.
"""

import tensorflow as tf

from nengo_pc.pc.primitives import (
    displaced_errors,
    displaced_values,
    energy_of_errors,
    feedforward,
    initial_displacements,
    local_updates,
    presynaptic,
    value_step,
)


def _inference_step(reference, displacements, weights, act, step_size, gamma):
    """Errors at the current state, and the displacements after one step."""
    errors = displaced_errors(reference, displacements, weights, act)
    values = displaced_values(reference, displacements)
    slopes = [act.df(v) for v in values[1:-1]]
    return errors, value_step(displacements, errors, weights, slopes, step_size, gamma)


def _front_step(reference, displacements, front, weights, act, step_size, gamma):
    """`_inference_step` for a state whose displacements below layer ``front`` are
    exact zeros: the displacements after one step, and the new front.

    From the feedforward start only the output is displaced, and each step moves the
    displacement down one layer, so below the front every error, feedback and value
    change is an exact zero (0 W = 0, f(h + 0) - f(h) = 0). Computing only the
    layers from the front up gives the same numbers as `_inference_step` (up to the
    sign of zeros) with fewer matrix products: at T = 8 and four weight layers, 39
    instead of 48.
    """
    n_layers = len(reference) - 1
    errors = {}
    for l in range(front, n_layers + 1):
        error = displacements[l]
        if l > front:  # d_{front - 1} = 0: no change of presynaptic activity
            change = act.change(reference[l - 1], displacements[l - 1])
            error = error - tf.matmul(change, weights[l - 1])
        errors[l] = error
    new = list(displacements)
    for l in range(max(front - 1, 1), n_layers):
        above = gamma * errors[l + 1] if l + 1 == n_layers else errors[l + 1]
        feedback = tf.matmul(above, weights[l], transpose_b=True)
        slope = act.df(reference[l] + displacements[l])
        # (at l = front - 1 the error is an exact zero, so it is left out)
        drive = slope * feedback - errors[l] if l in errors else slope * feedback
        new[l] = displacements[l] + step_size * drive
    return new, max(front - 1, 1)


def _relaxed(weights, biases, x, y, act, n_steps, step_size, output_precision):
    reference = feedforward(weights, biases, x, act.f)
    displacements = initial_displacements(reference, y)
    front = len(reference) - 1  # only the clamped output is displaced
    for _ in range(n_steps):
        displacements, front = _front_step(
            reference, displacements, front, weights, act, step_size,
            output_precision)
    return reference, displacements


def relax(weights, biases, x, y, act, n_steps, step_size, output_precision=1.0):
    """Standard PC inference: feedforward start, output clamped, n_steps steps.

    Predictions are recomputed from the current values at every step and f' is
    evaluated at the current values, i.e. plain gradient descent on F.

    Parameters
    ----------
    weights, biases : list of tf.Tensor
        Parameters (not changed).
    x, y : tf.Tensor
        Input and target batches.
    act : Activation
        Hidden nonlinearity (see `nengo_pc.pc.activations.get_activation`).
    n_steps : int
        Number of inference steps (value updates).
    step_size : float or tf.Tensor
        Inference rate.
    output_precision : float or tf.Tensor
        Precision gamma of the output error.

    Returns
    -------
    list of tf.Tensor
        The values [x, v_1, ..., v_{L-1}, y] after ``n_steps`` steps.
    """
    reference, displacements = _relaxed(
        weights, biases, x, y, act, n_steps, step_size, output_precision
    )
    return displaced_values(reference, displacements)


def energy_trace(weights, biases, x, y, act, n_steps, step_size, output_precision=1.0):
    """The energy F at every step of standard PC inference (`relax`).

    Parameters
    ----------
    weights, biases, x, y, act, n_steps, step_size, output_precision
        As for `relax`.

    Returns
    -------
    tf.Tensor
        Shape ``(n_steps + 1,)``: F (summed over the batch, computed from the
        displacements without cancellation) at the feedforward start with the output
        clamped (entry 0) and after each inference step.
    """
    reference = feedforward(weights, biases, x, act.f)
    displacements = initial_displacements(reference, y)
    energies = []
    for _ in range(n_steps + 1):
        # (the step after the last energy is computed but not used)
        errors, displacements = _inference_step(
            reference, displacements, weights, act, step_size, output_precision)
        energies.append(energy_of_errors(errors, output_precision))
    return tf.stack(energies)


def standard_updates(
    weights, biases, x, y, act, n_steps, step_size, output_precision=1.0
):
    """Inference learning (Whittington & Bogacz 2017): relax, then update once.

    The values relax for ``n_steps`` steps (see `relax`); the update is computed
    from the errors and presynaptic activities at the final values.

    Parameters
    ----------
    weights, biases, x, y, act, n_steps, step_size, output_precision
        As for `relax`.

    Returns
    -------
    list of (tf.Tensor, tf.Tensor)
        (dW_l, db_l) for every layer, see `layer_update`.
    """
    reference, displacements = _relaxed(
        weights, biases, x, y, act, n_steps, step_size, output_precision
    )
    errors = displaced_errors(reference, displacements, weights, act)
    presyn = presynaptic(displaced_values(reference, displacements), act.f)
    return local_updates(presyn, errors, output_precision)


def incremental_updates(
    weights, biases, x, y, act, n_steps, step_size, learning_rate, output_precision=1.0
):
    """Incremental PC (Salvatori et al.): the weights learn at every inference step.

    Values start at the feedforward pass of the original parameters, with the output
    clamped. At each of the ``n_steps`` iterations t, the errors e(t) are computed
    from the current values v(t) and the current parameters W(t); then, in parallel
    and both from e(t):

    * the values take one standard inference step (with W(t));
    * the parameters change by ``learning_rate`` times the local update,
      dW_l(t) = learning_rate * phi_{l-1}(t)^T e~_l(t) (see `layer_update`), and
      W(t + 1) = W(t) + dW(t) is used from iteration t + 1 on (these are internal
      tensors: the caller's parameters are not modified).

    Returns the total change sum_t dW(t), which is what the parameters must be
    changed by. Iteration 0 sees only the output error (hidden errors start at
    zero), so with ``n_steps = 1`` the result is ``learning_rate`` times the
    output-layer delta rule and zero for hidden layers. As the learning rate goes to
    zero, result / learning_rate approaches the sum of the standard updates after
    0, 1, ..., n_steps - 1 inference steps.

    Parameters
    ----------
    weights, biases, x, y, act, n_steps, step_size, output_precision
        As for `relax`.
    learning_rate : float or tf.Tensor
        Scale of every per-step change (`nengo_pc.pc.weight_updates` defaults it
        to ``1 / n_steps``, which gives the total the size of one update). The
        changes are batch sums and act on the network during inference, so too
        large a rate for the batch size makes inference diverge.

    Returns
    -------
    list of (tf.Tensor, tf.Tensor)
        Total (dW_l, db_l) for every layer.
    """
    reference = feedforward(weights, biases, x, act.f)
    displacements = initial_displacements(reference, y)
    # accumulated separately from the weights, so that small changes to large
    # weights keep their low-order bits
    totals = [(tf.zeros_like(w), tf.zeros_like(b)) for w, b in zip(weights, biases)]
    current = list(weights)
    for _ in range(n_steps):
        errors = displaced_errors(reference, displacements, current, act, totals)
        values = displaced_values(reference, displacements)
        slopes = [act.df(v) for v in values[1:-1]]
        changes = local_updates(presynaptic(values, act.f), errors, output_precision)
        displacements = value_step(
            displacements, errors, current, slopes, step_size, output_precision
        )
        totals = [
            (tw + learning_rate * dw, tb + learning_rate * db)
            for (tw, tb), (dw, db) in zip(totals, changes)
        ]
        current = [w + tw for w, (tw, _) in zip(weights, totals)]
    return totals
