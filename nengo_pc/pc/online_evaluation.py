"""The simulated network's own classification of images, during online learning.

A PC network whose output is free settles to the feedforward pass, so the training
loop scores the learned parameters with `nengo_pc.rates.forward`; `spiking_scores`
classifies images with the simulated (spiking) network itself, presented as in
evaluation (`nengo_pc.pc.online_schedule.Presentation.evaluation_modes`), for the
``simulated`` backend's ``eval_spiking`` and ``final_eval_spiking``.
"""

import time

import numpy as np

from nengo_pc.pc.online_schedule import PROGRESS_INTERVAL
from nengo_pc.training.evaluation import log_progress


def spiking_scores(run, split, n, predicted, n_average, rng, tag=None):
    """Accuracy of the simulated network on the first ``n`` images of ``split`` and
    its agreement with the feedforward ``predicted`` labels."""
    images, outputs = split.images[:n], np.zeros((n, run.net.arch.sizes[-1]))
    last = time.perf_counter()
    for start in range(0, n, run.batch_size):
        batch = images[start:start + run.batch_size]
        m = len(batch)
        padded = np.zeros((run.batch_size,) + batch.shape[1:], np.float32)
        padded[:m] = batch
        outputs[start:start + m] = run.outputs(padded, n_average, rng)[:m]
        if tag and time.perf_counter() - last > PROGRESS_INTERVAL:
            last = time.perf_counter()
            log_progress(f"[{tag}] {start + m}/{n} images")
    spiked = outputs.argmax(axis=1)
    return (float(np.mean(spiked == split.labels[:n])),
            float(np.mean(spiked == predicted[:n])))


__all__ = ["spiking_scores"]
