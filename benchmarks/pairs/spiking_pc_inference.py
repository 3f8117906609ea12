"""Spiking PC inference (the headline benchmark's network): TensorFlow against NengoDL.

Both sides run `nengo_pc.networks.spiking.spiking_inference` -- the spiking
`~nengo_pc.networks.PredictiveCodingNetwork`, 784-500-500-10 ``"lif"``, mode
``"sweep"`` for the whole presentation, constant input, the settings of
``benchmarks/spiking_pc.py``'s headline record (150 ms at dt 1 ms, tau 10 ms,
lowpass 5 ms, pair amplitude 5e-4, seed 0) -- on the same MNIST test images, and
classify with its window readout at the end of the presentation. ``ours``:
``backend="tensorflow"`` (`nengo_pc.networks.spiking_pc_tf`); ``peer``:
``backend="nengo_dl"``, the path of the headline record (minibatches of 200). Both
time the whole call, building included (NengoDL's simulator; for ours Nengo's
builder of the same network, for its initial states, and the tracing of the
compiled function); ``images_per_second_after_build`` leaves the building out. The parameters are the shipped
``mnist-pc-spiking`` (`nengo_pc.pretrained`) unless ``params`` names a file.
"""

import time

NAME = "spiking_pc_inference"
DESCRIPTION = ("spiking PC inference, 784-500-500-10 lif, 150 ms, MNIST test images: "
               "spiking_inference backend tensorflow vs nengo_dl, same network")

SETTINGS = {"params": "mnist-pc-spiking", "n_test": 1000, "duration": 0.15,
            "pair_amplitude": 5e-4, "batch_size": 200, "chunk": None}
QUICK = {"n_test": 20, "duration": 0.02, "batch_size": 10}


def _problem(settings):
    from pathlib import Path

    from nengo_pc import pretrained
    from nengo_pc.data import load_dataset
    from nengo_pc.params import load_params

    name = settings["params"]
    if name in pretrained.names():
        arch, params, _ = pretrained.load(name)
    elif Path(name).is_file():
        arch, params, _ = load_params(name)
    else:
        raise FileNotFoundError(f"params: {name!r} is neither a shipped network "
                                f"({', '.join(pretrained.names())}) nor a file")
    test = load_dataset("mnist", data_dir=settings["data_dir"]).test
    return arch, params, test.subset(min(settings["n_test"], len(test)))


def _side(settings, backend):
    from nengo_pc.networks.spiking import accuracy_over_time, spiking_inference

    arch, params, split = _problem(settings)
    options = {"duration": settings["duration"], "pair_amplitude":
               settings["pair_amplitude"], "batch_size": settings["batch_size"],
               "seed": settings["seed"], "backend": backend}
    if backend == "tensorflow" and settings["chunk"] is not None:
        options["chunk"] = settings["chunk"]
    t0 = time.perf_counter()
    run = spiking_inference(arch, params, split.images, **options)
    seconds = time.perf_counter() - t0
    curve = accuracy_over_time(run["outputs"], split.labels)
    n = len(split)
    return {"seconds": seconds, "accuracy": float(curve[-1]), "n_examples": n,
            "images_per_second": n / seconds, "backend": backend,
            "build_seconds": run["seconds"]["build"],
            "images_per_second_after_build": n / (seconds - run["seconds"]["build"]),
            "spikes_per_inference": float(sum(v.sum() for v in run["spikes"].values()))}


def ours(settings):
    """``spiking_inference(..., backend="tensorflow")``."""
    return _side(settings, "tensorflow")


def peer(settings):
    """``spiking_inference(..., backend="nengo_dl")`` (the headline record's path)."""
    return _side(settings, "nengo_dl")
