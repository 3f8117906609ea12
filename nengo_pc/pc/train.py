"""Minibatched training of an MLP with backprop or a predictive-coding rule.

This is the fast training path of the PC family: the data sit in TensorFlow once, and
every minibatch is one ``tf.function`` call that computes the rule's weight updates
with `nengo_pc.pc.core` (`~nengo_pc.pc.core.pc_updates` for the PC variants,
`~nengo_pc.pc.core.backprop` for ``"bp"``) and hands them to a Keras optimiser. All
rules therefore share everything except the rule: the loss (squared error
``L = sum_batch ||y - y_hat||^2 / 2`` on one-hot targets, the loss whose gradient the
PC rules approximate), the architecture, the initial parameters, the optimiser, the
data order and the number of epochs -- so accuracy and time per epoch compare like
with like.

The updates of `nengo_pc.pc.core` are changes to *add*, summed over the batch; the
optimiser is given ``gradient = -update / batch_size`` (incremental PC: see
`PCTrainConfig`), so learning rates act on per-example means, as for the backprop
trainer in `nengo_pc.train` (whose conventions this module follows: one numpy
permutation per epoch, whole minibatches only, a summary line per epoch on stderr,
a checkpoint after every epoch).

At test time a PC network whose output is free relaxes to the feedforward pass (all
errors are zero there), so a PC-trained network is evaluated, and validated, with
the feedforward pass (`nengo_pc.rates.forward`).

The baselines of `nengo_pc.pc.baselines` train the same way: feedback alignment
(``"fa"``) and direct feedback alignment (``"dfa"``) on the feedforward network,
equilibrium propagation (``"eqprop"``) and contrastive Hebbian learning (``"chl"``)
on the energy-based network with the same layers, which is trained, validated and
evaluated by its free phase (`evaluate_pc` with the config).

Each epoch also records how well every layer's update points along the backprop
gradient: the cosine between the rule's update and ``-dL/dW`` (weights and biases
of a layer together) on a fixed probe batch, with the parameters at the end of the
epoch.
"""

import dataclasses
import math
import time

import numpy as np

from nengo_pc.arch import Params, init_params, save_params
from nengo_pc.data import IMAGE_SHAPE, random_shifts
from nengo_pc.pc.options import ACTIVATIONS, VARIANTS, check_lif_params, resolve_options
from nengo_pc.rates import forward
from nengo_pc.train import (
    LR_SCHEDULES,
    TrainResult,
    check_split,
    log_progress,
    require_int,
    classification_metrics,
    make_optimizer,
)

#: Feedback-alignment rules of `nengo_pc.pc.baselines` (named here too, so that the
#: rules can be listed without importing TensorFlow).
FEEDBACK_RULES = ("fa", "dfa")

#: Energy-based rules of `nengo_pc.pc.baselines`: trained and evaluated by their
#: free phase.
ENERGY_RULES = ("eqprop", "chl")

#: Learning rules `train_pc` knows: backprop, the PC variants, then the baselines.
RULES = ("bp",) + VARIANTS + FEEDBACK_RULES + ENERGY_RULES

#: Free-phase and nudged-phase sweeps of the energy-based rules when not given.
ENERGY_STEPS = (20, 8)

#: Keras optimisers `train_pc` can use: Adam, plain SGD, and SGD with momentum
#: `MOMENTUM` (``"momentum"``, the optimiser FA and DFA were published with: it keeps
#: each update proportional to the rule's error signal, where Adam blows the small,
#: initially unaligned hidden-layer updates of FA/DFA up to full-size steps).
OPTIMIZERS = ("adam", "sgd", "momentum")

#: Momentum coefficient of ``optimizer="momentum"``.
MOMENTUM = 0.9

#: Examples in the fixed probe batch on which update/gradient alignment is measured.
ALIGNMENT_BATCH = 500


def _optional_positive(name, value):
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ValueError(f"{name}: must be a finite number > 0, got {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}: must be a finite number > 0, got {value!r}")


