"""Online learning of the predictive-coding network, spiking, minibatched in NengoDL.

`train_online` trains a `~nengo_pc.networks.pc.PredictiveCodingNetwork` from scratch
while it runs in ``nengo_dl.Simulator``, learning by the local rule
`~nengo_pc.networks.learning.LocalPC` on its connections
(`nengo_pc.pc.online_network`): ordinary Nengo learning, no code outside the rule's
builders touches the simulator's weights. Every training image is *presented* to the
network (one simulator call per minibatch of images, each item of the minibatch
continuing from where the previous image in its slot left the network) with the
schedule (`nengo_pc.pc.online_schedule.Presentation`)

1. ``sweep_time`` in mode ``"sweep"``: the output is free and the top-down feedback
   off, so the values settle to the network's current prediction (the feedforward
   pass);
2. ``settle_time`` in mode ``"clamped"``: the output is pulled to the one-hot target
   and PC inference relaxes the hidden values;
3. ``learn_time`` of learning (still clamped): the rules' gate opens, and every step
   each prediction connection changes by its presynaptic activity times its
   postsynaptic error, each bias connection by the error:

       dW_l = learning_rate * dt * sum_b a_{l-1}(b)^T e~_l(b),
       db_l = learning_rate * dt * sum_b e~_l(b),

   with a_{l-1} the presynaptic activity (the input for l = 1, f(x_{l-1}) otherwise)
   filtered by ``pre_synapse``, e~_l = e_l / gamma for hidden layers and e~_L = e_L
   (gamma the output precision), summed over the minibatch b: the items share one
   set of weights (see `nengo_pc.networks.learning` for how, in NengoDL).

Each image thus changes the weights by about ``learning_rate * learn_time`` times its
local product: an SGD step of that size per example. With ``feedback="transpose"``
the feedback connections learn by the same product seen from their side, so B_l stays
equal to W_l (the symmetric learning PC assumes); with ``"random"`` B_l is fixed
(feedback alignment). With ``spiking=True`` the network's signed populations spike
(`nengo_pc.pc.online_network.network_options`) and the products are taken from
spikes: the presynaptic spike train through ``pre_synapse`` (as PES's), the error
decoded from the error population's spikes through the network's synapse.

**Making the spiking rule work** (issue #5; measured when the products were summed
outside the simulator and applied after each call, which is what the gated rule
does too: the weights stay put while its window is open). Spiking
online learning used to stay near chance (784-100-10: ~10% after 1,000 images, rate
mode 52-80%); comparing one minibatch's update in spiking and rate mode showed why:

1. *The mode gates were filtered.* The control node's inhibition of the teacher and
   the top-down feedback decayed through the network's synapse for ~14-18 ms of the
   20 ms settle, so the hidden errors never formed (W_1 update cosine 0.06 to rate
   mode). The control node is the experimenter's switch, so its connections have
   no synapse (`~nengo_pc.networks.pc.PredictiveCodingNetwork` wires them so) (cosine 0.97; relu 784-100-10 77.4% vs rate 76.7% after 2,000 images).
2. *LIF presynaptic spikes are sparse* (~one per 10 ms): ``pre_synapse=0.02``
   filters the activity the rule reads (cosine 0.67 -> 0.92), and
3. a longer window, ``learn_time=0.03``, averages over 30 steps (cosines 0.97-1.0;
   lif 784-100-10 74.7% as in rate mode). A longer settle helped less (W_1 cosine
   0.83 vs 0.98). ``learning_rate=0.2`` keeps the per-example step at 0.006 (relu
   784-100-10 after 2,000 images: 78.7% at 0.2, 72.6% at 0.5).
4. *Late in training the errors are small, and so are their spike counts.* A pair
   of ``amplitude`` a fires |e| / a spikes per second, so small hidden errors are
   carried by a fraction of a spike per window (`nengo_pc.pc.update_fidelity`:
   784-500-10 after 140,000 images, W_1 cosine 0.897 at ``amplitude=2e-4``, 0.974 at
   5e-5). A six-epoch run at 5e-5 kept level with the vectorised rule and ended at
   97.02%, its spiking network classifying 96.91% of the test set
   (``results/bench_spiking_pc_online_long*.json``); the default stays 2e-4, at which
   the short runs and the tests were measured.

**Cost: one set of weights for the whole minibatch.** NengoDL 3.6 stores the
weights of a connection with a learning rule once per minibatch item
(``TensorGraph.mark_signals``, nengo_dl/tensor_graph.py lines 919-952: "we also make
those signals minibatched ... because we want to be able to learn independently in
each minibatch"), so every step would read and write ``batch_size`` copies of every
learned matrix: run that way, this rule trained relu 784-100-10 at batch 20 about
six times slower (4.4 against 26 images/s) than summing the products outside the
simulator and writing the weights into NengoDL's variables, which this module did
before. Neither is needed: NengoDL lays out its signals only after running the graph
simplifications a network configures (``TensorGraph.__init__``: ``mark_signals``,
then the simplifications, then ``create_signals``), so the network's
`~nengo_pc.networks.learning.share_learned_weights` simplification marks the
learned weights as one unbatched matrix of simulator state (see
`nengo_pc.networks.learning`), and the rule's NengoDL builder adds the items' summed
update to it. What a call learns persists because the calls are stateful
(`nengo_pc.pc.online_network`), which also makes the minibatch slots streams of
images rather than presentations from rest. Against the previous path, interleaved
in one run (``benchmarks/online_speed.py``, ``results/online_speed.json``: relu
784-100-10, batch 20, 400 MNIST images, two runs each, 2026-12-06 on the 2-core
machine at load average 13-18, so only the ratio means something): 0.83x its
images/s in rate mode and 0.81x spiking (14.7 and 15.3 against 17.8 and 18.8), with
the same learning (test accuracy after 400 images 50.4% and 52.4% against 50.2% and
52.8%). Where the time goes now (``benchmarks/online_profile.py``,
docs/performance.md "Where online learning's time goes"): not in the rules (7% of
the operations' time) but in NengoDL's ~150 operators per simulated step, a fixed
cost per step whatever the batch; the learning network therefore computes no
probe it does not read and feeds the rules their errors through sparse pair
decoders, not dense matrices (1.5x together, the same numbers). ``simulator="tensorflow"``
(`nengo_pc.pc.online_tf`) runs the same network without NengoDL, its Nengo
operators interpreted in plain TensorFlow: the same numbers to float32 rounding,
3.8 times the images/s in the same run (docs/performance.md); NengoDL stays the
default until its six-epoch accuracy is shown.

**The run is the training loop's.** `train_online` is `nengo_pc.training.train`
with rule ``pc-online`` on the ``simulated`` backend
(`nengo_pc.pc.online_backend.SimulatedBackend`), stated in online learning's terms
(`OnlineConfig`: a rate per second of the learning window, summed over the
minibatch; the loop's rate acts on minibatch means, so ``train_online`` passes it
``learning_rate * learn_time * batch_size``). The loop owns the data order (one
stream of passes, pass p the permutation of ``[seed, 2, p]``), the decay
(``lr_decay_samples``: Keras' ``InverseTimeDecay``), the evaluation points (after
the minibatch that reaches every ``eval_every`` samples, and the last), the
checkpoints (parameters and the simulator's whole state) and exact resume; what
`train_online` adds is its settings' checks, the resume check in its own
vocabulary, and `OnlineResult` (`online_history`).

**Evaluation.** A PC network whose output is free settles to the feedforward pass,
so the learned parameters are evaluated on ``eval_split`` with
`nengo_pc.rates.forward`; ``eval_spiking > 0`` also classifies that many images with
the network itself (mode ``"sweep"`` then ``"free"``, output averaged over the last
``average_time``), and ``final_eval_spiking`` once more after training.

Why this module is long: `OnlineConfig` documents and checks every setting of online
learning, and the module docstring is the account of how the spiking rule was made
to work; the run itself is the training loop's.
"""

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from nengo_pc.arch import (
    FEEDBACK,
    INPUT_CODINGS,
    ONLINE_PAIR_AMPLITUDE,
    ONLINE_SIMULATORS,
    ONLINE_VALUE_TAU,
)
from nengo_pc.networks.feedforward import as_synapse
from nengo_pc.params import Params
from nengo_pc.pc.online_network import network_options
from nengo_pc.pc.online_schedule import (
    Presentation,
    minibatches,
    nonnegative,
    optional_int,
    training_arrays,
)
from nengo_pc.training.config import require_int, require_positive
from nengo_pc.training.evaluation import check_split
from nengo_pc.training.loop import read_checkpoint

