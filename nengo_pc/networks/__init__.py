"""Nengo networks built from an architecture and its parameters.

* `FeedforwardNetwork` (`nengo_pc.networks.feedforward`): the layers as neuron
  populations, trained by NengoDL and run spiking;
* `PredictiveCodingNetwork` (`nengo_pc.networks.pc`): value and error populations
  that settle by predictive-coding inference, and learn with local rules.

Both compose like `nengo.networks.EnsembleArray`. Submodules: `pairs` (pair coding,
slope gates), `presentation` (showing images to a spiking feedforward network),
`inference` and `spiking` (running the PC network on data sets in NengoDL),
`learning` (`LocalPC`, the local PC rule as a Nengo learning rule).
Importing this package imports Nengo, not TensorFlow or NengoDL.
"""

from nengo_pc.networks.feedforward import FeedforwardNetwork, make_synapse, neuron_type
from nengo_pc.networks.learning import LocalPC
from nengo_pc.networks.pc import PredictiveCodingNetwork

__all__ = ["FeedforwardNetwork", "LocalPC", "PredictiveCodingNetwork", "make_synapse",
           "neuron_type"]
