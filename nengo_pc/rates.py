"""Rate-mode forward pass of an architecture in numpy.

The reference the simulators are checked against, and a cheap way to validate a
spiking (LIF) network during training without building a second simulator: hidden
layers apply the rate curve of their neurons (for ``"lif"`` the exact LIF rate, i.e.
`nengo.LIFRate`), the output is linear.
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


def forward(arch, params, x):
    """Logits of ``arch`` with ``params`` for inputs ``x`` of shape ``(N, n_in)``."""
    f = activation_function(arch)
    h = np.asarray(x)
    last = arch.n_layers - 1
    for i, (w, b) in enumerate(zip(params.weights, params.biases)):
        h = h @ w + b
        if i < last:
            h = f(h)
    return h
