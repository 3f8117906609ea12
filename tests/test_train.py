"""Backprop baselines: NengoDL training, and agreement of every execution path."""

import dataclasses

import numpy as np
import pytest

from nengo_pc.arch import mlp, softlif_cnn
from nengo_pc.conv import ConvLayer
from nengo_pc.params import init_params
from nengo_pc.training import TrainConfig, classification_metrics, evaluate, train


@pytest.fixture(scope="module")
def small_run(mnist_data):
    """2,000 MNIST images, 784-500-500-10 ReLU, NengoDL, 5 epochs."""
    arch = mlp()
    config = TrainConfig(epochs=5, batch_size=100, seed=0)
    result = train(arch, mnist_data.train.subset(2000), config, backend="nengo_dl",
                   progress=False)
    return arch, config, result


def test_nengo_dl_training_learns_mnist(small_run, mnist_data):
    arch, _, result = small_run
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < 0.5 * losses[0]
    metrics = evaluate(arch, result.params, mnist_data.test)
    assert metrics["n_examples"] == 10000
    assert metrics["accuracy"] > 0.85


def test_backends_agree(small_run, mnist_data):
    """The Nengo network (NengoDL and reference simulator) equals the Keras model."""
    arch, config, result = small_run
    test = mnist_data.test.subset(500)
    accs = {b: evaluate(arch, result.params, test, backend=b)
            for b in ("nengo_dl", "nengo", "keras")}
    assert accs["nengo_dl"]["accuracy"] == accs["keras"]["accuracy"]
    assert accs["nengo"]["accuracy"] == accs["keras"]["accuracy"]
    assert abs(accs["nengo"]["loss"] - accs["keras"]["loss"]) < 1e-4

    # training in Keras from the same start and data order follows the same path
    keras = train(arch, mnist_data.train.subset(2000), config, backend="keras",
                  progress=False)
    np.testing.assert_allclose([h["loss"] for h in keras.history],
                               [h["loss"] for h in result.history], rtol=1e-3)


def test_checkpoint_written_each_epoch(tmp_path, mnist_data):
    from nengo_pc.params import load_params

    arch = mlp((32,))
    path = tmp_path / "ckpt.npz"
    result = train(arch, mnist_data.train.subset(400),
                   TrainConfig(epochs=2, batch_size=100, seed=1),
                   validation=mnist_data.test.subset(200),
                   checkpoint_path=path, progress=False)
    arch2, params, meta = load_params(path)
    assert arch2 == arch and meta["epoch"] == 2
    np.testing.assert_allclose(params.weights[0], result.params.weights[0])
    assert {"val_accuracy", "val_loss", "seconds", "loss"} <= set(result.history[-1])


def test_divergence_is_reported(mnist_data):
    arch = mlp((32,))
    with pytest.raises(FloatingPointError, match="learning_rate"):
        train(arch, mnist_data.train.subset(400),
              TrainConfig(epochs=2, batch_size=100, learning_rate=1e35,
                          lr_schedule="constant"),
              backend="keras", progress=False)


def test_classification_metrics():
    logits = np.array([[2.0, 0.0], [0.0, 3.0], [1.0, 0.0]])
    m = classification_metrics(logits, np.array([0, 1, 1]))
    assert m["accuracy"] == pytest.approx(2 / 3)
    expected = -np.mean([np.log(1 / (1 + np.exp(-2))), np.log(1 / (1 + np.exp(-3))),
                         np.log(1 / (1 + np.exp(1)))])
    assert m["loss"] == pytest.approx(expected)
    with pytest.raises(FloatingPointError):
        classification_metrics(np.array([[np.nan, 0.0]]), np.array([0]))


@pytest.mark.parametrize(
    "kwargs, match",
    [({"epochs": 0}, "epochs"), ({"batch_size": 0}, "batch_size"),
     ({"learning_rate": -1.0}, "learning_rate"), ({"lr_schedule": "step"}, "lr_schedule"),
     ({"seed": -1}, "seed"), ({"rule": "zil"}, "rule"),
     ({"lr_schedule": "inverse_time"}, "lr_decay_samples")],
)
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_bad_inputs(mnist_data):
    arch = mlp((8,))
    with pytest.raises(ValueError, match="backend"):
        train(arch, mnist_data.test.subset(100), TrainConfig(), backend="torch")
    with pytest.raises(ValueError, match="batch_size"):
        train(arch, mnist_data.test.subset(50), TrainConfig(batch_size=100))
    with pytest.raises(ValueError, match="flattened"):
        from nengo_pc.data import Split
        split = Split(np.zeros((10, 28, 28), np.float32), np.zeros(10, np.int64))
        evaluate(arch, init_params(arch), split)


def test_shift_augmentation_on_keras_cnn(mnist_data):
    arch = softlif_cnn(conv=(ConvLayer(4, 3, 2),), n_out=10)
    subset = mnist_data.train.subset(200)
    config = TrainConfig(epochs=1, batch_size=50, seed=3)

    def weights(max_shift):
        result = train(arch, subset, dataclasses.replace(config, max_shift=max_shift),
                       backend="keras", progress=False)
        return result.params.weights[0]

    plain, shifted, again = weights(0), weights(2), weights(2)
    assert np.all(np.isfinite(shifted))
    assert not np.allclose(plain, shifted)  # the network saw other images
    np.testing.assert_allclose(shifted, again, rtol=1e-5, atol=1e-6)  # seeded shifts
    with pytest.raises(ValueError, match="max_shift"):
        train(mlp((8,), n_in=783), train_783(subset),
              dataclasses.replace(config, max_shift=1), backend="keras")


def train_783(split):
    """``split`` with one pixel fewer: inputs that are no square image."""
    from nengo_pc.data import Split

    return Split(split.images[:, :783], split.labels)


def test_nengo_dl_training_writes_whole_signals():
    """NengoDL training writes every signal whole: no element-wise scatters.

    NengoDL's default planner merges the hidden layers' bias copies, which puts their
    neuron inputs in one shared array written by scatters (docs/performance.md).
    """
    from nengo_pc.training.backends import NengoDLBackend

    arch = mlp((32, 32))
    backend = NengoDLBackend(arch, init_params(arch, 0), 10, 0, False)
    try:
        writes = backend.sim.tensor_graph.signals.write_types
        assert writes["assign"] > 0
        assert writes["scatter_add"] == writes["scatter_update"] == 0
    finally:
        backend.close()
