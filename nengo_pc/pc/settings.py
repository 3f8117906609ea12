"""The settings every learning rule is benchmarked with, in one place.

The MLP benchmarks (``benchmarks/pc_mlp.py``, ``benchmarks/compare_rules.py``) and the
comparison table train every rule with the same architecture, optimiser, schedule,
batch size and epochs; only each rule's own options differ. Those options were chosen
by measurement on MNIST (validation split or short runs) and are documented next to
each entry. No TensorFlow is imported here.
"""

import dataclasses

from nengo_pc.pc.train import PCTrainConfig

#: Architecture of the rule comparison: hidden widths and nonlinearity.
HIDDEN = (500, 500)
ACTIVATION = "relu"

#: Optimiser, schedule, batch and epochs shared by every rule.
COMMON = dict(epochs=15, batch_size=100, learning_rate=5e-4, lr_schedule="cosine",
              optimizer="adam")

#: Each rule's own options (PCTrainConfig fields).
RULE_OPTIONS = {
    "bp": {},
    # inference must stay stable: step sizes above ~2 / (1 + |f' W|^2) of the layer
    # above (~0.15 for trained 500-unit ReLU layers) diverge; 5 steps of 0.05 with
    # weak output feedback (gamma 0.1) keep the update's cosine with the BP gradient
    # >= 0.99 in every layer throughout training
    "standard": dict(n_steps=5, step_size=0.05, output_precision=0.1),
    # the exact variants at their exact defaults (step size 1, L steps)
    "fixed_prediction": {},
    "zil": {},
    # 3 steps of 0.1: cosine >= 0.997 per layer, at 3/5 of the cost of 5 steps
    "incremental": dict(n_steps=3, step_size=0.1, output_precision=1.0),
}


def benchmark_config(rule, seed=0, **overrides):
    """The `PCTrainConfig` a rule is benchmarked with.

    Parameters
    ----------
    rule : str
        A key of `RULE_OPTIONS`.
    seed : int
        Seed of initialisation, data order and random feedback.
    **overrides
        PCTrainConfig fields replacing the benchmark's values (e.g. ``epochs``).

    Returns
    -------
    PCTrainConfig
    """
    if rule not in RULE_OPTIONS:
        raise ValueError(f"rule: {rule!r} has no benchmark settings; known: "
                         f"{', '.join(RULE_OPTIONS)}")
    config = PCTrainConfig(rule=rule, seed=seed, **COMMON, **RULE_OPTIONS[rule])
    return dataclasses.replace(config, **overrides) if overrides else config
