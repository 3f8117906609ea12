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


def hidden_rates(arch, params, x):
    """Mean firing rate in Hz of every hidden layer of a LIF network (rate mode).

    The rate curve is what the spiking neurons realise on average, so this is the
    expected spike count per second; ``amplitude`` is divided out.

    Returns
    -------
    list of float
        One mean rate per hidden layer, averaged over neurons and images.
    """
    from nengo_pc.rates import forward

    if arch.activation != "lif":
        raise ValueError(f"arch: firing rates need 'lif' neurons, got {arch.activation!r}")
    _, hidden = forward(arch, params, x, return_hidden=True)
    return [float(h.mean() / arch.lif.amplitude) for h in hidden]


def inference_cost(arch, layer_rates, seconds, dt, input_rate=None):
    """Synaptic operations, neuron updates and energy of one spiking inference.

    Parameters
    ----------
    arch : Architecture
    layer_rates : list of float
        Mean firing rate (Hz) of each hidden layer.
    seconds : float
        Presentation time per image.
    dt : float
        Time step; non-spiking inputs are applied every step.
    input_rate : float, optional
        Mean rate (Hz) of Poisson input spikes; ``None`` means the first layer is
        driven by constant currents (a dense product every step).

    Returns
    -------
    dict
        ``synops`` (spike-driven synaptic operations), ``dense_input_ops`` (MACs of a
        constant-current first layer), ``neuron_updates``, ``spikes`` and
        ``energy_joules`` per device in `SYNOP_ENERGY`, plus ``ann_macs`` (one rate-mode
        pass) and its energy on CPU/GPU for comparison.
    """
    n_steps = int(round(seconds / dt))
    shapes = arch.layer_shapes
    spikes = [rate * n_out * seconds for rate, (_, n_out) in zip(layer_rates, shapes)]
    synops = sum(s * fan_out for s, (_, fan_out) in zip(spikes, shapes[1:]))
    n_in, n_first = shapes[0]
    if input_rate is None:
        dense_input = n_in * n_first * n_steps
    else:
        synops += input_rate * n_in * seconds * n_first
        dense_input = 0
    neuron_updates = sum(n_out for _, n_out in shapes[:-1]) * n_steps
    ann_macs = sum(a * b for a, b in shapes)
    energy = {}
    for device, joules in SYNOP_ENERGY.items():
        ops = synops + dense_input
        energy[device] = ops * joules + neuron_updates * NEURON_UPDATE_ENERGY.get(device, 0)
    return {
        "spikes": float(sum(spikes)),
        "synops": float(synops),
        "dense_input_ops": float(dense_input),
        "neuron_updates": float(neuron_updates),
        "energy_joules": energy,
        "ann_macs": float(ann_macs),
        "ann_energy_joules": {d: ann_macs * SYNOP_ENERGY[d] for d in ("cpu", "gpu")},
    }
