"""How a network is trained: the one configuration of `nengo_pc.training.train`."""

import dataclasses
import math

import numpy as np

#: Learning-rate schedules (`nengo_pc.training.schedule.Schedule`).
LR_SCHEDULES = ("constant", "cosine", "inverse_time")

#: Optimisers: Adam, plain SGD, and SGD with momentum `MOMENTUM` (``"momentum"``,
#: the optimiser FA and DFA were published with: it keeps each update proportional to
#: the rule's error signal, where Adam blows the small, initially unaligned
#: hidden-layer updates of FA/DFA up to full-size steps).
OPTIMIZERS = ("adam", "sgd", "momentum")

#: Momentum coefficient of ``optimizer="momentum"``.
MOMENTUM = 0.9

#: Floating-point types the vectorised backend computes in.
DTYPES = ("float32", "float64")


def require_int(name, value, low, high=None):
    """Raise ValueError naming ``name`` unless ``value`` is an integer in range."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < low or (high is not None and value > high):
        limit = f">= {low}" + ("" if high is None else f" and <= {high}")
        raise ValueError(f"{name}: must be an integer {limit}, got {value!r}")
    return int(value)


def require_positive(name, value):
    """Raise ValueError naming ``name`` unless ``value`` is a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}: must be a finite number > 0, got {value!r}")
    return float(value)


def require_choice(name, value, choices):
    """Raise ValueError naming ``name`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name}: {value!r} is not one of {', '.join(choices)}")
    return value


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How `nengo_pc.training.train` trains a network, for every rule and backend.

    Parameters
    ----------
    rule : str
        A registered rule (`nengo_pc.rules.names`).
    options : dict
        The rule's own options (`nengo_pc.rules.Rule.options`); missing ones take
        the rule's defaults.
    epochs : int
        Passes over the training set (>= 1), each a fresh permutation of it in whole
        minibatches (``floor(N / batch_size) * batch_size`` examples).
    n_samples : int or None
        Instead of ``epochs``: present this many images as one stream of passes
        (pass p a permutation drawn from ``[seed, 2, p]``; minibatches may straddle
        passes), as online learning does, evaluating every ``eval_every`` images.
    batch_size : int
        Minibatch size (>= 1).
    learning_rate : float
        Initial step size (> 0), acting on per-example mean updates.
    lr_schedule : str
        One of `LR_SCHEDULES`: ``"constant"``, ``"cosine"`` (decay to zero over the
        run) or ``"inverse_time"`` (divided by ``1 + samples / lr_decay_samples``).
    lr_decay_samples : int or None
        Images over which ``"inverse_time"`` halves the rate (needed by it only).
    optimizer : str
        One of `OPTIMIZERS`.
    max_shift : int
        Augmentation: every epoch, each training image is translated by a random
        whole number of pixels in ``[-max_shift, max_shift]`` per axis, drawn from
        the generator ``[seed, 3]`` (so the data order does not depend on it).
    eval_every : int or None
        With ``n_samples``: images between evaluations (default: one evaluation at
        the end). Epoch runs evaluate after every epoch.
    seed : int
        Seeds initialisation, data order, shifts, the rule's random draws and
        TensorFlow.
    dtype : str
        ``"float32"`` or ``"float64"``: what the vectorised backend computes in.
    """

    rule: str = "backprop"
    options: dict = dataclasses.field(default_factory=dict)
    epochs: int = 10
    n_samples: int = None
    batch_size: int = 100
    learning_rate: float = 1e-3
    lr_schedule: str = "cosine"
    lr_decay_samples: int = None
    optimizer: str = "adam"
    max_shift: int = 0
    eval_every: int = None
    seed: int = 0
    dtype: str = "float32"

    def __post_init__(self):
        from nengo_pc import rules

        rule = rules.get(self.rule)
        if not isinstance(self.options, dict):
            raise ValueError(f"options: must be a dict, got {self.options!r}")
        rule.check_options(**self.options)
        require_int("epochs", self.epochs, low=1)
        if self.n_samples is not None:
            require_int("n_samples", self.n_samples, low=1)
        require_int("batch_size", self.batch_size, low=1)
        require_positive("learning_rate", self.learning_rate)
        require_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        if self.lr_schedule == "inverse_time":
            if self.lr_decay_samples is None:
                raise ValueError("lr_decay_samples: the inverse_time schedule needs "
                                 "it (an integer >= 1)")
        if self.lr_decay_samples is not None:
            require_int("lr_decay_samples", self.lr_decay_samples, low=1)
        require_choice("optimizer", self.optimizer, OPTIMIZERS)
        require_int("max_shift", self.max_shift, low=0)
        if self.eval_every is not None:
            require_int("eval_every", self.eval_every, low=1)
        require_int("seed", self.seed, low=0)
        require_choice("dtype", self.dtype, DTYPES)

    @classmethod
    def for_rule(cls, rule, **fields):
        """A config with the rule's `~nengo_pc.rules.Rule.config_defaults` under
        ``fields`` (fields given win)."""
        from nengo_pc import rules

        return cls(rule=rule, **{**rules.get(rule).config_defaults, **fields})

    def rule_options(self, arch):
        """The rule's options for ``arch``, with every default resolved."""
        from nengo_pc import rules

        return rules.get(self.rule).check_options(arch, **self.options)

    def to_dict(self):
        """JSON-serialisable form."""
        return dataclasses.asdict(self)