@dataclasses.dataclass(frozen=True)
class PCTrainConfig:
    """How `train_pc` trains a network.

    Parameters
    ----------
    rule : str
        Learning rule, one of `RULES`: ``"bp"`` (backprop of the squared error), a
        PC variant of `nengo_pc.pc.VARIANTS` (``"standard"``, ``"fixed_prediction"``,
        ``"zil"``, ``"incremental"``), or a baseline of `nengo_pc.pc.baselines`:
        ``"fa"``, ``"dfa"`` (fixed random feedback matrices drawn from
        ``[seed, 2]``), ``"eqprop"``, ``"chl"``.
    epochs : int
        Passes over the training set (>= 1).
    batch_size : int
        Minibatch size (>= 1). Every epoch uses ``floor(N / batch_size) *
        batch_size`` examples of a fresh shuffle, as `nengo_pc.train` does.
    learning_rate : float
        Initial step size of the optimiser (> 0), acting on per-example mean
        gradients.
    lr_schedule : str
        ``"constant"`` or ``"cosine"`` (cosine decay to zero over all epochs).
    optimizer : str
        ``"adam"`` (the optimiser of `nengo_pc.train.make_optimizer`), ``"sgd"``, or
        ``"momentum"`` (SGD with momentum `MOMENTUM`, not Nesterov).
    n_steps : int or None
        Inference iterations of the PC rule; None for the variant's default (20 for
        ``"standard"`` and ``"incremental"``, the number of layers L for
        ``"fixed_prediction"`` and ``"zil"``). For ``"eqprop"`` and ``"chl"`` the
        sweeps of the free phase (default 20), which is also how they classify.
        Ignored by ``"bp"``, ``"fa"`` and ``"dfa"``.
    step_size : float or None
        Inference step size; None for the variant's default (0.1 for
        ``"standard"`` and ``"incremental"``, 1.0 for the exact variants). Ignored
        by ``"bp"``. Standard and incremental inference are gradient descent on
        the energy and diverge (for some examples first) above a step size of
        about ``2 / (1 + ||f' W||^2)`` of the layer above: about 0.15 for trained
        500-unit ReLU layers, where 0.3 already spoils the updates.
    output_precision : float
        Precision gamma (> 0) of the output error (see `nengo_pc.pc.core`); small
        values are the weak-feedback regime in which standard PC approaches
        backprop. Used by the PC variants only.
    beta : float
        Nudging strength of ``"eqprop"`` (> 0, and < 1 with symmetric nudging);
        ignored by the other rules.
    symmetric_nudging : bool
        ``"eqprop"``: nudge with +beta and -beta and take the difference over
        2 beta (Laborieux et al. 2021) instead of +beta against the free phase.
    nudged_steps : int or None
        Sweeps of each nudged phase of ``"eqprop"``, or of the clamped phase of
        ``"chl"``; None for 8.
    max_shift : int
        Data augmentation: every epoch, each training image is translated by a
        random whole number of pixels in ``[-max_shift, max_shift]`` per axis
        (`nengo_pc.data.random_shifts`; 0 for none). Needs 28 x 28 images.
    seed : int
        Seeds parameter initialisation, data order, the probe batch, the shifts
        and TensorFlow.

    Notes
    -----
    ``"incremental"`` changes the weights during inference at the per-example rate
    ``lr / batch_size`` (``lr`` the scheduled learning rate of the current step,
    applied to batch-summed updates), and the optimiser is given the sum of the
    per-step updates divided by the batch size. With ``optimizer="sgd"`` the
    parameters thus end up changed by exactly the total incremental PC prescribes;
    with Adam the total is normalised like any gradient.
    """

    rule: str = "standard"
    epochs: int = 10
    batch_size: int = 100
    learning_rate: float = 1e-3
    lr_schedule: str = "cosine"
    optimizer: str = "adam"
    n_steps: int | None = None
    step_size: float | None = None
    output_precision: float = 1.0
    beta: float = 0.2
    symmetric_nudging: bool = True
    nudged_steps: int | None = None
    max_shift: int = 0
    seed: int = 0

    def __post_init__(self):
        if self.rule not in RULES:
            raise ValueError(f"rule: {self.rule!r} is not one of {', '.join(RULES)}")
        require_int("epochs", self.epochs, low=1)
        require_int("batch_size", self.batch_size, low=1)
        require_int("seed", self.seed, low=0)
        if self.learning_rate is None:
            raise ValueError("learning_rate: must be a finite number > 0, got None")
        _optional_positive("learning_rate", self.learning_rate)
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule: {self.lr_schedule!r} is not one of "
                f"{', '.join(LR_SCHEDULES)}"
            )
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer: {self.optimizer!r} is not one of {', '.join(OPTIMIZERS)}"
            )
        if self.n_steps is not None:
            require_int("n_steps", self.n_steps, low=1)
        _optional_positive("step_size", self.step_size)
        if self.output_precision is None:
            raise ValueError("output_precision: must be a finite number > 0, got None")
        _optional_positive("output_precision", self.output_precision)
        if self.beta is None:
            raise ValueError("beta: must be a finite number > 0, got None")
        _optional_positive("beta", self.beta)
        if not isinstance(self.symmetric_nudging, (bool, np.bool_)):
            raise ValueError(
                f"symmetric_nudging: must be True or False, got "
                f"{self.symmetric_nudging!r}"
            )
        if self.symmetric_nudging and self.rule == "eqprop" and self.beta >= 1:
            # the -beta phase has a minimiser only while 1 - beta > 0
            raise ValueError(
                f"beta: symmetric nudging needs beta < 1, got {self.beta!r}"
            )
        if self.nudged_steps is not None:
            require_int("nudged_steps", self.nudged_steps, low=1)
        require_int("max_shift", self.max_shift, low=0)

    def inference_options(self, n_layers):
        """The PC options this config resolves to for a network of ``n_layers``.

        Parameters
        ----------
        n_layers : int
            Number of weight layers L.

        Returns
        -------
        dict
            ``n_steps``, ``step_size`` and ``output_precision`` with the variant's
            defaults filled in (see `nengo_pc.pc.options.resolve_options`); empty
            for ``"bp"``, ``"fa"`` and ``"dfa"``; for ``"eqprop"`` and ``"chl"``
            ``n_steps`` (free phase), ``nudged_steps``, ``beta`` and
            ``symmetric`` (the last two as used: ``"chl"`` clamps).

        Raises
        ------
        ValueError
            Naming the option, e.g. ``n_steps`` below L for ``"zil"``.
        """
        if self.rule == "bp" or self.rule in FEEDBACK_RULES:
            return {}
        if self.rule in ENERGY_RULES:
            free, nudged = ENERGY_STEPS
            eqprop = self.rule == "eqprop"
            return {
                "n_steps": free if self.n_steps is None else self.n_steps,
                "nudged_steps": nudged if self.nudged_steps is None
                else self.nudged_steps,
                "beta": self.beta if eqprop else None,
                "symmetric": bool(self.symmetric_nudging) if eqprop else False,
            }
        options = resolve_options(
            self.rule, n_layers, self.n_steps, self.step_size,
            output_precision=self.output_precision,
        )
        return {k: options[k] for k in ("n_steps", "step_size", "output_precision")}

    def to_dict(self):
        """JSON-serialisable form."""
        return dataclasses.asdict(self)


