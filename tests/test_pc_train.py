"""Minibatched training with predictive-coding rules (the vectorised backend of
`nengo_pc.training`).

The exactness of Z-IL and fixed prediction (equal to backprop for one batch, see
`test_pc_numerics.py`) is carried through training here: the same initial
parameters, data order and optimiser give the same trained parameters as backprop.
"""

import dataclasses

import numpy as np
import pytest

from nengo_pc.arch import LIFParams, mlp
from nengo_pc.params import init_params, load_params
from nengo_pc.training import TrainConfig, evaluate_rule, train
from nengo_pc.training.vectorised import time_steps

#: A small network, so that the exactness tests take seconds.
SMALL = mlp((64, 32))


def _max_rel_diff(params, reference):
    """Largest |a - b| / max|b| over every weight matrix and bias vector."""
    pairs = list(zip(params.weights, reference.weights)) + list(
        zip(params.biases, reference.biases)
    )
    return max(
        np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30) for a, b in pairs
    )


@pytest.fixture(scope="module")
def small_train(mnist_data):
    return mnist_data.train.subset(600)


@pytest.fixture(scope="module")
def bp_small(small_train):
    """Backprop on 600 images: 2 epochs of 6 minibatches, Adam, cosine schedule."""
    config = TrainConfig(rule="bp-mse", epochs=2, batch_size=100, seed=3)
    return config, train(SMALL, small_train, config, progress=False)


@pytest.mark.parametrize(
    "options",
    [
        {"rule": "pc-zil"},
        {"rule": "pc-fixed-prediction",
         "options": {"step_size": 1.0, "n_steps": SMALL.n_layers}},
        # more steps than layers change nothing, and gamma cancels at step size 1
        {"rule": "pc-fixed-prediction",
         "options": {"step_size": 1.0, "n_steps": 5, "output_precision": 0.1}},
    ],
)
def test_exact_rules_train_like_backprop(options, bp_small, small_train):
    config, bp = bp_small
    result = train(SMALL, small_train, dataclasses.replace(config, **options),
                   progress=False)
    start = init_params(SMALL, config.seed)
    assert _max_rel_diff(bp.params, start) > 1e-2  # the parameters did move
    # float32 rounding of the updates, carried through 12 Adam steps
    assert _max_rel_diff(result.params, bp.params) < 1e-5
    np.testing.assert_allclose([h["loss"] for h in result.history],
                               [h["loss"] for h in bp.history], rtol=1e-5)
    # (c) the update of an exact rule points exactly along the BP gradient
    for entry in result.history:
        assert entry["alignment"] == pytest.approx([1.0] * SMALL.n_layers, abs=1e-6)


def test_exact_with_sgd(small_train):
    """The equivalence does not depend on the optimiser."""
    config = TrainConfig(rule="bp-mse", epochs=1, batch_size=100, optimizer="sgd",
                         learning_rate=0.05, lr_schedule="constant", seed=1)
    bp = train(SMALL, small_train, config, progress=False)
    zil = train(SMALL, small_train, dataclasses.replace(config, rule="pc-zil"),
                progress=False)
    assert _max_rel_diff(zil.params, bp.params) < 1e-5


def test_standard_pc_learns_mnist(mnist_data):
    """Standard PC on 2,000 images, 784-500-500-10 ReLU, 4 epochs.

    Measured: 0.885 test accuracy (seeds 0, 1, 2: 0.885, 0.886, 0.884); the
    threshold leaves a margin of 3.5 points.
    """
    arch = mlp()
    config = TrainConfig(rule="pc-standard", epochs=4, batch_size=100, seed=0)
    result = train(arch, mnist_data.train.subset(2000), config,
                   validation=mnist_data.test.subset(1000), progress=False)
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < 0.5 * losses[0]
    metrics = evaluate_rule(arch, result.params, mnist_data.test, "pc-standard")
    assert metrics["n_examples"] == 10000
    assert metrics["accuracy"] > 0.85
    # inexact, but close to the BP gradient direction
    for entry in result.history:
        assert all(0.5 < c < 1.0 for c in entry["alignment"])
    assert {"epoch", "loss", "seconds", "alignment", "val_accuracy",
            "val_loss"} <= set(result.history[-1])
    assert result.seconds_per_epoch > 0


