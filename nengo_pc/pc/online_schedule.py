"""What online learning presents, in which order, and when it learns and evaluates.

The pieces of `nengo_pc.pc.online.train_online` that involve no simulator: the
training arrays and their minibatches, the phases of one presentation and the
run-mode inputs that make them (`Presentation`), the Poisson input coding, and the
checks of the settings. The data order, the learning-rate decay and the evaluation
points are the training loop's (`nengo_pc.training.loop`, the one loop every run
uses). Nothing here imports Nengo or TensorFlow.
"""

import math
import numbers

import numpy as np

from nengo_pc.arch import Architecture
from nengo_pc.networks.modes import MODES
from nengo_pc.training.config import require_int
from nengo_pc.training.evaluation import check_split

#: Seconds between progress lines of an online run (besides one per evaluation).
PROGRESS_INTERVAL = 60.0

#: Simulator steps after a learning window in which what it learned reaches the
#: weights: the closed gate commits the rules' eligibility traces, and a rule's
#: change lands a step later (`nengo_pc.networks.learning.LocalPC`).
COMMIT_STEPS = 2


def nonnegative(name, value):
    """``value`` as a float, or ValueError naming ``name`` unless finite and >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}: must be a finite number >= 0, got {value!r}")
    return float(value)


def optional_int(name, value, low):
    """None, or ``value`` as an int (ValueError naming ``name`` unless >= ``low``)."""
    return None if value is None else require_int(name, value, low)


def one_hot(labels, n):
    """One-hot float32 rows of integer ``labels`` over ``n`` classes."""
    return np.eye(n, dtype=np.float32)[labels]


def training_arrays(train, arch):
    """``(inputs, targets, labels)`` of a training set for online learning.

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
    batch_size = require_int("batch_size", batch_size, 1)
    if batch_size > n_train:
        raise ValueError(
            f"batch_size: {batch_size} is larger than the training set "
            f"({n_train} examples)")
    epochs = require_int("epochs", epochs, 1)
    n_samples = optional_int("n_samples", n_samples, 1)
    if n_samples is None:
        n_samples = epochs * n_train
    n_batches = n_samples // batch_size
    if n_batches == 0:
        raise ValueError(
            f"n_samples: {n_samples} is less than one minibatch ({batch_size})")
    return batch_size, n_batches


class Presentation:
    """The phases of one presentation of an image, in simulator steps.

    Training: ``sweep`` steps in mode ``"sweep"`` (output free, top-down feedback
    off: the feedforward pass), then ``"clamped"`` for ``settle`` steps of inference
    and ``learn`` steps of learning (the learning rules' gate open), then
    `COMMIT_STEPS` steps in which what the window learned reaches the weights.
    Evaluation: ``"sweep"``, then ``"free"`` for the rest of ``sweep + settle +
    learn`` steps.

    Parameters
    ----------
    dt, sweep_time, settle_time, learn_time : float
        Seconds (``learn_time`` at least one step).
    """

    def __init__(self, dt, sweep_time, settle_time, learn_time):
        self.dt = dt
        self.sweep = int(round(sweep_time / dt))
        self.settle = int(round(settle_time / dt))
        self.learn = max(1, int(round(learn_time / dt)))
        self.n_steps = self.sweep + self.settle + self.learn
        self.n_train_steps = self.n_steps + COMMIT_STEPS

    def _modes(self, batch_size, n_steps, later):
        modes = np.empty((batch_size, n_steps, 3), np.float32)
        modes[:, :self.sweep] = MODES["sweep"]
        modes[:, self.sweep:] = MODES[later]
        return modes

    def training_modes(self, batch_size):
        """The network's ``(clamp, learn, sweep)`` inputs over a training
        presentation, shape ``(batch_size, n_train_steps, 3)``."""
        return self._modes(batch_size, self.n_train_steps, "clamped")

    def evaluation_modes(self, batch_size):
        """The ``(clamp, learn, sweep)`` inputs over an evaluation presentation."""
        return self._modes(batch_size, self.n_steps, "free")

    def learning_gate(self, batch_size, factor=1.0):
        """Gate of the learning rules over a training presentation, shape
        ``(batch_size, n_train_steps, 1)``: ``factor`` in the learning window, else 0."""
        gate = np.zeros((batch_size, self.n_train_steps, 1), np.float32)
        gate[:, self.sweep + self.settle:self.n_steps] = factor
        return gate


def poisson_input(images, n_steps, dt, max_rate, rng):
    """Poisson spike trains of the images, scaled so that their mean is the image.

    The spikes of `nengo_pc.processes.PoissonRateCode` (count ~ Poisson(x max_rate dt)
    per step), drawn here in numpy for the whole minibatch at once (NengoDL would
    call a Python step function per item and step), and divided by
    ``max_rate * dt`` instead of ``dt`` so that they average to the intensity x the
    network expects.
    """
    expected = np.repeat(images[:, None, :] * (max_rate * dt), n_steps, axis=1)
    return (rng.poisson(expected) / (max_rate * dt)).astype(np.float32)


__all__ = ["COMMIT_STEPS", "PROGRESS_INTERVAL", "Presentation", "minibatches",
           "nonnegative", "one_hot", "optional_int", "poisson_input",
           "training_arrays"]
