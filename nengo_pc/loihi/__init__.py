"""Running nengo-pc's spiking networks on Loihi (nengo-loihi's emulator or the chip).

Everything Loihi needs from a nengo-pc network is decided here, in one place:

* **Neurons.** Only `nengo.LIF` and `nengo.SpikingRectifiedLinear` (and their
  subclasses, e.g. `nengo_loihi.LoihiLIF`) run on a Loihi core; rate neurons
  (`nengo.LIFRate`, ``nengo.RectifiedLinear``) and the other nonlinearities do not.
  `check_on_chip` refuses them, naming the layer. On the chip a LIF neuron's
  inter-spike interval is a whole number of steps and its refractory period is
  rounded to steps, so it fires at ``1 / (dt * ceil(period / dt))`` instead of
  ``1 / period`` (`nengo_loihi.LoihiLIF` reproduces this in other simulators): with
  ``tau_ref = 2 ms`` and ``dt = 1 ms`` a neuron fires at most every third step
  (333 Hz, against 500 Hz for `nengo.LIF`), never more than once per step.
* **Synapses.** A Loihi synapse is one first-order filter: `nengo.Lowpass` or none.
  `nengo.Alpha` (a lowpass applied twice) is not available; the Loihi presentation
  replaces it with ``Lowpass(tau)`` of the same tau (a second filter stage could
  only be had with an extra relay population per layer, doubling the cores and
  adding a step of delay). Any other synapse is refused, naming the layer.
* **Input.** Pixels are not spikes. `add_input_layer` puts a layer of
  `nengo.SpikingRectifiedLinear` neurons *off chip* (on the host) that fires at
  ``pixel * input_rate`` Hz (at most one spike per step: ``input_rate <= 1 / dt``,
  with amplitude ``1 / input_rate`` so a spike train's mean is the pixel), and only
  their spikes cross to the chip; the first weight matrix runs on the chip. Without
  it nengo-loihi encodes the input node with its own on/off decode neurons on the
  host (two axons per pixel).
* **Cores.** A core holds at most 1,024 compartments, 4,096 input axons and 1 Mbit
  (2^20 bits) of synapse memory. `block_shape` splits every on-chip layer into
  blocks (one core each) that fit: every block receives all the layer's input axons,
  so the synapse memory bounds the block size (784 input axons x 500 neurons need
  about 1.1 Mbit: the MLP's first hidden layer does not fit on one core).
  `prepare` sets ``nengo_loihi.add_params`` and a ``BlockShape`` on each layer and
  refuses a layer that no split can fit (more than 4,096 presynaptic neurons),
  naming it.

nengo-loihi is imported only when something is built (`require_nengo_loihi`):
importing `nengo_pc` or this package does not import it. Running the prepared
networks (presentation, the ``loihi`` evaluation backend `LoihiEmulator`, accuracy,
spike counts, energy) is `nengo_pc.loihi.running`, whose names are re-exported here.
The predictive-coding network's inference in a form Loihi runs is
`nengo_pc.loihi.pc` (the network) and `nengo_pc.loihi.pc_running` (running it).
`nengo_pc.loihi.dl` runs these networks in NengoDL with nengo-loihi's neurons
(Loihi's neuron discretisation without its quantisation) and trains with them.
"""

import math

import nengo
import numpy as np

#: Per-core limits of Loihi (those nengo-loihi 1.1 checks, ``nengo_loihi.block``).
MAX_COMPARTMENTS = 1024
MAX_IN_AXONS = 4096
MAX_SYNAPSE_BITS = 2 ** 20

#: Neuron types a Loihi core runs (subclasses included).
ON_CHIP_NEURONS = (nengo.LIF, nengo.SpikingRectifiedLinear)

#: Default rate (Hz) of the off-chip input layer for a pixel of 1: one spike per step
#: at dt = 1 ms, the finest regular spike code Loihi can receive.
INPUT_RATE = 1000.0

#: What the ``loihi`` extra installs.
INSTALL_HINT = "pip install -e '.[loihi]' -c constraints.txt (the loihi extra)"


class LoihiConfigError(ValueError):
    """A network or option Loihi cannot run; the message names the layer."""