__all__ = ["OnlineConfig", "OnlineResult", "network_options", "online_history",
           "train_online"]

#: Settings a resumed run may change: how long it runs and how it is evaluated.
RESUMABLE_CHANGES = ("n_samples", "epochs", "n_eval", "eval_every", "eval_spiking",
                     "final_eval_spiking")


@dataclasses.dataclass
class OnlineConfig:  # pylint: disable=too-many-instance-attributes
    """Settings of `train_online`, checked (ValueError naming the setting).

    Attributes
    ----------
    spiking : bool
        Spiking network (`network_options`) or rate network (exact, no synapses).
    learning_rate : float
        Rate of the rule per second of learning (> 0): each example changes W_l by
        about ``learning_rate * learn_time * a^T e~``. The default (a step of 0.006)
        is the best of 0.2, 0.5 and 1.5 for relu MNIST nets; lif nets learn faster
        at 0.5 (784-100-10 after 2,000 images: 75% at 0.5, 66% at 0.2).
    lr_decay_samples : int or None
        Decay the rate as ``learning_rate / (1 + n / lr_decay_samples)`` after ``n``
        samples (None: constant); a function of the samples seen, so resumable.
    batch_size : int
        Images presented in parallel by one simulator call.
    n_samples : int or None
        Training images (whole minibatches); default ``epochs`` passes, a fresh
        permutation per pass.
    epochs : int
        Passes over the training set when ``n_samples`` is None.
    sweep_time, settle_time, learn_time : float
        Seconds of the presentation's phases (sweep, settle >= 0; learn > 0).
    dt, tau : float
        Simulator step and inference time constant (> 0).
    synapse : float or nengo.synapses.Synapse or None
        Connection synapse of the spiking network (seconds for a lowpass).
    amplitude : float
        Signal per spike of the spiking pairs (> 0; see the module docstring, 4).
    pre_synapse : float or nengo.synapses.Synapse or None
        Filter of the presynaptic activity the rule reads (also in rate mode, so
        that both modes run the same rule).
    output_precision : float
        gamma (> 0): weight of the output error in the feedback.
    feedback : str
        One of `nengo_pc.arch.FEEDBACK`.
    input_coding : str
        One of `nengo_pc.arch.INPUT_CODINGS` (``"poisson"``: spike trains at ``intensity *
        max_rate`` Hz, scaled by ``1 / max_rate``).
    max_rate : float
        Poisson rate of intensity 1 (> 0).
    eval_every : int
        Training samples between evaluations (whole minibatches).
    eval_spiking, final_eval_spiking : int
        Images of ``eval_split`` the network itself classifies at every evaluation,
        and once after training (0: none).
    average_time : float
        Seconds over which the output is averaged when classifying (at most a
        presentation).
    seed : int
        Seeds the initial parameters, the data order, the network, the simulator and
        the Poisson inputs.
    network_kwargs : dict or None
        Further `PredictiveCodingNetwork` arguments (override the derived ones).
    simulator : str
        What runs the network, one of `nengo_pc.arch.ONLINE_SIMULATORS`: ``"nengo_dl"``
        (`~nengo_pc.pc.online_network.OnlineSimulator`) or ``"tensorflow"``
        (`~nengo_pc.pc.online_tf.OnlineTFSimulator`: the same network's Nengo
        operators in plain TensorFlow, the same numbers to float32 rounding,
        several times as fast; docs/performance.md). A checkpoint resumes only
        with the simulator that wrote it.
    """

    spiking: bool = True
    learning_rate: float = 0.2
    lr_decay_samples: int = None
    batch_size: int = 20
    n_samples: int = None
    epochs: int = 1
    sweep_time: float = 0.03
    settle_time: float = 0.02
    learn_time: float = 0.03
    dt: float = 0.001
    tau: float = ONLINE_VALUE_TAU
    synapse: object = 0.002
    amplitude: float = ONLINE_PAIR_AMPLITUDE
    pre_synapse: object = 0.02
    output_precision: float = 1.0
    feedback: str = "transpose"
    input_coding: str = "constant"
    max_rate: float = 500.0
    eval_every: int = 10000
    eval_spiking: int = 0
    final_eval_spiking: int = 0
    average_time: float = 0.01
    seed: int = 0
    network_kwargs: dict = None
    simulator: str = "nengo_dl"

    def __post_init__(self):
        if not isinstance(self.spiking, (bool, np.bool_)):
            raise ValueError(f"spiking: must be True or False, got {self.spiking!r}")
        self.spiking = bool(self.spiking)
        for name in ("learning_rate", "learn_time", "dt", "tau", "amplitude",
                     "output_precision", "max_rate", "average_time"):
            setattr(self, name, require_positive(name, getattr(self, name)))
        for name in ("sweep_time", "settle_time"):
            setattr(self, name, nonnegative(name, getattr(self, name)))
        self.lr_decay_samples = optional_int("lr_decay_samples", self.lr_decay_samples,
                                             1)
        for name, low in (("eval_every", 1), ("eval_spiking", 0),
                          ("final_eval_spiking", 0), ("seed", 0)):
            setattr(self, name, require_int(name, getattr(self, name), low))
        self.synapse = as_synapse(self.synapse, "synapse")
        self.pre_synapse = as_synapse(self.pre_synapse, "pre_synapse")
        if self.feedback not in FEEDBACK:
            raise ValueError(
                f"feedback: {self.feedback!r} is not one of {', '.join(FEEDBACK)}")
        if self.input_coding not in INPUT_CODINGS:
            raise ValueError(f"input_coding: {self.input_coding!r} is not one of "
                             f"{', '.join(INPUT_CODINGS)}")
        if self.simulator not in ONLINE_SIMULATORS:
            raise ValueError(f"simulator: {self.simulator!r} is not one of "
                             f"{', '.join(ONLINE_SIMULATORS)}")
        if self.network_kwargs is not None and not isinstance(self.network_kwargs, dict):
            raise ValueError(
                f"network_kwargs: expected a dict, got {self.network_kwargs!r}")
        presentation = self.presentation()
        if not 1 <= self.n_average <= presentation.n_steps:
            raise ValueError(
                f"average_time: must be between dt and a presentation "
                f"({presentation.n_steps * self.dt:g} s), got {self.average_time!r}")

    def presentation(self):
        """The `Presentation` of these settings."""
        return Presentation(self.dt, self.sweep_time, self.settle_time, self.learn_time)

    @property
    def n_average(self):
        """Steps the output is averaged over when classifying."""
        return int(round(self.average_time / self.dt))

    def record(self, arch, n_samples, n_eval):
        """Every setting of a run, JSON-serialisable (what a checkpoint compares)."""
        record = {"arch": arch.to_dict(), **dataclasses.asdict(self),
                  "n_samples": n_samples, "n_eval": n_eval,
                  "per_example_step": self.learning_rate * self.presentation().learn
                  * self.dt}
        for name in ("synapse", "pre_synapse"):
            record[name] = None if record[name] is None else str(record[name])
        record["network_kwargs"] = {k: repr(v)
                                    for k, v in (self.network_kwargs or {}).items()}
        return record


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
        accuracy on ``eval_split``), ``train_accuracy`` (fraction of the images
        presented since the previous entry classified correctly at the end of their
        sweep, before learning from them; None at 0, without a sweep or labels) and,
        with ``eval_spiking``, ``spiking_accuracy`` and ``spiking_agreement`` (with
        the feedforward pass).
    config : dict
        Every setting of the run (`OnlineConfig.record`, and ``network``).
    build_seconds, train_seconds, eval_seconds : float
        Time to build, to present training images, and to evaluate.
    final_spiking : dict or None
        With ``final_eval_spiking``: ``samples``, ``n``, ``accuracy``, ``agreement``
        and ``seconds`` of the network's own classification after training.
    """

    params: Params
    history: list
    config: dict
    build_seconds: float
    train_seconds: float
    eval_seconds: float
    final_spiking: dict = None


def _check_resume(path, arch, record, total):
    """ValueError naming ``resume`` (or ``n_samples``) unless the checkpoint at
    ``path`` is of this run: the same architecture and settings, except
    `RESUMABLE_CHANGES`, and no more samples seen than the run asks for."""
    saved_arch, _, _, metadata = read_checkpoint(path)
    if "online" not in metadata or "samples" not in metadata:
        raise ValueError(f"resume: {path} is not a train_online checkpoint "
                         f"(no online/samples metadata)")
    if saved_arch.to_dict() != arch.to_dict():
        raise ValueError(f"resume: {path} holds {saved_arch.to_dict()}, not "
                         f"{arch.to_dict()}")
    # checkpoints written before the simulator setting were NengoDL's
    saved = {"simulator": "nengo_dl", **metadata["online"]}
    current = json.loads(json.dumps(record))  # as the checkpoint stored it
    changed = sorted(k for k in current if k not in RESUMABLE_CHANGES
                     and saved.get(k) != current[k])
    if changed:
        raise ValueError(
            f"resume: {path} was trained with other settings: "
            + ", ".join(f"{k}={saved.get(k)!r} (now {current[k]!r})" for k in changed))
    if metadata["samples"] > total:
        raise ValueError(f"n_samples: {path} has already seen {metadata['samples']} "
                         f"samples, more than the {total} asked for")


def _check_run(arch, train_x, eval_split, config, checkpoint_path, resume):
    if config.input_coding == "poisson" and (train_x.min() < 0 or train_x.max() > 1):
        raise ValueError("train: Poisson input coding needs intensities in [0, 1]")
    if eval_split is not None:
        check_split("eval_split", eval_split, arch)
    for name in ("eval_spiking", "final_eval_spiking"):
        if getattr(config, name) and eval_split is None:
            raise ValueError(f"{name}: needs an eval_split")
    if not isinstance(resume, (bool, np.bool_)):
        raise ValueError(f"resume: must be True or False, got {resume!r}")
    if resume and checkpoint_path is None:
        raise ValueError("resume: needs a checkpoint_path to resume from")


def _settings(settings):
    fields = {f.name for f in dataclasses.fields(OnlineConfig)}
    unknown = sorted(set(settings) - fields)
    if unknown:
        raise ValueError(f"{unknown[0]}: not a setting of train_online (settings: "
                         f"{', '.join(sorted(fields))})")
    return OnlineConfig(**settings)


def online_history(history):
    """`OnlineResult.history` from a `nengo_pc.training.train` history of a
    sample-counted run: cumulative training ``seconds``, ``accuracy`` for the
    validation accuracy, ``train_accuracy`` None where there is none, and an entry
    at 0 samples first."""
    online, seconds = [], 0.0
    for entry in history:
        seconds += entry["seconds"]
        item = {"samples": entry["samples"], "seconds": seconds,
                "train_accuracy": entry.get("train_accuracy")}
        if "val_accuracy" in entry:
            item["accuracy"] = entry["val_accuracy"]
        for key in ("spiking_accuracy", "spiking_agreement"):
            if key in entry:
                item[key] = entry[key]
        online.append(item)
    if not online or online[0]["samples"] != 0:
        online.insert(0, {"samples": 0, "seconds": 0.0, "train_accuracy": None})
    return online


def train_online(arch, train, *, params=None, eval_split=None, checkpoint_path=None,
                 resume=False, progress=True, **settings):
    """Train a PC network online, in (spiking) NengoDL, with its local rule.

    See the module docstring for the presentation schedule and the rule. This is
    `nengo_pc.training.train` with rule ``pc-online`` on the ``simulated`` backend
    (`nengo_pc.pc.online_backend`), in online learning's terms: a learning rate per
    second of the learning window, summed (not averaged) over the minibatch.

    Parameters
    ----------
    arch : Architecture
        An MLP whose activation `PredictiveCodingNetwork` supports.
    train : nengo_pc.data.Split or tuple
        Training images and integer labels (one-hot targets), or ``(inputs,
        targets)`` arrays for regression (no training accuracy is then recorded).
    params : Params, optional
        Initial parameters; default ``init_params(arch, seed)``.
    eval_split : nengo_pc.data.Split, optional
        Evaluated at 0 samples, every ``eval_every`` samples and at the end.
    checkpoint_path : str or Path, optional
        Parameters and simulator state written there (atomically, by
        `nengo_pc.training.loop.write_checkpoint`; `nengo_pc.arch.load_params`
        reads the parameters) at every evaluation, with metadata ``samples``,
        ``history`` (the loop's) and ``online`` (`OnlineConfig.record`).
    resume : bool
        Continue from ``checkpoint_path`` if it exists. The data order and Poisson
        inputs are functions of ``seed`` and the sample index, and the checkpoint
        holds the simulator's whole state (learned weights, neurons, synapses): a
        resumed run learns exactly what the uninterrupted run learns (spiking too).
        Its settings must equal the checkpoint's, except `RESUMABLE_CHANGES`.
    progress : bool
        Print a line per evaluation on stderr (and images/s within long chunks).
    **settings
        The fields of `OnlineConfig` (``spiking``, ``learning_rate``, ...).

    Returns
    -------
    OnlineResult

    Raises
    ------
    ValueError
        Naming the argument or setting that is out of range or of the wrong type.
    FloatingPointError
        If the network's values become non-finite (naming the samples seen).
    """
    # pylint: disable=import-outside-toplevel
    from nengo_pc.pc.online_backend import NETWORK_DEFAULTS  # it reads OnlineConfig
    from nengo_pc.training import TrainConfig, train as train_loop

    train_x, _, _ = training_arrays(train, arch)
    config = _settings(settings)
    batch_size, n_batches = minibatches(config.batch_size, config.n_samples,
                                        config.epochs, len(train_x))
    _check_run(arch, train_x, eval_split, config, checkpoint_path, resume)
    total = n_batches * batch_size
    record = config.record(arch, total, None if eval_split is None else len(eval_split))
    record["network"] = network_options(arch, config.spiking, config.amplitude,
                                        config.synapse)[1]
    if resume and Path(checkpoint_path).exists():
        _check_resume(checkpoint_path, arch, record, total)
    window = config.dt * config.presentation().learn
    loop_config = TrainConfig(
        rule="pc-online", options={"output_precision": config.output_precision},
        n_samples=total, batch_size=batch_size,
        # online learning steps every example by learning_rate * window; the loop's
        # rate acts on minibatch means
        learning_rate=config.learning_rate * window * batch_size,
        lr_schedule="constant" if config.lr_decay_samples is None else "inverse_time",
        lr_decay_samples=config.lr_decay_samples, optimizer="sgd",
        eval_every=config.eval_every, seed=config.seed)
    network = {name: getattr(config, name) for name in NETWORK_DEFAULTS}
    start = time.perf_counter()
    result = train_loop(arch, train, loop_config, backend="simulated",
                        validation=eval_split, params=params,
                        checkpoint_path=checkpoint_path, resume=resume,
                        progress=progress, metadata={"online": record},
                        backend_options=network)
    history = online_history(result.history)
    train_seconds = history[-1]["seconds"]
    eval_seconds = max(0.0, time.perf_counter() - start - result.build_seconds
                       - train_seconds)
    return OnlineResult(result.params, history, record, result.build_seconds,
                        train_seconds, eval_seconds, result.final)

