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
importing `nengo_pc` or this module does not import it. `LoihiEmulator` is the
``loihi`` evaluation backend (``nengo-pc evaluate --backend loihi``). nengo-loihi's
simulator cannot be reset, so the images are shown one after another in one run
(`nengo.processes.PresentInput`) and each is classified from its own window; the
same network runs in `nengo.Simulator` for comparison (``simulator="nengo"``).
"""

import math
import time

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


def loihi_synapse(kind, tau):
    """The Loihi synapse standing for a presentation synapse: ``(name, tau)``.

    ``"alpha"`` becomes ``"lowpass"`` of the same tau (see the module docstring);
    ``"lowpass"`` and ``"none"`` are kept.
    """
    return ("lowpass" if kind == "alpha" else kind), tau


def _on_chip(net, ens):
    config = net.config[ens]
    return getattr(config, "on_chip", None) is not False


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
        if ens.n_neurons > MAX_COMPARTMENTS * 4096:
            raise LoihiConfigError(f"layer {layer_name(ens)}: {ens.n_neurons} neurons "
                                   "exceed a Loihi chip")
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


def add_input_layer(net, input_rate=INPUT_RATE, dt=0.001):
    """Replace the pixel input of a `FeedforwardNetwork` by off-chip spiking neurons.

    The first weight connection (``net.input`` to the first hidden layer) becomes
    ``input layer`` -> first hidden layer, where ``input layer`` is
    ``arch.sizes[0]`` `nengo.SpikingRectifiedLinear` neurons (gain 1, bias 0,
    amplitude ``1 / input_rate``) driven by ``input * input_rate``: pixel x fires at
    ``x * input_rate`` Hz and its spike train averages x. The layer is marked
    ``on_chip = False``; only its spikes reach the chip.

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
        net.config[layer].on_chip = False
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


