"""Online learning of the predictive-coding network, spiking, minibatched in NengoDL.

`train_online` trains a `~nengo_pc.pc.network.PredictiveCodingNetwork` from scratch
while it runs in ``nengo_dl.Simulator``: every training image is *presented* to the
network (one simulator call per minibatch of images, every image from rest) with the
schedule

1. ``sweep_time`` in mode ``"sweep"``: the output is free and the top-down feedback
   off, so the values settle to the network's current prediction (the feedforward
   pass);
2. ``settle_time`` in mode ``"clamped"``: the output is pulled to the one-hot target
   and PC inference relaxes the hidden values;
3. ``learn_time`` of learning (still clamped): every prediction connection changes by
   its presynaptic activity times its postsynaptic error, every bias connection by
   the error, as the network's `nengo.PES` rules would.

With ``spiking=True`` the network's signed populations spike (see `network_options`),
and the learning products are taken from the spikes: the presynaptic spike train
filtered by ``pre_synapse`` (as PES's ``pre_synapse``) times the postsynaptic error
decoded from the error population's spikes through the network's synapse.

**Making the spiking rule work** (issue #5). Spiking online learning used to stay
near chance (784-100-10: ~10% after 1,000 images, rate mode 52-80%). Comparing the
update of one minibatch in spiking and in rate mode (same parameters and images)
showed why, and what the defaults now do about it:

1. *The mode gates were filtered.* The network's `inhibit` connections (control
   node -> gate populations) carry the network's ``synapse``, so after the switch
   from ``"sweep"`` to ``"clamped"`` the inhibitory current of 1000 decays as
   ``1000 exp(-t / 2 ms)``: the teacher and the top-down feedback stayed silenced
   for ~14-18 ms of the 20 ms settle, and the hidden errors never formed (the
   spiking W_1 update was 8% of the rate one in norm, cosine 0.06). The control
   node is the experimenter's switch, not a spiking signal, so `train_online` gives
   its connections no synapse (in rate mode they have none anyway); the cosine rose
   to 0.97 and relu 784-100-10 with spiking pairs learned as in rate mode (77.4% vs
   76.7% after 2,000 images).
2. *LIF presynaptic spikes are sparse.* LIF activities fire ~100 Hz, about one
   spike per 10 ms window, so the per-step product pre x error was dominated by
   spike noise (cosine 0.67 to the rate update for W_2 of a lif net).
   ``pre_synapse=0.02`` low-pass filters the presynaptic activity the rule reads
   (cosine 0.92) and
3. a longer learning window, ``learn_time=0.03`` (was 0.01), averages the error and
   the product over 30 steps: cosines 0.97-1.0 for every parameter of lif
   784-100-10, which then learns as in rate mode (74.7% and 74.7% after 2,000
   images).

A longer settle (40 ms) helped less than a longer window (cosine 0.83 vs 0.98 for
W_1). The per-example step is ``learning_rate * learn_time``, so the longer window
also changed what a learning rate means: the default ``learning_rate=0.2`` keeps a
step of 0.006, about the old 0.5 x 0.01 (relu 784-100-10 after 2,000 images: 78.7%
at 0.2, 72.6% at 0.5; a step of 0.045 is unstable for relu, whose first layer sees
the whole image, |x|^2 ~ 100).

4. *Late in training the errors are small, and so are their spike counts.* A pair of
   ``amplitude`` a fires |e| / a spikes per second; as the network learns, the hidden
   errors shrink until they are carried by a fraction of a spike per learning window.
   `nengo_pc.pc.update_fidelity` measures it: for 784-500-10 at the vectorised
   rule's parameters after 140,000 MNIST images, the spiking W_1 update has cosine
   0.897 to the rate one at ``amplitude=2e-4`` (0.999 at initialisation) and 0.974 at
   5e-5, where the 2 ms synapse alone gives 0.978. A six-epoch run at 2e-4 fell 0.3-1.7
   points behind the rule; at 5e-5 it kept level with it, passed 97% after 200,000
   images and ended at 97.02% after six epochs, its spiking network classifying 96.91%
   of the test set (``results/bench_spiking_pc_online_long*.json``). The default
   stays 2e-4, at which the short runs and the tests were measured; long runs want
   5e-5.

**Why the rule is not `nengo.PES` inside NengoDL.** NengoDL 3.6 runs PES with
``minibatch_size > 1``, but it gives every minibatch item its *own copy* of the
learned weights (``tensor_graph.mark_signals`` makes every signal a learning rule
modifies minibatched, "to learn independently in each minibatch"): the items never
combine their updates, and ``sim.data[conn].weights`` has shape ``(batch, post,
pre)``. Besides not being minibatch learning, the per-item copies are slow: a
784-256-10 spiking network took 250 ms per step at batch 100 with PES (2.5 ms per
image-step) against 10 ms without (0.1 ms per image-step). Here the network is
therefore built without PES rules (shared, non-minibatched weights) and the same
local rule is applied by this module: over the learning phase of each presentation
it sums, over the minibatch and the phase's steps,

    dW_l = learning_rate * dt * sum_{b, t} a_{l-1}(b, t)^T e~_l(b, t),
    db_l = learning_rate * dt * sum_{b, t} e~_l(b, t),

with a_{l-1} the presynaptic activity of the prediction connection (the input for
l = 1, f(x_{l-1}) otherwise), e~_l = e_l / gamma for hidden layers and e~_L = e_L
(gamma the output precision), exactly the per-step change the network documents for
its PES rules. Each example thus changes the weights by what PES would have changed
them by on its own; the minibatch only delays the change to the end of the call
(as PES's change reaches the weights one step late). Every quantity in the update is
local to its connection: presynaptic activity and postsynaptic error. The new
parameters are written into the simulator's connection weights before the next
minibatch.

With ``feedback="transpose"`` the feedback connections (which carry e_l back to
layer l - 1 through B_l, initially a copy of W_l) learn by the same local product
(their presynaptic e_l times the activity a_{l-1} at their target), so B_l stays
equal to W_l: the symmetric learning that PC assumes. With ``feedback="random"``
B_l is fixed and random (feedback alignment).

**Evaluation.** A PC network whose output is free settles to the feedforward pass
(every error is zero there), so the learned parameters are evaluated on
``eval_split`` with `nengo_pc.rates.forward` -- the fixed point of the free network in
rate mode. ``eval_spiking > 0`` also classifies that many ``eval_split`` images with
the spiking network itself (mode ``"sweep"`` then ``"free"``, output averaged over the
last ``average_time``).
"""