def require_nengo_loihi():
    """Import and return `nengo_loihi`, or raise ImportError saying how to install it."""
    try:
        import nengo_loihi
    except ImportError:
        raise ImportError(f"nengo-loihi is not installed: {INSTALL_HINT}") from None
    return nengo_loihi


def layer_name(obj):
    """A readable name of an ensemble (or its neurons) for error messages."""
    obj = getattr(obj, "ensemble", obj)
    return repr(obj.label) if obj.label else str(obj)


def _on_chip(net, ens):
    config = net.config[ens]
    return getattr(config, "on_chip", None) is not False


def set_config(model, obj, **values):
    """Set nengo-loihi config values of ``obj`` where nengo-loihi reads them.

    It reads ``on_chip`` from the config of the network given to the simulator
    (``model``), but ``block_shape`` (and a connection's ``pop_type``) from the
    config of the network that directly holds the object, which is what Nengo's
    builder has as ``model.config`` while building it; both are set.
    """
    nengo_loihi = require_nengo_loihi()
    owners = [model] + [net for net in model.all_networks
                        if obj in net.ensembles or obj in net.connections]
    for net in owners:
        nengo_loihi.add_params(net)
        for name, value in values.items():
            setattr(net.config[obj], name, value)


def check_on_chip(net):
    """Raise `LoihiConfigError` for anything on chip that Loihi cannot run.

    Parameters
    ----------
    net : nengo.Network
        With ``nengo_loihi.add_params`` already applied, or not (then every ensemble
        counts as on chip).

    Returns
    -------
    list of nengo.Ensemble
        The ensembles that will run on the chip.
    """
    chip = [ens for ens in net.all_ensembles if _on_chip(net, ens)]
    for ens in chip:
        if not isinstance(ens.neuron_type, ON_CHIP_NEURONS):
            raise LoihiConfigError(
                f"layer {layer_name(ens)}: {type(ens.neuron_type).__name__} neurons "
                "cannot run on Loihi (on chip: LIF, SpikingRectifiedLinear); run the "
                "network spiking, or mark the layer off chip")
    targets = set(chip) | {ens.neurons for ens in chip}
    for conn in net.all_connections:
        if conn.post_obj not in targets:
            continue
        synapse = conn.synapse
        if synapse is not None and type(synapse) is not nengo.Lowpass:
            hint = (" (an alpha synapse is two lowpass stages; Loihi has one: use "
                    "Lowpass(tau), e.g. --synapse lowpass)"
                    if isinstance(synapse, nengo.Alpha) else
                    " (Loihi synapses are first-order: use Lowpass(tau) or None)")
            raise LoihiConfigError(
                f"layer {layer_name(conn.post_obj)}: its input synapse "
                f"{type(synapse).__name__} is not available on Loihi{hint}")
    return chip


