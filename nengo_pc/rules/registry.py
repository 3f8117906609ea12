"""The registry of learning rules: one `Rule` per name, no TensorFlow.

A learning rule is declared once, in the module of its family, by a `Rule`: its name,
family, one-line summary, its options (`Option`: default and range) and a factory of
its update function. The factory is named as ``"module:function"`` and imported only
when a rule is built, so listing and checking rules costs no TensorFlow import.

The interface every rule implements (``Rule.build``)::

    update = rule.build(arch, seed=0, **options)      # options checked and resolved
    changes = update(params, batch)                   # one (dW, db) per layer

``params`` has the `~nengo_pc.params.Params` layout (``weights``, ``biases``: lists of
tensors, one per layer of ``arch``, whatever the layer kind); ``batch`` is a `Batch`
(inputs, one-hot targets and, for rules that learn during inference, the current
per-example learning rate). The changes are to be *added* to the parameters and are
summed over the batch: for a rule that follows a gradient they approximate
``-dL/dparams``. A rule says which layer kinds it trains (``layer_kinds``; dense
today, ``"conv"`` for the ones that can), so convolutional rules register the same
way, taking the `~nengo_pc.arch.Architecture` and returning one change per layer.
"""

import dataclasses
import importlib
import math
import numbers
from collections import namedtuple

import numpy as np

#: What a rule's update sees of one minibatch: inputs ``x`` (batch, n_in), one-hot
#: or regression targets ``y`` (batch, n_out), and ``learning_rate``: the scheduled
#: per-example rate, for rules that change weights during inference (else None).
Batch = namedtuple("Batch", ["x", "y", "learning_rate"], defaults=[None])

#: Families, in the order rules are listed.
FAMILIES = ("backprop", "pc", "alignment", "energy", "local")

#: Loss a rule descends: softmax cross-entropy of the logits, or the squared error
#: ``sum_batch ||y - y_hat||^2 / 2`` of one-hot targets.
LOSSES = ("cross_entropy", "squared_error")

#: How a trained network classifies: by its feedforward pass, or by the end of the
#: free phase of its energy-based network.
PREDICTIONS = ("feedforward", "free_phase")


@dataclasses.dataclass(frozen=True)
class Option:
    """One option of a rule, with its default and range.

    Parameters
    ----------
    name : str
        Python name (``n_steps``); the command line spells it ``--n-steps``.
    kind : type
        ``int``, ``float`` or ``bool``.
    default : object
        Value when not given; None when the rule resolves it from the architecture
        (e.g. the number of inference steps of Z-IL is the number of layers).
    low, high : float or None
        Inclusive bounds (None: unbounded); ``low_open`` makes the lower one strict.
    low_open : bool
        Whether ``low`` itself is refused (a step size must be > 0).
    help : str
        One line for ``--help`` and the documentation.
    """

    name: str
    kind: type
    default: object
    low: float = None
    high: float = None
    low_open: bool = False
    help: str = ""

    def describe_range(self):
        """The allowed values in words, e.g. ``"an integer >= 1"``."""
        if self.kind is bool:
            return "True or False"
        what = "an integer" if self.kind is int else "a finite number"
        bounds = []
        if self.low is not None:
            bounds.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            bounds.append(f"<= {self.high:g}")
        return what + (" " + " and ".join(bounds) if bounds else "")

    def check(self, value):
        """``value`` converted to ``kind``; ValueError naming the option otherwise."""
        if self.kind is bool:
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            raise ValueError(f"{self.name}: must be True or False, got {value!r}")
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if ok and self.kind is int:
            ok = isinstance(value, numbers.Integral)
        if ok:
            value = self.kind(value)
            ok = math.isfinite(value)
            if ok and self.low is not None:
                ok = value > self.low if self.low_open else value >= self.low
            if ok and self.high is not None:
                ok = value <= self.high
        if not ok:
            raise ValueError(
                f"{self.name}: must be {self.describe_range()}, got {value!r}")
        return value