import dataclasses
import inspect
import json
import math
import numbers
import time
import warnings
from pathlib import Path

import nengo
import numpy as np

from nengo_pc.arch import Architecture, Params, init_params, load_params, save_params
from nengo_pc.rates import forward
from nengo_pc.training.loop import SampleStream
from nengo_pc.training.evaluation import check_split, log_progress

#: Ways of feeding the input image to the network.
INPUT_CODINGS = ("constant", "poisson")

#: Feedback schemes (see `train_online`).
FEEDBACK = ("transpose", "random")


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: must be a finite number > 0, got {value!r}")
    return float(value)


def _nonnegative(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}: must be a finite number >= 0, got {value!r}")
    return float(value)


def _integer(name, value, low, optional=False):
    if optional and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name}: must be an integer >= {low}, got {value!r}")
    return int(value)


def _synapse(name, value):
    """None, a time constant in seconds (a `nengo.Lowpass`) or a nengo Synapse."""
    if value is None or isinstance(value, nengo.synapses.Synapse):
        return value
    return nengo.Lowpass(_positive(name, value))


def network_options(arch, spiking, amplitude=0.002, synapse=0.002):
    """Keyword arguments making `PredictiveCodingNetwork` spike (or not).

    The network decides what spiking means for ``arch``: if it has a ``spiking``
    switch that accepts the architecture's activation (``"lif"``: LIF activities,
    spiking pairs), that switch is used. Otherwise (e.g. ``"relu"``, whose
    activities have no spiking neuron in the network) only the signed pair
    populations spike, as `nengo.SpikingRectifiedLinear` neurons, and the
    activities stay rate neurons: a mixed network. Either way the pairs fire at
    ``|z| / amplitude`` Hz for a signal z and the connections get ``synapse``.

    Parameters
    ----------
    arch : Architecture
    spiking : bool
    amplitude : float
        Signal carried by one spike of a pair neuron (> 0).
    synapse : float or nengo.synapses.Synapse or None
        Connection synapse of a spiking network (time constant in seconds).

    Returns
    -------
    options : dict
        Keyword arguments for `PredictiveCodingNetwork`.
    kind : str
        ``"rate"``, ``"spiking"`` (the network's spiking mode) or ``"spiking pairs"``
        (the mixed network).
    """
    from nengo_pc.networks import pc as network  # noqa: PLC0415

    if not spiking:
        return {}, "rate"
    options = {"synapse": _synapse("synapse", synapse),
               "pair_neuron_type": nengo.SpikingRectifiedLinear(
                   amplitude=_positive("amplitude", amplitude))}
    # relu runs keep rate activities (spiking pairs), as measured
    supported = ("lif", "linear")
    if "spiking" in inspect.signature(network.PredictiveCodingNetwork).parameters \
            and arch.activation in supported:
        options["spiking"] = True
        return options, "spiking"
    return options, "spiking pairs"


@dataclasses.dataclass
class OnlineResult:
    """What `train_online` returns.

    Attributes
    ----------
    params : Params
        The learned parameters (read back from the simulator).
    history : list of dict
        One entry per evaluation, in order of ``samples`` (training images presented
        so far, 0 for the initial parameters): ``samples``, ``seconds`` (training
        time so far, evaluations excluded), ``accuracy`` (rate-mode feedforward
        accuracy on ``eval_split``, the free network's fixed point),
        ``train_accuracy`` (fraction of the images presented since the previous
        entry that the network classified correctly at the end of their sweep
        phase, i.e. before learning from them; None at 0 and without a sweep) and, with
        ``eval_spiking``, ``spiking_accuracy`` and ``spiking_agreement`` (fraction
        of those images on which the spiking network and the feedforward pass
        agree).
    config : dict
        Every setting of the run (JSON-serialisable).
    build_seconds : float
        Time to build the network and simulator.
    train_seconds : float
        Time spent presenting training images and updating weights.
    eval_seconds : float
        Time spent evaluating.
    final_spiking : dict or None
        With ``final_eval_spiking``: the spiking network's own classification of
        that many ``eval_split`` images after training, ``samples`` (training images
        seen), ``n`` (images classified), ``accuracy``, ``agreement`` (with the
        feedforward pass) and ``seconds``.
    """

    params: Params
    history: list
    config: dict
    build_seconds: float
    train_seconds: float
    eval_seconds: float
    final_spiking: dict = None


