"""How a training run executes: the backends of `nengo_pc.training.train`.

The loop (`nengo_pc.training.loop`) owns everything a run shares -- data order,
augmentation, the schedule, evaluation, checkpoints and resume, the record -- and
hands each chunk of minibatches to a backend. A backend is a class registered with
`register_backend` under a name that rules list in `nengo_pc.rules.Rule.backends`,
constructed and driven as::

    backend = Backend(arch, rule, options, config, params, schedule, progress,
                      **backend_options)
    backend.train_chunk(x, y)  # -> {"loss": float[, "train_accuracy": float]}
    backend.predict(x)         # -> (N, n_out) outputs the rule classifies with
    backend.params()           # -> Params, current values (numpy)
    backend.state()            # -> {name: ndarray}: optimiser state, for exact resume
    backend.restore(state)     #    the inverse, on a backend built from the same params
    backend.close()
    backend.alignment(x, y)    # optional: per-layer cosine of update and gradient
    backend.extra_metrics(validation, entry)  # optional: {name: value} the backend
                               #    measures itself at an evaluation
    backend.final_metrics(validation)         # optional: dict after training

``rule`` is the `nengo_pc.rules.Rule`, ``options`` its resolved options, ``config``
the `~nengo_pc.training.TrainConfig`, ``params`` the initial `Params` (from a
checkpoint when resuming), ``schedule`` the run's
`~nengo_pc.training.schedule.Schedule`, ``progress`` whether to show progress
within chunks, and ``backend_options`` what `nengo_pc.training.train` was given as
``backend_options`` (the backend's own settings; none for the backends here; a
class attribute ``EVALUATION_OPTIONS`` names those a resumed run may change).
``train_chunk`` gets whole minibatches in the order to train them
(``len(x)`` a multiple of ``config.batch_size``; ``y`` integer labels, or targets for
regression) and applies one update per minibatch.

Registered here:

``vectorised`` (`nengo_pc.training.vectorised.VectorisedBackend`)
    The rule's update function in one ``tf.function`` per minibatch, applied by a
    Keras optimiser: every rule of the PC, alignment, energy and local families.
``nengo_dl``, ``keras`` (`NengoDLBackend`, `KerasBackend`)
    ``fit`` of the `~nengo_pc.networks.FeedforwardNetwork` in NengoDL, or of the
    same architecture as a Keras model, on the cross-entropy: rule ``backprop``.
``keras-bn`` (`KerasBatchNormBackend`)
    The Keras model with batch normalisation, folded into the weights afterwards
    (the spiking CNN's training).

``simulated`` (`nengo_pc.pc.online_backend.SimulatedBackend`)
    The NengoDL-simulated PC network of online learning (`nengo_pc.pc.online`):
    its ``train_chunk`` presents the chunk's images to the network, whose
    `~nengo_pc.networks.learning.LocalPC` rules change the shared weights;
    ``backend_options`` are the network's settings (spiking, synapses, learning
    window, ...), ``predict`` is the rate-mode feedforward pass and ``state`` the
    simulator state a resumed run needs beyond the parameters.

`NengoReference` runs the feedforward network in the Nengo reference simulator for
evaluation only (it cannot train).
"""

import contextlib
import sys
import time
import warnings

import numpy as np

from nengo_pc.spiking_tf import TFSpikingBackend
from nengo_pc.training.config import MOMENTUM

_BACKENDS = {}


def register_backend(name, cls):
    """Make ``cls`` the backend ``name`` (see the module docstring for the interface)."""
    _BACKENDS[name] = cls
    return cls


def backend_names():
    """Names of the registered training backends."""
    _ensure_loaded()
    return tuple(_BACKENDS)


def get_backend(name):
    """The backend class registered as ``name`` (ValueError naming ``backend``)."""
    _ensure_loaded()
    if name not in _BACKENDS:
        raise ValueError(f"backend: {name!r} is not one of {', '.join(_BACKENDS)}")
    return _BACKENDS[name]


def _ensure_loaded():
    from nengo_pc.training import vectorised  # noqa: F401  (registers itself)
    from nengo_pc.pc import online_backend  # noqa: F401  (registers "simulated")


