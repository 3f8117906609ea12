"""Evaluating an online run: the learned parameters' accuracy, and the network's own.

A PC network whose output is free settles to the feedforward pass, so the learned
parameters are scored with `nengo_pc.rates.forward`; `spiking_scores` classifies
images with the simulated (spiking) network itself, presented as in evaluation
(`nengo_pc.pc.online_schedule.Presentation.evaluation_modes`).
"""

import time

import numpy as np

from nengo_pc.pc.online_schedule import PROGRESS_INTERVAL, evaluation_line
from nengo_pc.rates import forward
from nengo_pc.training.evaluation import log_progress
from nengo_pc.training.loop import write_checkpoint


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


class Evaluation:
    """The evaluations of an online run: its history, checkpoints and progress lines.

    Parameters
    ----------
    run : nengo_pc.pc.online_network.OnlineSimulator
    eval_split : nengo_pc.data.Split or None
    config : nengo_pc.pc.online.OnlineConfig
    history : list of dict
        Entries so far (a resumed run's), appended to by `add`.
    checkpoint_path : str or Path or None
        Where `nengo_pc.training.loop.write_checkpoint` writes the parameters, the
        simulator state and the history at every evaluation.
    record : dict
        The run's settings, stored with every checkpoint.
    progress : bool
    """

    def __init__(self, run, eval_split, config, history, checkpoint_path, record,
                 progress):
        self.run, self.eval_split, self.config = run, eval_split, config
        self.history, self.checkpoint_path = history, checkpoint_path
        self.record, self.progress = record, progress
        self.seconds = 0.0  # spent evaluating

    def add(self, samples, train_seconds, correct=0, presented=0):
        """Evaluate the current parameters after ``samples`` samples, of which
        ``correct`` of the last ``presented`` were classified right online."""
        t0 = time.perf_counter()
        entry = {"samples": samples, "seconds": train_seconds,
                 "train_accuracy": correct / presented if presented else None}
        params = self.run.params()
        split, config = self.eval_split, self.config
        if split is not None:
            predicted = forward(self.run.net.arch, params, split.images).argmax(axis=1)
            entry["accuracy"] = float(np.mean(predicted == split.labels))
            if config.eval_spiking:
                entry["spiking_accuracy"], entry["spiking_agreement"] = spiking_scores(
                    self.run, split, min(config.eval_spiking, len(split)), predicted,
                    config.n_average, np.random.default_rng([config.seed, 3, samples]))
        self.history.append(entry)
        if self.checkpoint_path is not None:
            # the simulator's whole state, not only the parameters: a resumed run
            # continues every minibatch slot's stream where this one stops
            write_checkpoint(self.checkpoint_path, self.run.net.arch, params,
                             self.run.state(), samples=samples, history=self.history,
                             config=self.record)
        self.seconds += time.perf_counter() - t0
        if self.progress:
            log_progress(evaluation_line("pc:online", entry,
                                         self.record["n_samples"]))
        return entry


def final_spiking_score(run, eval_split, config, samples, progress):
    """`OnlineResult.final_spiking`: the network's own classification of
    ``final_eval_spiking`` images of ``eval_split`` after ``samples`` samples."""
    t0 = time.perf_counter()
    n = min(config.final_eval_spiking, len(eval_split))
    predicted = forward(run.net.arch, run.params(), eval_split.images[:n]).argmax(axis=1)
    accuracy, agreement = spiking_scores(
        run, eval_split, n, predicted, config.n_average,
        np.random.default_rng([config.seed, 4, samples]),
        tag="pc:online final spiking evaluation" if progress else None)
    result = {"samples": samples, "n": n, "accuracy": accuracy, "agreement": agreement,
              "seconds": time.perf_counter() - t0}
    if progress:
        log_progress(f"[pc:online] the spiking network classifies "
                     f"{100 * accuracy:.2f}% of {n} images after {samples} samples")
    return result
