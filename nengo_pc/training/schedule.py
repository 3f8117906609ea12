"""The learning-rate schedule every training run uses."""

import dataclasses
import math

from nengo_pc.training.config import LR_SCHEDULES, require_choice


@dataclasses.dataclass(frozen=True)
class Schedule:
    """The learning rate at every optimiser step of a run.

    Parameters
    ----------
    kind : str
        ``"constant"``; ``"cosine"``: ``lr (1 + cos(pi step / total_steps)) / 2``,
        reaching zero at the end of the run (Keras ``CosineDecay``);
        ``"inverse_time"``: ``lr / (1 + step * batch_size / decay_samples)`` (Keras
        ``InverseTimeDecay``), the decay of online learning.
    learning_rate : float
        The rate at step 0.
    total_steps : int
        Optimiser steps in the run (``"cosine"``).
    batch_size : int
        Images per step (``"inverse_time"``).
    decay_samples : int or None
        Images after which ``"inverse_time"`` has halved the rate.
    """

    kind: str
    learning_rate: float
    total_steps: int
    batch_size: int = 1
    decay_samples: int = None

    def __post_init__(self):
        require_choice("lr_schedule", self.kind, LR_SCHEDULES)

    @classmethod
    def from_config(cls, config, total_steps):
        """The schedule of a `~nengo_pc.training.TrainConfig` run of ``total_steps``."""
        return cls(config.lr_schedule, config.learning_rate, total_steps,
                   config.batch_size, config.lr_decay_samples)

    def factor(self, step):
        """The rate at optimiser step ``step`` as a multiple of ``learning_rate``
        (numpy float64: for backends without a Keras optimiser)."""

        if self.kind == "cosine":
            return (1.0 + math.cos(math.pi * min(step, self.total_steps)
                                   / self.total_steps)) / 2.0
        if self.kind == "inverse_time":
            return 1.0 / (1.0 + step * self.batch_size / self.decay_samples)
        return 1.0

    def keras(self):
        """The schedule for a Keras optimiser: a float or a ``LearningRateSchedule``."""
        import tensorflow as tf

        if self.kind == "cosine":
            return tf.keras.optimizers.schedules.CosineDecay(
                self.learning_rate, decay_steps=self.total_steps)
        if self.kind == "inverse_time":
            return tf.keras.optimizers.schedules.InverseTimeDecay(
                self.learning_rate, decay_steps=self.decay_samples / self.batch_size,
                decay_rate=1.0)
        return self.learning_rate

    def optimizer(self, name, momentum):
        """A Keras optimiser (``"adam"``, ``"sgd"``, ``"momentum"``) on this schedule."""
        import tensorflow as tf

        if name == "adam":
            return tf.keras.optimizers.Adam(learning_rate=self.keras())
        return tf.keras.optimizers.SGD(
            learning_rate=self.keras(), momentum=momentum if name == "momentum" else 0.0)