@contextlib.contextmanager
def quiet_build():
    """Silence build-time warnings that say nothing about these networks.

    Nengo derives ``max_rates``/``intercepts`` from gain and bias when it builds LIF
    ensembles; with gain 1 and bias <= 1 that divides by zero and warns, though the
    derived values are never used. NengoDL warns on every CPU-only machine.
    """
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.filterwarnings("ignore", message="No GPU support detected")
        warnings.filterwarnings("ignore", message="Non-finite values detected in `max_rates`")
        yield


#: Seconds between the progress lines a fit backend logs within an epoch when its
#: output is not a terminal (on a terminal, Keras's progress bar shows).
PROGRESS_SECONDS = 60.0


def progress_callbacks(progress, label, every=PROGRESS_SECONDS):
    """Keras callbacks logging progress within an epoch to a non-terminal.

    A log file of a background run otherwise shows nothing between the lines the
    loop writes after each epoch, which for the spiking CNN are minutes apart.

    Parameters
    ----------
    progress : bool
        Whether the run shows progress at all.
    label : str
        Prefix of each line, e.g. ``"backprop:keras"``.
    every : float
        Seconds between lines.

    Returns
    -------
    list
        One callback, or none on a terminal or without progress.
    """
    if not progress or sys.stdout.isatty():
        return []
    import tensorflow as tf

    from nengo_pc.training.evaluation import log_progress

    class LogWithinEpoch(tf.keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = self.last = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            now = time.perf_counter()
            if now - self.last < every:
                return
            self.last = now
            loss = (logs or {}).get("loss")
            log_progress(f"[{label}] minibatch {batch + 1}/{self.params.get('steps')}"
                         + (f"  loss {loss:.4f}" if loss is not None else "")
                         + f"  {now - self.start:.0f} s")

    return [LogWithinEpoch()]


def optimizer_state(optimizer, variables):
    """The optimiser's variables (built for ``variables``) as ``{name: ndarray}``."""
    optimizer.build(variables)
    return {f"optimizer/{i}": np.asarray(v.numpy())
            for i, v in enumerate(optimizer.variables)}


def restore_optimizer(optimizer, variables, state):
    """Set the optimiser's variables from `optimizer_state`'s result."""
    optimizer.build(variables)
    slots = list(optimizer.variables)
    saved = sorted((k for k in state if k.startswith("optimizer/")),
                   key=lambda k: int(k.split("/")[1]))
    if len(saved) != len(slots):
        raise ValueError(f"resume: the checkpoint holds {len(saved)} optimiser "
                         f"variables, the optimiser has {len(slots)}")
    for slot, key in zip(slots, saved):
        slot.assign(state[key])


class NengoDLBackend:
    """Fit and predict a `FeedforwardNetwork` with ``nengo_dl.Simulator``.

    For training (``presentation`` None, ``training`` True) LIF neurons are built
    spiking and fitted through their soft-LIF curve; predictions use the rate curve.
    For evaluation, rate mode uses `nengo.LIFRate`, and a ``presentation`` runs the
    network spiking.
    """

    def __init__(self, arch, params, batch_size, seed, progress, presentation=None,
                 training=True):
        import nengo_dl

        from nengo_pc.networks.feedforward import FeedforwardNetwork, configure_nengo_dl

        if presentation is not None:
            options = presentation.network_options()
        else:
            options = {"spiking": training}
        self.net = FeedforwardNetwork(arch, params, seed=seed, label=f"mlp {arch.sizes}",
                                      **options)
        # one step an image unless a presentation runs the network spiking
        configure_nengo_dl(self.net, one_step=presentation is None)
        with self.net:
            # every call presents fresh images: nothing to carry between calls
            nengo_dl.configure_settings(stateful=False)
        self.presentation = presentation
        self.training = training
        self.batch_size = batch_size
        with quiet_build():
            # a presentation's dt is the simulator's step (the spiking dynamics
            # depend on it); rate mode and training run at Nengo's 1 ms
            self.sim = nengo_dl.Simulator(
                self.net, dt=presentation.dt if presentation is not None else 0.001,
                minibatch_size=batch_size, seed=seed, progress_bar=progress
            )

    @classmethod
    def for_training(cls, arch, rule, options, config, params, schedule, progress):
        """The training-backend constructor (see the module docstring)."""
        backend = cls(arch, params, config.batch_size, config.seed,
                      progress and sys.stderr.isatty())
        backend.compile(schedule.optimizer(config.optimizer, MOMENTUM))
        backend.verbose = 1 if (progress and sys.stdout.isatty()) else 0
        backend.callbacks = progress_callbacks(progress, f"{rule.name}:nengo_dl")
        return backend

    def compile(self, optimizer):
        import tensorflow as tf

        loss = tf.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.sim.compile(optimizer=optimizer, loss={self.net.probe: loss})
        self.optimizer = optimizer

    def train_chunk(self, x, y):
        history = self.sim.fit(
            {self.net.input: x[:, None, :]},
            {self.net.probe: y[:, None, None]},
            epochs=1,
            shuffle=False,  # the loop orders the data, identically for every backend
            verbose=getattr(self, "verbose", 0),
            callbacks=getattr(self, "callbacks", None),
        )
        return {"loss": float(history.history["loss"][-1])}

    def predict(self, x):
        # NengoDL needs whole minibatches: pad with zeros and drop the padding
        n = len(x)
        pad = (-n) % self.batch_size
        if pad:
            x = np.concatenate([x, np.zeros((pad, x.shape[1]), x.dtype)])
        if self.presentation is None and self.net.arch.activation == "lif" \
                and self.training:
            # this simulator's LIF neurons spike outside training; validate with the
            # rate curve they are trained to approximate
            from nengo_pc.rates import forward

            return forward(self.net.arch, self.params(), x[:n])
        if self.presentation is None:
            out = self.sim.predict({self.net.input: x[:, None, :]}, verbose=0)
            return out[self.net.probe][:n, -1, :]
        # spiking: hold each image for n_steps, one minibatch at a time to bound memory
        logits = []
        for start in range(0, len(x), self.batch_size):
            batch = np.repeat(x[start:start + self.batch_size, None, :],
                              self.presentation.n_steps, axis=1)
            out = self.sim.predict_on_batch({self.net.input: batch})
            logits.append(self.presentation.read(out[self.net.probe]))
        return np.concatenate(logits)[:n]

    def params(self):
        # NengoDL's sim.data derives max_rates from gain and bias on every read
        with quiet_build():
            return self.net.params_from(self.sim)

    def state(self):
        return optimizer_state(self.optimizer, self.sim.keras_model.trainable_weights)

    def restore(self, state):
        restore_optimizer(self.optimizer, self.sim.keras_model.trainable_weights, state)

    def close(self):
        self.sim.close()


class KerasBackend:
    """Fit and predict the same architecture as a plain ``tf.keras`` model."""

    NAME = "keras"

    def __init__(self, arch, params, batch_size, seed, progress, presentation=None):
        from nengo_pc.convert import build_keras

        if presentation is not None:
            raise ValueError("backend: keras has no spiking mode; use nengo_dl or nengo")
        self.arch = arch
        # LIF layers train through soft-LIF, as NengoDL's lif_smoothing does
        self.model = build_keras(arch, params, soft=True)
        self.batch_size = batch_size

    @classmethod
    def for_training(cls, arch, rule, options, config, params, schedule, progress):
        """The training-backend constructor (see the module docstring)."""
        backend = cls(arch, params, config.batch_size, config.seed, progress)
        backend.compile(schedule.optimizer(config.optimizer, MOMENTUM))
        backend.verbose = 1 if (progress and sys.stdout.isatty()) else 0
        backend.callbacks = progress_callbacks(progress, f"{rule.name}:{cls.NAME}")
        return backend

    def compile(self, optimizer):
        import tensorflow as tf

        self.model.compile(
            optimizer=optimizer,
            loss=tf.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        self.optimizer = optimizer

    def train_chunk(self, x, y):
        history = self.model.fit(x, y, batch_size=self.batch_size, epochs=1,
                                 shuffle=False, verbose=getattr(self, "verbose", 0),
                                 callbacks=getattr(self, "callbacks", None))
        return {"loss": float(history.history["loss"][-1])}

    def predict(self, x):
        return self.model.predict(x, batch_size=max(self.batch_size, 1000), verbose=0)

    def params(self):
        from nengo_pc.convert import params_from_keras

        return params_from_keras(self.model, self.arch)

    def state(self):
        return optimizer_state(self.optimizer, self.model.trainable_variables)

    def restore(self, state):
        restore_optimizer(self.optimizer, self.model.trainable_variables, state)

    def close(self):
        pass


class KerasBatchNormBackend(KerasBackend):
    """`KerasBackend` with batch normalisation after every hidden layer, folded away.

    `params` folds the normalisation into the weights (`nengo_pc.convert.fold_batch_norm`),
    and validation classifies with the folded parameters in rate mode
    (`nengo_pc.rates.forward`, exact rate curve): what the Nengo network computes.
    """

    NAME = "keras-bn"

    def __init__(self, arch, params, batch_size, seed, progress, presentation=None):
        from nengo_pc.convert import build_keras

        self.arch = arch
        self.model = build_keras(arch, params, batch_norm=True, seed=seed)
        self.batch_size = batch_size

    def predict(self, x):
        from nengo_pc.rates import forward

        return forward(self.arch, self.params(), x)

    def params(self):
        from nengo_pc.convert import fold_batch_norm

        return fold_batch_norm(self.model, self.arch)

    def state(self):
        # the unfolded weights and the normalisation statistics, which the folded
        # parameters of a checkpoint do not determine
        state = super().state()
        state.update({f"model/{i}": w for i, w in enumerate(self.model.get_weights())})
        return state

    def restore(self, state):
        weights = self.model.get_weights()
        self.model.set_weights([state[f"model/{i}"] for i in range(len(weights))])
        super().restore(state)


class NengoReference:
    """Run the `FeedforwardNetwork` in the Nengo reference simulator (no training).

    Rate mode: image ``k`` is presented during time step ``k``; with no synapses
    every layer responds within the same step, so step ``k``'s output is image
    ``k``'s logits. Spiking mode: each image is held for ``n_steps`` after a reset of
    the simulator, as NengoDL starts every image from rest.
    """

    def __init__(self, arch, params, batch_size, seed, progress, presentation=None):
        self.arch, self.params_, self.seed = arch, params, seed
        self.presentation = presentation

    def predict(self, x):
        import nengo

        from nengo_pc.networks.feedforward import FeedforwardNetwork

        p = self.presentation
        options = p.network_options() if p else {"spiking": False}
        net = FeedforwardNetwork(self.arch, self.params_, seed=self.seed, **options)
        if p is None:
            net.input.output = nengo.processes.PresentInput(x, presentation_time=0.001)
            with quiet_build(), nengo.Simulator(net, dt=0.001, progress_bar=False) as sim:
                sim.run_steps(len(x))
            return sim.data[net.probe]
        image = np.zeros(x.shape[1])
        net.input.output = lambda t: image
        logits = []
        with quiet_build():
            sim = nengo.Simulator(net, dt=p.dt, progress_bar=False, seed=self.seed)
        with sim:
            for k in range(len(x)):
                sim.reset(seed=self.seed + k)
                image[:] = x[k]
                sim.run_steps(p.n_steps)
                logits.append(p.read(sim.data[net.probe][None]))
        return np.concatenate(logits)

    def close(self):
        pass


def loihi_emulator(*args, **kwargs):
    """`nengo_pc.loihi.LoihiEmulator` (imported when used: nengo-loihi is optional)."""
    from nengo_pc.loihi import LoihiEmulator

    return LoihiEmulator(*args, **kwargs)


#: Backends that classify with given parameters (`nengo_pc.training.evaluate`).
EVAL_BACKENDS = {"nengo_dl": NengoDLBackend, "keras": KerasBackend,
                 "nengo": NengoReference, "loihi": loihi_emulator,
                 "tensorflow": TFSpikingBackend}

register_backend("nengo_dl", NengoDLBackend.for_training)
register_backend("keras", KerasBackend.for_training)
register_backend("keras-bn", KerasBatchNormBackend.for_training)