def _learning_rate_schedule(config, steps_per_epoch):
    """The learning rate as a Keras schedule (cosine) or a float (constant).

    The same schedule `nengo_pc.train.make_optimizer` gives Adam; needed here for
    SGD and for the per-step rate of incremental PC.
    """
    import tensorflow as tf

    if config.lr_schedule == "cosine":
        return tf.keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps=config.epochs * steps_per_epoch
        )
    return config.learning_rate


def _make_optimizer(config, steps_per_epoch):
    import tensorflow as tf

    if config.optimizer == "adam":
        # exactly the backprop trainer's optimiser, so BP baselines of both trainers
        # share it
        return make_optimizer(config, steps_per_epoch)
    return tf.keras.optimizers.SGD(
        learning_rate=_learning_rate_schedule(config, steps_per_epoch),
        momentum=MOMENTUM if config.optimizer == "momentum" else 0.0,
    )


class _Trainer:
    """The compiled pieces of one training run: variables, optimiser, step functions.

    Parameters
    ----------
    arch : Architecture
    params : Params
        Initial values of the variables.
    config : PCTrainConfig
    steps_per_epoch : int
        Minibatches per epoch (for the learning-rate schedule).
    """

    def __init__(self, arch, params, config, steps_per_epoch):
        import tensorflow as tf

        from nengo_pc.pc import core

        self.tf, self.core = tf, core
        self.arch, self.config = arch, config
        self.options = config.inference_options(arch.n_layers)
        self.weights = [
            tf.Variable(np.asarray(w, np.float32), name=f"w{i}")
            for i, w in enumerate(params.weights)
        ]
        self.biases = [
            tf.Variable(np.asarray(b, np.float32), name=f"b{i}")
            for i, b in enumerate(params.biases)
        ]
        self.feedback = None
        if config.rule in FEEDBACK_RULES:
            from nengo_pc.pc.baselines import random_feedback

            # fixed for the whole run, from a stream of their own
            self.feedback = [
                tf.constant(m) for m in
                random_feedback(arch.sizes, config.rule, [config.seed, 2])
            ]
        self.optimizer = _make_optimizer(config, steps_per_epoch)
        self.schedule = _learning_rate_schedule(config, steps_per_epoch)
        batch_spec = [
            tf.TensorSpec([config.batch_size, arch.sizes[0]], tf.float32),
            tf.TensorSpec([config.batch_size, arch.sizes[-1]], tf.float32),
        ]
        probe_spec = [tf.TensorSpec([None, n], tf.float32)
                      for n in (arch.sizes[0], arch.sizes[-1])]
        # traced once, here (so tracing counts as build time); autograph is not
        # needed: every loop is over layers or inference steps and unrolls
        self.step = tf.function(self._step, autograph=False).get_concrete_function(
            *batch_spec
        )
        self.alignment_fn = tf.function(
            self._alignment, autograph=False
        ).get_concrete_function(*probe_spec)

    def _learning_rate_at(self, iteration):
        """The scheduled learning rate at optimiser step ``iteration`` (a tensor)."""
        tf = self.tf
        if callable(self.schedule):
            return tf.cast(self.schedule(iteration), tf.float32)
        return tf.constant(self.schedule, tf.float32)

    def _updates(self, weights, biases, x, y, iteration):
        """The rule's (dW, db) per layer (batch sums) and the normaliser for grads.

        ``iteration`` is the optimiser step whose learning rate incremental PC uses
        during inference.
        """
        tf, core = self.tf, self.core
        batch = tf.cast(tf.shape(x)[0], tf.float32)
        rule = self.config.rule
        if rule == "bp":
            return core.backprop(weights, biases, x, y, self.arch.activation), batch
        if rule in FEEDBACK_RULES or rule in ENERGY_RULES:
            return self._baseline_updates(weights, biases, x, y), batch
        learning_rate = None
        scale = batch
        if rule == "incremental":
            # per-example rate on batch-summed updates (see PCTrainConfig)
            learning_rate = self._learning_rate_at(iteration) / batch
            scale = learning_rate * batch
        updates = core.pc_updates(
            weights, biases, x, y, rule, self.arch.activation,
            self.options["n_steps"], self.options["step_size"],
            self.options["output_precision"], learning_rate,
        )
        return updates, scale

    def _baseline_updates(self, weights, biases, x, y):
        """(dW, db) per layer (batch sums) of a rule of `nengo_pc.pc.baselines`."""
        from nengo_pc.pc import baselines

        rule, activation, options = self.config.rule, self.arch.activation, self.options
        if rule == "fa":
            return baselines.feedback_alignment_updates(
                weights, biases, x, y, activation, self.feedback)
        if rule == "dfa":
            return baselines.direct_feedback_alignment_updates(
                weights, biases, x, y, activation, self.feedback)
        if rule == "eqprop":
            return baselines.eqprop_updates(
                weights, biases, x, y, activation, options["n_steps"],
                options["nudged_steps"], options["beta"], options["symmetric"])
        return baselines.chl_updates(weights, biases, x, y, activation,
                                     options["n_steps"], options["nudged_steps"])

    def _reference(self, weights, biases, x, y):
        """The gradient the rule's update is compared with (as an update)."""
        if self.config.rule in ENERGY_RULES:
            from nengo_pc.pc.baselines import free_phase_gradient

            # BPTT through the free phase the network predicts with
            return free_phase_gradient(weights, biases, x, y, self.arch.activation,
                                       self.options["n_steps"])
        return self.core.backprop(weights, biases, x, y, self.arch.activation)

    def _loss(self, weights, biases, x, y):
        """Mean over the batch of ||y - y_hat||^2 / 2 at the network's prediction.

        The prediction is the feedforward pass, or the end of the free phase for the
        energy-based rules.
        """
        tf = self.tf
        if self.config.rule in ENERGY_RULES:
            from nengo_pc.pc.baselines import free_phase_output

            y_hat = free_phase_output(weights, biases, x, self.arch.activation,
                                      self.options["n_steps"])
        else:
            f = _tf_activation(self.arch.activation)
            y_hat = self.core.feedforward(weights, biases, x, f)[-1]
        batch = tf.cast(tf.shape(x)[0], tf.float32)
        return tf.reduce_sum(tf.square(y - y_hat)) / 2 / batch

    def _step(self, x, y):
        tf = self.tf
        # read every variable once, so the rule sees one consistent set of tensors
        weights = [w.value() for w in self.weights]
        biases = [b.value() for b in self.biases]
        # (the feedforward pass of the loss is the one the rule starts from; grappler
        # merges the identical subgraphs)
        loss = self._loss(weights, biases, x, y)
        updates, scale = self._updates(
            weights, biases, x, y, self.optimizer.iterations
        )
        # (divide_no_nan: incremental PC's total is exactly zero where the schedule
        # reaches a learning rate of zero)
        grads = [tf.math.divide_no_nan(-u, scale) for pair in updates for u in pair]
        grads = grads[0::2] + grads[1::2]
        self.optimizer.apply_gradients(zip(grads, self.weights + self.biases))
        return loss

    def _alignment(self, x, y):
        tf = self.tf
        weights = [w.value() for w in self.weights]
        biases = [b.value() for b in self.biases]
        # incremental PC at the rate of the last step taken (the schedule may reach
        # zero at the very end of training, where the rule's total would vanish)
        last = tf.maximum(self.optimizer.iterations - 1, 0)
        updates, _ = self._updates(weights, biases, x, y, last)
        reference = self._reference(weights, biases, x, y)
        cosines = []
        for (dw, db), (gw, gb) in zip(updates, reference):
            # in float64, so that equal float32 updates give a cosine of 1 to
            # float64 rounding rather than float32's
            a = tf.cast(tf.concat([tf.reshape(dw, [-1]), db], 0), tf.float64)
            b = tf.cast(tf.concat([tf.reshape(gw, [-1]), gb], 0), tf.float64)
            cosines.append(tf.stack([tf.reduce_sum(a * b), tf.norm(a) * tf.norm(b)]))
        return tf.stack(cosines)

    def alignment(self, x, y):
        """Per-layer cosine of the rule's update with -dL/dW (None if undefined).

        L is the loss at the feedforward pass, or at the end of the unrolled free
        phase (backprop through time) for the energy-based rules.
        """
        result = self.alignment_fn(x, y).numpy()
        return [float(dot / norms) if norms > 0 else None for dot, norms in result]

    def finite(self):
        """Whether every parameter is finite."""
        tf = self.tf
        return bool(tf.reduce_all([
            tf.reduce_all(tf.math.is_finite(v)) for v in self.weights + self.biases
        ]))

    def params(self):
        """Current values as `Params`."""
        return Params([w.numpy() for w in self.weights],
                      [b.numpy() for b in self.biases])


