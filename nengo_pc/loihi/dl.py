"""Loihi's neurons in NengoDL: the Loihi-prepared networks run fast, each image from rest.

nengo-loihi's `LoihiLIF` and `LoihiSpikingRectifiedLinear` reproduce Loihi's neuron
discretisation (whole-step inter-spike intervals, the refractory period and
``tau_rc`` rounded to steps) in any simulator; NengoDL builds them with the builders
of nengo-extras >= 0.5 (``nengo_extras.loihi_training``: spiking for
``predict``, and for training Loihi's rate curve forwards with the LIF (soft-LIF)
curve's gradient). `require_dl_builders` installs them, the one place that does.

The networks are those the emulator runs (`nengo_pc.loihi.presentation_network`,
`nengo_pc.loihi.pc.LoihiPCNetwork`) with float weights, so comparing exact
neurons, Loihi's neurons and the emulator splits the emulator's drop into neuron
discretisation and the rest (weight and voltage quantisation, and the emulator's
continuous presentation). Each minibatch item starts from rest (voltages 0), or,
with ``chunk``, shows ``chunk`` images one after another as the emulator does.
"""

import sys
import warnings

import numpy as np

from nengo_pc.loihi import INPUT_RATE, require_nengo_loihi


def require_dl_builders():
    """Install NengoDL's builders of nengo-loihi's neuron types (nengo-extras').

    Raises ImportError naming the extra when nengo-loihi or nengo-extras is missing
    (nengo-loihi would otherwise fail only when NengoDL builds the network).
    """
    require_nengo_loihi()
    try:
        import nengo_extras.loihi_training  # noqa: F401
    except ImportError:
        from nengo_pc.loihi import INSTALL_HINT

        raise ImportError("nengo-extras>=0.5 is not installed (NengoDL builds "
                          f"nengo-loihi's neurons with its builders): {INSTALL_HINT}"
                          ) from None
    import nengo_dl
    from nengo_extras.loihi_training import LoihiLIFBuilder
    from nengo_loihi.neurons import LoihiLIF, install_dl_builders

    install_dl_builders()
    if nengo_dl.neuron_builders.SimNeuronsBuilder.TF_NEURON_IMPL.get(LoihiLIF) \
            is not LoihiLIFBuilder:
        raise ImportError("nengo-loihi did not find nengo-extras' builders (it was "
                          "imported before nengo-extras was installed?)")


def loihi_lif(lif):
    """`nengo_loihi.LoihiLIF` with the constants of ``lif`` (anything with
    ``tau_rc``, ``tau_ref``, ``amplitude``, e.g. ``arch.lif``); voltage starts at 0."""
    from nengo_loihi.neurons import LoihiLIF

    return LoihiLIF(tau_rc=lif.tau_rc, tau_ref=lif.tau_ref, amplitude=lif.amplitude)


def loihi_relu(amplitude):
    """`nengo_loihi.LoihiSpikingRectifiedLinear` of ``amplitude``."""
    from nengo_loihi.neurons import LoihiSpikingRectifiedLinear

    return LoihiSpikingRectifiedLinear(amplitude=amplitude)


def loihi_rate_curve(lif, dt=0.001):
    """Loihi's LIF rate curve of input current ``j`` (gain 1, bias 0), times
    ``lif.amplitude``: ``nengo_loihi.neurons.loihi_lif_rates`` (whole-step
    inter-spike intervals), for `nengo_pc.rates.forward`'s ``activation``."""
    import nengo
    from nengo_loihi.neurons import loihi_lif_rates

    neuron = nengo.LIF(tau_rc=lif.tau_rc, tau_ref=lif.tau_ref)

    def curve(j):
        j = np.asarray(j, dtype=np.float64)
        rates = loihi_lif_rates(neuron, j.reshape(-1), 1.0, 0.0, dt).reshape(j.shape)
        return rates * lif.amplitude

    return curve


def run_batches(net, images, n_steps, probes, batch_size=100, chunk=1, dt=0.001,
                seed=0, progress=False):
    """Run ``net`` in NengoDL on ``images``, ``n_steps`` each, from rest.

    Each minibatch item shows ``chunk`` consecutive images one after another
    (``n_steps`` each) to ``net.input``, starting from the network's initial state;
    ``progress`` prints the images done after each minibatch (stderr).

    Returns
    -------
    list of ndarray
        Per probe, ``(n_images, n_steps, size)``.
    """
    import nengo_dl

    from nengo_pc.networks.inference import padded_batches

    images = np.asarray(images, dtype=np.float32)
    n = len(images)
    pad = (-n) % chunk
    if pad:
        images = np.concatenate([images, np.zeros((pad,) + images.shape[1:], images.dtype)])
    items = images.reshape(-1, chunk, images.shape[-1])
    batch_size = max(1, min(batch_size, len(items)))
    with net:
        nengo_dl.configure_settings(stateful=False)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # Nengo derives LIF max rates from gain 1 / bias 0 (unused)
        warnings.simplefilter("ignore")
        sim = nengo_dl.Simulator(net, dt=dt, minibatch_size=batch_size,
                                 progress_bar=False, seed=seed)
    outs = [[] for _ in probes]
    with sim:
        for start, m, batch in padded_batches(items, batch_size):
            x = np.repeat(batch, n_steps, axis=1)  # (batch, chunk * n_steps, d)
            out = sim.predict_on_batch({net.input: x})
            for k, probe in enumerate(probes):
                outs[k].append(out[probe][:m].reshape(m * chunk, n_steps, -1))
            if progress:
                print(f"NengoDL: {min(start + m, len(items)) * chunk}/{n} images",
                      file=sys.stderr, flush=True)
    return [np.concatenate(o)[:n] for o in outs]