@dataclasses.dataclass(frozen=True)
class Rule:
    """A learning rule: what it is called, what it takes, how it computes updates.

    Parameters
    ----------
    name : str
        The one name of the rule (``pc-zil``), used by the command line, the trainer,
        the benchmarks and the records.
    family : str
        One of `FAMILIES`.
    summary : str
        One line.
    factory : str
        ``"module:function"``; ``function(arch, options, seed)`` returns the update
        function ``update(params, batch) -> [(dW, db), ...]``. Imported on first use.
    options : tuple of Option
        The rule's own options.
    loss : str
        One of `LOSSES`: what the rule descends (and what training reports).
    prediction : str
        One of `PREDICTIONS`: how a network trained by the rule classifies.
    backends : tuple of str
        Execution backends of `nengo_pc.training.backends` that can run the rule;
        the first is the default.
    layer_kinds : tuple of str
        Layer kinds the rule trains: ``"dense"``, ``"conv"``.
    activations : tuple of str or None
        Hidden nonlinearities the rule needs (None: any the architecture has).
    learns_during_inference : bool
        The update changes the weights during inference at the scheduled rate
        (``batch.learning_rate``); the trainer divides its total by the rate instead
        of by the batch size (see `nengo_pc.training.backends`).
    resolve : str or None
        ``"module:function"``; ``function(arch, options)`` returns the options with
        architecture-dependent defaults filled in and cross-option checks done.
    config_defaults : dict
        Training settings (`nengo_pc.training.TrainConfig` fields) the rule is meant
        to run with where the caller gives none, e.g. plain SGD for the online rule.
    """

    name: str
    family: str
    summary: str
    factory: str
    options: tuple = ()
    loss: str = "squared_error"
    prediction: str = "feedforward"
    backends: tuple = ("vectorised",)
    layer_kinds: tuple = ("dense",)
    activations: tuple = None
    learns_during_inference: bool = False
    resolve: str = None
    config_defaults: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ValueError(f"family: {self.family!r} is not one of {FAMILIES}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss: {self.loss!r} is not one of {LOSSES}")
        if self.prediction not in PREDICTIONS:
            raise ValueError(
                f"prediction: {self.prediction!r} is not one of {PREDICTIONS}")

    @property
    def option_names(self):
        """Names of the rule's options, in declaration order."""
        return tuple(o.name for o in self.options)

    def defaults(self):
        """``{option: default}`` (None where the architecture decides)."""
        return {o.name: o.default for o in self.options}

    def check_arch(self, arch):
        """Raise ValueError naming ``arch`` unless the rule can train it."""
        kinds = {"conv" if getattr(arch, "conv", None) else "dense"}
        if not kinds <= set(self.layer_kinds):
            raise ValueError(
                f"arch: rule {self.name} trains {' and '.join(self.layer_kinds)} "
                f"architectures, not {kinds.pop()} ones")
        if self.activations is not None and arch.activation not in self.activations:
            raise ValueError(
                f"activation: rule {self.name} needs one of "
                f"{', '.join(self.activations)}, got {arch.activation!r}")
        return arch

    def check_options(self, arch=None, **options):
        """The rule's options with defaults filled in, each checked.

        Parameters
        ----------
        arch : Architecture, optional
            With it, architecture-dependent defaults are resolved too.
        **options
            Values for some of `option_names`; None means the default.

        Returns
        -------
        dict
            Every option of the rule.

        Raises
        ------
        ValueError
            Naming the option: one the rule does not take, or a value out of range.
        """
        unknown = sorted(set(options) - set(self.option_names))
        if unknown:
            takes = ", ".join(self.option_names) or "no options"
            raise ValueError(
                f"{unknown[0]}: rule {self.name} does not take this option "
                f"(it takes {takes})")
        checked = {}
        for option in self.options:
            value = options.get(option.name)
            checked[option.name] = (option.default if value is None
                                    else option.check(value))
        if arch is not None:
            self.check_arch(arch)
            if self.resolve is not None:
                checked = _load(self.resolve)(arch, checked)
        return checked

    def build(self, arch, seed=0, **options):
        """The update function of this rule for ``arch``.

        Parameters
        ----------
        arch : Architecture
        seed : int
            Seeds anything the rule draws once (e.g. the feedback matrices of FA).
        **options
            The rule's options (see `check_options`).

        Returns
        -------
        callable
            ``update(params, batch) -> list of (dW, db)`` on TensorFlow tensors, to
            call inside a ``tf.function``.
        """
        options = self.check_options(arch, **options)
        return _load(self.factory)(arch, options, seed)


def _load(path):
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


_RULES = {}

#: Names used before the registry (``"zil"`` of the first wave's ``pc/train.py``,
#: ``"pc"`` of online_vectorised, ...), mapped to registry names for reading old
#: records (`canonical`).
LEGACY_NAMES = {
    "bp": "bp-mse", "standard": "pc-standard",
    "fixed_prediction": "pc-fixed-prediction", "zil": "pc-zil",
    "incremental": "pc-incremental", "pc": "pc-online",
}


def register(rule):
    """Add ``rule`` to the registry (a name may be registered once)."""
    if not isinstance(rule, Rule):
        raise ValueError(f"rule: expected a Rule, got {type(rule).__name__}")
    if rule.name in _RULES:
        raise ValueError(f"rule: {rule.name!r} is already registered")
    _RULES[rule.name] = rule
    return rule


def _ensure_loaded():
    # the family modules register their rules when imported
    from nengo_pc.rules import alignment, backprop, energy, local, pc  # noqa: F401


def names(family=None):
    """Registered rule names, by family (optionally of one family only)."""
    _ensure_loaded()
    rules = sorted(_RULES.values(),
                   key=lambda r: FAMILIES.index(r.family))  # stable within a family
    return tuple(r.name for r in rules if family in (None, r.family))


def get(name):
    """The `Rule` registered as ``name``.

    Raises
    ------
    ValueError
        Naming ``rule`` and listing the registered names.
    """
    _ensure_loaded()
    if isinstance(name, Rule):
        return name
    if name not in _RULES:
        raise ValueError(f"rule: {name!r} is not a registered rule; registered: "
                         f"{', '.join(names())}")
    return _RULES[name]


def canonical(name):
    """The registry name of a rule name found in an old record (unchanged if new)."""
    return LEGACY_NAMES.get(name, name)