def _tf_activation(name):
    from nengo_pc.pc.activations import get_activation

    return get_activation(name).f


def _free_phase_logits(arch, params, images, config):
    """Outputs of the energy-based network at the end of its free phase."""
    import tensorflow as tf

    from nengo_pc.pc.baselines import free_phase_output

    weights = [tf.constant(np.asarray(w, np.float32)) for w in params.weights]
    biases = [tf.constant(np.asarray(b, np.float32)) for b in params.biases]
    n_steps = config.inference_options(arch.n_layers)["n_steps"]
    y_hat = free_phase_output(weights, biases, tf.constant(np.asarray(images, np.float32)),
                              arch.activation, n_steps)
    return y_hat.numpy().astype(np.float64)


def squared_error_loss(arch, params, split, batch_size=2000, config=None):
    """Mean over examples of ||one_hot - logits||^2 / 2 at the network's prediction.

    The loss `train_pc` minimises, for validation.

    Parameters
    ----------
    arch : Architecture
    params : Params
    split : nengo_pc.data.Split
    batch_size : int
        Examples per numpy forward pass (bounds memory).
    config : PCTrainConfig, optional
        For ``"eqprop"`` and ``"chl"``, the prediction is the end of the free phase
        of ``config.n_steps`` sweeps; otherwise (and by default) the feedforward
        pass.

    Returns
    -------
    loss : float
    logits : ndarray
        Shape (N, n_out), for `nengo_pc.train.classification_metrics`.
    """
    if config is not None and config.rule in ENERGY_RULES:
        def predict(images):
            return _free_phase_logits(arch, params, images, config)
    else:
        def predict(images):
            return forward(arch, params, images)
    logits = np.concatenate([
        predict(split.images[i:i + batch_size])
        for i in range(0, len(split), batch_size)
    ])
    targets = np.eye(arch.sizes[-1], dtype=np.float64)[split.labels]
    loss = float(np.mean(np.sum((targets - logits) ** 2, axis=1)) / 2)
    return loss, logits


