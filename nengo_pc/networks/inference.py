"""Running the predictive-coding network on data sets: classification in NengoDL.

`settled_outputs` and `classify` run `~nengo_pc.networks.PredictiveCodingNetwork` in
``nengo_dl.Simulator`` with the output free, every image from rest for a fixed
settle time (a feedforward sweep, then free PC inference). `fixed_point` is the
rate network's fixed point with the output free, the feedforward values.
`padded_batches`, `data_nodes` and `configure_inference` are what every NengoDL run
of the network (here, `nengo_pc.networks.spiking`, online learning) shares.
"""

import math
import numbers
import sys
import time
import warnings

import nengo
import numpy as np

from nengo_pc.arch import VALUE_TAU
from nengo_pc.networks.modes import ModeSchedule
from nengo_pc.networks.pc import PredictiveCodingNetwork
from nengo_pc.rates import activation_function


def check_positive(name, value):
    """``value`` as a float if it is a finite number > 0, else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: must be a finite number > 0, got {value!r}")
    return float(value)


def check_int(name, value, low):
    """``value`` as an int if it is an integer >= ``low``, else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name}: must be an integer >= {low}, got {value!r}")
    return int(value)


def check_images(images, arch):
    """``images`` as an array of shape ``(N >= 1, arch.sizes[0])``, finite."""
    images = np.asarray(images)
    if images.ndim != 2 or images.shape[1] != arch.sizes[0] or len(images) == 0:
        raise ValueError(
            f"images: expected shape (N >= 1, {arch.sizes[0]}), got {images.shape}")
    if not np.all(np.isfinite(images)):
        raise ValueError("images: contain non-finite values")
    return images


def check_sweep_time(sweep_time, total, total_name):
    """``sweep_time`` if it is a number in [0, total], else a ValueError."""
    if isinstance(sweep_time, bool) or not isinstance(sweep_time, numbers.Real) \
            or not 0 <= sweep_time <= total:
        raise ValueError(f"sweep_time: must be a number in [0, {total_name}={total}], "
                         f"got {sweep_time!r}")
    return float(sweep_time)


def padded_batches(images, batch_size):
    """Split ``images`` into whole minibatches, as NengoDL needs them.

    Yields ``(start, m, batch)``: the first index, the number of real images and a
    batch of exactly ``batch_size`` rows (the last one padded with zeros, whose
    outputs the caller drops).
    """
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size]
        m = len(batch)
        if m < batch_size:
            batch = np.concatenate(
                [batch, np.zeros((batch_size - m,) + batch.shape[1:], batch.dtype)])
        yield start, m, batch


def data_nodes(net):
    """Nodes NengoDL can feed, driving the network's `input` and `target`.

    The network's `input` and `target` are passthrough nodes (to connect to, like
    every Nengo network's); NengoDL feeds data only to nodes without inputs, so
    these ``(images, targets)`` nodes (zeros when not fed) drive them, with no
    synapse.
    """
    with net:
        images = nengo.Node(np.zeros(net.input.size_in), label="images")
        targets = nengo.Node(np.zeros(net.target.size_in), label="targets")
        nengo.Connection(images, net.input, synapse=None)
        nengo.Connection(targets, net.target, synapse=None)
    return images, targets


def configure_inference(net, inference_only=True, keep_history=False):
    """NengoDL settings for running ``net`` on minibatches of images.

    Every call starts from rest (``stateful=False``). NengoDL's default operator
    merging makes this network 10-20 times slower (measured: 270 vs 16 ms per step
    for 784-256-256-10, batch 100), so it is off.
    """
    import nengo_dl  # pylint: disable=import-outside-toplevel
    from nengo_dl import graph_optimizer  # pylint: disable=import-outside-toplevel

    with net:
        nengo_dl.configure_settings(
            stateful=False, keep_history=keep_history, inference_only=inference_only,
            planner=graph_optimizer.noop_planner,
            sorter=graph_optimizer.noop_order_signals,
        )


