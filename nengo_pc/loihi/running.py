"""Running Loihi-prepared networks: presentation, the emulator backend, accuracy,
spike counts and energy.

nengo-loihi's simulator cannot be reset, so the images are shown one after another
in one run (`nengo.processes.PresentInput`) and each is classified from its own
window after `settle_steps`; the same network runs in `nengo.Simulator` for
comparison (``simulator="nengo"``). `LoihiEmulator` is the ``loihi`` evaluation
backend (``nengo-pc evaluate --backend loihi``). What the networks need to run on
Loihi at all is `nengo_pc.loihi`.
"""

import math
import time

import nengo
import numpy as np

from nengo_pc.loihi import INPUT_RATE, LoihiConfigError, prepare, require_nengo_loihi


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


def demo_model(arch, params=None, images=None, labels=None, presentation_time=0.1,
               tau=0.005, label=None, seed=0):
    """The ``networks/`` soft-LIF scripts' ``model``, ready for nengo-loihi.

    `nengo_pc.networks.presentation.demo_network` with ``Lowpass(tau)`` synapses
    instead of alpha, then `prepare` (off-chip input layer, block shapes): what
    ``nengo --backend nengo_loihi`` can run, e.g. from a script holding::

        from nengo_pc.loihi import demo_model
        model = demo_model(arch, params, images, labels)
    """
    from nengo_pc.networks.presentation import demo_network

    model = demo_network(arch, params, images, labels, presentation_time,
                         synapse=nengo.Lowpass(tau), label=label, seed=seed)
    model.loihi = prepare(model.net, model=model)
    return model


def settle_steps(presentation, n_layers):
    """Steps at the start of each image's window that the readout skips.

    nengo-loihi's simulator cannot reset between images, so the start of each
    window still carries the previous image: two synapse time constants with
    Lowpass synapses (10 steps at 5 ms), else one step per layer; at most half the
    window. Measured on the soft-LIF MLP (results/loihi/mlp.json, first 300 test
    images): 295 correct reading the whole window, 298 skipping 10 steps, as many as
    NengoDL starting every image from rest.
    """
    if presentation.synapse == "none":
        steps = n_layers
    else:
        steps = int(math.ceil(2 * presentation.tau / presentation.dt))
    return min(steps, presentation.n_steps // 2)


def run_presentation(net, n_images, presentation, simulator="loihi", seed=0, skip=None):
    """Run a `presentation_network` and classify each image from its window.

    Parameters
    ----------
    simulator : str
        ``"loihi"``: ``nengo_loihi.Simulator`` (the emulator unless a chip is
        attached); ``"nengo"``: the Nengo reference simulator.
    skip : int, optional
        Steps at the start of each window the readout skips; default
        `settle_steps`.

    Returns
    -------
    dict
        ``logits`` (n_images, n_out) read after ``skip`` steps,
        ``logits_whole_window`` (read over the whole window), ``skip``,
        ``spikes_per_layer`` (mean spikes per image of
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
        if skip is None:
            skip = settle_steps(presentation, net.arch.n_layers)
        result = {"logits": presentation.read(out[:, skip:]), "skip": skip,
                  "logits_whole_window": presentation.read(out),
                  "build_seconds": build,
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
                         "readout_skips_steps": result["skip"],
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
    alpha synapses, Poisson input coding, free PC inference) and ``user_error`` (one
    line naming the extra) when nengo-loihi is not installed.
    """
    if args.mode != "spiking":
        raise usage_error("--backend loihi: Loihi runs spiking networks; add "
                          "--mode spiking")
    if args.synapse == "alpha":
        raise usage_error("--synapse alpha: not available on Loihi (one first-order "
                          "filter per synapse); use --synapse lowpass (the default "
                          "with --backend loihi) or none")
    if args.network == "pc" and args.sweep_time is not None:
        raise usage_error("--sweep-time: the Loihi PC network runs mode 'sweep' for "
                          "the whole presentation (its feedback gates are not on "
                          "the chip; see docs/loihi.md)")
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
                   readout_skips_steps=info["readout_skips_steps"],
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