class _WeightWriter:
    """Writes parameters into the live connection weights of a NengoDL simulator.

    The network is built without learning rules, so its weights are shared by the
    minibatch (not minibatched) and live in the simulator's base-parameter
    variables; this replaces the rows of one connection's weight signal.
    """

    def __init__(self, sim):
        import tensorflow as tf  # noqa: PLC0415

        self.tf = tf
        self.sim = sim

    def write(self, conn, value):
        graph = self.sim.tensor_graph
        sig = graph.signals[self.sim.model.sig[conn]["weights"]]
        if sig.minibatched:
            raise RuntimeError(
                f"{conn}: the weights are minibatched (a learning rule on the "
                f"connection?); train_online needs a network without PES rules"
            )
        base = graph.base_params[sig.key]
        value = np.asarray(value, dtype=base.dtype.as_numpy_dtype).reshape(sig.shape)
        base.scatter_update(self.tf.IndexedSlices(value, sig.tf_indices))


def _pair_decoder(n):
    eye = np.eye(n)
    return np.hstack([eye, -eye])


class _Layout:
    """Connection transforms of a `PredictiveCodingNetwork` as functions of params.

    Mirrors the transforms the network documents (prediction ``-[W^T; -W^T]`` after
    the pair decoder ``D = [I, -I]`` when the presynaptic population is a pair
    population, bias ``-[b; -b]``, feedback ``[c; -c]`` with ``c = scale * B D``).
    `check` compares them with a freshly built simulator, so that a change of the
    network's wiring is reported rather than silently mis-trained.
    """

    def __init__(self, net):
        self.net = net
        self.arch = net.arch
        self.gamma = net.output_precision

    def pairs_pre(self, l):
        return self.net.activities[l - 1] is None

    def prediction(self, l, w):
        wt = np.asarray(w, np.float64).T
        if self.pairs_pre(l):
            # -[W^T; -W^T] @ [I, -I], without the matrix product
            return np.block([[-wt, wt], [wt, -wt]])
        return np.vstack([-wt, wt])

    @staticmethod
    def bias(b):
        b = np.asarray(b, np.float64)
        return -np.concatenate([b, -b])[:, None]

    def feedback(self, l, back):
        scale = self.gamma if l == self.arch.n_layers else 1.0
        c = scale * np.asarray(back, np.float64) @ _pair_decoder(self.arch.sizes[l])
        return np.vstack([c, -c])

    def check(self, sim, params):
        net = self.net
        for l in range(1, self.arch.n_layers + 1):
            pairs = [
                (net.prediction_connections[l], self.prediction(l, params.weights[l - 1])),
                (net.bias_connections[l], self.bias(params.biases[l - 1])),
            ]
            if net.feedback_connections[l] is not None:
                pairs.append((net.feedback_connections[l],
                              self.feedback(l, net.feedback_matrix(l))))
            for conn, expected in pairs:
                got = np.asarray(sim.data[conn].weights)
                if got.shape != expected.shape or not np.allclose(
                        got, expected, rtol=1e-5, atol=1e-6 * np.abs(expected).max()):
                    raise RuntimeError(
                        f"{conn}: the network's connection weights do not have the "
                        f"layout train_online writes (shape {got.shape}, expected "
                        f"{expected.shape}); nengo_pc.pc.network has changed and "
                        f"nengo_pc.pc.online._Layout needs updating"
                    )


def _one_hot(labels, n):
    return np.eye(n, dtype=np.float32)[labels]


def _poisson_input(images, n_steps, dt, max_rate, rng):
    """Poisson spike trains of the images, scaled so that their mean is the image.

    The spikes of `nengo_pc.processes.PoissonRateCode` (count ~ Poisson(x max_rate dt)
    per step), drawn here in numpy for the whole minibatch at once (NengoDL would
    call a Python step function per item and step), and divided by
    ``max_rate * dt`` instead of ``dt`` so that they average to the intensity x the
    network expects.
    """
    expected = np.repeat(images[:, None, :] * (max_rate * dt), n_steps, axis=1)
    return (rng.poisson(expected) / (max_rate * dt)).astype(np.float32)


def training_arrays(train, arch):
    """``(inputs, targets, labels)`` of a training set for `train_online`.

    ``train`` is a data Split (targets None: one-hot of the labels) or an
    ``(inputs, targets)`` tuple for regression (labels None).
    """
    if not isinstance(arch, Architecture):
        raise ValueError(f"arch: expected an Architecture, got {type(arch).__name__}")
    if isinstance(train, tuple) and len(train) == 2:
        train_x = np.asarray(train[0], np.float32)
        train_y = np.asarray(train[1], np.float32)
        if train_x.ndim != 2 or train_x.shape[1] != arch.sizes[0] \
                or train_y.shape != (len(train_x), arch.sizes[-1]):
            raise ValueError(
                f"train: expected inputs (N, {arch.sizes[0]}) and targets "
                f"(N, {arch.sizes[-1]}), got {train_x.shape} and {train_y.shape}")
        return train_x, train_y, None
    if hasattr(train, "images") and hasattr(train, "labels"):
        check_split("train", train, arch)
        return train.images, None, train.labels
    raise ValueError(
        f"train: expected a data Split or an (inputs, targets) tuple, got "
        f"{type(train).__name__}")


