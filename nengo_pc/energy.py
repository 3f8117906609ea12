"""Firing rates, synaptic operations and energy estimates per inference.

Counting follows keras-spiking's ``ModelEnergy`` convention: on spiking hardware a
synaptic operation (synop) happens when a spike crosses a synapse, so a layer costs
``mean rate x neurons x fan-out x presentation time``; on non-spiking hardware every
connection is computed once per time step (once per image in rate mode).

Energy per synop (and per neuron update) as used by keras-spiking, with its sources:
CPU 8.6 nJ, GPU 0.3 nJ, ARM 0.9 nJ (Degnan et al. 2015); Loihi 23.6 pJ per synop plus
81 pJ per neuron update (Davies et al. 2018); SpiNNaker 13.3 nJ and SpiNNaker 2 450 pJ
per synop (Hoeppner et al. 2019).
"""

#: Joules per synaptic operation.
SYNOP_ENERGY = {
    "cpu": 8.6e-9, "gpu": 0.3e-9, "arm": 0.9e-9,
    "loihi": 23.6e-12, "spinnaker": 13.3e-9, "spinnaker2": 450e-12,
}
#: Joules per neuron update (per neuron per time step); only Loihi's is published.
NEURON_UPDATE_ENERGY = {"loihi": 81e-12}
#: Devices that communicate by spikes.
SPIKING_DEVICES = ("loihi", "spinnaker", "spinnaker2")


import numpy as np


def neuron_rates(arch, params, x, chunk=500):
    """Mean rate-mode firing rate (Hz) of every hidden neuron of a LIF network.

    The rate curve is what the spiking neurons realise on average, so this is the
    expected spike count per second; ``amplitude`` is divided out.

    Parameters
    ----------
    arch : Architecture
        A ``"lif"`` network (dense or convolutional).
    params : Params
    x : ndarray
        Images, shape ``(N, sizes[0])``.
    chunk : int
        Images per forward pass (bounds memory for large conv layers).

    Returns
    -------
    list of ndarray
        One ``(sizes[i],)`` array per hidden layer, averaged over the images.
    """
    from nengo_pc.rates import forward

    if arch.activation != "lif":
        raise ValueError(f"arch: firing rates need 'lif' neurons, got {arch.activation!r}")
    x = np.asarray(x)
    totals = None
    for start in range(0, len(x), chunk):
        _, hidden = forward(arch, params, x[start:start + chunk], return_hidden=True)
        sums = [h.sum(axis=0, dtype=np.float64) for h in hidden]
        totals = sums if totals is None else [t + s for t, s in zip(totals, sums)]
    return [t / len(x) / arch.lif.amplitude for t in totals]


def hidden_rates(arch, params, x):
    """Mean firing rate in Hz of every hidden layer (`neuron_rates` averaged).

    Returns
    -------
    list of float
        One mean rate per hidden layer, averaged over neurons and images.
    """
    return [float(r.mean()) for r in neuron_rates(arch, params, x)]


def inference_cost(arch, layer_rates, seconds, dt, input_rate=None):
    """Synaptic operations, neuron updates and energy of one spiking inference.

    A spike of neuron k of hidden layer i costs ``arch.fan_out(i + 1)[k]`` synops:
    the exact number of synapses it drives, which for convolutions varies at the
    borders and with the stride.

    Parameters
    ----------
    arch : Architecture
        Dense or convolutional.
    layer_rates : list
        Firing rates (Hz) of each hidden layer: per neuron (arrays of shape
        ``(sizes[i + 1],)``, exact, from `neuron_rates`) or one mean per layer
        (floats; exact for dense layers, for convolutions the mean fan-out is used).
    seconds : float
        Presentation time per image.
    dt : float
        Time step; non-spiking inputs are applied every step.
    input_rate : float or ndarray, optional
        Rate (Hz) of Poisson input spikes, one mean or one per input pixel;
        ``None`` means the first layer is driven by constant currents (a dense
        product every step).

    Returns
    -------
    dict
        ``spikes`` (total) and ``spikes_per_layer``, ``synops`` (spike-driven
        synaptic operations), ``dense_input_ops`` (MACs of a constant-current first
        layer), ``neuron_updates``, and ``energy_joules`` per device in
        `SYNOP_ENERGY`, plus ``ann_macs`` (one rate-mode pass) and its energy on
        CPU/GPU for comparison.
    """
    if len(layer_rates) != arch.n_layers - 1:
        raise ValueError(f"layer_rates: expected {arch.n_layers - 1} hidden layers, "
                         f"got {len(layer_rates)}")
    n_steps = int(round(seconds / dt))
    spikes, synops = [], 0.0
    for i, rates in enumerate(layer_rates):
        fan_out = arch.fan_out(i + 1)
        rates = np.broadcast_to(np.asarray(rates, dtype=np.float64), fan_out.shape)
        spikes.append(float(rates.sum() * seconds))
        synops += float(rates @ fan_out) * seconds
    if input_rate is None:
        dense_input = float(arch.n_connections[0]) * n_steps
    else:
        fan_in = arch.fan_out(0)
        rates = np.broadcast_to(np.asarray(input_rate, dtype=np.float64), fan_in.shape)
        synops += float(rates @ fan_in) * seconds
        dense_input = 0.0
    neuron_updates = float(sum(arch.sizes[1:-1])) * n_steps
    ann_macs = float(sum(arch.n_connections))
    energy = {device: (synops + dense_input) * joules
              + neuron_updates * NEURON_UPDATE_ENERGY.get(device, 0.0)
              for device, joules in SYNOP_ENERGY.items()}
    return {
        "spikes": float(sum(spikes)),
        "spikes_per_layer": spikes,
        "synops": synops,
        "dense_input_ops": dense_input,
        "neuron_updates": neuron_updates,
        "energy_joules": energy,
        "ann_macs": ann_macs,
        "ann_energy_joules": {d: ann_macs * SYNOP_ENERGY[d] for d in ("cpu", "gpu")},
    }


def inference_costs(arch, layer_rates, images, presentation):
    """`inference_cost` for constant and for Poisson input, as the benchmarks report it.

    Parameters
    ----------
    arch, layer_rates
        As for `inference_cost`.
    images : ndarray
        The test images; Poisson input fires at ``pixel * PoissonRateCode().max_rate``
        Hz, averaged per pixel over these images.
    presentation : nengo_pc.networks.presentation.Presentation
        Presentation time and step.

    Returns
    -------
    dict
        ``{"constant_input": ..., "poisson_input": ...}``.
    """
    from nengo_pc.processes import PoissonRateCode

    pixel_rates = np.asarray(images, np.float64).mean(axis=0) * PoissonRateCode().max_rate
    return {
        "constant_input": inference_cost(arch, layer_rates, presentation.seconds,
                                         presentation.dt),
        "poisson_input": inference_cost(arch, layer_rates, presentation.seconds,
                                        presentation.dt, input_rate=pixel_rates),
    }