def feedforward_logits(arch, params, images, presentation, loihi_neurons=False,
                       input_rate=INPUT_RATE, batch_size=100, seed=0, progress=False):
    """The Loihi-prepared soft-LIF network in NengoDL, each image from rest.

    `nengo_pc.loihi.presentation_network` (off-chip input layer, Lowpass or no
    synapses, voltages starting at 0) with `nengo.LIF` or, with ``loihi_neurons``,
    `nengo_loihi.LoihiLIF` hidden neurons.

    Returns
    -------
    dict
        ``logits`` (read after `nengo_pc.loihi.settle_steps`, as the emulator's
        runs) and ``logits_whole_window``.
    """
    from nengo_pc.loihi import presentation_network, settle_steps

    if loihi_neurons:
        require_dl_builders()
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        net = presentation_network(arch, params, np.asarray(images[:1]), presentation,
                                   input_rate, neuron_type=loihi_lif if loihi_neurons
                                   else None, probe_spikes=False, seed=seed)
    (out,) = run_batches(net, images, presentation.n_steps, [net.probe], batch_size,
                         dt=presentation.dt, seed=seed, progress=progress)
    skip = settle_steps(presentation, arch.n_layers)
    return {"logits": presentation.read(out[:, skip:]),
            "logits_whole_window": presentation.read(out)}


def pc_logits(arch, params, amplitudes, images, n_steps, loihi_neurons=False, chunk=1,
              batch_size=100, seed=0, progress=False, **network_options):
    """Window-readout logits of `nengo_pc.loihi.pc.LoihiPCNetwork` in NengoDL.

    Parameters
    ----------
    loihi_neurons : bool
        Pairs as `nengo_loihi.LoihiSpikingRectifiedLinear`, activities as
        `nengo_loihi.LoihiLIF` (default: the network's exact Nengo neurons).
    chunk : int
        Images shown one after another in a minibatch item (1: each from rest;
        the emulator's runs show 50).
    network_options
        Passed to `LoihiPCNetwork` (``tau``, ``synapse_tau``, ...).

    Returns
    -------
    ndarray
        ``(n_images, n_out)``: x_L averaged over the second half of each image's
        steps (the ``"window"`` readout, as `nengo_pc.loihi.pc_running.run_pc`).
    """
    from nengo_pc.loihi.pc import LoihiPCNetwork

    if loihi_neurons:
        require_dl_builders()
        network_options.update(pair_neuron_type=loihi_relu, activity_neuron_type=loihi_lif)
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        net = LoihiPCNetwork(arch, params, amplitudes, seed=seed, **network_options)
    outs = run_batches(net, images, n_steps, net.output_probes, batch_size, chunk,
                       seed=seed, progress=progress)
    parts = []
    for spikes in outs:
        m = spikes.shape[-1] // 2
        parts.append(spikes[..., :m] - spikes[..., m:])
    return np.concatenate(parts, axis=-1)[:, n_steps // 2:].mean(axis=1)


def training_network(arch, params, seed=0):
    """The `FeedforwardNetwork` that `fine_tune` trains: `nengo_loihi.LoihiLIF`
    hidden neurons, NengoDL configured as the project trains LIF networks
    (`nengo_pc.networks.feedforward.configure_nengo_dl`), one step an image."""
    from nengo_pc.networks.feedforward import FeedforwardNetwork, configure_nengo_dl

    require_dl_builders()
    net = FeedforwardNetwork(arch, params, seed=seed, spiking=True)
    for layer in net.layers:
        layer.neuron_type = loihi_lif(arch.lif)
    configure_nengo_dl(net, one_step=True)
    return net


def fine_tune(arch, params, images, labels, epochs=1, learning_rate=1e-4,
              batch_size=100, seed=0, verbose=0):
    """Train a soft-LIF network further with `nengo_loihi.LoihiLIF` neurons in NengoDL.

    Rate-mode training as the project's NengoDL training of LIF networks, on
    `training_network`, through nengo-extras' LoihiLIF builder: the forward pass
    uses Loihi's rate curve (whole-step intervals), the gradient the soft-LIF curve
    with the refractory period lengthened by half a step (the mean of Loihi's
    staircase). Adam, cross-entropy on the logits, the images shuffled each epoch,
    whole minibatches only.

    Returns
    -------
    Params
        The trained parameters (for the same `FeedforwardNetwork`, exact or Loihi
        neurons).
    """
    import nengo_dl
    import tensorflow as tf

    from nengo_pc.training.backends import quiet_build

    net = training_network(arch, params, seed)
    with quiet_build():
        sim = nengo_dl.Simulator(net, minibatch_size=batch_size, seed=seed,
                                 progress_bar=False)
    with sim:
        sim.compile(optimizer=tf.keras.optimizers.Adam(learning_rate),
                    loss={net.probe: tf.losses.SparseCategoricalCrossentropy(
                        from_logits=True)})
        n = len(images) - len(images) % batch_size
        sim.fit({net.input: np.asarray(images[:n], np.float32)[:, None]},
                {net.probe: np.asarray(labels[:n])[:, None, None]},
                epochs=epochs, shuffle=True, verbose=verbose)
        with quiet_build():
            return net.params_from(sim)
