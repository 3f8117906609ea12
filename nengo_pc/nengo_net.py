"""Architecture + parameters -> a Nengo network.

`FeedforwardNetwork` is the neuron-level form of an `~nengo_pc.arch.Architecture`:
each hidden layer is a `nengo.Ensemble` whose neurons compute the layer's
nonlinearity, each weight matrix is a `nengo.Connection` between neuron populations,
and each bias is the ensemble's neuron bias. It is an ordinary Nengo network, so the
same object is trained by ``nengo_dl.Simulator.fit``, run by ``nengo.Simulator`` and
shown in nengo-gui.
"""

import nengo
import numpy as np

from nengo_pc.arch import Architecture, Params, init_params


def neuron_type(activation):
    """The Nengo neuron type whose rate response is ``activation``.

    With gain 1 and bias b a neuron receives ``j = x + b``; the types below then
    output exactly ``f(j)``, which is what keeps the Nengo network equal to the
    description. ``"linear"`` has no neuron type: such layers are `nengo.Node`.
    """
    if activation == "relu":
        return nengo.RectifiedLinear()
    if activation == "tanh":
        # nengo.Tanh outputs tanh(j) / tau_ref
        return nengo.Tanh(tau_ref=1.0)
    if activation == "sigmoid":
        # nengo.Sigmoid outputs sigmoid(j) / tau_ref
        return nengo.Sigmoid(tau_ref=1.0)
    if activation == "linear":
        return None
    raise ValueError(f"activation: no Nengo neuron type for {activation!r}")


class FeedforwardNetwork(nengo.Network):
    """A feedforward network of neuron populations built from an architecture.

    Parameters
    ----------
    arch : Architecture
        Sizes and hidden nonlinearity.
    params : Params, optional
        Weights and biases (Keras layout). Defaults to ``init_params(arch, seed)``.
    synapse : nengo.synapses.Synapse or None
        Synapse on every connection between layers. ``None`` (no filtering) is what
        rate-mode training and single-step inference use.
    label : str, optional
        Name of the network.
    seed : int, optional
        Seed for the network and, when ``params`` is omitted, for initialisation.
    add_to_container : bool, optional
        Whether to add this network to the current context.

    Attributes
    ----------
    input : nengo.Node
        Input of width ``arch.sizes[0]``; NengoDL feeds data here.
    layers : list
        One entry per hidden layer: a `nengo.Ensemble` (neurons with gain 1 and the
        layer's bias), or a `nengo.Node` for linear layers.
    output : nengo.Node
        Linear output (logits) of width ``arch.sizes[-1]``.
    weight_connections : list of nengo.Connection
        The weight matrices, one per layer, ``transform = W.T``.
    bias_connections : dict
        For layers that are Nodes (linear hidden layers and the output), the
        connection from `bias_node` that adds the bias, keyed by layer index.
    probe : nengo.Probe
        Probe on `output` with no synapse.
    """

    def __init__(
        self,
        arch,
        params=None,
        synapse=None,
        label=None,
        seed=None,
        add_to_container=None,
    ):
        if not isinstance(arch, Architecture):
            raise ValueError(f"arch: expected an Architecture, got {type(arch).__name__}")
        super().__init__(label=label, seed=seed, add_to_container=add_to_container)
        self.arch = arch
        params = init_params(arch, seed=0 if seed is None else seed) if params is None else params
        params.check(arch)

        with self:
            self.input = nengo.Node(np.zeros(arch.sizes[0]), label="input")
            # A constant 1 whose outgoing weights are the biases of Node layers.
            self.bias_node = nengo.Node(1.0, label="bias")
            self.layers, self.weight_connections, self.bias_connections = [], [], {}

            pre = self.input
            last = arch.n_layers - 1
            for i, (w, b) in enumerate(zip(params.weights, params.biases)):
                ntype = None if i == last else neuron_type(arch.activation)
                name = "output" if i == last else f"hidden{i + 1}"
                if ntype is None:
                    layer = nengo.Node(size_in=w.shape[1], label=name)
                    target = layer
                    self.bias_connections[i] = nengo.Connection(
                        self.bias_node, layer, transform=b[:, None], synapse=None
                    )
                else:
                    layer = nengo.Ensemble(
                        w.shape[1],
                        1,
                        neuron_type=ntype,
                        gain=np.ones(w.shape[1]),
                        bias=np.array(b),
                        label=name,
                    )
                    target = layer.neurons
                self.weight_connections.append(
                    nengo.Connection(pre, target, transform=np.array(w.T), synapse=synapse)
                )
                if i < last:
                    self.layers.append(layer)
                    pre = layer.neurons if ntype is not None else layer
                else:
                    self.output = layer

            self.probe = nengo.Probe(self.output, synapse=None, label="output_probe")

    def params_from(self, sim):
        """Read the current parameters from a simulator running this network.

        With ``nengo_dl.Simulator`` these are the live (trained) values.

        Parameters
        ----------
        sim : nengo.Simulator or nengo_dl.Simulator

        Returns
        -------
        Params
        """
        weights, biases = [], []
        for i, conn in enumerate(self.weight_connections):
            weights.append(np.array(sim.data[conn].weights).T.copy())
            if i in self.bias_connections:
                biases.append(np.array(sim.data[self.bias_connections[i]].weights)[:, 0])
            else:
                biases.append(np.array(sim.data[self.layers[i]].bias).copy())
        return Params(weights, biases).check(self.arch)
