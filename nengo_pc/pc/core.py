"""Predictive-coding inference and local weight updates, on TensorFlow tensors.

This is the one implementation of the predictive-coding (PC) math, and its one
import point: the functions live in `nengo_pc.pc.primitives` (the energy and its
terms: predictions, errors, inference steps, local updates),
`nengo_pc.pc.relaxation` (standard inference, the energy trace, incremental PC) and
`nengo_pc.pc.exact` (fixed prediction, Z-IL and the backprop reference), and every
public name is importable from here; `pc_updates` dispatches to the variants. Every function
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

from nengo_pc.pc.activations import get_activation
from nengo_pc.pc.exact import backprop, fixed_prediction_updates, zil_updates
from nengo_pc.pc.options import VARIANTS
from nengo_pc.pc.primitives import (
    displaced_errors,
    displaced_values,
    energy,
    energy_of_errors,
    feedforward,
    initial_displacements,
    layer_update,
    local_updates,
    precision_weighted,
    prediction_errors,
    predictions,
    presynaptic,
    value_step,
)
from nengo_pc.pc.relaxation import (
    energy_trace,
    incremental_updates,
    relax,
    standard_updates,
)

__all__ = [
    "feedforward",
    "presynaptic",
    "predictions",
    "prediction_errors",
    "precision_weighted",
    "energy",
    "energy_of_errors",
    "initial_displacements",
    "displaced_values",
    "displaced_errors",
    "value_step",
    "layer_update",
    "local_updates",
    "relax",
    "energy_trace",
    "standard_updates",
    "incremental_updates",
    "fixed_prediction_updates",
    "zil_updates",
    "backprop",
    "pc_updates",
]


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
