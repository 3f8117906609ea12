"""nengo-pc: predictive coding, spiking LIF networks and backprop baselines in Nengo.

Importing this package is cheap on purpose: it builds no graphs, imports neither
TensorFlow nor NengoDL, and touches no data. Each submodule is imported where it is
used (``nengo_pc.data``, ``nengo_pc.arch``, ``nengo_pc.nengo_net``, ``nengo_pc.train``,
``nengo_pc.pc`` ...).
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