def evaluate_pc(arch, params, split, config=None):
    """Classify ``split`` with the network ``config.rule`` trained.

    That is the feedforward pass for backprop, the PC variants, ``"fa"`` and
    ``"dfa"`` (and when ``config`` is None), and the end of the free phase of the
    energy-based network for ``"eqprop"`` and ``"chl"``.

    Parameters
    ----------
    arch : Architecture
    params : Params
    split : nengo_pc.data.Split
    config : PCTrainConfig, optional
        The training config (its rule and free-phase ``n_steps``).

    Returns
    -------
    dict
        ``accuracy``, ``loss`` (mean softmax cross-entropy, as
        `nengo_pc.train.classification_metrics`), ``squared_error`` (the training
        loss of `train_pc`) and ``n_examples``.
    """
    check_split("split", split, arch)
    if config is not None and not isinstance(config, PCTrainConfig):
        raise ValueError(
            f"config: must be a PCTrainConfig or None, got {type(config).__name__}"
        )
    squared_error, logits = squared_error_loss(arch, params, split, config=config)
    metrics = classification_metrics(logits, split.labels)
    metrics.update(squared_error=squared_error, n_examples=len(split))
    return metrics


def time_steps(arch, configs, images, labels, *, params=None, n_steps=10,
               repeats=7):
    """Seconds per minibatch step of several configs, measured interleaved.

    Epoch times of runs made one after the other also measure whatever else the
    machine did meanwhile. Here every config gets its own traced step function, and
    then ``repeats`` rounds each run ``n_steps`` steps of every config in turn, so
    that changes in machine load affect all configs alike; the median over rounds is
    reported.

    Parameters
    ----------
    arch : Architecture
    configs : sequence of PCTrainConfig
        All with ``batch_size == len(images)``.
    images : ndarray
        One minibatch of inputs, shape (batch_size, n_in).
    labels : ndarray
        Its integer labels.
    params : Params, optional
        Starting parameters (default ``init_params(arch, seed)``); the steps train
        private copies.
    n_steps : int
        Steps per config and round.
    repeats : int
        Rounds.

    Returns
    -------
    list of float
        Median seconds per step, one per config.
    """
    import tensorflow as tf

    require_int("n_steps", n_steps, low=1)
    require_int("repeats", repeats, low=1)
    for config in configs:
        if config.batch_size != len(images):
            raise ValueError(
                f"batch_size: configs must use the batch size of the timing batch "
                f"({len(images)}), got {config.batch_size}"
            )
    x = tf.constant(np.asarray(images, np.float32))
    y = tf.constant(np.eye(arch.sizes[-1], dtype=np.float32)[labels])
    total_steps = 1 + repeats * n_steps  # keeps any cosine schedule above zero
    trainers = [
        _Trainer(arch, init_params(arch, c.seed) if params is None else params, c,
                 total_steps)
        for c in configs
    ]
    for trainer in trainers:  # warm up: first calls allocate
        trainer.step(x, y)
    times = [[] for _ in trainers]
    for _ in range(repeats):
        for trainer, record in zip(trainers, times):
            t0 = time.perf_counter()
            for _ in range(n_steps):
                loss = trainer.step(x, y)
            loss.numpy()  # wait for the last step
            record.append((time.perf_counter() - t0) / n_steps)
    return [float(np.median(record)) for record in times]


