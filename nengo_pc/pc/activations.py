"""Hidden nonlinearities on TensorFlow tensors: f, f' and accurate changes of f.

Predictive-coding inference moves the value nodes by small amounts away from the
feedforward pass, and what matters is how much f changes, f(a + d) - f(a). Computed
as written, that subtracts two nearly equal numbers and keeps only the few bits
in which they differ (in float32, a displacement 1e-3 times the pre-activation keeps
about 3 significant digits). Each `Activation` therefore carries ``change(a, d)``, an
algebraically equal form that stays accurate for small ``d``.
"""

import collections

import tensorflow as tf

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


_ACTIVATIONS = {
    "tanh": Activation("tanh", tf.tanh, _tanh_slope, _tanh_change),
    "relu": Activation("relu", tf.nn.relu, _relu_slope, _relu_change),
    "sigmoid": Activation("sigmoid", tf.sigmoid, _sigmoid_slope, _sigmoid_change),
    "linear": Activation("linear", tf.identity, tf.ones_like, _linear_change),
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
