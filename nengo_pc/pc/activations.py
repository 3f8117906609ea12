"""Hidden nonlinearities on TensorFlow tensors: f, f' and accurate changes of f.

Predictive-coding inference moves the value nodes by small amounts away from the
feedforward pass, and what matters is how much f changes, f(a + d) - f(a). Computed
as written, that subtracts two nearly equal numbers and keeps only the few bits
in which they differ (in float32, a displacement 1e-3 times the pre-activation keeps
about 3 significant digits). Each `Activation` therefore carries ``change(a, d)``, an
algebraically equal form that stays accurate for small ``d``.

``"lif"`` is ``f(v) = amplitude * soft-LIF rate(v)`` with the default
`nengo_pc.arch.LIFParams` (threshold 1, gain 1, bias 0; `nengo_pc.neurons.soft_lif_rate`,
equal to NengoDL's ``SoftLIFRate`` with ``sigma = lif_smoothing``), the curve a
``nengo.LIF`` network is trained through; its f' is the analytic derivative of that
curve (finite everywhere, unlike the exact LIF rate's at threshold). Other LIF
parameters are refused by `nengo_pc.pc.options.check_lif_params`.
"""

import collections

import tensorflow as tf

from nengo_pc.neurons import LOG_SOFTPLUS_CLIP, log_softplus_tf, soft_lif_rate_tf
from nengo_pc.pc.options import ACTIVATIONS

Activation = collections.namedtuple("Activation", ["name", "f", "df", "change"])
Activation.__doc__ = """A hidden nonlinearity.

Attributes
----------
name : str
    One of `nengo_pc.pc.ACTIVATIONS`.
f : callable
    f(v), elementwise.
df : callable
    f'(v), elementwise.
change : callable
    ``change(a, d) = f(a + d) - f(a)``, accurate when ``|d|`` is small.
"""

# beyond this |argument| tanh is saturated, and cosh(x)^2 is still far from
# overflowing in float32 (cosh(20)^2 ~ 6e16 < 3e38)
_SATURATED = 20.0


def _tanh_slope(v):
    t = tf.tanh(v)
    return 1.0 - t * t


def _tanh_change(a, d):
    b = a + d
    safe = (tf.abs(a) < _SATURATED) & (tf.abs(b) < _SATURATED)
    zeros = tf.zeros_like(a)
    # tanh(b) - tanh(a) = sinh(b - a) / (cosh(b) cosh(a)), an identity with no
    # subtraction of nearly equal numbers; arguments are zeroed where unsafe so the
    # unused branch of tf.where holds no inf or nan
    a_safe, b_safe, d_safe = (tf.where(safe, t, zeros) for t in (a, b, d))
    accurate = tf.sinh(d_safe) / (tf.cosh(b_safe) * tf.cosh(a_safe))
    return tf.where(safe, accurate, tf.tanh(b) - tf.tanh(a))


def _sigmoid_slope(v):
    s = tf.sigmoid(v)
    return s * (1.0 - s)


def _sigmoid_change(a, d):
    # sigmoid(v) = (1 + tanh(v / 2)) / 2
    return 0.5 * _tanh_change(0.5 * a, 0.5 * d)


def _relu_slope(v):
    # 1 where the pre-activation is > 0, as the gradient of tf.nn.relu
    return tf.cast(v > 0, v.dtype)


def _relu_change(a, d):
    # relu(a + d) - relu(a) is max(d, -a) for a > 0 (exact: no rounding at all)
    # and relu(a + d) for a <= 0
    return tf.where(a > 0, tf.maximum(d, -a), tf.nn.relu(a + d))


def _linear_change(a, d):  # pylint: disable=unused-argument
    return d


# ---- "lif": amplitude * soft-LIF rate, the curve NengoDL trains nengo.LIF through --
#
# With y = (v - 1) / gamma, rho = gamma * softplus(y), q = log(1 + 1 / rho) and
# D = tau_ref + tau_rc * q, f(v) = amplitude / D (`nengo_pc.neurons.soft_lif_rate`,
# threshold 1). Everything below is written with ratios that stay finite where rho
# underflows (v far below threshold), so no branch produces inf or nan.


# |d| / gamma up to which `_lif_change` uses its cancellation-free identity
_LIF_DELTA = 20.0


def _lif_params():
    from nengo_pc.arch import LIFParams  # pylint: disable=import-outside-toplevel

    return LIFParams()


def _lif_common(v):
    """y, sigmoid(y) / softplus(y), rho, q and D of the soft-LIF curve at ``v``."""
    lif = _lif_params()
    gamma = tf.constant(lif.smoothing, v.dtype)
    y = (v - 1.0) / gamma
    log_sp = log_softplus_tf(tf, y)  # log softplus(y), finite for all y
    # sigmoid(y) / softplus(y): for y <= 0 it is u / ((1 + u) log1p(u)), u = e^y
    # (-> 1 as u -> 0), for y > 0 it is sigmoid(y) * exp(-log softplus(y))
    u = tf.exp(tf.maximum(tf.minimum(y, 0.0), LOG_SOFTPLUS_CLIP))
    ratio = tf.where(y > 0, tf.sigmoid(y) * tf.exp(-log_sp),
                     u / ((1.0 + u) * tf.math.log1p(u)))
    log_rho = tf.math.log(gamma) + log_sp
    rho = tf.exp(log_rho)
    q = tf.nn.softplus(-log_rho)  # log(1 + 1 / rho), threshold 1
    denominator = lif.tau_ref + lif.tau_rc * q
    return y, ratio, rho, q, denominator


