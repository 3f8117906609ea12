"""Spiking inference with the predictive-coding network, measured over time.

`spiking_inference` runs `nengo_pc.networks.PredictiveCodingNetwork` with
``spiking=True`` in ``nengo_dl.Simulator`` (minibatched, operator merging off as in
`nengo_pc.networks.inference.settled_outputs`; or, with ``backend="tensorflow"``, the
same network in plain TensorFlow, `nengo_pc.networks.spiking_pc_tf`), every image from rest with the output
free. By default the whole presentation is mode ``"sweep"``: every value integrates its
own prediction error, tau dx_l/dt = -e_l, computed by the error populations from
the spikes of the value and activity populations, with the top-down feedback
inhibited; ``sweep_time`` < ``duration`` switches to mode ``"free"`` (full PC
inference, feedback on) for the rest. Both modes have the same fixed point with the
output free, the feedforward pass (`nengo_pc.networks.inference.fixed_point`);
but the free dynamics are not stable with synaptic delays for trained MNIST weights: the feedback loop value ->
activity -> error -> feedback -> gate -> value passes several synapses and has a gain
of f' W W^T f' (with the exact LIF curve's steep slope near threshold). Measured on a
784-500-500-10 ``"lif"`` network and one test image: in rate mode with no synapse
the free phase converges (slowly); with a 2 ms lowpass synapse, or spiking, it
diverges within 100-150 ms of switching on the feedback.

One simulation records, per image and time step,

* the output x_L (the state of the output integrator, see `spiking_inference`), so
  that accuracy at every presentation time up to ``duration`` comes from the same
  run (`accuracy_over_time`, with the readouts of `readout_over_time`);
* the number of spikes of every neural population and the synaptic operations they
  cause (each spike of a neuron costs its fan-out: the number of nonzero weights
  leaving it, `fan_out`);
* optionally (``record_states=True``) the decoded values and errors of every layer,
  as distances from the rate-mode fixed point.

`inference_energy` turns synop counts into energy per inference with the per-synop
figures of `nengo_pc.energy`.
"""

import sys
import time
import warnings

import nengo
import numpy as np

from nengo_pc.arch import INPUT_CODINGS, PAIR_AMPLITUDE, SYNAPSES, VALUE_TAU
from nengo_pc.energy import NEURON_UPDATE_ENERGY, SYNOP_ENERGY
from nengo_pc.networks.feedforward import make_synapse
from nengo_pc.networks.inference import (
    check_images,
    check_int,
    check_positive,
    check_sweep_time,
    configure_inference,
    data_nodes,
    fixed_point,
    padded_batches,
)
from nengo_pc.networks.modes import ModeSchedule
from nengo_pc.networks.pc import SPIKING_SYNAPSE, PredictiveCodingNetwork


def populations(net):
    """The neural populations of a PC network, by label (ensembles with neurons)."""
    return {ens.label: ens for ens in net.all_ensembles}


def _column_counts(conn):
    """Nonzero weights per presynaptic neuron of a connection from ``.neurons``."""
    n_pre = conn.pre_obj.size_out
    columns = np.arange(n_pre)
    if conn.pre_slice is not None and not (isinstance(conn.pre_slice, slice)
                                           and conn.pre_slice == slice(None)):
        columns = columns[conn.pre_slice]
    transform = conn.transform
    if isinstance(transform, nengo.Sparse):
        init = transform.init
        if hasattr(init, "tocoo"):  # a scipy matrix
            coo = init.tocoo()
            values, cols = coo.data, coo.col
        else:  # nengo's SparseMatrix
            values, cols = np.asarray(init.data).ravel(), np.asarray(init.indices)[:, 1]
        per_column = np.bincount(cols[values != 0], minlength=len(columns))
    else:
        init = np.asarray(transform.init)
        if init.ndim == 0:  # scalar: elementwise, one synapse per element
            per_column = np.full(len(columns), int(init != 0))
        elif init.ndim == 1:  # elementwise
            per_column = (init != 0).astype(np.int64)
        else:
            per_column = np.count_nonzero(init, axis=0)
    counts = np.zeros(n_pre, dtype=np.int64)
    np.add.at(counts, columns, per_column)
    return counts


