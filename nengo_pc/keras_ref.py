"""Architecture + parameters -> a plain ``tf.keras`` model.

The reference against which NengoDL's overhead is measured: same description, same
initial parameters, same data order, same optimiser.
"""

import tensorflow as tf

from nengo_pc.arch import Params

_KERAS_ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "sigmoid": "sigmoid", "linear": None}


def build_keras_mlp(arch, params):
    """A ``tf.keras.Sequential`` computing ``arch`` with ``params`` as initial values.

    Parameters
    ----------
    arch : Architecture
    params : Params

    Returns
    -------
    tf.keras.Model
        Outputs logits (linear output layer).
    """
    params.check(arch)
    layers = [tf.keras.Input(shape=(arch.sizes[0],))]
    last = arch.n_layers - 1
    for i, (_, n_out) in enumerate(arch.layer_shapes):
        activation = None if i == last else _KERAS_ACTIVATIONS[arch.activation]
        layers.append(tf.keras.layers.Dense(n_out, activation=activation, name=f"dense{i}"))
    model = tf.keras.Sequential(layers)
    for layer, w, b in zip(model.layers, params.weights, params.biases):
        layer.set_weights([w, b])
    return model


def params_from_keras(model, arch):
    """Read weights and biases of a model built by `build_keras_mlp`."""
    weights, biases = [], []
    for layer in model.layers:
        w, b = layer.get_weights()
        weights.append(w)
        biases.append(b)
    return Params(weights, biases).check(arch)
