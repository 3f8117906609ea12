"""Running the Loihi form of the predictive-coding network (`LoihiPCNetwork`).

nengo-loihi's simulator cannot be reset, so images are shown one after another in
one run (`nengo.processes.PresentInput`), ``n_steps`` each; each image is
classified by the output x_L averaged over the second half of its window, the
``"window"`` readout of `nengo_pc.networks.spiking.readout_over_time` (which
NengoDL's spiking PC inference reads over the same half of a presentation started
from rest; here the first half also lets the previous image's activity die out).
A host node counts the spikes of every population each step and the synaptic
operations they cause (spikes times fan-out, `nengo_pc.networks.spiking.fan_out`),
for the energy per inference.
"""

import sys
import time
import warnings

import nengo
import numpy as np

from nengo_pc.arch import VALUE_TAU
from nengo_pc.loihi import INPUT_RATE, LoihiConfigError, require_nengo_loihi
from nengo_pc.loihi.pc import PC_MAX_RATE, PC_SYNAPSE_TAU, LoihiPCNetwork, pair_amplitudes

#: Steps per image of the Loihi PC presentation by default (150 ms at dt = 1 ms, as
#: the spiking PC benchmark, results/bench_spiking_pc.json).
PC_STEPS = 150


def pc_presentation_network(arch, params, images, amplitudes, n_steps=PC_STEPS,
                            dt=0.001, tau=VALUE_TAU, input_rate=INPUT_RATE,
                            pair_neuron_type=None, activity_neuron_type=None,
                            prepare=True, synapse_tau=PC_SYNAPSE_TAU, seed=0):
    """A `LoihiPCNetwork` showing ``images`` one after another, with a spike counter.

    Returns
    -------
    net : LoihiPCNetwork
        With ``net.counter_probes`` (per step: spikes, then synops, of every
        population in ``net.counted`` order: the input layer's, then the chip's), ``net.loihi`` (what
        `LoihiPCNetwork.prepare` returned; None unless ``prepare``).
    """
    from nengo_pc.networks.spiking import fan_out

    net = LoihiPCNetwork(arch, params, amplitudes, tau=tau, input_rate=input_rate,
                         dt=dt, synapse_tau=synapse_tau,
                         pair_neuron_type=pair_neuron_type,
                         activity_neuron_type=activity_neuron_type, seed=seed,
                         label="loihi pc")
    net.input.output = nengo.processes.PresentInput(
        np.asarray(images, dtype=float), n_steps * dt)
    counts = fan_out(net)
    # the input layer (host) and the chip get separate counters: a host node fed by
    # both would make the host's input depend on the chip's output (no precompute)
    net.counted = [net.input_layer] + [ens for ens in net.all_ensembles
                                       if ens is not net.input_layer]
    with net:
        counters = [nengo.Node(size_in=2, label="input spike counter"),
                    nengo.Node(size_in=2 * (len(net.counted) - 1),
                               label="chip spike counter")]
        for k, ens in enumerate(net.counted):
            per_spike = dt / ens.neuron_type.amplitude
            counter, j = (counters[0], 0) if k == 0 else (counters[1], k - 1)
            nengo.Connection(ens.neurons, counter[2 * j:2 * j + 2], synapse=None,
                             transform=np.vstack([np.full(ens.n_neurons, per_spike),
                                                  counts[ens.label] * per_spike]))
        net.counter_probes = [nengo.Probe(c, synapse=None) for c in counters]
    net.loihi = net.prepare(dt) if prepare else None
    return net