def train_pc(
    arch,
    train,
    config,
    *,
    validation=None,
    params=None,
    checkpoint_path=None,
    progress=True,
):
    """Train ``arch`` on a data split with backprop or a predictive-coding rule.

    Every minibatch is one ``tf.function`` call: the rule's updates on the batch
    (`nengo_pc.pc.core.pc_updates`, or `nengo_pc.pc.core.backprop` for ``"bp"``),
    turned into gradients ``-update / batch_size`` and applied by the optimiser.
    The targets are the one-hot labels and the loss is the squared error, for every
    rule.

    Parameters
    ----------
    arch : Architecture
        The network; its hidden activation must be one of
        `nengo_pc.pc.ACTIVATIONS` (``"lif"`` with the default LIF parameters,
        `nengo_pc.pc.options.check_lif_params`), and for ``"eqprop"`` and
        ``"chl"`` one of `nengo_pc.pc.baselines.ENERGY_ACTIVATIONS` (bounded).
    train : nengo_pc.data.Split
        Training images (flattened) and integer labels.
    config : PCTrainConfig
        Rule, optimiser, epochs, inference options, seed.
    validation : nengo_pc.data.Split, optional
        Classified after every epoch, as `evaluate_pc` does.
    params : Params, optional
        Initial parameters; default ``init_params(arch, config.seed)``.
    checkpoint_path : str or Path, optional
        Where to write the parameters after every epoch (atomically, with metadata
        ``epoch`` and ``rule``).
    progress : bool
        Print a summary line per epoch on stderr.

    Returns
    -------
    nengo_pc.train.TrainResult
        ``history`` has one entry per epoch: ``epoch``, ``loss`` (mean over the
        epoch's minibatches of the mean squared-error loss at the feedforward pass,
        before each minibatch's update), ``seconds`` (training time of the epoch),
        ``alignment`` (per layer, the cosine between the rule's update and the
        backprop gradient on a fixed probe batch of up to `ALIGNMENT_BATCH`
        training examples, at the end of the epoch; None where a norm is zero) and,
        with ``validation``, ``val_accuracy`` and ``val_loss`` (mean squared-error
        loss, like ``loss``). ``build_seconds`` covers setting up and tracing the
        step function.

    Raises
    ------
    ValueError
        Naming the argument: an activation PC does not have, a split that does not
        fit the network, a batch larger than the training set, or inference
        options the rule rejects (e.g. ``n_steps`` < L for ``"zil"``).
    FloatingPointError
        If the parameters or the loss become non-finite, naming the epoch.
    """
    import tensorflow as tf

    if not isinstance(config, PCTrainConfig):
        raise ValueError(
            f"config: must be a PCTrainConfig, got {type(config).__name__}"
        )
    if arch.activation not in ACTIVATIONS:
        raise ValueError(
            f"activation: the PC trainer supports {', '.join(ACTIVATIONS)}, "
            f"got {arch.activation!r}"
        )
    check_lif_params("arch", arch)
    if config.rule in ENERGY_RULES:
        from nengo_pc.pc.baselines import check_energy_activation

        check_energy_activation(arch.activation)
    check_split("train", train, arch)
    if validation is not None:
        check_split("validation", validation, arch)
    image_shape = IMAGE_SHAPE + (1,)
    if config.max_shift and arch.sizes[0] != np.prod(image_shape):
        raise ValueError(
            f"max_shift: shift augmentation needs {IMAGE_SHAPE[0]} x "
            f"{IMAGE_SHAPE[1]} input images, the network takes {arch.sizes[0]} inputs"
        )
    config.inference_options(arch.n_layers)  # ValueError naming the option, now
    batch_size = config.batch_size
    n_used = (len(train) // batch_size) * batch_size
    if n_used == 0:
        raise ValueError(
            f"batch_size: {batch_size} is larger than the training set "
            f"({len(train)} examples)"
        )
    steps_per_epoch = n_used // batch_size

    tf.random.set_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    # the shifts have their own generator so that they leave the data order alone
    shift_rng = np.random.default_rng([config.seed, 3])
    params = init_params(arch, config.seed) if params is None else params
    params.check(arch)

    start = time.perf_counter()
    trainer = _Trainer(arch, params, config, steps_per_epoch)  # traces the steps
    n_out = arch.sizes[-1]
    images = tf.constant(np.asarray(train.images, np.float32))
    targets = tf.constant(np.eye(n_out, dtype=np.float32)[train.labels])
    # the probe batch has its own generator so that it leaves the data order alone
    probe = np.sort(
        np.random.default_rng([config.seed, 1]).permutation(len(train))[
            :ALIGNMENT_BATCH]
    )
    probe_x, probe_y = tf.gather(images, probe), tf.gather(targets, probe)
    build_seconds = time.perf_counter() - start

    history = []
    rule = config.rule
    for epoch in range(1, config.epochs + 1):
        order = rng.permutation(len(train))[:n_used]
        t0 = time.perf_counter()
        if config.max_shift:
            x_epoch = tf.constant(random_shifts(
                np.asarray(train.images, np.float32)[order], image_shape,
                config.max_shift, shift_rng))
        else:
            x_epoch = tf.gather(images, order)
        y_epoch = tf.gather(targets, order)
        losses = [
            trainer.step(x_epoch[k:k + batch_size], y_epoch[k:k + batch_size])
            for k in range(0, n_used, batch_size)
        ]
        loss = float(tf.reduce_mean(tf.stack(losses)))
        seconds = time.perf_counter() - t0
        if not (math.isfinite(loss) and trainer.finite()):
            raise FloatingPointError(
                f"rule {rule!r}: parameters or training loss became non-finite in "
                f"epoch {epoch} (learning_rate={config.learning_rate}); try a "
                f"smaller learning_rate"
                + ("" if rule == "bp" or rule in FEEDBACK_RULES + ENERGY_RULES
                   else " or step_size")
            )
        entry = {"epoch": epoch, "loss": loss, "seconds": seconds,
                 "alignment": trainer.alignment(probe_x, probe_y)}
        current = trainer.params()
        if validation is not None:
            metrics = evaluate_pc(arch, current, validation, config)
            entry["val_accuracy"] = metrics["accuracy"]
            entry["val_loss"] = metrics["squared_error"]
        history.append(entry)
        if checkpoint_path is not None:
            save_params(checkpoint_path, arch, current, epoch=epoch, rule=rule)
        if progress:
            val = (f"  val acc {100 * entry['val_accuracy']:.2f}%"
                   if "val_accuracy" in entry else "")
            align = " ".join("-" if c is None else f"{c:.3f}"
                             for c in entry["alignment"])
            log_progress(f"[pc:{rule}] epoch {epoch}/{config.epochs}  loss {loss:.4f}{val}  "
                 f"align {align}  {seconds:.1f} s")
    return TrainResult(trainer.params(), history, build_seconds)
