"""Rate-mode forward pass of an architecture in numpy.

The reference the simulators are checked against, and a cheap way to validate a
spiking (LIF) network during training without building a second simulator: dense and
convolutional layers as `Architecture.linear` defines them, hidden layers through the
rate curve of their neurons (for ``"lif"`` the exact LIF rate, i.e. `nengo.LIFRate`),
the output linear.
"""

import numpy as np

from nengo_pc.neurons import lif_rate


def activation_function(arch):
    """The numpy function f of ``arch``'s hidden layers (rate mode)."""
    if arch.activation == "relu":
        return lambda h: np.maximum(h, 0)
    if arch.activation == "tanh":
        return np.tanh
    if arch.activation == "sigmoid":
        return lambda h: 1.0 / (1.0 + np.exp(-h))
    if arch.activation == "linear":
        return lambda h: h
    if arch.activation == "lif":
        lif = arch.lif
        return lambda h: lif_rate(h, tau_rc=lif.tau_rc, tau_ref=lif.tau_ref,
                                  amplitude=lif.amplitude)
    raise ValueError(f"activation: unknown {arch.activation!r}")


def forward(arch, params, x, return_hidden=False, activation=None):
    """Rate-mode output of ``arch`` for flattened inputs ``x`` ``(N, sizes[0])``.

    Dense and convolutional layers (`Architecture.linear`); hidden layers go through
    the rate curve of their neurons (`activation_function`: exact LIF for ``"lif"``).

    Parameters
    ----------
    return_hidden : bool
        Also return the list of hidden activities (flattened), one per hidden layer.
    activation : callable, optional
        Another rate curve of the hidden layers (e.g. Loihi's LIF curve,
        `nengo_pc.loihi.dl.loihi_rate_curve`); default `activation_function`.
    """
    f = activation_function(arch) if activation is None else activation
    h, hidden = np.asarray(x), []
    last = arch.n_layers - 1
    for i, (w, b) in enumerate(zip(params.weights, params.biases)):
        h = arch.linear(i, w, b, h)
        if i < last:
            h = f(h)
            hidden.append(h)
    return (h, hidden) if return_hidden else h