def synapse_bits(n_axons, n_targets, weight_bits=8):
    """Synapse memory of a dense connection of ``n_axons`` into ``n_targets``
    compartments of one block, at most.

    nengo-loihi's format for dense weights (``SynapseConfig.bits_per_axon`` with
    compression 3, no index bits): per axon, the weights in groups of up to 64, each
    group ``64 x weight_bits`` bits plus a 10-bit header, rounded up to 64-bit words.
    8-bit weights are the widest nengo-loihi uses, so this bounds what it allocates.
    """
    bits = 0
    for start in range(0, n_targets, 64):
        n = min(n_targets - start, 64)
        bits += -64 * (-(n * weight_bits + 10) // 64)
    return n_axons * bits


def block_size(n_neurons, n_in_axons, label="layer"):
    """The largest block (compartments per core) of a layer that fits a core.

    Parameters
    ----------
    n_neurons : int
        Neurons of the layer.
    n_in_axons : int
        Input axons every block of it receives (presynaptic neurons, summed over
        its incoming connections; a pixel node encoded by nengo-loihi counts twice).
    label : str
        Layer name for the error.
    """
    if n_in_axons > MAX_IN_AXONS:
        raise LoihiConfigError(
            f"layer {label}: {n_in_axons} input axons exceed a Loihi core's "
            f"{MAX_IN_AXONS} (every block of a dense layer receives all of them); "
            "use a smaller layer below it or a convolution")
    size = min(n_neurons, MAX_COMPARTMENTS)
    while size > 0 and synapse_bits(n_in_axons, size) > MAX_SYNAPSE_BITS:
        size -= 1
    if size == 0:
        raise LoihiConfigError(f"layer {label}: not even one neuron with "
                               f"{n_in_axons} input axons fits a core")
    # equal blocks: the fewest blocks, then the smallest size giving that many
    n_blocks = -(-n_neurons // size)
    return -(-n_neurons // n_blocks)


def _in_axons(net, ens):
    """Input axons of ``ens`` on chip: presynaptic sizes of its connections."""
    total = 0
    for conn in net.all_connections:
        if conn.post_obj not in (ens, ens.neurons):
            continue
        pre = conn.pre_obj
        if isinstance(pre, nengo.ensemble.Neurons):
            total += pre.size_out
        elif isinstance(pre, nengo.Ensemble):
            total += pre.n_neurons
        else:  # a host node: nengo-loihi sends it by on/off neuron pairs
            total += 2 * conn.size_mid
    return total


def add_input_layer(net, input_rate=INPUT_RATE, dt=0.001, model=None):
    """Replace the pixel input of a `FeedforwardNetwork` by off-chip spiking neurons.

    The first weight connection (``net.input`` to the first hidden layer) becomes
    ``input layer`` -> first hidden layer, where ``input layer`` is
    ``arch.sizes[0]`` `nengo.SpikingRectifiedLinear` neurons (gain 1, bias 0,
    amplitude ``1 / input_rate``) driven by ``input * input_rate``: pixel x fires at
    ``x * input_rate`` Hz and its spike train averages x. The layer is marked
    ``on_chip = False`` in the config of ``model`` (the network the simulator gets,
    whose config nengo-loihi reads; default ``net``); only its spikes reach the chip.

    Returns
    -------
    nengo.Ensemble
        The input layer (also ``net.input_layer``).
    """
    if not (isinstance(input_rate, (int, float)) and 0 < input_rate <= 1 / dt):
        raise LoihiConfigError(
            f"input_rate: must be in (0, {1 / dt:g}] Hz (one spike per step at dt "
            f"{dt:g} s), got {input_rate!r}")
    old = net.weight_connections[0]
    if old.pre is not net.input:
        raise LoihiConfigError("input layer: the network's first connection does not "
                               "come from its input node (use constant input coding)")
    n_in = net.arch.sizes[0]
    with net:
        layer = nengo.Ensemble(
            n_in, 1, neuron_type=nengo.SpikingRectifiedLinear(
                amplitude=1 / input_rate, initial_state={"voltage": nengo.dists.Choice([0])}),
            gain=np.ones(n_in), bias=np.zeros(n_in), label="input layer")
        nengo.Connection(net.input, layer.neurons, transform=input_rate, synapse=None)
        new = nengo.Connection(layer.neurons, old.post, transform=old.transform,
                               synapse=old.synapse)
    set_config(net if model is None else model, layer, on_chip=False)
    net.connections.remove(old)
    net.weight_connections[0] = new
    net.input_layer = layer
    return layer


def conv_biases_on_chip(net):
    """Give each conv layer of a `FeedforwardNetwork` its tied bias as neuron biases.

    The network trains a conv layer's bias through a 1x1 convolution from a node of
    ones (`nengo_pc.networks.feedforward`); nengo-loihi cannot send a host node
    through a convolution to the chip, and a compartment has a bias of its own, so
    the filter's bias is written into every compartment of its channel
    (channels last) and that connection is removed.

    Returns
    -------
    dict
        ``{conv ensemble: (height, width, channels)}``.
    """
    shapes = {}
    arch = net.arch
    activation_shapes = arch.activation_shapes
    for i, conn in net.bias_connections.items():
        if not arch.is_conv(i) or i >= len(net.layers):
            continue
        ens = net.layers[i]
        shape = tuple(int(n) for n in activation_shapes[i + 1])
        bias = np.asarray(conn.transform.init).reshape(-1)
        ens.bias = np.tile(bias, shape[0] * shape[1])
        net.connections.remove(conn)
        ones = conn.pre_obj
        if ones in net.nodes and not any(c.pre_obj is ones for c in net.all_connections):
            net.nodes.remove(ones)
        shapes[ens] = shape
    return shapes


def conv_block(shape, max_channels=16):
    """Block shape ``(rows, cols, channels)`` of a conv layer of ``shape``.

    At most ``max_channels`` channels and a square spatial tile filling a core's
    1,024 compartments (e.g. 8 x 8 x 16), as in NengoDL's Keras-to-Loihi example.
    """
    h, w, c = shape
    ct = min(c, max_channels)
    side = max(1, int(math.isqrt(MAX_COMPARTMENTS // ct)))
    return (min(h, side), min(w, side), ct)


def prepare(net, input_rate=INPUT_RATE, dt=0.001, block_shapes=None, model=None):
    """Make a network ready for ``nengo_loihi.Simulator``, checking what Loihi needs.

    Parameters
    ----------
    net : nengo.Network
        A spiking network; a `~nengo_pc.networks.FeedforwardNetwork` gets an off-chip
        input layer (`add_input_layer`) unless ``input_rate`` is None.
    input_rate : float or None
        Rate of the input layer for a pixel of 1, Hz (<= 1 / dt).
    dt : float
        Simulator step, seconds.
    block_shapes : dict, optional
        ``{ensemble: compartments per block}`` overriding the automatic choice of
        `block_size`; a block larger than a core is refused, naming the layer.
    model : nengo.Network, optional
        The network the simulator will get, if ``net`` is inside it: nengo-loihi
        reads ``on_chip`` and ``block_shape`` from that network's config only, and
        every ensemble of it is checked and split. Default ``net``.

    Returns
    -------
    dict
        ``{layer label: {"neurons", "in_axons", "block", "cores"}}`` for every
        on-chip layer, and ``"cores"``: their total.
    """
    nengo_loihi = require_nengo_loihi()
    from nengo_pc.networks.feedforward import FeedforwardNetwork

    model = net if model is None else model
    nengo_loihi.add_params(model)
    conv_shapes = {}
    if isinstance(net, FeedforwardNetwork):
        if input_rate is not None and not hasattr(net, "input_layer"):
            add_input_layer(net, input_rate, dt, model=model)
        conv_shapes = conv_biases_on_chip(net)
    chip = check_on_chip(model)
    block_shapes = block_shapes or {}
    layers, cores = {}, 0
    for ens in chip:
        name = ens.label or str(ens)
        if ens in conv_shapes:
            shape = conv_block(conv_shapes[ens])
            set_config(model, ens,
                       block_shape=nengo_loihi.BlockShape(shape, conv_shapes[ens]))
            n_cores = int(np.prod([-(-n // t) for n, t in zip(conv_shapes[ens], shape)]))
            layers[name] = {"neurons": ens.n_neurons, "shape": list(conv_shapes[ens]),
                            "block": list(shape), "cores": n_cores}
            cores += n_cores
            continue
        n_axons = _in_axons(model, ens)
        if ens in block_shapes:
            size = block_shapes[ens]
            if not (isinstance(size, (int, np.integer)) and 0 < size <= MAX_COMPARTMENTS):
                raise LoihiConfigError(
                    f"layer {layer_name(ens)}: block of {size!r} compartments; a "
                    f"Loihi core holds 1 to {MAX_COMPARTMENTS}")
            bits = synapse_bits(n_axons, size)
            if bits > MAX_SYNAPSE_BITS:
                raise LoihiConfigError(
                    f"layer {layer_name(ens)}: a block of {size} neurons with "
                    f"{n_axons} input axons needs up to {bits} synapse bits; a core "
                    f"has {MAX_SYNAPSE_BITS} (use blocks of at most "
                    f"{block_size(ens.n_neurons, n_axons, layer_name(ens))})")
        else:
            size = block_size(ens.n_neurons, n_axons, layer_name(ens))
        set_config(model, ens,
                   block_shape=nengo_loihi.BlockShape((size,), (ens.n_neurons,)))
        n_cores = -(-ens.n_neurons // size)
        layers[name] = {"neurons": ens.n_neurons, "in_axons": n_axons, "block": size,
                        "cores": n_cores}
        cores += n_cores
    return {"layers": layers, "cores": cores}


# the running side, re-exported (it imports the names above)
from nengo_pc.loihi.running import (  # noqa: E402
    LoihiEmulator,
    check_loihi_options,
    demo_model,
    evaluate_loihi,
    presentation_network,
    rate_distortion,
    run_presentation,
    settle_steps,
)
