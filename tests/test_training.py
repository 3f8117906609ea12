"""The training loop (`nengo_pc.training`): one schedule, checkpoints, exact resume."""

import numpy as np
import pytest

from nengo_pc.arch import mlp
from nengo_pc.training import Schedule, TrainConfig, train
from nengo_pc.training import backends
from nengo_pc.training.loop import SampleStream, read_checkpoint

SMALL = mlp((32, 16))


@pytest.fixture(scope="module")
def small(mnist_data):
    return mnist_data.train.subset(600), mnist_data.test.subset(300)


def _interrupting(name, after):
    """The backend ``name``, raising KeyboardInterrupt in chunk ``after + 1``."""
    cls = backends.get_backend(name)

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


@pytest.mark.parametrize("backend, rule", [
    ("vectorised", "pc-incremental"), ("vectorised", "fa"), ("keras", "backprop"),
    ("nengo_dl", "backprop"), ("keras-bn", "backprop")])
def test_resumed_run_equals_uninterrupted(backend, rule, small, tmp_path, monkeypatch):
    """Interrupted after epoch 1 and resumed: the same parameters and history as a
    run that was never interrupted (optimiser state, data order and shifts
    restored)."""
    train_split, validation = small
    config = TrainConfig(rule=rule, epochs=3, batch_size=100, seed=3, max_shift=1)
    whole = train(SMALL, train_split, config, backend=backend, validation=validation,
                  progress=False)
    path = tmp_path / "checkpoint.npz"
    monkeypatch.setitem(backends._BACKENDS, backend, _interrupting(backend, 1))
    with pytest.raises(KeyboardInterrupt):
        train(SMALL, train_split, config, backend=backend, validation=validation,
              checkpoint_path=path, progress=False)
    monkeypatch.undo()
    assert read_checkpoint(path)[3]["epoch"] == 1
    resumed = train(SMALL, train_split, config, backend=backend, validation=validation,
                    checkpoint_path=path, resume=True, progress=False)
    for a, b in zip(whole.params.weights + whole.params.biases,
                    resumed.params.weights + resumed.params.biases):
        np.testing.assert_array_equal(a, b)
    assert [{**h, "seconds": 0} for h in whole.history] == [
        {**h, "seconds": 0} for h in resumed.history]


def test_resume_refuses_another_run(small, tmp_path):
    train_split, _ = small
    path = tmp_path / "checkpoint.npz"
    config = TrainConfig(rule="pc-zil", epochs=1, batch_size=100)
    train(SMALL, train_split, config, checkpoint_path=path, progress=False)
    with pytest.raises(ValueError, match=r"^resume: .*learning_rate=0.001 \(now 0.002\)"):
        train(SMALL, train_split, TrainConfig(rule="pc-zil", epochs=1, batch_size=100,
                                              learning_rate=0.002),
              checkpoint_path=path, resume=True, progress=False)
    with pytest.raises(ValueError, match="^resume: .* holds"):
        train(mlp((8,)), train_split, config, checkpoint_path=path, resume=True,
              progress=False)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="^resume: .* is not a readable checkpoint"):
        train(SMALL, train_split, config, checkpoint_path=path, resume=True,
              progress=False)


def test_stale_temporary_files_are_removed(small, tmp_path):
    path = tmp_path / "checkpoint.npz"
    stale = tmp_path / "checkpoint.npzabc123.tmp"
    stale.write_bytes(b"half written")
    train(SMALL, small[0], TrainConfig(rule="bp-mse", epochs=1, batch_size=100),
          checkpoint_path=path, progress=False)
    assert not stale.exists() and path.exists()


def test_sample_counted_run_evaluates_every_eval_every(small):
    train_split, validation = small
    config = TrainConfig(rule="pc-online", n_samples=1000, batch_size=30,
                         eval_every=400, optimizer="sgd", learning_rate=0.1,
                         lr_schedule="constant")
    result = train(SMALL, train_split, config, validation=validation, progress=False)
    # minibatches end at 420 and 810 after 400 and 800 images, and the run at 990
    assert [h["samples"] for h in result.history] == [0, 420, 810, 990]
    assert result.history[-1]["val_accuracy"] > result.history[0]["val_accuracy"]


def test_sample_stream_is_known_at_every_position():
    stream = SampleStream(7, seed=1)
    whole = stream.indices(0, 30)
    assert sorted(whole[:7]) == list(range(7)) and sorted(whole[7:14]) == list(range(7))
    np.testing.assert_array_equal(SampleStream(7, 1).indices(12, 9), whole[12:21])


def test_schedule():
    tf = pytest.importorskip("tensorflow")
    cosine = Schedule("cosine", 0.1, total_steps=10).keras()
    assert float(cosine(0)) == pytest.approx(0.1) and float(cosine(10)) == 0.0
    inverse = Schedule("inverse_time", 0.1, total_steps=10, batch_size=20,
                       decay_samples=100).keras()
    assert float(inverse(5)) == pytest.approx(0.1 / (1 + 5 * 20 / 100))
    assert Schedule("constant", 0.1, 10).keras() == 0.1
    assert isinstance(Schedule("constant", 0.1, 10).optimizer("adam", 0.9),
                      tf.keras.optimizers.Adam)
    with pytest.raises(ValueError, match="^lr_schedule: "):
        Schedule("step", 0.1, 10)


def test_rule_config_defaults():
    config = TrainConfig.for_rule("pc-online", epochs=2)
    assert (config.optimizer, config.batch_size, config.epochs) == ("sgd", 20, 2)
    assert TrainConfig.for_rule("fa").optimizer == "momentum"
    assert TrainConfig.for_rule("fa", optimizer="adam").optimizer == "adam"
