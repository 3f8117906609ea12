"""Keras forms of an architecture, batch-norm folding, and the numpy rate pass.

Batch normalisation is a training device: in inference mode it is an affine map per
unit (per channel for convolutions), so it folds into the weights and bias of the
layer before it. Networks are therefore trained with BN as a Keras model built from
the same `~nengo_pc.arch.Architecture` (`build_keras`; trained by the ``keras-bn``
backend of `nengo_pc.training.backends`), and
`fold_batch_norm` turns the trained model into plain `~nengo_pc.params.Params` of that
architecture, which the Nengo network runs in rate or spiking mode like any other.

Why Keras and not BN inside NengoDL (``nengo_dl.Layer(BatchNormalization())``): the
Nengo network would then contain TensorNodes that the reference simulator and
nengo-gui cannot run, and that are not part of the description; training in Keras
is also several times faster than the same model in NengoDL, and the hidden
nonlinearity is the same curve (`nengo_pc.neurons.soft_lif_rate_tf` with the
architecture's LIF parameters is NengoDL's ``lif_smoothing`` SoftLIFRate).

BN sits between each hidden layer's linear part and its nonlinearity:
``f(BN(L(h)))``. With ``s = gamma / sqrt(moving_var + eps)``::

    W' = W * s              (s scales the last, output axis: n_out or filters)
    b' = (b - moving_mean) * s + beta

gives ``L'(h) = BN(L(h))`` exactly (up to rounding), per unit for dense layers and
per filter for convolutions, whose biases stay tied.
"""

import math

import numpy as np

from nengo_pc.arch import Architecture
from nengo_pc.params import Params, init_params

#: Momentum of the BN moving statistics. Keras' 0.99 averages over ~100 steps of a
#: still-changing network; 0.9 tracks it closely enough for runs of a few epochs.
BN_MOMENTUM = 0.9
#: Keras' default epsilon.
BN_EPSILON = 1e-3
#: Initial BN offset (beta) before LIF neurons. BN centres pre-activations at beta;
#: Keras' 0 puts them a whole unit below the LIF threshold 1, so only outliers fire
#: and the trained network fires slowly (~7 Hz in a small MNIST CNN, too few spikes
#: for short presentations). Beta = 1 centres them on the threshold -- half the
#: neurons active, as a ReLU network's BN or NengoDL's ``intercepts=0`` -- and gives
#: several times higher rates at the same rate-mode accuracy.
BN_LIF_BETA = 1.0


def _keras_activation(arch, soft):
    import tensorflow as tf

    if arch.activation == "lif":
        from nengo_pc.neurons import lif_rate_tf, soft_lif_rate_tf

        lif = arch.lif
        if soft:
            return lambda j: soft_lif_rate_tf(j, gamma=lif.smoothing, tau_rc=lif.tau_rc,
                                              tau_ref=lif.tau_ref, amplitude=lif.amplitude)
        return lambda j: lif_rate_tf(j, tau_rc=lif.tau_rc, tau_ref=lif.tau_ref,
                                     amplitude=lif.amplitude)
    return {"relu": tf.nn.relu, "tanh": tf.tanh, "sigmoid": tf.sigmoid,
            "linear": tf.identity}[arch.activation]