def fan_out(net):
    """Synapses leaving each neuron of every population of ``net``.

    Counts the nonzero weights of every connection whose presynaptic object is a
    population's neurons (to neurons, to a node such as a slope gate, or to a
    learning rule); probes are not connections and are not counted.

    Returns
    -------
    dict
        Population label -> integer array of shape ``(n_neurons,)``.
    """
    pops = populations(net)
    counts = {label: np.zeros(ens.n_neurons, dtype=np.int64) for label, ens in pops.items()}
    by_neurons = {ens.neurons: label for label, ens in pops.items()}
    for conn in net.all_connections:
        label = by_neurons.get(conn.pre_obj)
        if label is not None:
            counts[label] += _column_counts(conn)
    return counts


#: Readouts of `readout_over_time`.
READOUTS = ("window", "state")


def readout_over_time(outputs, readout="window"):
    """The network's answer at every presentation time T, from recorded outputs.

    Parameters
    ----------
    outputs : ndarray
        ``(N, n_steps, n_out)``, x_L at every step.
    readout : str
        ``"window"``: the mean of x_L over the second half of the presentation,
        steps ``ceil(k / 2)..k`` for a presentation of k steps (the spike-count
        readout of a spiking classifier, without its start-up transient);
        ``"state"``: x_L at the last step.

    Returns
    -------
    ndarray
        ``(N, n_steps, n_out)``: entry ``[:, k - 1]`` is the answer after k steps.
    """
    if readout not in READOUTS:
        raise ValueError(f"readout: {readout!r} is not one of {', '.join(READOUTS)}")
    outputs = np.asarray(outputs, dtype=np.float64)
    if readout == "state":
        return outputs
    total = np.cumsum(outputs, axis=1)
    k = np.arange(1, outputs.shape[1] + 1)
    start = k // 2  # steps before the window
    before = np.concatenate([np.zeros_like(total[:, :1]), total], axis=1)[:, start]
    return (total - before) / (k - start)[None, :, None]


def accuracy_over_time(outputs, labels, readout="window"):
    """Accuracy of the readout's ``argmax`` at every presentation time.

    Parameters
    ----------
    outputs : ndarray
        ``(N, n_steps, n_out)``.
    labels : ndarray
        ``(N,)`` integer labels.
    readout : str
        One of `READOUTS` (see `readout_over_time`).

    Returns
    -------
    ndarray
        ``(n_steps,)``: accuracy for a presentation of 1, 2, ... steps.
    """
    answers = np.argmax(readout_over_time(outputs, readout), axis=-1)
    return np.mean(answers == np.asarray(labels)[:, None], axis=0)


def inference_energy(synops, neuron_updates):
    """Energy per inference on each device of `nengo_pc.energy.SYNOP_ENERGY`.

    Parameters
    ----------
    synops : float
        Synaptic operations (spikes times fan-out) per inference.
    neuron_updates : float
        Neuron state updates per inference (neurons times steps; only Loihi
        publishes an energy for them).

    Returns
    -------
    dict
        Device -> joules.
    """
    return {device: synops * joules + neuron_updates * NEURON_UPDATE_ENERGY.get(device, 0.0)
            for device, joules in SYNOP_ENERGY.items()}


#: Backends of `spiking_inference`.
SPIKING_PC_BACKENDS = ("nengo_dl", "tensorflow")


def default_spiking_backend(sweep_time, duration, input_coding):
    """The backend `spiking_inference` uses unless told: ``"tensorflow"`` where it
    runs the network -- mode ``"sweep"`` for the whole presentation (``sweep_time``
    None or >= ``duration``) and constant input; the same outputs as NengoDL, 3.7
    times as fast (docs/performance.md) -- else ``"nengo_dl"``."""
    free = sweep_time is not None and sweep_time < duration
    return "nengo_dl" if free or input_coding != "constant" else "tensorflow"


