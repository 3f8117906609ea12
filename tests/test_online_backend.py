"""The ``simulated`` backend of the training loop (`nengo_pc.pc.online_backend`):
rule ``pc-online`` learned by the NengoDL-simulated PC network, its `LocalPC` rules
sharing one set of weights, with the loop's data order, schedule, checkpoints and
exact resume."""

import numpy as np
import pytest

from nengo_pc.arch import mlp
from nengo_pc.training import TrainConfig, backends, train
from nengo_pc.training.loop import read_checkpoint

pytest.importorskip("nengo_dl")

ARCH = mlp((32,), "relu")
NETWORK = {"spiking": False}


@pytest.fixture(scope="module")
def small(mnist_data):
    return mnist_data.train.subset(400), mnist_data.test.subset(300)


def _config(**fields):
    return TrainConfig.for_rule("pc-online", n_samples=200, batch_size=20,
                                eval_every=100, seed=1, **fields)


def _interrupting(after):
    cls = backends.get_backend("simulated")

    def make(*args, **kwargs):
        model = cls(*args, **kwargs)
        train_chunk, calls = model.train_chunk, []

        def interrupted(x, y):
            calls.append(1)
            if len(calls) > after:
                raise KeyboardInterrupt
            return train_chunk(x, y)

        model.train_chunk = interrupted
        return model
    return make


def test_simulated_backend_learns_and_resumes_exactly(small, tmp_path, monkeypatch):
    train_split, validation = small
    config = _config()
    whole = train(ARCH, train_split, config, backend="simulated",
                  validation=validation, progress=False, backend_options=NETWORK)
    accuracies = [h["val_accuracy"] for h in whole.history]
    assert [h["samples"] for h in whole.history] == [0, 100, 200]
    # measured 0.13 -> 0.38 -> 0.47 (the online rule's first 200 images)
    assert accuracies[-1] > accuracies[0] + 0.2
    assert 0 <= whole.history[-1]["train_accuracy"] <= 1

    path = tmp_path / "checkpoint.npz"
    monkeypatch.setitem(backends._BACKENDS, "simulated", _interrupting(1))
    with pytest.raises(KeyboardInterrupt):
        train(ARCH, train_split, config, backend="simulated", validation=validation,
              checkpoint_path=path, progress=False, backend_options=NETWORK)
    monkeypatch.undo()
    assert read_checkpoint(path)[3]["samples"] == 100
    resumed = train(ARCH, train_split, config, backend="simulated",
                    validation=validation, checkpoint_path=path, resume=True,
                    progress=False, backend_options=NETWORK)
    for a, b in zip(whole.params.weights + whole.params.biases,
                    resumed.params.weights + resumed.params.biases):
        np.testing.assert_array_equal(a, b)
    assert [{**h, "seconds": 0} for h in whole.history] == [
        {**h, "seconds": 0} for h in resumed.history]


@pytest.mark.parametrize("fields, options, name", [
    ({"optimizer": "adam"}, NETWORK, "optimizer"),
    ({}, {"spiking": False, "learn_window": 0.03}, "learn_window"),
    ({}, {"spiking": False, "learn_time": 0.0}, "learn_time"),
])
def test_simulated_backend_refuses_bad_settings(small, fields, options, name):
    with pytest.raises(ValueError, match=f"^{name}:"):
        train(ARCH, small[0], _config(**fields), backend="simulated",
              progress=False, backend_options=options)
