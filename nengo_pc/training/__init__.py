"""Training: one loop (`train`), one config (`TrainConfig`), one schedule, backends.

`train` runs any registered rule (`nengo_pc.rules`) on a backend of
`nengo_pc.training.backends`: ``vectorised`` (TensorFlow, every rule's update
function), ``nengo_dl`` / ``keras`` (``fit`` for ``backprop``); evaluation helpers
are in `nengo_pc.training.evaluation`. Importing this package does not import
TensorFlow.
"""

from nengo_pc.training.config import LR_SCHEDULES, OPTIMIZERS, TrainConfig
from nengo_pc.training.evaluation import (
    check_split,
    classification_metrics,
    compare_with_reference,
    evaluate,
    evaluate_rule,
    predict_logits,
    rule_outputs,
)
from nengo_pc.training.loop import TrainResult, train
from nengo_pc.training.schedule import Schedule

__all__ = ["LR_SCHEDULES", "OPTIMIZERS", "Schedule", "TrainConfig", "TrainResult",
           "check_split", "classification_metrics", "compare_with_reference",
           "evaluate", "evaluate_rule", "predict_logits", "rule_outputs", "train"]
