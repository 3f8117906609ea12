"""Backprop training of the MLP 784-500-500-10 (ReLU): NengoDL against plain tf.keras.

Both sides are nengo-pc's `nengo_pc.training.train` with rule ``backprop`` and the
same `TrainConfig` (initial parameters, data order, Adam, cosine schedule), once with
backend ``nengo_dl`` (the `FeedforwardNetwork` fitted by ``nengo_dl.Simulator``) and
once with ``keras`` (the same architecture as a ``tf.keras`` model): the comparison of
``benchmarks/bp_mlp.py``, in bench.py's interleaved form. ``seconds`` is the training
time per epoch (building excluded, as ``TrainResult.seconds_per_epoch`` reports it);
``accuracy`` the test accuracy after training. Here "ours" is NengoDL, the suite's
Nengo network, and "peer" plain Keras: the goal is a time ratio <= 1.3.
"""

NAME = "nengodl_vs_keras_training"
DESCRIPTION = ("backprop MLP 784-500-500-10 training, s/epoch: NengoDL (nengo-pc's "
               "Nengo network) vs plain tf.keras, same model and data order")

SETTINGS = {"epochs": 2, "batch_size": 100, "n_train": 60000, "hidden": [500, 500]}
QUICK = {"epochs": 1, "n_train": 2000, "hidden": [50]}


def _run(settings, backend):
    import dataclasses

    from nengo_pc.arch import mlp
    from nengo_pc.data import load_dataset
    from nengo_pc.training import TrainConfig, evaluate, train

    data = load_dataset("mnist", data_dir=settings["data_dir"])
    data = dataclasses.replace(
        data, train=data.train.subset(min(settings["n_train"], len(data.train))))
    arch = mlp(tuple(settings["hidden"]), activation="relu")
    config = TrainConfig(epochs=settings["epochs"], batch_size=settings["batch_size"],
                         seed=settings["seed"])
    result = train(arch, data.train, config, backend=backend, progress=False)
    test = evaluate(arch, result.params, data.test, backend=backend)
    return {"seconds": result.seconds_per_epoch, "accuracy": test["accuracy"],
            "build_seconds": result.build_seconds, "backend": backend}


def ours(settings):
    """NengoDL fit of the Nengo network."""
    return _run(settings, "nengo_dl")


def peer(settings):
    """Plain tf.keras fit of the same model."""
    return _run(settings, "keras")