def prepare(net, input_rate=INPUT_RATE, dt=0.001, block_shapes=None):
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

    Returns
    -------
    dict
        ``{layer label: {"neurons", "in_axons", "block", "cores"}}`` for every
        on-chip layer, and ``"cores"``: their total.
    """
    nengo_loihi = require_nengo_loihi()
    from nengo_pc.networks.feedforward import FeedforwardNetwork

    nengo_loihi.add_params(net)
    conv_shapes = {}
    if isinstance(net, FeedforwardNetwork):
        if input_rate is not None and not hasattr(net, "input_layer"):
            add_input_layer(net, input_rate, dt)
        conv_shapes = conv_biases_on_chip(net)
    chip = check_on_chip(net)
    block_shapes = block_shapes or {}
    layers, cores = {}, 0
    for ens in chip:
        name = ens.label or str(ens)
        if ens in conv_shapes:
            shape = conv_block(conv_shapes[ens])
            net.config[ens].block_shape = nengo_loihi.BlockShape(shape,
                                                                 conv_shapes[ens])
            n_cores = int(np.prod([-(-n // t) for n, t in zip(conv_shapes[ens], shape)]))
            layers[name] = {"neurons": ens.n_neurons, "shape": list(conv_shapes[ens]),
                            "block": list(shape), "cores": n_cores}
            cores += n_cores
            continue
        n_axons = _in_axons(net, ens)
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
        net.config[ens].block_shape = nengo_loihi.BlockShape((size,), (ens.n_neurons,))
        n_cores = -(-ens.n_neurons // size)
        layers[name] = {"neurons": ens.n_neurons, "in_axons": n_axons, "block": size,
                        "cores": n_cores}
        cores += n_cores
    return {"layers": layers, "cores": cores}


def presentation_network(arch, params, images, presentation, input_rate=INPUT_RATE,
                         neuron_type=None, probe_spikes=True, seed=0):
    """A `FeedforwardNetwork` prepared for Loihi, showing ``images`` one after another.

    Parameters
    ----------
    arch, params
        A ``"lif"`` architecture and its parameters.
    images : ndarray
        ``(n, sizes[0])``, each shown for ``presentation.n_steps`` steps.
    presentation : nengo_pc.networks.presentation.Presentation
        Steps, dt, synapse (alpha is refused: use lowpass), readout.
    input_rate : float or None
        See `prepare`.
    neuron_type : callable, optional
        ``neuron_type(lif) -> nengo.NeuronType`` replacing the hidden neurons (e.g.
        `nengo_loihi.LoihiLIF`, to see Loihi's neuron discretisation alone in
        `nengo.Simulator`); default `nengo.LIF`.
    probe_spikes : bool
        Probe every hidden layer's spikes (to count them).

    Returns
    -------
    net : FeedforwardNetwork
        With ``net.loihi`` (what `prepare` returned) and ``net.spike_probes``.
    """
    from nengo_pc.networks.feedforward import FeedforwardNetwork

    if arch.activation != "lif":
        raise LoihiConfigError(f"arch: Loihi runs spiking LIF networks; this one uses "
                               f"{arch.activation!r} neurons")
    if presentation.input_coding != "constant":
        raise LoihiConfigError("input_coding: the Loihi network codes pixels by its "
                               "off-chip input layer; use constant input coding")
    net = FeedforwardNetwork(arch, params, seed=seed, **presentation.network_options())
    lif = arch.lif
    for layer in net.layers:
        # Loihi starts every compartment at voltage 0 (Nengo: uniform in [0, 1))
        layer.neuron_type = neuron_type(lif) if neuron_type is not None else nengo.LIF(
            tau_rc=lif.tau_rc, tau_ref=lif.tau_ref, amplitude=lif.amplitude,
            initial_state={"voltage": nengo.dists.Choice([0])})
    net.input.output = nengo.processes.PresentInput(
        np.asarray(images, dtype=float), presentation.seconds)
    net.loihi = prepare(net, input_rate=input_rate, dt=presentation.dt)
    with net:
        net.spike_probes = [nengo.Probe(layer.neurons, synapse=None)
                            for layer in net.layers] if probe_spikes else []
    return net


def run_presentation(net, n_images, presentation, simulator="loihi", seed=0):
    """Run a `presentation_network` and classify each image from its window.

    Parameters
    ----------
    simulator : str
        ``"loihi"``: ``nengo_loihi.Simulator`` (the emulator unless a chip is
        attached); ``"nengo"``: the Nengo reference simulator.

    Returns
    -------
    dict
        ``logits`` (n_images, n_out), ``spikes_per_layer`` (mean spikes per image of
        each hidden layer), ``build_seconds``, ``run_seconds`` and, for Loihi,
        ``cores`` and ``utilization`` (per block: compartments, axons, synapse bits).
    """
    n_steps = presentation.n_steps * n_images
    t0 = time.perf_counter()
    if simulator == "loihi":
        nengo_loihi = require_nengo_loihi()
        sim = nengo_loihi.Simulator(net, dt=presentation.dt, target="sim",
                                    precompute=True, seed=seed)
    elif simulator == "nengo":
        sim = nengo.Simulator(net, dt=presentation.dt, progress_bar=False, seed=seed)
    else:
        raise ValueError(f"simulator: {simulator!r} is not one of loihi, nengo")
    build = time.perf_counter() - t0
    with sim:
        t0 = time.perf_counter()
        sim.run_steps(n_steps)
        run = time.perf_counter() - t0
        out = np.asarray(sim.data[net.probe]).reshape(n_images, presentation.n_steps, -1)
        # a spike is recorded as amplitude / dt
        result = {"logits": presentation.read(out), "build_seconds": build,
                  "run_seconds": run, "spikes_per_layer": [
                      float(np.asarray(sim.data[p]).sum() * presentation.dt
                            / p.target.ensemble.neuron_type.amplitude / n_images)
                      for p in net.spike_probes]}
        if simulator == "loihi":
            blocks = sim.model.blocks
            result["cores"] = len(blocks)
            result["utilization"] = [
                {"block": str(b), **{k: [int(v[0]), int(v[1])]
                                     for k, v in b.utilization().items()}}
                for b in blocks]
    return result


class LoihiEmulator:
    """The ``loihi`` evaluation backend: the spiking network on nengo-loihi's emulator.

    Same interface as the other `nengo_pc.training.backends.EVAL_BACKENDS`;
    ``presentation`` is required (Loihi runs spiking networks only). Images are
    run in chunks of at most ``batch_size`` (and `CHUNK`): one simulator per chunk,
    since nengo-loihi's simulator cannot be reset. After `predict`, ``info`` holds
    the cores used, the layers' blocks and the mean spikes per image of each layer.
    """

    #: Most images per simulator (bounds the memory of the spike probes).
    CHUNK = 100

    def __init__(self, arch, params, batch_size, seed, progress, presentation=None,
                 input_rate=INPUT_RATE):
        require_nengo_loihi()
        if presentation is None:
            raise LoihiConfigError("presentation: Loihi runs spiking networks only "
                                   "(--mode spiking)")
        self.arch, self.params_, self.seed = arch, params, seed
        self.presentation, self.input_rate = presentation, input_rate
        self.batch_size = max(1, min(batch_size, self.CHUNK))
        self.progress = progress
        self.info = {}

    def predict(self, x):
        import sys
        import warnings

        from nengo.exceptions import BuildError

        logits, spikes, n_done, seconds = [], None, 0, {"build": 0.0, "run": 0.0}
        for start in range(0, len(x), self.batch_size):
            chunk = x[start:start + self.batch_size]
            with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
                # Nengo derives max_rates from gain 1 / bias (unused; see
                # nengo_pc.training.backends.quiet_build); nengo-loihi warns that a
                # precomputable model is precomputed
                warnings.simplefilter("ignore")
                net = presentation_network(self.arch, self.params_, chunk,
                                           self.presentation, self.input_rate,
                                           seed=self.seed)
                try:
                    result = run_presentation(net, len(chunk), self.presentation,
                                              "loihi", seed=self.seed)
                except BuildError as err:
                    raise LoihiConfigError(f"nengo-loihi cannot build the network: "
                                           f"{err}") from None
            logits.append(result["logits"])
            layer_spikes = np.array(result["spikes_per_layer"]) * len(chunk)
            spikes = layer_spikes if spikes is None else spikes + layer_spikes
            n_done += len(chunk)
            seconds["build"] += result["build_seconds"]
            seconds["run"] += result["run_seconds"]
            self.info = {"cores": result["cores"], "layers": net.loihi["layers"],
                         "spikes_per_layer": [float(s) for s in spikes / n_done],
                         "seconds": dict(seconds)}
            if self.progress:
                print(f"loihi emulator: {n_done}/{len(x)} images", file=sys.stderr,
                      flush=True)
        return np.concatenate(logits)

    def close(self):
        pass


def check_loihi_options(args, usage_error=ValueError, user_error=ImportError):
    """Check ``nengo-pc evaluate --backend loihi`` options (parsed ``args``).

    Raises ``usage_error`` naming the option for what Loihi cannot run (rate mode,
    alpha synapses, Poisson input coding, the PC network) and ``user_error`` (one
    line naming the extra) when nengo-loihi is not installed.
    """
    if args.network != "feedforward":
        raise usage_error(
            "--backend loihi: runs the feedforward networks; the predictive-coding "
            "network's slope gates are host nodes and its pair transforms nengo.Sparse "
            "(see docs/loihi.md)")
    if args.mode != "spiking":
        raise usage_error("--backend loihi: Loihi runs spiking networks; add "
                          "--mode spiking")
    if args.synapse == "alpha":
        raise usage_error("--synapse alpha: not available on Loihi (one first-order "
                          "filter per synapse); use --synapse lowpass (the default "
                          "with --backend loihi) or none")
    if args.input_coding not in (None, "constant"):
        raise usage_error("--input-coding: with --backend loihi the off-chip input "
                          "layer codes the pixels as spikes; leave it constant")
    try:
        require_nengo_loihi()
    except ImportError as err:
        raise user_error(f"--backend loihi: {err}") from None


def evaluate_loihi(arch, params, split, presentation, batch_size=100, seed=0,
                   progress=False, input_rate=INPUT_RATE):
    """Classify ``split`` on the Loihi emulator: accuracy, cores, spikes and energy.

    Returns
    -------
    dict
        ``accuracy``, ``loss`` (`nengo_pc.training.classification_metrics`),
        ``seconds``, ``cores``, ``layers`` (blocks per layer), ``spikes_per_layer``
        (mean per image, counted by the emulator), and ``energy``: the synaptic
        operations and energy per inference (`nengo_pc.energy.inference_cost`) from
        those counts, with the input layer firing at ``pixel * input_rate`` Hz.
    """
    from nengo_pc.energy import inference_cost
    from nengo_pc.training.evaluation import check_split, classification_metrics

    check_split("split", split, arch)
    t0 = time.perf_counter()
    backend = LoihiEmulator(arch, params, batch_size, seed, progress, presentation,
                            input_rate=input_rate)
    logits = backend.predict(np.asarray(split.images))
    seconds = time.perf_counter() - t0
    metrics = classification_metrics(logits, split.labels)
    info = backend.info
    layer_rates = [s / presentation.seconds / n for s, n in
                   zip(info["spikes_per_layer"], arch.sizes[1:-1])]
    pixel_rates = np.asarray(split.images, np.float64).mean(axis=0) * input_rate
    cost = inference_cost(arch, layer_rates, presentation.seconds, presentation.dt,
                          input_rate=pixel_rates)
    metrics.update(seconds=seconds, n_examples=len(split), cores=info["cores"],
                   layers=info["layers"], spikes_per_layer=info["spikes_per_layer"],
                   emulator_seconds=info["seconds"],
                   energy={"synops": cost["synops"], "spikes": cost["spikes"],
                           "neuron_updates": cost["neuron_updates"],
                           "loihi_joules": cost["energy_joules"]["loihi"],
                           "ann_cpu_joules": cost["ann_energy_joules"]["cpu"],
                           "ann_gpu_joules": cost["ann_energy_joules"]["gpu"]})
    return metrics


def rate_distortion(arch, params, images, dt=0.001):
    """How Loihi's neuron discretisation changes each hidden layer's rates.

    Rates of `nengo.LIF` (the exact curve) and of Loihi's LIF
    (``nengo_loihi.neurons.loihi_lif_rates``: integer inter-spike intervals, refractory
    period rounded to steps) for the same inputs, layer by layer through the rate
    network of the exact curve.

    Returns
    -------
    list of dict
        Per hidden layer: ``mean_rate`` and ``max_rate`` (Hz, exact curve),
        ``mean_abs_error`` (Hz, Loihi minus exact, over neurons and images) and
        ``relative_error`` (that divided by the mean rate).
    """
    nengo_loihi = require_nengo_loihi()
    from nengo_loihi.neurons import loihi_lif_rates

    from nengo_pc.rates import forward

    lif = nengo.LIF(tau_rc=arch.lif.tau_rc, tau_ref=arch.lif.tau_ref)
    del nengo_loihi
    _, hidden = forward(arch, params, np.asarray(images), return_hidden=True)
    out = []
    pre = np.asarray(images, dtype=np.float64)
    for i, h in enumerate(hidden):
        exact = np.asarray(h, dtype=np.float64) / arch.lif.amplitude
        w, b = np.asarray(params.weights[i]), np.asarray(params.biases[i])
        if arch.is_conv(i):
            # the currents of a conv layer are not a matrix product: invert the
            # exact curve instead (j = 1 / (1 - exp((tau_ref - 1/r) / tau_rc)))
            with np.errstate(divide="ignore", over="ignore"):
                period = 1.0 / np.where(exact > 0, exact, np.nan)
                j = 1.0 / (-np.expm1((lif.tau_ref - period) / lif.tau_rc))
            j = np.nan_to_num(j, nan=0.0)
        else:
            j = pre.reshape(len(pre), -1) @ w + b
        shape = j.shape
        loihi = loihi_lif_rates(lif, j.reshape(-1), 1.0, 0.0, dt).reshape(shape)
        err = np.abs(loihi - exact)
        mean = float(exact.mean())
        out.append({"mean_rate": mean, "max_rate": float(exact.max()),
                    "mean_abs_error": float(err.mean()),
                    "relative_error": float(err.mean() / mean) if mean > 0 else 0.0})
        pre = np.asarray(h, dtype=np.float64)
    return out
