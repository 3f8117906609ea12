"""How faithfully the spiking network's learning updates follow the rate network's.

`train_online` takes the local rule's products (presynaptic activity times
postsynaptic error) from spikes when ``spiking=True``. Spike counts are integers, so
a signal carried by few spikes is carried coarsely: a signed pair of amplitude ``a``
fires ``|e| / a`` spikes per second for an error ``e``, and over a 30 ms learning
window an error of 0.003 at ``a = 2e-4`` is ~0.5 spike. As a network learns, its
errors shrink, and so does the number of spikes that carry them.

`update_fidelity` measures that directly: from the same parameters, over the same
images, it compares the update the spiking network's rule makes with the one the
same network makes in rate mode (no spikes and no synapses, see
`~nengo_pc.pc.online.network_options`; the rate network learns as the vectorised
rule does), per parameter, as the cosine of the angle between the two and the ratio
of their norms.
The rate network has no synapses, so the spiking network differs from it in two ways:
spikes and synaptic delays. A third run, the rate network with the spiking network's
synapse, separates them (``"synaptic"`` in the result).
The updates are read off as the change of the parameters over ``n_samples`` images at
a learning rate (`PROBE_LEARNING_RATE`) small enough that the parameters stay put to
first order, so the change is the sum of the per-minibatch updates at the given
parameters; the change is taken from `train_online`'s checkpoint, the float32 weights
the simulator holds (their rounding is ~1e-3 of the change, below what the cosines
resolve).
"""

import tempfile
from pathlib import Path

import numpy as np

from nengo_pc.networks.feedforward import as_synapse
from nengo_pc.params import Params, load_params
from nengo_pc.pc.online import OnlineConfig, train_online

#: Learning rate of the probing runs: the parameters move by ~1e-6 of their size.
PROBE_LEARNING_RATE = 1e-4


def parameter_names(arch):
    """``["W1", ..., "WL", "b1", ..., "bL"]``: the order `update_fidelity` reports."""
    layers = range(1, arch.n_layers + 1)
    return [f"W{l}" for l in layers] + [f"b{l}" for l in layers]


def _update(arch, params, train, spiking, amplitude, *, n_samples, batch_size, seed,
            online_kwargs):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "probe.npz"
        train_online(arch, train, params=params, spiking=spiking, amplitude=amplitude,
                     learning_rate=PROBE_LEARNING_RATE, lr_decay_samples=None,
                     batch_size=batch_size, n_samples=n_samples, seed=seed,
                     checkpoint_path=path, progress=False, **online_kwargs)
        _, after, _ = load_params(path)
    before = list(params.weights) + list(params.biases)
    return [np.asarray(a, np.float64) - np.asarray(b, np.float64)
            for a, b in zip(list(after.weights) + list(after.biases), before)]


def _cosine(a, b):
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    return float(np.sum(a * b) / norm) if norm > 0 else None  # undefined: no update


def _compare(update, reference):
    """Cosine and norm ratio, per parameter, of ``update`` to ``reference``."""
    return {"cosine": [_cosine(u, r) for u, r in zip(update, reference)],
            "norm_ratio": [float(np.linalg.norm(u) / np.linalg.norm(r))
                           if np.linalg.norm(r) > 0 else None
                           for u, r in zip(update, reference)]}


def update_fidelity(arch, params, train, amplitudes, *, n_samples=200, batch_size=10,
                    seed=0, **online_kwargs):
    """Compare the spiking rule's update with the rate-mode one at fixed parameters.

    Parameters
    ----------
    arch : Architecture
    params : Params
        The parameters at which to compare (e.g. a `train_online` checkpoint).
    train : Split
        Training images; the runs present the first ``n_samples`` of `train_online`'s
        seeded order, the same images in every run.
    amplitudes : sequence of float
        Pair amplitudes of the spiking runs (signal per spike, > 0).
    n_samples : int
        Images the update is summed over (a multiple of ``batch_size``).
    batch_size : int
    seed : int
        Seed of the data order and of the networks.
    **online_kwargs
        Further `train_online` settings shared by every run (e.g. ``learn_time``,
        ``pre_synapse``); not ``learning_rate``, ``amplitude`` or ``spiking``.

    Returns
    -------
    dict
        ``"parameters"``: the names of `parameter_names`; ``"rate_norm"``: the
        rate-mode update's norm per parameter (per unit learning rate);
        ``"synapse"``: the spiking network's synapse (as text);
        ``"synaptic"``: ``"cosine"`` and ``"norm_ratio"`` (its norm / the rate
        norm) per parameter of the rate network with the spiking network's synapse;
        ``"amplitudes"``: one dict per amplitude with the spiking update's
        ``"cosine"`` and ``"norm_ratio"`` to the rate update, and its
        ``"cosine_to_synaptic"`` (to the synaptic rate update: the spikes' part).
        A cosine or ratio with a zero update is None (JSON null), not NaN.
    """
    if not isinstance(params, Params):
        raise ValueError(f"params: expected a Params, got {type(params).__name__}")
    amplitudes = [float(a) for a in np.atleast_1d(amplitudes)]
    if not amplitudes or not all(np.isfinite(a) and a > 0 for a in amplitudes):
        raise ValueError(f"amplitudes: need one or more numbers > 0, got {amplitudes!r}")
    taken = {"learning_rate", "amplitude", "spiking"} & set(online_kwargs)
    if taken:
        raise ValueError(f"{', '.join(sorted(taken))}: set by update_fidelity itself")
    run = dict(n_samples=n_samples, batch_size=batch_size, seed=seed)
    # rate mode does not depend on the amplitude: its pairs carry exact rates
    rate = _update(arch, params, train, False, amplitudes[0],
                   online_kwargs=online_kwargs, **run)
    # the same rate network with the synapse a spiking run gives its connections
    synapse = online_kwargs.get("synapse", OnlineConfig.synapse)
    network_kwargs = {**(online_kwargs.get("network_kwargs") or {}),
                      "synapse": as_synapse(synapse, "synapse")}
    synapse = network_kwargs["synapse"]
    synaptic = _update(arch, params, train, False, amplitudes[0],
                       online_kwargs={**online_kwargs, "network_kwargs": network_kwargs},
                       **run)
    result = {"parameters": parameter_names(arch),
              "rate_norm": [float(np.linalg.norm(r)) / PROBE_LEARNING_RATE for r in rate],
              "synapse": None if synapse is None else str(synapse),
              "synaptic": _compare(synaptic, rate),
              "amplitudes": []}
    for amplitude in amplitudes:
        spiked = _update(arch, params, train, True, amplitude,
                         online_kwargs=online_kwargs, **run)
        result["amplitudes"].append({
            "amplitude": amplitude, **_compare(spiked, rate),
            "cosine_to_synaptic": _compare(spiked, synaptic)["cosine"]})
    return result
