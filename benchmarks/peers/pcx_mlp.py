"""The PCX peer: PCX 0.6.3's MNIST MLP, trained by PC or by backprop, timed per epoch.

Runs in the PCX virtual environment (`pcx_env.ensure_venv`), never in ours: it
imports only PCX, JAX, optax and numpy. The network and settings are those of
PCX's own MNIST examples (``examples/pc_mnist.py``: a ``pxc.EnergyModule`` of
``pxnn.Linear`` layers and ``pxc.Vode`` value nodes, 784-128-128-128-10, GELU,
squared-error energy on the output vode, batch 128, T = 8 inference steps with
SGD on the values (lr 0.0105, momentum 0.65), AdamW on the weights (lr 2.97e-4,
weight decay 3.55e-4) with a warm-up cosine schedule; and its time-benchmarking
``MLP/mnist/BP_SE.py`` for backprop: the same MLP as a ``px.Module``, mean squared
error, AdamW lr 2.75e-4, weight decay 5.12e-3, the same schedule shape). The code
uses PCX's API the way those examples do; it is written here, not copied.

One change from the examples, which can only make the peer faster: the images come
from the IDX files as a numpy array in memory (normalised as the examples do,
``(x - 0.5) / 0.5``) and are cut into shuffled minibatches (last partial batch
dropped), instead of through a PyTorch DataLoader with worker processes.

Prints one JSON object: per-epoch training seconds (the first includes JAX's
compilation), their median over the epochs after the first, the test accuracy after
the last epoch, and the versions. Usage::

    <pcx venv>/bin/python benchmarks/peers/pcx_mlp.py --rule pc --epochs 3 \\
        --data-dir /work/shared/data
"""

import argparse
import gzip
import importlib.metadata
import json
import os
import platform
import resource
import sys
import time

import numpy as np

# (import after the thread settings a caller may put in the environment)
import jax
import jax.numpy as jnp
import optax
import pcx as px
import pcx.functional as pxf
import pcx.nn as pxnn
import pcx.predictive_coding as pxc
import pcx.utils as pxu

#: Settings of PCX's MNIST examples (pc_mnist.py; time_benchmarking MLP/mnist/BP_SE).
SETTINGS = {
    "pc": {"act_fn": "gelu", "batch_size": 128, "T": 8, "w_lr": 0.0002968930522737348,
           "w_wd": 0.0003550241114984682, "x_lr": 0.010534787245955935,
           "x_momentum": 0.65},
    "bp": {"act_fn": "gelu", "batch_size": 128, "w_lr": 0.00027487989229471686,
           "w_wd": 0.0051207238497154115},
}