def minibatches(batch_size, n_samples, epochs, n_train):
    """Checked ``batch_size`` and the number of whole minibatches to present:
    ``n_samples`` images, or ``epochs`` passes over ``n_train`` if it is None."""
    batch_size = _integer("batch_size", batch_size, 1)
    if batch_size > n_train:
        raise ValueError(
            f"batch_size: {batch_size} is larger than the training set "
            f"({n_train} examples)")
    epochs = _integer("epochs", epochs, 1)
    n_samples = _integer("n_samples", n_samples, 1, optional=True)
    if n_samples is None:
        n_samples = epochs * n_train
    n_batches = n_samples // batch_size
    if n_batches == 0:
        raise ValueError(
            f"n_samples: {n_samples} is less than one minibatch ({batch_size})")
    return batch_size, n_batches


class _LearningSchedule:
    """The schedule `train_online` and `train_online_vectorised` share: the step of
    minibatch ``k`` and the minibatches after which to evaluate.

    The step is ``learning_rate * unit`` (``unit``: the simulator's dt for a rule
    summed over the steps of the learning window, the window's length for one applied
    per example), divided by ``1 + k * batch_size / lr_decay_samples`` when decaying.
    Evaluations fall after every ``eval_every`` samples and after the last minibatch;
    a run resumed at minibatch ``first`` keeps the uninterrupted run's points.
    """

    def __init__(self, learning_rate, lr_decay_samples, batch_size, n_batches,
                 eval_every, first=0):
        self.learning_rate, self.lr_decay_samples = learning_rate, lr_decay_samples
        self.batch_size, self.n_batches = batch_size, n_batches
        self.eval_every = eval_every
        self._next_eval = (first * batch_size // eval_every + 1) * eval_every

    def step(self, k, unit):
        """The learning step of minibatch ``k``."""
        step = self.learning_rate * unit
        if self.lr_decay_samples is not None:
            step /= 1.0 + k * self.batch_size / self.lr_decay_samples
        return step

    def evaluate_after(self, k):
        """Whether an evaluation falls after minibatch ``k`` (call once per k)."""
        samples = (k + 1) * self.batch_size
        if samples < self._next_eval and k != self.n_batches - 1:
            return False
        while self._next_eval <= samples:
            self._next_eval += self.eval_every
        return True


def evaluation_line(tag, entry, total):
    """The progress line of one evaluation (history ``entry``) of an online run."""
    parts = [f"[{tag}] {entry['samples']}/{total} samples"]
    if entry["train_accuracy"] is not None:
        parts.append(f"train acc {100 * entry['train_accuracy']:.2f}%")
    if "accuracy" in entry:
        parts.append(f"test acc {100 * entry['accuracy']:.2f}%")
    if "spiking_accuracy" in entry:
        parts.append(f"spiking {100 * entry['spiking_accuracy']:.2f}%")
    parts.append(f"{entry['seconds']:.0f} s")
    return "  ".join(parts)


#: Seconds between progress lines of `train_online` (besides one per evaluation).
PROGRESS_INTERVAL = 60.0


#: Settings a resumed run may change: how long it runs and how it is evaluated.
RESUMABLE_CHANGES = ("n_samples", "epochs", "n_eval", "eval_every", "eval_spiking",
                     "final_eval_spiking")


def _read_checkpoint(path, arch, config, batch_size):
    """Parameters, samples seen and history of a `train_online` checkpoint."""
    saved_arch, params, metadata = load_params(path)
    if "samples" not in metadata or "config" not in metadata:
        raise ValueError(f"resume: {path} is not a train_online checkpoint "
                         f"(no samples/config metadata)")
    if saved_arch.to_dict() != arch.to_dict():
        raise ValueError(f"resume: {path} holds {saved_arch.to_dict()}, not "
                         f"{arch.to_dict()}")
    saved = metadata["config"]
    current = json.loads(json.dumps(config))  # as the checkpoint stored it
    changed = sorted(k for k in current if k not in RESUMABLE_CHANGES
                     and saved.get(k) != current[k])
    if changed:
        raise ValueError(
            f"resume: {path} was trained with other settings: "
            + ", ".join(f"{k}={saved.get(k)!r} (now {current[k]!r})" for k in changed))
    samples = int(metadata["samples"])
    if samples % batch_size:
        raise ValueError(f"resume: {path} stopped at {samples} samples, not a whole "
                         f"number of minibatches of {batch_size}")
    return {"params": params, "samples": samples, "history": metadata["history"]}


def train_online(
    arch,
    train,
    *,
    params=None,
    spiking=True,
    learning_rate=0.2,
    lr_decay_samples=None,
    batch_size=20,
    n_samples=None,
    epochs=1,
    sweep_time=0.03,
    settle_time=0.02,
    learn_time=0.03,
    dt=0.001,
    tau=0.005,
    synapse=0.002,
    amplitude=0.0002,
    pre_synapse=0.02,
    output_precision=1.0,
    feedback="transpose",
    input_coding="constant",
    max_rate=500.0,
    eval_split=None,
    eval_every=10000,
    eval_spiking=0,
    final_eval_spiking=0,
    average_time=0.01,
    checkpoint_path=None,
    resume=False,
    seed=0,
    network_kwargs=None,
    progress=True,
):
    """Train a PC network online, in (spiking) NengoDL, with local learning rules.

    See the module docstring for the presentation schedule, the rule and why it is
    applied by this function rather than by `nengo.PES` inside NengoDL.

    Parameters
    ----------
    arch : Architecture
        An MLP whose activation `PredictiveCodingNetwork` supports; the network
        decides which populations exist and how they spike.
    train : nengo_pc.data.Split or tuple
        Training images (flattened, intensities in [0, 1] for ``"poisson"``) and
        integer labels, the targets being one-hot; or a tuple ``(inputs, targets)``
        of arrays for regression (no training accuracy is then recorded).
    params : Params, optional
        Initial parameters; default ``init_params(arch, seed)`` (learning from
        scratch).
    spiking : bool
        Spiking network (`network_options`) or rate network (exact, no synapses).
    learning_rate : float
        Rate of the local rule per second of learning phase (> 0): each example
        changes W_l by about ``learning_rate * learn_time * a^T e~``, an SGD step of
        size ``learning_rate * learn_time`` per example on the squared error. The
        default (0.2, a step of 0.006 with the default ``learn_time``) is the best
        of 0.2, 0.5 and 1.5 for relu MNIST nets; lif nets, whose hidden units start
        mostly below threshold, learn faster at 0.5 (784-100-10 after 2,000
        images: 75% at 0.5, 66% at 0.2).
    lr_decay_samples : int, optional
        Decay the learning rate as ``learning_rate / (1 + n / lr_decay_samples)``
        after ``n`` training samples (None: constant), the usual remedy for the
        noise of stochastic updates, which the spiking rule adds to. A function of
        the samples seen, so a resumed run follows the same schedule. (Whether it
        helps depends on the rate; see the Notes.)
    batch_size : int
        Images presented in parallel by one simulator call; their updates are summed
        and applied after the call.
    n_samples : int, optional
        Training images to present (rounded down to whole minibatches); default
        ``epochs`` passes over ``train``. A fresh permutation starts every pass.
    epochs : int
        Passes over ``train`` when ``n_samples`` is None.
    sweep_time, settle_time, learn_time : float
        Seconds of the three phases of a presentation (sweep and settle >= 0,
        learn > 0). The learning window is 30 ms by default so that the spiking
        rule averages its noise (see the module docstring).
    dt : float
        Simulator time step (> 0).
    tau : float
        Inference time constant of the network (> 0).
    synapse : float or nengo.synapses.Synapse or None
        Connection synapse of the spiking network (seconds for a lowpass).
    amplitude : float
        Signal per spike of the spiking pair neurons (> 0). Smaller values carry
        small errors with more spikes (see the module docstring, item 4).
    pre_synapse : float or nengo.synapses.Synapse or None
        Filter of the presynaptic activity the rule reads (seconds for a lowpass;
        None: the raw activity of each step). The default 0.02 s averages the
        sparse spikes of LIF activities; it is applied in rate mode too, where the
        activity is almost constant during the learning window, so that the two
        modes run the same rule.
    output_precision : float
        gamma of the network (> 0): weight of the output error in the feedback.
    feedback : str
        ``"transpose"`` (B = W, kept equal by the same local rule) or ``"random"``
        (fixed random B).
    input_coding : str
        ``"constant"`` (the image, constant during the presentation) or
        ``"poisson"`` (Poisson spike trains at ``intensity * max_rate`` Hz, scaled
        by ``1 / max_rate``).
    max_rate : float
        Poisson rate for intensity 1 (> 0).
    eval_split : nengo_pc.data.Split, optional
        Evaluated (rate-mode feedforward pass) at 0 samples, every ``eval_every``
        samples and at the end.
    eval_every : int
        Training samples between evaluations (rounded up to whole minibatches).
    eval_spiking : int
        Also classify this many ``eval_split`` images with the spiking network at
        every evaluation (0: never). Its presentation is ``sweep_time +
        settle_time`` (sweep, then free inference).
    final_eval_spiking : int
        After training, classify this many ``eval_split`` images once with the
        spiking network (0: not), e.g. the whole test set at the end of a run whose
        ``eval_spiking`` samples only a few hundred images along the way
        (`OnlineResult.final_spiking`). A run resumed from a checkpoint at its last
        sample trains no further and only does this.
    average_time : float
        Seconds over which the spiking output is averaged when classifying (> 0, at
        most a presentation).
    checkpoint_path : str or Path, optional
        Parameters written there (atomically) at every evaluation, with metadata
        ``samples`` (seen so far), ``history`` and ``config``.
    resume : bool
        Continue from ``checkpoint_path`` if that file exists: its parameters, samples
        seen and history. The data order and the Poisson inputs are functions of
        ``seed`` and the sample index, and the checkpoint holds the float64
        parameters the run accumulates, so a resumed run presents the images the
        uninterrupted run would have and learns exactly what it would have learned
        (spiking too: every simulator call starts from the same initial state).
        The checkpoint's settings must equal this call's, except ``n_samples``,
        ``epochs`` and the evaluation options.
    seed : int
        Seeds the initial parameters, the data order, the network, the simulator and
        the Poisson inputs.
    network_kwargs : dict, optional
        Further keyword arguments of `PredictiveCodingNetwork` (override the ones
        derived from ``spiking``).
    progress : bool
        Print a line per evaluation on stderr.

    Returns
    -------
    OnlineResult

    Raises
    ------
    ValueError
        Naming the argument that is out of range or of the wrong type.
    FloatingPointError
        If the weights become non-finite (naming the samples seen).

    Notes
    -----
    Every simulator call starts from the same initial state (``stateful=False``), so a
    simulator that keeps training carries nothing from one minibatch to the next: after
    3,000 spiking training images (784-500-10), its probe outputs on a batch and those
    of a simulator freshly built with the same weights were bit-identical, and a
    spiking run resumed from a checkpoint learns exactly what the uninterrupted run
    learns (``tests/test_pc_online.py``). An earlier long run had seemed to stall in one
    simulator and recover after rebuilds (see the README); that is ruled out as a
    simulator effect.

    How far the rule goes is set by the rule and its settings, not by the spikes:
    `nengo_pc.pc.online_vectorised.train_online_vectorised` applies the same rule and
    schedule to the vectorised PC equilibrium and learns like the rate-mode network
    (2026-11-25, 784-500-10, batch 10, step 0.006 decaying over 20,000 samples, first
    2,000 test images, after 2,500 / 5,000 / 7,500 / 10,000 / 12,500 images: rate
    80.2 / 85.1 / 86.7 / 88.4 / 88.8%, vectorised 80.6 / 85.3 / 86.6 / 87.9 / 88.8%,
    spiking 79.8 / 85.1 / 84.4 / 86.6 / 88.6%). The vectorised rule on MNIST (all
    test images) after one epoch: 95.0% at a per-example step of 0.006 decaying over
    20,000 samples, 95.6% at 0.006 constant (this function's defaults), 95.4% at
    0.012 constant, 95.6% at 0.012 decaying over 60,000 (the benchmark's setting),
    which reaches 96.8% after four epochs
    (``results/bench_spiking_pc_online_vectorised_mnist.json``; the others were
    scratch runs).
    """
    import nengo_dl  # noqa: PLC0415
    from nengo_dl import graph_optimizer  # noqa: PLC0415

    from nengo_pc.networks.inference import data_nodes, padded_batches  # noqa
    from nengo_pc.networks.pairs import pair_encoders  # noqa
    from nengo_pc.networks.pc import PredictiveCodingNetwork  # noqa

    # -- arguments
    train_x, train_y, train_labels = training_arrays(train, arch)
    if not isinstance(spiking, (bool, np.bool_)):
        raise ValueError(f"spiking: must be True or False, got {spiking!r}")
    learning_rate = _positive("learning_rate", learning_rate)
    lr_decay_samples = _integer("lr_decay_samples", lr_decay_samples, 1, optional=True)
    batch_size, n_batches = minibatches(batch_size, n_samples, epochs, len(train_x))
    dt = _positive("dt", dt)
    sweep_time = _nonnegative("sweep_time", sweep_time)
    settle_time = _nonnegative("settle_time", settle_time)
    learn_time = _positive("learn_time", learn_time)
    tau = _positive("tau", tau)
    synapse = _synapse("synapse", synapse)
    amplitude = _positive("amplitude", amplitude)
    pre_synapse = _synapse("pre_synapse", pre_synapse)
    output_precision = _positive("output_precision", output_precision)
    if feedback not in FEEDBACK:
        raise ValueError(f"feedback: {feedback!r} is not one of {', '.join(FEEDBACK)}")
    if input_coding not in INPUT_CODINGS:
        raise ValueError(
            f"input_coding: {input_coding!r} is not one of {', '.join(INPUT_CODINGS)}")
    max_rate = _positive("max_rate", max_rate)
    if input_coding == "poisson" and (train_x.min() < 0 or train_x.max() > 1):
        raise ValueError("train: Poisson input coding needs intensities in [0, 1]")
    if eval_split is not None:
        check_split("eval_split", eval_split, arch)
    eval_every = _integer("eval_every", eval_every, 1)
    eval_spiking = _integer("eval_spiking", eval_spiking, 0)
    if eval_spiking and eval_split is None:
        raise ValueError("eval_spiking: needs an eval_split")
    final_eval_spiking = _integer("final_eval_spiking", final_eval_spiking, 0)
    if final_eval_spiking and eval_split is None:
        raise ValueError("final_eval_spiking: needs an eval_split")
    average_time = _positive("average_time", average_time)
    seed = _integer("seed", seed, 0)
    if not isinstance(resume, (bool, np.bool_)):
        raise ValueError(f"resume: must be True or False, got {resume!r}")
    if resume and checkpoint_path is None:
        raise ValueError("resume: needs a checkpoint_path to resume from")
    if network_kwargs is not None and not isinstance(network_kwargs, dict):
        raise ValueError(f"network_kwargs: expected a dict, got {network_kwargs!r}")
    n_sweep, n_settle = int(round(sweep_time / dt)), int(round(settle_time / dt))
    n_learn = max(1, int(round(learn_time / dt)))
    n_steps = n_sweep + n_settle + n_learn
    n_average = int(round(average_time / dt))
    if not 1 <= n_average <= n_steps:
        raise ValueError(
            f"average_time: must be between dt and a presentation "
            f"({n_steps * dt:g} s), got {average_time!r}")

    config = {
        "arch": arch.to_dict(), "spiking": bool(spiking), "learning_rate": learning_rate,
        "lr_decay_samples": lr_decay_samples,
        "batch_size": batch_size, "n_samples": n_batches * batch_size,
        "epochs": epochs, "sweep_time": sweep_time, "settle_time": settle_time,
        "learn_time": learn_time, "dt": dt, "tau": tau,
        "synapse": None if synapse is None else str(synapse), "amplitude": amplitude,
        "pre_synapse": None if pre_synapse is None else str(pre_synapse),
        "output_precision": output_precision, "feedback": feedback,
        "input_coding": input_coding, "max_rate": max_rate,
        "n_eval": None if eval_split is None else len(eval_split),
        "eval_every": eval_every, "eval_spiking": eval_spiking,
        "final_eval_spiking": final_eval_spiking,
        "average_time": average_time, "seed": seed,
        "network_kwargs": {k: repr(v) for k, v in (network_kwargs or {}).items()},
        "per_example_step": learning_rate * n_learn * dt,
    }

    resumed = None
    if resume and Path(checkpoint_path).exists():
        resumed = _read_checkpoint(checkpoint_path, arch, config, batch_size)
        if resumed["samples"] > n_batches * batch_size:
            raise ValueError(
                f"n_samples: {checkpoint_path} has already seen {resumed['samples']} "
                f"samples, more than the {n_batches * batch_size} asked for")
        params = resumed["params"]

    # -- network and simulator
    start = time.perf_counter()
    params = init_params(arch, seed) if params is None else params
    if not isinstance(params, Params):
        raise ValueError(f"params: expected a Params, got {type(params).__name__}")
    params.check(arch)
    weights = [np.array(w, np.float64) for w in params.weights]
    biases = [np.array(b, np.float64) for b in params.biases]
    options, network_kind = network_options(arch, spiking, amplitude, synapse)
    options.update(network_kwargs or {})
    config["network"] = network_kind
    net = PredictiveCodingNetwork(
        arch, Params([w.astype(np.float32) for w in weights],
                     [b.astype(np.float32) for b in biases]),
        tau=tau, output_precision=output_precision, feedback=feedback, seed=seed,
        label="pc online", **options)
    layout = _Layout(net)
    image_node, target_node = data_nodes(net)
    n_layers, sizes = arch.n_layers, arch.sizes
    # the mode schedule of the current kind of call (NengoDL evaluates the control
    # node for every step of a call when it generates the call's inputs)
    schedule = [None]
    net.mode = lambda t: schedule[0](t)

    def training_mode(t):
        k = t / dt - 0.5  # step k + 1 runs at t = (k + 1) dt
        if k < n_sweep:
            return "sweep"
        return "clamped"

    def eval_mode(t):
        return "sweep" if t / dt - 0.5 < n_sweep else "free"

    with net:
        nengo_dl.configure_settings(
            # not inference_only: that turns some weights (e.g. of the bias
            # connections) into build-time constants, which could not be updated
            stateful=False, keep_history=False,
            # operator merging makes this network many times slower (see
            # nengo_pc.pc.network.settled_outputs)
            planner=graph_optimizer.noop_planner,
            sorter=graph_optimizer.noop_order_signals,
        )
        pre_probes, error_probes = [None], [None]
        for l in range(1, n_layers + 1):
            if layout.pairs_pre(l):  # the decoded pair signal: what D r passes on
                probe = nengo.Probe(net.values[l - 1], synapse=pre_synapse,
                                    solver=nengo.solvers.NoSolver(
                                        pair_encoders(sizes[l - 1])))
            else:  # the presynaptic neurons' output, as PES's pre_synapse
                probe = nengo.Probe(net.prediction_connections[l].pre_obj,
                                    synapse=pre_synapse)
            # the error as PES's error connection sees it: through the synapse
            err = nengo.Probe(net.errors[l], synapse=net.synapse,
                              solver=nengo.solvers.NoSolver(pair_encoders(sizes[l])))
            for p in (probe, err):
                net.config[p].keep_history = True
            pre_probes.append(probe)
            error_probes.append(err)
        out_probe = nengo.Probe(net.values[-1], synapse=None,
                                solver=nengo.solvers.NoSolver(pair_encoders(sizes[-1])))
        net.config[out_probe].keep_history = True

    stream = SampleStream(len(train_x), seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="No GPU support detected")
        sim = nengo_dl.Simulator(net, dt=dt, minibatch_size=batch_size, seed=seed,
                                 progress_bar=False)
    with sim:
        layout.check(sim, Params(weights, biases))
        writer = _WeightWriter(sim)
        build_seconds = time.perf_counter() - start

        def inputs(images, input_rng):
            if input_coding == "poisson":
                return _poisson_input(images, n_steps, dt, max_rate, input_rng)
            return np.repeat(images[:, None, :].astype(np.float32), n_steps, axis=1)

        def present(images, targets, mode, input_rng):
            schedule[0] = mode
            feed = {image_node: inputs(images, input_rng)}
            feed[target_node] = np.repeat(targets[:, None, :], n_steps, axis=1)
            return sim.predict_on_batch(feed)

        def current():
            return Params([w.astype(np.float32) for w in weights],
                          [b.astype(np.float32) for b in biases])

        def spiking_outputs(images, input_rng, tag=None):
            outputs = np.zeros((len(images), sizes[-1]))
            last = time.perf_counter()
            for s, m, batch in padded_batches(images, batch_size):
                out = present(batch, np.zeros((batch_size, sizes[-1]), np.float32),
                              eval_mode, input_rng)
                outputs[s:s + m] = out[out_probe][:m, -n_average:].mean(axis=1)
                if tag and progress and time.perf_counter() - last > PROGRESS_INTERVAL:
                    last = time.perf_counter()
                    log_progress(f"[{tag}] {s + m}/{len(images)} images")
            return outputs

        def spiking_scores(n, predicted, input_rng, tag=None):
            """Accuracy of the spiking network on the first n ``eval_split`` images,
            and its agreement with the feedforward ``predicted`` labels."""
            spiked = spiking_outputs(eval_split.images[:n], input_rng, tag).argmax(axis=1)
            return (float(np.mean(spiked == eval_split.labels[:n])),
                    float(np.mean(spiked == predicted[:n])))

        history = [] if resumed is None else resumed["history"]
        eval_seconds = [0.0]
        train_seconds = 0.0 if resumed is None else history[-1]["seconds"]
        start_seconds = train_seconds  # of this call, for the progress lines' rate

        def evaluate(samples, correct, presented):
            t0 = time.perf_counter()
            entry = {"samples": samples, "seconds": train_seconds,
                     "train_accuracy": correct / presented if presented else None}
            p = current()
            if eval_split is not None:
                logits = forward(arch, p, eval_split.images)
                predicted = logits.argmax(axis=1)
                entry["accuracy"] = float(np.mean(predicted == eval_split.labels))
                if eval_spiking:
                    entry["spiking_accuracy"], entry["spiking_agreement"] = \
                        spiking_scores(min(eval_spiking, len(eval_split)), predicted,
                                       np.random.default_rng([seed, 3, samples]))
            history.append(entry)
            if checkpoint_path is not None:
                # the float64 accumulators, not the float32 copy: a resumed run then
                # continues from exactly the state an uninterrupted run has
                save_params(checkpoint_path, arch, Params(weights, biases),
                            samples=samples, history=history, config=config)
            eval_seconds[0] += time.perf_counter() - t0
            if progress:
                log_progress(evaluation_line("pc:online", entry, n_batches * batch_size))

        first = 0 if resumed is None else resumed["samples"] // batch_size
        if resumed is None:
            evaluate(0, 0, 0)
        elif progress:
            log_progress(f"[pc:online] resumed from {checkpoint_path} at "
                         f"{resumed['samples']} samples")
        correct = presented = 0
        last_log = [time.perf_counter()]
        plan = _LearningSchedule(learning_rate, lr_decay_samples, batch_size, n_batches,
                                 eval_every, first)
        n_out = sizes[-1]
        for k in range(first, n_batches):
            t0 = time.perf_counter()
            index = stream.indices(k * batch_size, batch_size)
            images = np.asarray(train_x[index], np.float32)
            if train_labels is None:
                labels, targets = None, train_y[index]
            else:
                labels = train_labels[index]
                targets = _one_hot(labels, n_out)
            out = present(images, targets, training_mode,
                          np.random.default_rng([seed, 1, k]))
            if n_sweep > 0 and labels is not None:
                # online accuracy: the prediction at the end of the sweep, before
                # learning from the image
                swept = out[out_probe][:, max(0, n_sweep - n_average):n_sweep]
                correct += int(np.sum(swept.mean(axis=1).argmax(axis=1) == labels))
                presented += batch_size
            # the local rule, summed over the learning phase and the minibatch
            scale = plan.step(k, dt)
            for l in range(1, n_layers + 1):
                pre = out[pre_probes[l]][:, -n_learn:]
                err = out[error_probes[l]][:, -n_learn:]
                pre = pre.reshape(-1, sizes[l - 1])
                err = err.reshape(-1, sizes[l])
                if l < n_layers:
                    err = err / output_precision
                dw = scale * (pre.T.astype(np.float64) @ err)
                weights[l - 1] += dw
                biases[l - 1] += scale * err.sum(axis=0)
            finite = all(np.all(np.isfinite(a)) for a in weights + biases)
            if not finite:
                raise FloatingPointError(
                    f"weights became non-finite after {(k + 1) * batch_size} samples "
                    f"(learning_rate={learning_rate}); try a smaller learning_rate")
            for l in range(1, n_layers + 1):
                writer.write(net.prediction_connections[l],
                             layout.prediction(l, weights[l - 1]))
                writer.write(net.bias_connections[l], layout.bias(biases[l - 1]))
                if feedback == "transpose" and net.feedback_connections[l] is not None:
                    # the feedback connection's own local product (its presynaptic
                    # e_l times the activity at its target) is dW_l^T: B_l stays W_l
                    writer.write(net.feedback_connections[l],
                                 layout.feedback(l, weights[l - 1]))
            train_seconds += time.perf_counter() - t0
            samples = (k + 1) * batch_size
            if progress and time.perf_counter() - last_log[0] > PROGRESS_INTERVAL:
                last_log[0] = time.perf_counter()
                rate = (samples - first * batch_size) / max(
                    train_seconds - start_seconds, 1e-9)
                left = (n_batches * batch_size - samples) / rate
                log_progress(f"[pc:online] {samples}/{n_batches * batch_size} samples  "
                             f"{rate:.1f} images/s  ~{left / 60:.0f} min of training left")
            if plan.evaluate_after(k):
                evaluate(samples, correct, presented)
                correct = presented = 0
        final_spiking = None
        if final_eval_spiking:
            t0 = time.perf_counter()
            n = min(final_eval_spiking, len(eval_split))
            samples = n_batches * batch_size
            accuracy, agreement = spiking_scores(
                n, forward(arch, current(), eval_split.images[:n]).argmax(axis=1),
                np.random.default_rng([seed, 4, samples]),
                tag="pc:online final spiking evaluation")
            final_spiking = {"samples": samples, "n": n, "accuracy": accuracy,
                             "agreement": agreement,
                             "seconds": time.perf_counter() - t0}
            eval_seconds[0] += final_spiking["seconds"]
            if progress:
                log_progress(f"[pc:online] the spiking network classifies "
                             f"{100 * final_spiking['accuracy']:.2f}% of {n} images "
                             f"after {samples} samples")
        learned = net.params_from(sim)
    # the simulator holds float32 weights: what it read back is what it ran with
    return OnlineResult(learned, history, config, build_seconds, train_seconds,
                        eval_seconds[0], final_spiking)