def fixed_point(arch, params, images):
    """The rate-mode fixed point with the output free: the feedforward values.

    Parameters
    ----------
    arch : Architecture
    params : Params
    images : ndarray
        Shape ``(N, arch.sizes[0])``.

    Returns
    -------
    list of ndarray
        ``[h_1, ..., h_L]``, each ``(N, sizes[l])``: the values x_l (pre-activations,
        through the exact rate curve of `nengo_pc.rates.activation_function`) at
        which every error is zero.
    """
    f = activation_function(arch)
    h, values = np.asarray(images, dtype=np.float64), []
    for i, (w, b) in enumerate(zip(params.weights, params.biases)):
        h = (h if i == 0 else f(h)) @ np.asarray(w, np.float64) + np.asarray(b, np.float64)
        values.append(h)
    return values


def settled_outputs(arch, params, images, *, settle_time=0.2, sweep_time=0.15, dt=0.001,
                    tau=VALUE_TAU, batch_size=100, output_precision=1.0,
                    feedback="transpose", seed=0, progress=False):
    """Output values of the PC network after settling on each image, output free.

    Builds a `PredictiveCodingNetwork` and runs it in ``nengo_dl.Simulator`` (rate
    mode), every image from rest (all values zero) for ``round(settle_time / dt)``
    steps: mode ``"sweep"`` for the first ``sweep_time`` seconds (top-down feedback
    inhibited, so each value follows its prediction and the network reaches the
    feedforward pass in a few tau per layer), then mode ``"free"`` (full PC
    inference with the output free) for the rest; returns x_L at the last step.
    The feedforward pass is the one fixed point of both modes, so the second phase
    holds it; with ``sweep_time=0`` the network settles by PC inference alone,
    which with trained weights needs thousands of steps.

    Parameters
    ----------
    arch : Architecture
    params : Params
    images : ndarray
        Shape ``(N, arch.sizes[0])``.
    settle_time : float
        Simulated seconds per image (> 0).
    sweep_time : float
        Seconds of the initial feedforward sweep (0 <= sweep_time <= settle_time).
    dt : float
        Simulator time step in seconds (> 0).
    tau, output_precision, feedback
        As for `PredictiveCodingNetwork`.
    batch_size : int
        Images per simulator call (the minibatch size).
    seed : int
        Network and simulator seed.
    progress : bool
        Print one line per simulator call to stderr.

    Returns
    -------
    ndarray
        Shape ``(N, arch.sizes[-1])``.
    """
    import nengo_dl  # pylint: disable=import-outside-toplevel

    images = check_images(images, arch)
    check_positive("settle_time", settle_time)
    sweep_time = check_sweep_time(sweep_time, settle_time, "settle_time")
    check_positive("dt", dt)
    batch_size = check_int("batch_size", batch_size, 1)
    n_steps = max(1, int(round(settle_time / dt)))
    net = PredictiveCodingNetwork(
        arch, params, tau=tau, output_precision=output_precision, feedback=feedback,
        seed=seed, label="pc classifier",
        mode=ModeSchedule([("sweep", sweep_time), ("free", settle_time)], dt=dt))
    feed, _ = data_nodes(net)
    configure_inference(net)
    n = len(images)
    batch_size = min(batch_size, n)
    outputs = np.zeros((n, arch.sizes[-1]))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No GPU support detected")
        with nengo_dl.Simulator(net, dt=dt, minibatch_size=batch_size, seed=seed,
                                progress_bar=False) as sim:
            for start, m, batch in padded_batches(images, batch_size):
                x = np.repeat(batch[:, None, :], n_steps, axis=1)
                out = sim.predict_on_batch({feed: x})
                outputs[start:start + m] = out[net.output_probe][:m, -1]
                if progress:
                    print(f"settled {start + m}/{n} images "
                          f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr,
                          flush=True)
    return outputs


def classify(arch, params, images, **kwargs):
    """Predicted labels of the PC network with the output free.

    The argmax of `settled_outputs` (same arguments).

    Returns
    -------
    ndarray of int
        Shape ``(N,)``.
    """
    return np.argmax(settled_outputs(arch, params, images, **kwargs), axis=1)
