"""The ``simulated`` training backend: the PC network learning online in NengoDL.

`SimulatedBackend` runs rule ``pc-online`` in `nengo_pc.training.train` (the one
training loop: data order, schedule, evaluation, checkpoints and exact resume) on
the simulated network of `nengo_pc.pc.online_network`: the
`~nengo_pc.networks.pc.PredictiveCodingNetwork` with
`~nengo_pc.networks.learning.LocalPC` rules on its connections, minibatches of
images presented with a sweep, a clamped settle and a learning window
(`nengo_pc.pc.online_schedule.Presentation`); `nengo_pc.pc.online.train_online`
is this backend in online learning's terms. ``nengo-pc train --rule pc-online --backend
simulated`` runs it.

The loop's learning rate acts on per-example means (as for every backend): a
minibatch of B images at scheduled rate ``lr`` changes the weights by ``lr / B``
times the sum of the images' local products, i.e. each image by a step
``lr / B`` -- `nengo_pc.pc.online_vectorised` converts online learning's
``learning_rate * learn_time`` per example the same way. The rules' rate is fixed
at build time and the schedule scales their gate. The optimiser must be ``"sgd"``
(a local rule has no optimiser state). The checkpoint state is the simulator's
whole state, so a resumed run continues exactly.
"""

import time

import numpy as np

from nengo_pc.networks.feedforward import as_synapse
from nengo_pc.pc.online import OnlineConfig
from nengo_pc.pc.online_evaluation import spiking_scores
from nengo_pc.pc.online_network import OnlineSimulator, learning_network
from nengo_pc.pc.online_schedule import PROGRESS_INTERVAL, Presentation, one_hot
from nengo_pc.rates import forward
from nengo_pc.training.backends import register_backend
from nengo_pc.training.evaluation import log_progress

#: Settings of the simulated network (``backend_options``) and their defaults, read
#: from `nengo_pc.pc.online.OnlineConfig` (one place for them): how the network
#: runs, and (``eval_spiking``, ``final_eval_spiking``, ``average_time``) how many
#: validation images it classifies itself, at every evaluation and after training,
#: and over how long it averages its output. ``network_kwargs`` are further
#: `~nengo_pc.networks.pc.PredictiveCodingNetwork` arguments.
NETWORK_DEFAULTS = {
    name: OnlineConfig.__dataclass_fields__[name].default
    for name in ("spiking", "sweep_time", "settle_time", "learn_time", "dt", "tau",
                 "synapse", "amplitude", "pre_synapse", "feedback", "input_coding",
                 "max_rate", "eval_spiking", "final_eval_spiking", "average_time",
                 "network_kwargs", "simulator")
}