def _lif_f(v):
    lif = _lif_params()
    return soft_lif_rate_tf(v, gamma=lif.smoothing, tau_rc=lif.tau_rc,
                            tau_ref=lif.tau_ref, amplitude=lif.amplitude)


def _lif_slope(v):
    # f' = amplitude tau_rc (-dq/dv) / D^2 with -dq/dv = sigmoid(y) / (rho (rho + 1))
    #    = [sigmoid(y) / softplus(y)] / (gamma (rho + 1))
    lif = _lif_params()
    _, ratio, rho, _, denominator = _lif_common(v)
    return (lif.amplitude * lif.tau_rc / lif.smoothing) * ratio / (
        (rho + 1.0) * denominator * denominator)


def _lif_change(a, d):
    # f(b) - f(a) = amplitude tau_rc (q_a - q_b) / (D_a D_b), b = a + d, with
    # q_a - q_b = log1p((rho_b - rho_a) / (rho_a (rho_b + 1))), where
    # (rho_b - rho_a) / rho_a = [log1p(t) / t] expm1(delta) sigmoid(y_a) / softplus(y_a)
    # with delta = d / gamma and t = sigmoid(y_a) expm1(delta), since
    # softplus(y_a + delta) - softplus(y_a) = log1p(t) exactly: nothing nearly equal
    # is subtracted
    # The identity is used for |delta| <= _LIF_DELTA (then t > -1 and expm1 cannot
    # overflow); larger steps change f by far more than its rounding, and are
    # computed directly (the unused branch of tf.where gets d = 0, so it holds no
    # inf or nan).
    lif = _lif_params()
    safe = tf.abs(d) <= _LIF_DELTA * lif.smoothing
    d_safe = tf.where(safe, d, tf.zeros_like(d))
    y_a, ratio_a, _, q_a, den_a = _lif_common(a)
    _, _, rho_b, q_b, den_b = _lif_common(a + d_safe)
    delta = d_safe / lif.smoothing
    em = tf.math.expm1(delta)
    # (rho_b - rho_a) / rho_a = (softplus(y_b) - softplus(y_a)) / softplus(y_a); the
    # difference is log1p(t) with t = sigmoid(y_a) expm1(delta) > -1, except that t
    # rounds to -1 above threshold when delta << 0: there it is written as
    # delta + log1p(sigmoid(-y_a) expm1(-delta)) (softplus(y) = y + softplus(-y))
    t = tf.sigmoid(y_a) * em
    small = tf.abs(t) < 1e-30
    t_safe = tf.where(small, tf.ones_like(t), t)
    log1p_ratio = tf.where(small, tf.ones_like(t), tf.math.log1p(t_safe) / t_safe)
    above = (y_a > 0) & (delta < 0)
    y_above = tf.where(above, y_a, tf.ones_like(y_a))
    drop = delta + tf.math.log1p(tf.sigmoid(-y_above) * tf.math.expm1(-delta))
    relative = tf.where(above, drop * ratio_a / tf.sigmoid(y_above),
                        log1p_ratio * em * ratio_a)
    # for rho_b < rho_a / 2 the log1p argument approaches -1. Then, below threshold
    # (y_a, y_b <= 0, where q ~ -log rho is large), q_a - q_b = log(rho_b / rho_a) -
    # log1p((rho_b - rho_a) / (rho_a + 1)) with log(rho_b / rho_a) = delta +
    # g(y_b) - g(y_a), g(y) = log(log1p(e^y) / e^y) small and smooth; elsewhere q is
    # at most log(1 + 1 / (gamma log 2)) and the plain difference q_a - q_b loses at
    # most a digit
    far = relative <= -0.5
    y_b = y_a + delta
    below = far & (y_a <= 0)  # (far steps go down: then y_b < y_a <= 0 too)

    def g(y):
        u = tf.exp(tf.maximum(tf.minimum(y, 0.0), LOG_SOFTPLUS_CLIP))
        return tf.math.log(tf.math.log1p(u) / u)

    log_rho_ratio = delta + g(y_b) - g(y_a)
    q_below = log_rho_ratio - tf.math.log1p((rho_b - tf.exp(-log_rho_ratio) * rho_b)
                                            / (1.0 + tf.exp(-log_rho_ratio) * rho_b))
    q_drop = tf.where(below, q_below, tf.where(far, q_a - q_b, tf.math.log1p(
        tf.where(far, tf.zeros_like(relative), relative) / (rho_b + 1.0))))
    accurate = lif.amplitude * lif.tau_rc * q_drop / (den_a * den_b)
    return tf.where(safe, accurate, _lif_f(a + d) - _lif_f(a))


_ACTIVATIONS = {
    "tanh": Activation("tanh", tf.tanh, _tanh_slope, _tanh_change),
    "relu": Activation("relu", tf.nn.relu, _relu_slope, _relu_change),
    "sigmoid": Activation("sigmoid", tf.sigmoid, _sigmoid_slope, _sigmoid_change),
    "linear": Activation("linear", tf.identity, tf.ones_like, _linear_change),
    "lif": Activation("lif", _lif_f, _lif_slope, _lif_change),
}
assert sorted(_ACTIVATIONS) == sorted(ACTIVATIONS)


def get_activation(activation):
    """The `Activation` for a name (an `Activation` is returned unchanged).

    Parameters
    ----------
    activation : str or Activation
        One of `nengo_pc.pc.ACTIVATIONS`.

    Returns
    -------
    Activation
    """
    if isinstance(activation, Activation):
        return activation
    if activation not in _ACTIVATIONS:
        raise ValueError(
            f"activation: must be one of {ACTIVATIONS}, got {activation!r}"
        )
    return _ACTIVATIONS[activation]
