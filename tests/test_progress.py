"""Progress within an epoch for runs whose output is a log file."""

import numpy as np

import nengo_pc  # noqa: F401  (Keras 2 for NengoDL before TensorFlow loads)
from nengo_pc.training.backends import progress_callbacks


def test_fit_backends_log_progress_within_an_epoch(capsys):
    import tensorflow as tf

    callbacks = progress_callbacks(True, "backprop:keras", every=0.0)
    assert len(callbacks) == 1  # pytest's stdout is not a terminal
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32)
    model.fit(x, np.zeros((12, 2), np.float32), batch_size=4, epochs=1, verbose=0,
              callbacks=callbacks)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        f"[backprop:keras] minibatch {i}/3" for i in (1, 2, 3)]
    assert all("loss" in line for line in lines)
    assert progress_callbacks(False, "backprop:keras") == []