class SimulatedBackend:
    """Train rule ``pc-online`` on the simulated PC network (module docstring).

    Parameters as for every backend (`nengo_pc.training.backends`);
    ``backend_options`` are the keys of `NETWORK_DEFAULTS`.
    """

    #: Options a resumed run may change: how many images the network classifies.
    EVALUATION_OPTIONS = ("eval_spiking", "final_eval_spiking")

    def __init__(self, arch, rule, options, config, params, schedule, progress=False,
                 **network):
        unknown = sorted(set(network) - set(NETWORK_DEFAULTS))
        if unknown:
            raise ValueError(f"{unknown[0]}: not a setting of the simulated backend "
                             f"(settings: {', '.join(NETWORK_DEFAULTS)})")
        if config.optimizer != "sgd":
            raise ValueError(f"optimizer: the simulated backend applies the local rule "
                             f"as plain SGD, not {config.optimizer!r}")
        settings = {**NETWORK_DEFAULTS, **network}
        # checked by OnlineConfig (ValueError naming the setting)
        checked = OnlineConfig(batch_size=config.batch_size, seed=config.seed,
                               output_precision=options["output_precision"],
                               **settings)
        self.arch, self.rule, self.options = arch, rule, options
        self.config, self.schedule = config, schedule
        self.presentation = Presentation(checked.dt, checked.sweep_time,
                                         checked.settle_time, checked.learn_time)
        window = checked.dt * self.presentation.learn
        net = learning_network(
            arch, params, spiking=checked.spiking,
            # a rule at this rate and gate 1 steps each example by lr / B
            learning_rate=config.learning_rate / config.batch_size / window,
            pre_synapse=as_synapse(checked.pre_synapse, "pre_synapse"),
            tau=checked.tau, output_precision=checked.output_precision,
            feedback=checked.feedback, amplitude=checked.amplitude,
            synapse=checked.synapse, seed=config.seed,
            network_kwargs=checked.network_kwargs)
        simulator = OnlineSimulator
        if checked.simulator == "tensorflow":
            from nengo_pc.pc.online_tf import (  # pylint: disable=import-outside-toplevel
                OnlineTFSimulator as simulator,
            )
        self.run = simulator(net, self.presentation, config.batch_size,
                             dt=checked.dt, seed=config.seed,
                             input_coding=checked.input_coding,
                             max_rate=checked.max_rate)
        self.settings, self.progress = checked, progress
        self.iteration = 0

    def _factor(self):
        # in float64, as online learning always computed its decay
        return self.schedule.factor(self.iteration)

    def train_chunk(self, x, y):
        """Present whole minibatches ``x``, ``y`` (labels or regression targets)."""
        size, n_out = self.config.batch_size, self.arch.sizes[-1]
        y = np.asarray(y)
        targets = one_hot(y, n_out) if y.ndim == 1 else y.astype(np.float32)
        sweep, losses, correct = self.presentation.sweep, [], 0
        start = last_log = time.perf_counter()
        for k in range(0, len(targets), size):
            rng = np.random.default_rng([self.config.seed, 1, self.iteration])
            out = self.run.train(np.asarray(x[k:k + size], np.float32),
                                 targets[k:k + size], self._factor(), rng)
            self.iteration += 1
            if not np.all(np.isfinite(out)):
                raise FloatingPointError(
                    f"the network's values became non-finite within the first "
                    f"{self.iteration * size} samples (learning_rate="
                    f"{self.config.learning_rate}); try a smaller learning_rate")
            # the prediction at the end of the sweep, before learning from the image
            n_average = self.settings.n_average
            swept = out[:, max(0, sweep - n_average):max(sweep, 1)].mean(axis=1)
            error = targets[k:k + size] - np.asarray(swept, np.float64)
            losses.append(0.5 * np.mean(np.sum(error ** 2, 1)))
            if y.ndim == 1:
                correct += int(np.sum(swept.argmax(axis=1) == y[k:k + size]))
            if self.progress and time.perf_counter() - last_log > PROGRESS_INTERVAL:
                last_log = time.perf_counter()
                log_progress(f"[pc-online:simulated] {self.iteration * size} samples  "
                             f"{(k + size) / (last_log - start):.1f} images/s")
        result = {"loss": float(np.mean(losses))}
        if y.ndim == 1 and sweep > 0:  # without a sweep there is no prediction
            result["train_accuracy"] = correct / len(targets)
        return result

    def _network_scores(self, validation, n, stream):
        samples = self.iteration * self.config.batch_size
        predicted = forward(self.arch, self.params(),
                            validation.images[:n]).argmax(axis=1)
        accuracy, agreement = spiking_scores(
            self.run, validation, n, predicted, self.settings.n_average,
            np.random.default_rng([self.config.seed, stream, samples]),
            tag="pc-online:simulated network" if self.progress else None)
        return samples, accuracy, agreement

    def extra_metrics(self, validation, entry):
        """The network's own classification of the first ``eval_spiking`` images of
        ``validation`` (``spiking_accuracy``) and its agreement with the
        feedforward pass (``spiking_agreement``); nothing with ``eval_spiking=0``."""
        n = min(self.settings.eval_spiking, len(validation))
        if not n:
            return {}
        _, accuracy, agreement = self._network_scores(validation, n, 3)
        return {"spiking_accuracy": accuracy, "spiking_agreement": agreement}

    def final_metrics(self, validation):
        """After training, with ``final_eval_spiking``: ``samples``, ``n``,
        ``accuracy``, ``agreement`` and ``seconds`` of the network's own
        classification of that many images of ``validation`` (else None)."""
        n = min(self.settings.final_eval_spiking, len(validation))
        if not n:
            return None
        t0 = time.perf_counter()
        samples, accuracy, agreement = self._network_scores(validation, n, 4)
        if self.progress:
            log_progress(f"[pc-online:simulated] the network classifies "
                         f"{100 * accuracy:.2f}% of {n} images after {samples} samples")
        return {"samples": samples, "n": n, "accuracy": accuracy,
                "agreement": agreement, "seconds": time.perf_counter() - t0}

    def predict(self, x):
        """The outputs the rule classifies by: the feedforward pass, where the free
        network settles (numpy)."""
        # pylint: disable=import-outside-toplevel
        from nengo_pc.training.evaluation import rule_outputs

        return rule_outputs(self.arch, self.params(), x, self.rule, self.options)

    def finite(self):
        """Whether every parameter is finite."""
        params = self.params()
        return all(np.all(np.isfinite(a)) for a in params.weights + params.biases)

    def params(self):
        """The learned parameters, read from the simulator (float32)."""
        return self.run.params()

    def state(self):
        """The simulator's whole state and the minibatch counter."""
        return {**{f"sim/{k}": v for k, v in self.run.state().items()},
                "iteration": np.array(self.iteration)}

    def restore(self, state):
        """The inverse of `state`, on a backend built from the same parameters."""
        self.run.restore({k[len("sim/"):]: v for k, v in state.items()
                          if k.startswith("sim/")})
        self.iteration = int(state["iteration"])

    def close(self):
        """Close the simulator."""
        self.run.close()


register_backend("simulated", SimulatedBackend)

__all__ = ["NETWORK_DEFAULTS", "SimulatedBackend"]