def pc_demo_model(arch, params, images, labels, presentation_time=PC_STEPS * 0.001,
                  calibration=None, dt=0.001, label=None, seed=0):
    """``networks/mnist_pc_spiking.py``'s ``model`` in the form Loihi runs.

    The script's network -- ``images`` and one-hot ``labels`` shown one after
    another (`nengo.processes.PresentInput`), the decoded output ``output_values``
    -- with `LoihiPCNetwork` (mode ``"sweep"`` throughout, output free) in place
    of the `PredictiveCodingNetwork`: what ``nengo --backend nengo_loihi
    networks/mnist_pc_spiking.py`` runs (the script adds the image display and
    the probes). Its
    ``value_l``, ``error_l`` and ``activity_l`` are the first chunk (one core) of
    each population, ``value_0`` the off-chip input layer; ``pc.target`` shows
    the label (nothing on the chip reads it: the output is free).

    Parameters
    ----------
    arch, params
        A dense ``"lif"`` network; ``params`` None: untrained
        (`nengo_pc.params.init_params`).
    images, labels : ndarray
        ``(n, n_in)`` and ``(n, n_out)``.
    presentation_time : float
        Seconds per image.
    calibration : ndarray, optional
        Images setting the pair amplitudes (`pair_amplitudes`); default ``images``.
        A layer silent on them (blank images) gets the amplitude of a value of 1
        at `PC_MAX_RATE`.
    """
    from nengo_pc.params import init_params

    params = init_params(arch, seed) if params is None else params
    calibration = images if calibration is None else calibration
    amplitudes = [a if a > 0 else 1.0 / PC_MAX_RATE
                  for a in pair_amplitudes(arch, params, calibration)]
    model = nengo.Network(label=label, seed=seed)
    with model:
        model.pc = LoihiPCNetwork(arch, params, amplitudes, dt=dt, seed=seed,
                                  label="spiking predictive coding (Loihi form)")
        model.pc.input.output = nengo.processes.PresentInput(
            np.asarray(images, dtype=float), presentation_time)
        model.images = model.pc.input
        model.labels = nengo.Node(nengo.processes.PresentInput(labels, presentation_time),
                                  label="label")
        with model.pc:
            model.pc.target = nengo.Node(size_in=arch.sizes[-1], label="target")
        nengo.Connection(model.labels, model.pc.target, synapse=None)
        model.value_0 = model.pc.input_layer
        for l in range(1, arch.n_layers + 1):
            setattr(model, f"value_{l}", model.pc.values[l][0])
            setattr(model, f"error_{l}", model.pc.errors[l][0])
            if model.pc.activities[l]:
                setattr(model, f"activity_{l}", model.pc.activities[l][0])
        model.output_values = nengo.Node(size_in=arch.sizes[-1], label="output values")
        model.pc.connect_output(model.output_values, nengo.Lowpass(model.pc.tau))
    model.loihi = model.pc.prepare(dt, model=model)
    return model


