"""Predictive-coding inference and local weight updates, on TensorFlow tensors.

This is the one implementation of the predictive-coding (PC) math. Every function
takes and returns tensors (or lists of them), uses only elementwise ops and matrix
products, and loops in Python over layers and inference steps only, so the same code
runs eagerly (`nengo_pc.pc.weight_updates` wraps it with numpy conversion and input
checks) and inside a minibatched ``tf.function`` training loop (where the loops
unroll). No PC rule uses ``tf.GradientTape``: every quantity is a local rule written
out by hand. `backprop` is the one function here with a tape; it is the reference
the PC rules are compared with.

Notation (L weight layers; rows of every matrix are batch items):

* ``weights[l - 1]`` is W_l with shape (n_{l-1}, n_l) and ``biases[l - 1]`` is b_l
  (Keras layout). ``values`` is the list [v_0, v_1, ..., v_L] of value nodes, with
  v_0 = x always clamped and v_L = y clamped while learning.
* Presynaptic activity: phi_0 = v_0 (the input is not passed through f) and
  phi_l = f(v_l) for 1 <= l < L.
* Predictions mu_l = phi_{l-1} W_l + b_l, errors e_l = v_l - mu_l.
* Energy F = sum_{l<L} ||e_l||^2 / 2 + gamma ||e_L||^2 / 2, gamma the output
  precision (1 unless weak feedback is wanted).
* Inference on the hidden values, 1 <= l < L, is gradient descent on F, all layers
  moving together from the errors of the same state:
  v_l <- v_l + step_size * (-e_l + f'(v_l) * (gamma_{l+1} e_{l+1} W_{l+1}^T)),
  where gamma_{l+1} = gamma if l + 1 = L and 1 otherwise.
* Weight update (pre-activity times post-error, summed over the batch):
  dW_l = phi_{l-1}^T e~_l and db_l = sum_batch e~_l, with e~_l = -dF/dmu_l / gamma,
  i.e. e~_l = e_l / gamma for hidden layers and e~_L = e_L. Dividing by gamma keeps
  the update finite as gamma -> 0, where at equilibrium it approaches -dL/dW
  (Whittington & Bogacz 2017).

With v at the feedforward values and v_L = y, e_L = y - y_hat = -dL/dy_hat for the
loss L = sum_batch ||y - y_hat||^2 / 2, so every update has the sign of a descent
step: the caller adds it (times a learning rate) to the parameters.

Numerics: inference keeps the hidden values as displacements d_l = v_l - h_l from
the feedforward pass h (and d_L = y - h_L), and computes the errors from the
displacements (`displaced_errors`). The errors are small differences between
values and predictions of order one; computed as v_l - mu_l they would lose most of
their significant digits in float32 (relative error ~1e-4 on the first layer of a
5-layer sigmoid network), and the division by a small gamma would amplify the loss.
From the displacements every term is of the size of the errors themselves, so Z-IL
and fixed prediction reproduce backprop to rounding in either dtype.
"""

import tensorflow as tf

from nengo_pc.pc.activations import get_activation
from nengo_pc.pc.options import VARIANTS


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


def _precision_weighted(errors, output_precision):
    # gamma_l e_l = -dF/dmu_l: only the output error carries the precision
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
    return _energy_of_errors(errors, output_precision)


def _energy_of_errors(errors, output_precision):
    weighted = _precision_weighted(errors, output_precision)
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
    weighted = _precision_weighted(errors, output_precision)
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


def _inference_step(reference, displacements, weights, act, step_size, gamma):
    """Errors at the current state, and the displacements after one step."""
    errors = displaced_errors(reference, displacements, weights, act)
    values = displaced_values(reference, displacements)
    slopes = [act.df(v) for v in values[1:-1]]
    return errors, value_step(displacements, errors, weights, slopes, step_size, gamma)


def _relaxed(weights, biases, x, y, act, n_steps, step_size, output_precision):
    reference = feedforward(weights, biases, x, act.f)
    displacements = initial_displacements(reference, y)
    for _ in range(n_steps):
        _, displacements = _inference_step(
            reference, displacements, weights, act, step_size, output_precision
        )
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
        energies.append(_energy_of_errors(errors, output_precision))
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


def pc_updates(
    weights,
    biases,
    x,
    y,
    variant,
    activation,
    n_steps,
    step_size,
    output_precision=1.0,
    learning_rate=None,
):
    """Weight updates of one PC variant, on tensors; options already resolved.

    This is the function to call inside a ``tf.function`` training loop. It does
    not check its inputs or fill in defaults; `nengo_pc.pc.weight_updates` does
    both (see `nengo_pc.pc.options.resolve_options`).

    Parameters
    ----------
    weights, biases : list of tf.Tensor
        W_l (n_{l-1}, n_l) and b_l (n_l,), all of one float dtype.
    x, y : tf.Tensor
        Input (batch, n_0) and target (batch, n_L).
    variant : str
        One of `nengo_pc.pc.VARIANTS`.
    activation : str or Activation
        One of `nengo_pc.pc.ACTIVATIONS`.
    n_steps : int
        Number of inference iterations (``"zil"`` uses the first L).
    step_size : float or tf.Tensor
        Inference rate.
    output_precision : float or tf.Tensor
        Precision gamma of the output error.
    learning_rate : float or tf.Tensor or None
        Per-step learning rate, ``"incremental"`` only.

    Returns
    -------
    list of (tf.Tensor, tf.Tensor)
        (dW_l, db_l) for every layer.
    """
    act = get_activation(activation)
    args = (weights, biases, x, y, act)
    if variant == "standard":
        return standard_updates(*args, n_steps, step_size, output_precision)
    if variant == "fixed_prediction":
        return fixed_prediction_updates(*args, n_steps, step_size, output_precision)
    if variant == "zil":
        return zil_updates(*args, step_size, output_precision)
    if variant == "incremental":
        return incremental_updates(
            *args, n_steps, step_size, learning_rate, output_precision
        )
    raise ValueError(f"variant: must be one of {VARIANTS}, got {variant!r}")


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