def inference_network(arch, params, *, duration, sweep_time, dt=0.001, tau=VALUE_TAU,
                      synapse=SPIKING_SYNAPSE[0], synapse_tau=SPIKING_SYNAPSE[1],
                      pair_amplitude=PAIR_AMPLITUDE, input_coding="constant",
                      record_states=False, seed=0):
    """The network `spiking_inference` runs, with its spike counter and probes.

    Every backend builds this one network, so that Nengo's builder gives them the
    same seeds and initial states (arguments as for `spiking_inference`).

    Returns
    -------
    dict
        ``net``, ``feed`` (the image node), ``labels`` (population labels, the
        order of the counter's columns), ``populations`` (label -> ensemble),
        ``fan_out`` (label -> per-neuron counts), probes ``counts``, ``output`` and
        ``states`` (list of (value, error) probe pairs, empty without
        ``record_states``).
    """
    net = PredictiveCodingNetwork(
        arch, params, tau=tau, spiking=True, input_coding=input_coding,
        synapse=make_synapse(synapse, synapse_tau),
        pair_neuron_type=nengo.SpikingRectifiedLinear(amplitude=pair_amplitude),
        seed=seed, label="spiking pc",
        mode=ModeSchedule([("sweep", sweep_time), ("free", duration)], dt=dt))
    counts = fan_out(net)
    pops = populations(net)
    labels = list(pops)
    feed, _ = data_nodes(net)
    with net:
        # spikes and synops of every population, summed over its neurons each step
        counter = nengo.Node(size_in=2 * len(labels), label="spike counter")
        for k, label in enumerate(labels):
            ens = pops[label]
            per_spike = dt / ens.neuron_type.amplitude  # output amplitude / dt per spike
            transform = np.vstack([np.full(ens.n_neurons, per_spike),
                                   counts[label] * per_spike])
            nengo.Connection(ens.neurons, counter[2 * k:2 * k + 2], transform=transform,
                             synapse=None)
        p_counts = nengo.Probe(counter, synapse=None, label="spike counts")
        p_output = nengo.Probe(net.values[-1].neurons, "input", synapse=None,
                               label="output state")
        state_probes = []
        if record_states:
            for l in range(1, arch.n_layers + 1):
                state_probes.append((
                    nengo.Probe(net.values[l].neurons, "input", synapse=None),
                    nengo.Probe(net.errors[l].neurons, "input", synapse=None)))
    configure_inference(net, keep_history=True)
    return {"net": net, "feed": feed, "labels": labels, "populations": pops,
            "fan_out": counts, "counts": p_counts, "output": p_output,
            "states": state_probes}


def _nengo_dl_chunks(built, images, batch_size, n_steps, dt, seed):
    """Run ``built`` in NengoDL; yields None once the simulator is built, then what
    `nengo_pc.networks.spiking_pc_tf.SweepInference.run` yields."""
    import nengo_dl  # pylint: disable=import-outside-toplevel

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No GPU support detected")
        with np.errstate(divide="ignore", invalid="ignore"):
            # nengo derives max rates of the LIF activities (gain 1, bias 0) by
            # dividing by zero; those values are unused
            sim = nengo_dl.Simulator(built["net"], dt=dt, minibatch_size=batch_size,
                                     seed=seed, progress_bar=False)
        with sim:
            yield None
            for start, m, batch in padded_batches(images, batch_size):
                x = np.repeat(batch[:, None, :], n_steps, axis=1)
                out = sim.predict_on_batch({built["feed"]: x})
                states = [(out[p_value][:m], out[p_error][:m])
                          for p_value, p_error in built["states"]]
                yield (start, out[built["output"]][:m], states or None,
                       out[built["counts"]][:m].sum(axis=0))


