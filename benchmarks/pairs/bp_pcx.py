"""Pair: backprop of the squared error on the 784-128-128-128-10 MLP, nengo-pc
against PCX 0.6.3's JAX/optax backprop.

ours: ``nengo-pc train --rule bp-mse --hidden 128 128 128 --batch-size 128`` (the
vectorised backend through `nengo_pc.training.train`); peer: PCX's backprop MLP of
its MNIST time benchmark (``MLP/mnist/BP_SE``: a ``px.Module``, GELU, squared error,
AdamW) in its own venv (``benchmarks/peers/pcx_mlp.py --rule bp``). Timed: seconds
per training epoch over the 60000 MNIST images (median of the epochs after the
first); accuracy: test accuracy after the last epoch. Goal (issue 20): ours <= 1.0 x
PCX.

Run alone (interleaved, one record)::

    python benchmarks/pairs/bp_pcx.py --repeats 3 --out results/bench/bp_pcx.json
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "peers"))

import mlp_sides  # noqa: E402  pylint: disable=wrong-import-position

NAME = "bp_pcx"
DESCRIPTION = ("backprop (squared error), MLP 784-128-128-128-10, batch 128, s/epoch on "
               "MNIST: nengo-pc bp-mse vs PCX 0.6.3's JAX/optax backprop")
TIMED = "seconds per training epoch (median of the epochs after the first)"
GOAL = 1.0
SETTINGS = {"epochs": 3, "n_train": None, "fused": True, "jit_compile": False,
            "intra_op_threads": None,
            "pcx_venv": None}
QUICK = {"epochs": 2, "n_train": 2560}


def ours(settings):
    """nengo-pc's backprop of the squared error."""
    return mlp_sides.ours("bp-mse", {}, settings)


def peer(settings):
    """PCX's backprop MLP."""
    return mlp_sides.pcx("bp", settings)


if __name__ == "__main__":
    sys.exit(mlp_sides.run_alone(sys.modules[__name__]))