def build_keras(arch, params=None, batch_norm=False, soft=True, seed=0):
    """A ``tf.keras`` model of ``arch`` taking flattened inputs ``(N, sizes[0])``.

    Layer ``i`` is ``Conv2D`` or ``Dense`` named ``layer{i}``; with ``batch_norm`` a
    ``BatchNormalization`` named ``bn{i}`` follows every hidden layer's linear part,
    before the nonlinearity. Convolutional activities are flattened channels last
    before the first dense layer, as in the Nengo network.

    Parameters
    ----------
    arch : Architecture
    params : Params, optional
        Initial weights and biases; default ``init_params(arch, seed)``.
    batch_norm : bool
        Insert BN layers (moving statistics start at mean 0, variance 1; offset
        `BN_LIF_BETA` before LIF neurons, else 0).
    soft : bool
        For ``"lif"``: train through the soft-LIF curve (True) or use the exact LIF
        rate curve, as `nengo.LIFRate` does (False; not differentiable at threshold).
    seed : int
        Seed of the default initialisation.

    Returns
    -------
    tf.keras.Model
        Outputs logits.
    """
    import tensorflow as tf

    if not isinstance(arch, Architecture):
        raise ValueError(f"arch: expected an Architecture, got {type(arch).__name__}")
    params = init_params(arch, seed) if params is None else params
    params.check(arch)
    f = _keras_activation(arch, soft)
    inp = tf.keras.Input(shape=(arch.sizes[0],), name="input")
    h = inp
    if arch.conv:
        h = tf.keras.layers.Reshape(arch.input_shape)(h)
    last = arch.n_layers - 1
    linear_layers = []
    for i in range(arch.n_layers):
        if arch.is_conv(i):
            c = arch.conv[i]
            layer = tf.keras.layers.Conv2D(c.filters, c.kernel_size, strides=c.strides,
                                           padding=c.padding, name=f"layer{i}")
        else:
            if len(h.shape) > 2:
                h = tf.keras.layers.Flatten()(h)
            layer = tf.keras.layers.Dense(arch.sizes[i + 1], name=f"layer{i}")
        h = layer(h)
        linear_layers.append(layer)
        if i < last:
            if batch_norm:
                beta = BN_LIF_BETA if arch.activation == "lif" else 0.0
                h = tf.keras.layers.BatchNormalization(
                    momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"bn{i}",
                    beta_initializer=tf.keras.initializers.Constant(beta))(h)
            h = tf.keras.layers.Activation(f, name=f"act{i}")(h)
    model = tf.keras.Model(inp, h, name=f"{'bn_' if batch_norm else ''}{arch.activation}")
    for layer, w, b in zip(linear_layers, params.weights, params.biases):
        layer.set_weights([np.asarray(w), np.asarray(b)])
    return model


def params_from_keras(model, arch):
    """The ``layer{i}`` weights and biases of a `build_keras` model, BN not applied."""
    weights, biases = [], []
    for i in range(arch.n_layers):
        w, b = model.get_layer(f"layer{i}").get_weights()
        weights.append(w)
        biases.append(b)
    return Params(weights, biases).check(arch)


def fold_batch_norm(model, arch, dtype=np.float32):
    """Fold the inference-mode BN layers of a `build_keras` model into its layers.

    Parameters
    ----------
    model : tf.keras.Model
        Built by ``build_keras(arch, batch_norm=True)`` (layers without a ``bn{i}``
        are copied unchanged, so a model without BN folds to its own parameters).
    arch : Architecture
    dtype : numpy dtype
        Type of the returned arrays; the folding itself is done in float64.

    Returns
    -------
    Params
        Parameters of ``arch`` whose rate-mode output equals the model's in inference
        mode (``training=False``).
    """
    names = {layer.name for layer in model.layers}
    weights, biases = [], []
    for i in range(arch.n_layers):
        w, b = (np.asarray(a, dtype=np.float64)
                for a in model.get_layer(f"layer{i}").get_weights())
        if f"bn{i}" in names:
            bn = model.get_layer(f"bn{i}")
            gamma, beta, mean, var = (np.asarray(a, dtype=np.float64)
                                      for a in bn.get_weights())
            s = gamma / np.sqrt(var + bn.epsilon)
            # s multiplies the output axis (last in Keras layout, dense or conv)
            w, b = w * s, (b - mean) * s + beta
        weights.append(w.astype(dtype))
        biases.append(b.astype(dtype))
    return Params(weights, biases).check(arch)


def fold_input_gain(params, gain):
    """Parameters for inputs ``x`` of a network trained on ``gain * x``.

    The first layer (dense or convolutional) is linear in its input, so
    ``W_0 <- gain * W_0`` is exact. Training on scaled inputs is an input gain in the
    style of NengoDL's ``scale_firing_rates``, applied where it is exact: images in
    [0, 1] drive He-initialised LIF layers only weakly (first-layer rates of a few
    Hz, noisy at short presentations); a gain of ~10 trains faster and fires more,
    and the folded parameters take [0, 1] images like every other model.

    Parameters
    ----------
    params : Params
    gain : float
        The factor the training images were multiplied by (> 0).

    Returns
    -------
    Params
        A copy with the first layer's weights scaled; biases unchanged.
    """
    if not (isinstance(gain, (int, float)) and math.isfinite(gain) and gain > 0):
        raise ValueError(f"gain: must be a finite number > 0, got {gain!r}")
    w0 = np.asarray(params.weights[0])
    weights = [(w0 * gain).astype(w0.dtype)] + [np.array(w) for w in params.weights[1:]]
    return Params(weights, [np.array(b) for b in params.biases])
