"""Backprop: the exact gradient, of the cross-entropy or of the squared error.

``backprop`` is the cross-entropy baseline the command line trains by default, with
NengoDL or Keras ``fit`` (`nengo_pc.training.backends.NengoDLBackend`,
`~nengo_pc.training.backends.KerasBackend`); its update here is the same gradient as
a change to add, for the vectorised backend. ``bp-mse`` is the reference of the
predictive-coding family: ``-dL/dW`` of ``L = sum_batch ||y - y_hat||^2 / 2``
(`nengo_pc.pc.core.backprop`).
"""

from nengo_pc.rules.registry import Rule, register


def make_cross_entropy(arch, options, seed):
    """Update: ``-dL/dW`` of the summed softmax cross-entropy of the logits."""
    import tensorflow as tf

    from nengo_pc.pc import core
    from nengo_pc.pc.activations import get_activation

    if arch.conv:
        raise ValueError("arch: the vectorised update of backprop takes dense "
                         "layers; train convolutional networks with backend nengo_dl "
                         "or keras")
    f = get_activation(arch.activation).f

    def update(params, batch):
        variables = [tf.convert_to_tensor(p)
                     for p in list(params.weights) + list(params.biases)]
        n = len(params.weights)
        with tf.GradientTape() as tape:
            tape.watch(variables)
            logits = core.feedforward(variables[:n], variables[n:], batch.x, f)[-1]
            loss = tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(
                batch.y, logits))
        grads = tape.gradient(loss, variables)
        return [(-gw, -gb) for gw, gb in zip(grads[:n], grads[n:])]

    return update


def make_squared_error(arch, options, seed):
    """Update: ``-dL/dW`` of the summed squared error (`nengo_pc.pc.core.backprop`)."""
    from nengo_pc.pc import core

    def update(params, batch):
        return core.backprop(params.weights, params.biases, batch.x, batch.y,
                             arch.activation)

    return update


def check_pc_activation(arch, options):
    """Options unchanged; ValueError unless the PC math has ``arch``'s activation."""
    from nengo_pc.pc.options import ACTIVATIONS, check_lif_params

    if arch.activation not in ACTIVATIONS:
        raise ValueError(f"activation: the vectorised rules support "
                         f"{', '.join(ACTIVATIONS)}, got {arch.activation!r}")
    check_lif_params("arch", arch)
    return options


BACKPROP = register(Rule(
    name="backprop", family="backprop",
    summary="backprop of the softmax cross-entropy (NengoDL or Keras fit)",
    factory="nengo_pc.rules.backprop:make_cross_entropy",
    loss="cross_entropy", backends=("nengo_dl", "keras", "keras-bn", "vectorised"),
    layer_kinds=("dense", "conv"),
))

BP_MSE = register(Rule(
    name="bp-mse", family="backprop",
    summary="backprop of the squared error, the reference of the PC family",
    factory="nengo_pc.rules.backprop:make_squared_error",
    resolve="nengo_pc.rules.backprop:check_pc_activation",
))