def run_pc(net, n_images, n_steps=PC_STEPS, dt=0.001, simulator="loihi", seed=0):
    """Run a `pc_presentation_network` and classify each image.

    Parameters
    ----------
    simulator : str
        ``"loihi"`` (nengo-loihi's emulator) or ``"nengo"`` (the reference
        simulator).

    Returns
    -------
    dict
        ``outputs`` (n_images, n_steps, n_out: x_L every step), ``logits`` (the
        window readout), ``spikes`` and ``synops`` (population label -> mean per
        image), ``build_seconds``, ``run_seconds`` and, for Loihi, ``cores``.
    """
    t0 = time.perf_counter()
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # nengo derives LIF max rates from gain 1 / bias 0 (unused); nengo-loihi
        # warns that a precomputable model is precomputed
        warnings.simplefilter("ignore")
        if simulator == "loihi":
            nengo_loihi = require_nengo_loihi()
            sim = nengo_loihi.Simulator(net, dt=dt, target="sim", precompute=True,
                                        seed=seed, progress_bar=False)
        elif simulator == "nengo":
            sim = nengo.Simulator(net, dt=dt, progress_bar=False, seed=seed)
        else:
            raise ValueError(f"simulator: {simulator!r} is not one of loihi, nengo")
    build = time.perf_counter() - t0
    with sim:
        t0 = time.perf_counter()
        sim.run_steps(n_steps * n_images)
        run = time.perf_counter() - t0
        outputs = net.output(sim).reshape(n_images, n_steps, -1)
        counts = np.concatenate([np.asarray(sim.data[p]).sum(axis=0)
                                 for p in net.counter_probes]) / n_images
        result = {"cores": len(sim.model.blocks)} if simulator == "loihi" else {}
    result.update(
        outputs=outputs, logits=outputs[:, n_steps // 2:].mean(axis=1),
        spikes={e.label: float(counts[2 * k]) for k, e in enumerate(net.counted)},
        synops={e.label: float(counts[2 * k + 1]) for k, e in enumerate(net.counted)},
        build_seconds=build, run_seconds=run)
    return result


def evaluate_pc_loihi(arch, params, split, *, n_steps=PC_STEPS, dt=0.001, tau=VALUE_TAU,
                      max_rate=PC_MAX_RATE, calibration=None, input_rate=INPUT_RATE,
                      batch_size=50, seed=0, progress=False, simulator="loihi"):
    """Classify ``split`` with spiking PC inference on the Loihi emulator.

    Parameters
    ----------
    calibration : ndarray, optional
        Images setting the pair amplitudes (`pair_amplitudes`); default the
        split's own first 1,000.
    batch_size : int
        Images per simulator (nengo-loihi's cannot be reset).

    Returns
    -------
    dict
        ``accuracy``, ``loss``, ``seconds``, ``cores``, ``layers`` (cores per
        chunk), ``amplitudes``, ``spikes_per_inference``, ``synops_per_inference``,
        ``neuron_updates_per_inference`` (on-chip neurons x steps) and
        ``energy_joules`` (device -> joules, `nengo_pc.networks.spiking.inference_energy`),
        ``feedforward_accuracy`` and ``label_agreement`` with the feedforward pass.
    """
    from nengo_pc.networks.spiking import inference_energy
    from nengo_pc.rates import forward
    from nengo_pc.training.evaluation import check_split, classification_metrics

    check_split("split", split, arch)
    images = np.asarray(split.images)
    calibration = images[:1000] if calibration is None else calibration
    amplitudes = pair_amplitudes(arch, params, calibration, max_rate=max_rate)
    t0 = time.perf_counter()
    logits, spikes, synops, info = [], 0.0, 0.0, {}
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")
            net = pc_presentation_network(arch, params, chunk, amplitudes, n_steps, dt,
                                          tau, input_rate, seed=seed)
        try:
            result = run_pc(net, len(chunk), n_steps, dt, simulator, seed)
        except AssertionError as err:  # nengo-loihi's discretisation
            raise LoihiConfigError(f"nengo-loihi cannot discretise the network: "
                                   f"{err!r}") from None
        logits.append(result["logits"])
        spikes += sum(result["spikes"].values()) * len(chunk)
        synops += sum(result["synops"].values()) * len(chunk)
        info = {"cores": result.get("cores"), "layers": net.loihi["layers"],
                "on_chip_neurons": sum(e.n_neurons for e in net.all_ensembles
                                       if e is not net.input_layer)}
        if progress:
            print(f"loihi emulator (PC): {start + len(chunk)}/{len(images)} images",
                  file=sys.stderr, flush=True)
    seconds = time.perf_counter() - t0
    logits = np.concatenate(logits)
    metrics = classification_metrics(logits, split.labels)
    feedforward = forward(arch, params, images).argmax(1)
    updates = info["on_chip_neurons"] * n_steps
    synops /= len(images)
    metrics.update(
        seconds=seconds, n_examples=len(images), cores=info["cores"],
        layers=info["layers"], amplitudes=amplitudes, max_rate=max_rate,
        n_steps=n_steps, readout="window (second half of each image's steps)",
        spikes_per_inference=spikes / len(images), synops_per_inference=synops,
        neuron_updates_per_inference=updates,
        energy_joules=inference_energy(synops, updates),
        feedforward_accuracy=float(np.mean(feedforward == split.labels)),
        label_agreement=float(np.mean(logits.argmax(1) == feedforward)))
    if not np.all(np.isfinite(logits)):
        raise LoihiConfigError("the Loihi PC network produced non-finite outputs")
    return metrics
