"""nengo-pc: predictive coding, spiking LIF networks and backprop baselines in Nengo.

Importing this package is cheap on purpose: it builds no graphs, imports neither
TensorFlow nor NengoDL, and touches no data. Each submodule is imported where it is
used (``nengo_pc.data``, ``nengo_pc.arch``, ``nengo_pc.nengo_net``, ``nengo_pc.train``,
``nengo_pc.pc`` ...).

It does one thing on import: `nengo_pc.compat.install` makes NengoDL 3.6 work on
TensorFlow >= 2.16 through tf-keras (a no-op on older TensorFlow), which is why a
script should import ``nengo_pc`` before ``tensorflow`` and ``nengo_dl``.
"""

from nengo_pc import compat as _compat

_compat.install()

__version__ = "0.1.0"
__all__ = ["__version__"]