@pytest.mark.parametrize(
    "field, value",
    [
        ("rule", "standard"),
        ("epochs", 0),
        ("batch_size", 2.5),
        ("learning_rate", -1e-3),
        ("learning_rate", float("nan")),
        ("lr_schedule", "step"),
        ("optimizer", "rmsprop"),
        ("seed", -1),
        ("max_shift", -1),
        ("max_shift", 1.5),
    ],
)
def test_config_errors_name_the_field(field, value):
    with pytest.raises(ValueError, match=f"^{field}: "):
        TrainConfig(**{"rule": "pc-standard", field: value})


@pytest.mark.parametrize("option, value", [
    ("n_steps", 0), ("step_size", 0.0), ("output_precision", float("inf"))])
def test_rule_option_errors_name_the_option(option, value):
    with pytest.raises(ValueError, match=f"^{option}: "):
        TrainConfig(rule="pc-standard", options={option: value})


def test_shift_augmentation(small_train):
    """Shifted images change training, reproducibly, for every rule alike."""
    config = TrainConfig(rule="bp-mse", epochs=2, batch_size=100, max_shift=1, seed=3)
    bp = train(SMALL, small_train, config, progress=False)
    unshifted = train(SMALL, small_train, dataclasses.replace(config, max_shift=0),
                      progress=False)
    assert _max_rel_diff(bp.params, unshifted.params) > 1e-3
    # the exact rule sees the same shifted minibatches as backprop
    zil = train(SMALL, small_train, dataclasses.replace(config, rule="pc-zil"),
                progress=False)
    assert _max_rel_diff(zil.params, bp.params) < 1e-5
    with pytest.raises(ValueError, match="^max_shift: .*square images"):
        from nengo_pc.data import Split

        tiny = Split(np.zeros((10, 15), np.float32), np.zeros(10, np.int64))
        train(mlp((8,), n_in=15), tiny, dataclasses.replace(config, batch_size=5),
              progress=False)


def test_invalid_combinations(small_train):
    with pytest.raises(ValueError, match="n_steps"):  # Z-IL needs one step per layer
        train(SMALL, small_train, TrainConfig(rule="pc-zil", options={"n_steps": 2}),
              progress=False)
    with pytest.raises(ValueError, match="^arch: .*default LIFParams"):
        train(mlp((8,), activation="lif", lif=LIFParams(tau_ref=0.004)), small_train,
              TrainConfig(rule="pc-standard"), progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        train(SMALL, small_train, TrainConfig(rule="pc-standard", batch_size=1000),
              progress=False)
    with pytest.raises(ValueError, match="^backend: rule pc-standard runs on"):
        train(SMALL, small_train, TrainConfig(rule="pc-standard"), backend="keras",
              progress=False)


def test_checkpoint_written_each_epoch(tmp_path, small_train, monkeypatch):
    import nengo_pc.training.loop as loop

    saved = []
    original = loop.write_checkpoint

    def recording_write(path, arch, params, state, **metadata):
        original(path, arch, params, state, **metadata)
        saved.append(load_params(path)[2]["epoch"])

    monkeypatch.setattr(loop, "write_checkpoint", recording_write)
    path = tmp_path / "ckpt.npz"
    config = TrainConfig(rule="pc-incremental", epochs=2, batch_size=100,
                         options={"n_steps": 5}, seed=1)
    result = train(SMALL, small_train, config, checkpoint_path=path, progress=False)
    assert saved == [1, 2]
    arch, params, meta = load_params(path)
    assert arch == SMALL and meta["epoch"] == 2 and meta["rule"] == "pc-incremental"
    for a, b in zip(params.weights + params.biases,
                    result.params.weights + result.params.biases):
        np.testing.assert_array_equal(a, b)


def test_divergence_is_reported(small_train):
    config = TrainConfig(rule="pc-standard", epochs=2, batch_size=100,
                         optimizer="sgd", learning_rate=1e30, lr_schedule="constant",
                         options={"n_steps": 3})
    with pytest.raises(FloatingPointError, match="epoch 1.*learning_rate"):
        train(SMALL, small_train, config, progress=False)


def test_time_steps(small_train):
    configs = [TrainConfig(rule="bp-mse", batch_size=50),
               TrainConfig(rule="pc-zil", batch_size=50)]
    images, labels = small_train.images[:50], small_train.labels[:50]
    seconds = time_steps(SMALL, configs, images, labels, n_steps=2, repeats=2)
    assert len(seconds) == 2 and all(s > 0 for s in seconds)
    with pytest.raises(ValueError, match="batch_size"):
        time_steps(SMALL, configs, images[:40], labels[:40])
