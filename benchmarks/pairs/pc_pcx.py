"""Pair: standard PC (T = 8) on the 784-128-128-128-10 MLP, nengo-pc against PCX 0.6.3.

ours: ``nengo-pc train --rule pc-standard --hidden 128 128 128 --n-steps 8
--batch-size 128`` (the vectorised backend, called through
`nengo_pc.training.train`); peer: PCX's MNIST example (``examples/pc_mnist.py``:
GELU, T = 8, SGD with momentum on the value nodes, AdamW on the weights) in its own
venv (``benchmarks/peers/pcx_mlp.py``). Timed: seconds per training epoch over the
60000 MNIST images (median of the epochs after the first); accuracy: test accuracy
after the last epoch. Goal (issue 20): ours <= 0.6 x PCX.

Run alone (interleaved, one record)::

    python benchmarks/pairs/pc_pcx.py --repeats 3 --out results/bench/pc_pcx.json
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "peers"))

import mlp_sides  # noqa: E402  pylint: disable=wrong-import-position

NAME = "pc_pcx"
DESCRIPTION = ("standard PC, T=8, MLP 784-128-128-128-10, batch 128, s/epoch on MNIST: "
               "nengo-pc pc-standard vs PCX 0.6.3's MNIST example")
TIMED = "seconds per training epoch (median of the epochs after the first)"
GOAL = 0.6
SETTINGS = {"epochs": 3, "n_train": None, "fused": True, "jit_compile": False,
            "intra_op_threads": None,
            "pcx_venv": None}
QUICK = {"epochs": 2, "n_train": 2560}


def ours(settings):
    """nengo-pc's standard PC, 8 inference steps (default step size and precision)."""
    return mlp_sides.ours("pc-standard", {"n_steps": 8}, settings)


def peer(settings):
    """PCX's PC MNIST example."""
    return mlp_sides.pcx("pc", settings)


if __name__ == "__main__":
    sys.exit(mlp_sides.run_alone(sys.modules[__name__]))