def load_idx(data_dir, split):
    """MNIST images (N, 784) normalised to [-1, 1] and integer labels."""
    prefix = "train" if split == "train" else "t10k"
    folder = os.path.join(data_dir, "mnist")
    with gzip.open(os.path.join(folder, f"{prefix}-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(os.path.join(folder, f"{prefix}-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int32)
    images = (images.astype(np.float32) / 255 - 0.5) / 0.5
    return images, labels


def batches(images, labels, batch_size, rng=None):
    """Whole minibatches, shuffled if ``rng`` is given."""
    order = np.arange(len(images)) if rng is None else rng.permutation(len(images))
    for k in range(0, len(order) - batch_size + 1, batch_size):
        index = order[k:k + batch_size]
        yield images[index], labels[index]


# ----------------------------------------------------------------------- PC model
class PCModel(pxc.EnergyModule):
    """The MLP of PCX's pc_mnist example: a vode after every layer, the last one
    with the squared-error energy and its prediction frozen (clamped to the label)."""

    def __init__(self, sizes, act_fn):
        super().__init__()
        self.act_fn = px.static(act_fn)
        self.layers = [pxnn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
        self.vodes = [pxc.Vode() for _ in sizes[1:-1]] + [pxc.Vode(pxc.se_energy)]
        self.vodes[-1].h.frozen = True

    def __call__(self, x, y):
        for vode, layer in zip(self.vodes[:-1], self.layers[:-1]):
            x = vode(self.act_fn(layer(x)))
        x = self.vodes[-1](self.layers[-1](x))
        if y is not None:
            self.vodes[-1].set("h", y)
        return self.vodes[-1].get("u")


_VODE_AXES = pxu.M(pxc.VodeParam | pxc.VodeParam.Cache).to((None, 0))


@pxf.vmap(_VODE_AXES, in_axes=(0, 0), out_axes=0, axis_name="batch")
def pc_forward(x, y, *, model):
    return model(x, y)


@pxf.vmap(_VODE_AXES, in_axes=(0,), out_axes=(None, 0), axis_name="batch")
def pc_energy(x, *, model):
    y_ = model(x, None)
    return jax.lax.psum(model.energy(), "batch"), y_


@pxf.jit(static_argnums=0)
def pc_train_on_batch(T, x, y, *, model, optim_w, optim_h):
    model.train()
    with pxu.step(model, (pxc.STATUS.INIT, None), clear_params=pxc.VodeParam.Cache):
        pc_forward(x, y, model=model)
    optim_h.init(pxu.M_hasnot(pxc.VodeParam, frozen=True)(model))
    for _ in range(T):
        with pxu.step(model, clear_params=pxc.VodeParam.Cache):
            _, g = pxf.value_and_grad(
                pxu.M_hasnot(pxc.VodeParam, frozen=True).to([False, True]),
                has_aux=True)(pc_energy)(x, model=model)
        optim_h.step(model, g["model"], True)
    optim_h.clear()
    with pxu.step(model, clear_params=pxc.VodeParam.Cache):
        _, g = pxf.value_and_grad(pxu.M(pxnn.LayerParam).to([False, True]),
                                  has_aux=True)(pc_energy)(x, model=model)
    optim_w.step(model, g["model"], scale_by=1.0 / x.shape[0])


@pxf.jit()
def pc_eval_on_batch(x, y, *, model):
    model.eval()
    with pxu.step(model, pxc.STATUS.INIT,
                  clear_params=pxc.VodeParam.Cache | pxc.VodeParam):
        y_ = pc_forward(x, None, model=model).argmax(axis=-1)
    return (y_ == y).mean()


# ----------------------------------------------------------------------- BP model
class BPModel(px.Module):
    """The same MLP as a plain PCX module (the BP_SE benchmark's LinearModel)."""

    def __init__(self, sizes, act_fn):
        super().__init__()
        self.act_fn = px.static(act_fn)
        self.layers = [pxnn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = self.act_fn(layer(x))
        return self.layers[-1](x)


@pxf.vmap({"model": None}, in_axes=0, out_axes=0)
def bp_forward(x, *, model):
    return model(x)


@pxf.vmap({"model": None}, in_axes=(0, 0), out_axes=(None, 0), axis_name="batch")
def bp_loss(x, y, *, model):
    y_ = model(x)
    return jax.lax.pmean(jnp.square(y_ - y).sum(), "batch"), y_


@pxf.jit()
def bp_train_on_batch(x, y, *, model, optim_w):
    model.train()
    with pxu.step(model):
        _, g = pxf.value_and_grad(pxu.M(pxnn.LayerParam).to([False, True]),
                                  has_aux=True)(bp_loss)(x, y, model=model)
    optim_w.step(model, g["model"])


@pxf.jit()
def bp_eval_on_batch(x, y, *, model):
    model.eval()
    with pxu.step(model):
        y_ = bp_forward(x, model=model).argmax(axis=-1)
    return (y_ == y).mean()


# ------------------------------------------------------------------------ driver
def schedule(lr, steps_per_epoch, epochs):
    """The examples' schedule: warm-up to 1.1 lr over 10%, cosine down to 0.1 lr."""
    return optax.warmup_cosine_decay_schedule(
        init_value=lr, peak_value=1.1 * lr, warmup_steps=0.1 * steps_per_epoch * epochs,
        decay_steps=steps_per_epoch * epochs, end_value=0.1 * lr, exponent=1.0)


def run(rule, epochs, data_dir, n_train=None, seed=0):
    s = SETTINGS[rule]
    sizes = (784, 128, 128, 128, 10)
    act_fn = getattr(jax.nn, s["act_fn"])
    batch_size = s["batch_size"]
    x_train, y_train = load_idx(data_dir, "train")
    x_test, y_test = load_idx(data_dir, "test")
    if n_train is not None:
        x_train, y_train = x_train[:n_train], y_train[:n_train]
    steps = len(x_train) // batch_size
    px.RKG.seed(seed)
    rng = np.random.default_rng(seed)
    if rule == "pc":
        model = PCModel(sizes, act_fn)
        with pxu.step(model, pxc.STATUS.INIT, clear_params=pxc.VodeParam.Cache):
            pc_forward(jnp.zeros((batch_size, sizes[0])), None, model=model)
        optim_h = pxu.Optim(lambda: optax.sgd(s["x_lr"], momentum=s["x_momentum"]))
        optim_w = pxu.Optim(
            lambda: optax.adamw(schedule(s["w_lr"], steps, epochs),
                                weight_decay=s["w_wd"]),
            pxu.M(pxnn.LayerParam)(model))

        def train_batch(x, y):
            pc_train_on_batch(s["T"], x, jax.nn.one_hot(y, 10), model=model,
                              optim_w=optim_w, optim_h=optim_h)

        def accuracy(x, y):
            return pc_eval_on_batch(x, y, model=model)
    else:
        model = BPModel(sizes, act_fn)
        optim_w = pxu.Optim(
            lambda: optax.adamw(schedule(s["w_lr"], steps, epochs),
                                weight_decay=s["w_wd"]),
            pxu.M(pxnn.LayerParam)(model))

        def train_batch(x, y):
            bp_train_on_batch(x, jax.nn.one_hot(y, 10), model=model, optim_w=optim_w)

        def accuracy(x, y):
            return bp_eval_on_batch(x, y, model=model)

    seconds = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        for x, y in batches(x_train, y_train, batch_size, rng):
            train_batch(x, y)
        # wait for the last update before stopping the clock
        jax.block_until_ready([layer.nn.weight.get() for layer in model.layers])
        seconds.append(time.perf_counter() - t0)
    # tested once, after the timed epochs: the example's evaluation clears the value
    # nodes, so a test between epochs would make JAX compile the training step again
    # at the start of the next epoch (as in the example), which is not PC's cost
    test_accuracy = float(np.mean(
        [accuracy(x, y) for x, y in batches(x_test, y_test, batch_size)]))
    return {
        "rule": rule,
        "settings": {**s, "sizes": sizes, "epochs": epochs, "n_train": len(x_train),
                     "seed": seed},
        "epoch_seconds": seconds,
        "seconds_per_epoch": float(np.median(seconds[1:] if len(seconds) > 1
                                             else seconds)),
        "test_accuracy": test_accuracy,
        "test_batches": "whole minibatches of 128 (the examples' drop_last): 9984 "
                        "of the 10000 test images",
        "versions": {"python": platform.python_version(), **{
            p: importlib.metadata.version(p)
            for p in ("pcx", "jax", "jaxlib", "equinox", "optax", "numpy")}},
        "jax_devices": [str(d) for d in jax.devices()],
        # this process's own peak (a runner that measures its own child sees only
        # the launcher, not this venv's process)
        "pcx_process_peak_rss_mb": resource.getrusage(
            resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rule", choices=sorted(SETTINGS), required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default=os.environ.get("NENGO_PC_DATA"))
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs: must be >= 1")
    if not args.data_dir:
        parser.error("--data-dir (or NENGO_PC_DATA) is required")
    print(json.dumps(run(args.rule, args.epochs, args.data_dir, args.n_train,
                         args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