def spiking_inference(arch, params, images, *, duration=0.2, sweep_time=None, dt=0.001,
                      tau=VALUE_TAU, synapse=SPIKING_SYNAPSE[0],
                      synapse_tau=SPIKING_SYNAPSE[1], pair_amplitude=PAIR_AMPLITUDE,
                      input_coding="constant", record_states=False, batch_size=100, seed=0,
                      progress=False, backend=None, chunk=None):
    """Run the spiking PC network on every image (output free), recording over time.

    Every image is shown from rest for ``round(duration / dt)`` steps; the network is
    a `PredictiveCodingNetwork` with ``spiking=True`` (LIF activities, spiking
    integrate-and-fire pairs of amplitude ``pair_amplitude``), in mode ``"sweep"``
    for the first ``sweep_time`` seconds and ``"free"`` afterwards.

    The output read out is the state of the output value integrator: the input
    current of the ``"value L"`` pairs, ``x_L = amplitude (J[:n] - J[n:]) / 2``,
    i.e. the sum of every spike train arriving there through its Lowpass(tau)
    synapse (as a non-spiking output node of a spiking network reads its inputs).
    ``record_states`` reads the hidden values and the errors the same way (their
    input currents; for an error that is its inputs through ``synapse``).

    Parameters
    ----------
    arch : Architecture
        A ``"lif"`` network with default LIF parameters.
    params : Params
    images : ndarray
        ``(N, arch.sizes[0])``; in [0, 1] for Poisson input.
    duration : float
        Simulated seconds per image (> 0).
    sweep_time : float or None
        Seconds of mode ``"sweep"`` at the start (0 <= sweep_time <= duration);
        None (default): the whole presentation. Free PC inference (top-down
        feedback on) is not stable with synaptic delays for trained MNIST networks
        (see the module docstring), so the default keeps the feedback off.
    dt : float
        Time step in seconds.
    tau : float
        Inference time constant (the integrators' synapse).
    synapse : str
        One of `nengo_pc.arch.SYNAPSES`, for every other connection.
    synapse_tau : float
        Its time constant in seconds.
    pair_amplitude : float
        Amplitude of the spiking pairs (a unit of signal fires at 1 / amplitude Hz).
    input_coding : str
        ``"constant"`` or ``"poisson"``.
    record_states : bool
        Also record the hidden values and all errors (memory: batch * steps *
        2 n_l floats per layer and simulator call).
    batch_size : int
        Images per simulator call.
    seed : int
        Network and simulator seed.
    progress : bool
        One line per simulator call on stderr.
    backend : str, optional
        ``"nengo_dl"``: `nengo_dl.Simulator`, minibatches of ``batch_size``;
        ``"tensorflow"``: the same network in plain TensorFlow, layer by layer over
        the presentation (`nengo_pc.networks.spiking_pc_tf.SweepInference`; mode
        ``"sweep"`` throughout and constant input only; ``docs/performance.md``).
        Default `default_spiking_backend`: ``"tensorflow"`` where it runs the
        network, else ``"nengo_dl"``.
    chunk : int, optional
        Images per compiled call of the ``"tensorflow"`` backend (default
        `nengo_pc.networks.spiking_pc_tf.DEFAULT_CHUNK`); ``batch_size`` is then
        unused.

    Returns
    -------
    dict
        ``times`` (``(n_steps,)``, seconds at the end of each step); ``outputs``
        (``(N, n_steps, n_out)``, x_L); ``spikes`` and ``synops`` (population
        label -> ``(n_steps,)``, mean over images of the counts in each step);
        ``n_neurons`` and ``fan_out`` (label -> int and mean fan-out);
        ``neurons_total``; with ``record_states``, ``value_distance`` and
        ``error_norm`` (``(L, n_steps)``: mean over images of
        ``||x_l(t) - h_l|| / ||h_l||`` and ``||e_l(t)|| / ||h_l||``, h the fixed
        point of `fixed_point`); ``seconds`` (wall clock of the simulation:
        ``build``, NengoDL's simulator or the tensorflow backend's Nengo model --
        whose compiled function is traced in its first call, counted in
        ``total`` --, and ``total``);
        ``backend``.
    """
    images = check_images(images, arch)
    check_positive("duration", duration)
    sweep_time = check_sweep_time(duration if sweep_time is None else sweep_time,
                                  duration, "duration")
    check_positive("dt", dt)
    check_positive("pair_amplitude", pair_amplitude)
    if synapse not in SYNAPSES:
        raise ValueError(f"synapse: {synapse!r} is not one of {', '.join(SYNAPSES)}")
    if input_coding not in INPUT_CODINGS:
        raise ValueError(
            f"input_coding: {input_coding!r} is not one of {', '.join(INPUT_CODINGS)}"
        )
    batch_size = check_int("batch_size", batch_size, 1)
    n_steps = max(1, int(round(duration / dt)))
    if backend is None:
        backend = default_spiking_backend(sweep_time, duration, input_coding)
    if backend not in SPIKING_PC_BACKENDS:
        raise ValueError(f"backend: {backend!r} is not one of "
                         f"{', '.join(SPIKING_PC_BACKENDS)}")
    if backend == "tensorflow":
        if sweep_time < duration:
            raise ValueError(f"sweep_time: the tensorflow backend runs mode 'sweep' "
                             f"for the whole presentation (sweep_time=None or "
                             f"{duration}), got {sweep_time}; use backend='nengo_dl' "
                             "for free PC inference")
        if input_coding != "constant":
            raise ValueError(f"input_coding: the tensorflow backend takes 'constant' "
                             f"input, got {input_coding!r}; use backend='nengo_dl'")
    if chunk is not None and backend != "tensorflow":
        raise ValueError("chunk: only the tensorflow backend takes chunk")
    built = inference_network(
        arch, params, duration=duration, sweep_time=sweep_time, dt=dt, tau=tau,
        synapse=synapse, synapse_tau=synapse_tau, pair_amplitude=pair_amplitude,
        input_coding=input_coding, record_states=record_states, seed=seed)
    labels, pops, counts = built["labels"], built["populations"], built["fan_out"]
    n_layers = arch.n_layers

    def decode(state):
        n = state.shape[-1] // 2
        return pair_amplitude * (state[..., :n] - state[..., n:]) / 2

    n = len(images)
    batch_size = min(batch_size, n)
    outputs = np.zeros((n, n_steps, arch.sizes[-1]), dtype=np.float32)
    count_sum = np.zeros((n_steps, 2 * len(labels)))
    value_distance = np.zeros((n_layers, n_steps))
    error_norm = np.zeros((n_layers, n_steps))
    t0 = time.perf_counter()
    if backend == "tensorflow":
        from nengo_pc.networks.spiking_pc_tf import (  # pylint: disable=import-outside-toplevel
            DEFAULT_CHUNK,
            SweepInference,
        )

        chunk = check_int("chunk", DEFAULT_CHUNK if chunk is None else chunk, 1)
        runner = SweepInference(built["net"], params, n_steps, dt, counts, labels,
                                record_states=record_states, chunk=min(chunk, n))
        chunks = runner.run(images)
    else:
        chunks = _nengo_dl_chunks(built, images, batch_size, n_steps, dt, seed)
        next(chunks)  # the simulator is built
    build_seconds = time.perf_counter() - t0
    for start, state, states, count in chunks:
        m = len(state)
        outputs[start:start + m] = decode(state)
        count_sum += count
        if record_states:
            reference = fixed_point(arch, params, images[start:start + m])
            for l, (value, error) in enumerate(states):
                h = reference[l][:, None, :]
                scale = np.linalg.norm(h, axis=-1)
                value_distance[l] += np.sum(
                    np.linalg.norm(decode(value) - h, axis=-1) / scale, axis=0)
                error_norm[l] += np.sum(
                    np.linalg.norm(decode(error), axis=-1) / scale, axis=0)
        if not np.all(np.isfinite(outputs[start:start + m])):
            raise FloatingPointError(
                f"spiking inference: non-finite outputs for images "
                f"{start}..{start + m - 1}")
        if progress:
            print(f"spiking inference {start + m}/{n} images "
                  f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    count_mean = count_sum / n
    result = {
        "times": dt * np.arange(1, n_steps + 1),
        "outputs": outputs,
        "spikes": {label: count_mean[:, 2 * k] for k, label in enumerate(labels)},
        "synops": {label: count_mean[:, 2 * k + 1] for k, label in enumerate(labels)},
        "n_neurons": {label: int(pops[label].n_neurons) for label in labels},
        "fan_out": {label: float(counts[label].mean()) for label in labels},
        "neurons_total": int(sum(pops[label].n_neurons for label in labels)),
        "seconds": {"build": build_seconds, "total": time.perf_counter() - t0},
        "backend": backend,
    }
    if record_states:
        result["value_distance"] = value_distance / n
        result["error_norm"] = error_norm / n
    return result
