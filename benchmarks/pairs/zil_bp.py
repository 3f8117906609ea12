"""Pair: Z-IL against backprop, both nengo-pc, on the 784-128-128-128-10 MLP.

Z-IL (``pc-zil``: inference learning that equals backprop exactly) costs extra
inference steps over plain backprop of the same squared error (``bp-mse``); the
goal (issue 20) is at most 1.05 x backprop's time. Both sides run the vectorised
backend through `nengo_pc.training.train`, batch 128, on MNIST. Timed: seconds per
training epoch (median of the epochs after the first); accuracy: test accuracy
after the last epoch (equal up to rounding: the updates are the same).

Run alone (interleaved, one record)::

    python benchmarks/pairs/zil_bp.py --repeats 3 --out results/bench/zil_bp.json
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "peers"))

import mlp_sides  # noqa: E402  pylint: disable=wrong-import-position

NAME = "zil_bp"
DESCRIPTION = ("Z-IL vs backprop of the squared error, MLP 784-128-128-128-10, batch "
               "128, s/epoch on MNIST (both nengo-pc)")
TIMED = "seconds per training epoch (median of the epochs after the first)"
GOAL = 1.05
SETTINGS = {"epochs": 3, "n_train": None, "fused": True, "jit_compile": False,
            "intra_op_threads": None}
QUICK = {"epochs": 2, "n_train": 2560}


def ours(settings):
    """nengo-pc's Z-IL (exact defaults: step size 1, L steps)."""
    return mlp_sides.ours("pc-zil", {}, settings)


def peer(settings):
    """nengo-pc's backprop of the squared error."""
    return mlp_sides.ours("bp-mse", {}, settings)


if __name__ == "__main__":
    sys.exit(mlp_sides.run_alone(sys.modules[__name__]))
