"""The training loop for backprop baselines, on NengoDL or plain Keras.

One loop serves both backends: the data order comes from one numpy generator, the
optimiser from one factory, the evaluation from one function of the logits. A backend
only has to say how to fit one epoch, predict logits and read its parameters, so the
NengoDL-vs-Keras timing compares like with like.

NengoDL runs the `~nengo_pc.nengo_net.FeedforwardNetwork` of the architecture with
``Simulator.compile/fit/predict``; the trained values are read back from the simulator
(``sim.data``) into `~nengo_pc.arch.Params`, which the Nengo network and the Keras model
both load.
"""

import contextlib
import dataclasses
import math
import sys
import time
import warnings

import numpy as np

from nengo_pc.arch import init_params, save_params

BACKENDS = ("nengo_dl", "keras")
#: Backends that can classify with given parameters; ``"nengo"`` is the reference
#: simulator, which cannot train.
EVAL_BACKENDS = BACKENDS + ("nengo",)
LR_SCHEDULES = ("constant", "cosine")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How a network is trained.

    Parameters
    ----------
    epochs : int
        Passes over the training set (>= 1).
    batch_size : int
        Minibatch size (>= 1). NengoDL needs whole minibatches, so each epoch uses
        ``floor(N / batch_size) * batch_size`` examples of a fresh shuffle.
    learning_rate : float
        Adam's initial step size (> 0).
    lr_schedule : str
        ``"constant"`` or ``"cosine"`` (cosine decay to zero over all epochs).
    seed : int
        Seeds parameter initialisation, data order and TensorFlow.
    """

    epochs: int = 10
    batch_size: int = 100
    learning_rate: float = 1e-3
    lr_schedule: str = "cosine"
    seed: int = 0

    def __post_init__(self):
        require_int("epochs", self.epochs, low=1)
        require_int("batch_size", self.batch_size, low=1)
        require_int("seed", self.seed, low=0)
        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0
                and math.isfinite(self.learning_rate)):
            raise ValueError(
                f"learning_rate: must be a finite number > 0, got {self.learning_rate!r}"
            )
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule: {self.lr_schedule!r} is not one of {', '.join(LR_SCHEDULES)}"
            )

    def to_dict(self):
        """JSON-serialisable form."""
        return dataclasses.asdict(self)


def require_int(name, value, low):
    """Raise ValueError naming ``name`` unless ``value`` is an integer >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name}: must be an integer >= {low}, got {value!r}")


@dataclasses.dataclass
class TrainResult:
    """What `train_backprop` returns.

    Attributes
    ----------
    params : Params
        Trained parameters.
    history : list of dict
        One entry per epoch: ``epoch``, ``loss`` (mean training loss), ``seconds``
        (fitting time of that epoch) and, with a validation split,
        ``val_accuracy`` / ``val_loss``.
    build_seconds : float
        Time to build the simulator or model before the first epoch.
    """

    params: object
    history: list
    build_seconds: float

    @property
    def seconds_per_epoch(self):
        """Median fitting time per epoch (robust to a slow first epoch)."""
        return float(np.median([h["seconds"] for h in self.history]))


def classification_metrics(logits, labels):
    """Accuracy and mean softmax cross-entropy of ``logits`` against integer labels."""
    logits = np.asarray(logits, dtype=np.float64)
    if not np.all(np.isfinite(logits)):
        raise FloatingPointError(
            "the network produced non-finite outputs (the training diverged; "
            "try a smaller learning_rate)"
        )
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(len(labels)), labels].mean()
    accuracy = float(np.mean(np.argmax(logits, axis=1) == labels))
    return {"accuracy": accuracy, "loss": float(loss)}


def make_optimizer(config, steps_per_epoch):
    """Adam with the configured learning-rate schedule."""
    import tensorflow as tf

    lr = config.learning_rate
    if config.lr_schedule == "cosine":
        lr = tf.keras.optimizers.schedules.CosineDecay(
            lr, decay_steps=config.epochs * steps_per_epoch
        )
    return tf.keras.optimizers.Adam(learning_rate=lr)


class _NengoDLBackend:
    """Fit and predict a `FeedforwardNetwork` with ``nengo_dl.Simulator``."""

    def __init__(self, arch, params, batch_size, seed, progress, presentation=None,
                 training=True):
        import nengo_dl

        from nengo_pc.networks.feedforward import FeedforwardNetwork, configure_nengo_dl

        if presentation is not None:
            options = presentation.network_options()
        else:
            # training builds spiking LIF neurons (NengoDL fits them through their
            # soft-LIF curve); rate-mode evaluation uses nengo.LIFRate
            options = {"spiking": training}
        self.net = FeedforwardNetwork(arch, params, seed=seed, label=f"mlp {arch.sizes}",
                                      **options)
        configure_nengo_dl(self.net)
        with self.net:
            # every call presents fresh images: nothing to carry between calls
            nengo_dl.configure_settings(stateful=False)
        self.presentation = presentation
        self.training = training
        self.batch_size = batch_size
        with quiet_build():
            self.sim = nengo_dl.Simulator(
                self.net, minibatch_size=batch_size, seed=seed, progress_bar=progress
            )

    def compile(self, optimizer):
        import tensorflow as tf

        loss = tf.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.sim.compile(optimizer=optimizer, loss={self.net.probe: loss})

    def fit_epoch(self, x, y, verbose):
        history = self.sim.fit(
            {self.net.input: x[:, None, :]},
            {self.net.probe: y[:, None, None]},
            epochs=1,
            shuffle=False,  # the loop shuffles, identically for every backend
            verbose=verbose,
        )
        return float(history.history["loss"][-1])

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
        return self.net.params_from(self.sim)

    def close(self):
        self.sim.close()


class _KerasBackend:
    """Fit and predict the same architecture as a plain ``tf.keras`` model."""

    def __init__(self, arch, params, batch_size, seed, progress, presentation=None):
        from nengo_pc.convert import build_keras

        if presentation is not None:
            raise ValueError("backend: keras has no spiking mode; use nengo_dl or nengo")
        self.arch = arch
        # LIF layers train through soft-LIF, as NengoDL's lif_smoothing does
        self.model = build_keras(arch, params, soft=True)
        self.batch_size = batch_size

    def compile(self, optimizer):
        import tensorflow as tf

        self.model.compile(
            optimizer=optimizer,
            loss=tf.losses.SparseCategoricalCrossentropy(from_logits=True),
        )

    def fit_epoch(self, x, y, verbose):
        history = self.model.fit(
            x, y, batch_size=self.batch_size, epochs=1, shuffle=False, verbose=verbose
        )
        return float(history.history["loss"][-1])

    def predict(self, x):
        return self.model.predict(x, batch_size=max(self.batch_size, 1000), verbose=0)

    def params(self):
        from nengo_pc.convert import params_from_keras

        return params_from_keras(self.model, self.arch)

    def close(self):
        pass


class _NengoBackend:
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


def _make_backend(backend, arch, params, batch_size, seed, progress, presentation=None,
                  training=True):
    if backend == "nengo":
        return _NengoBackend(arch, params, batch_size, seed, progress, presentation)
    if backend == "nengo_dl":
        return _NengoDLBackend(arch, params, batch_size, seed, progress, presentation,
                               training)
    if backend == "keras":
        return _KerasBackend(arch, params, batch_size, seed, progress, presentation)
    raise ValueError(f"backend: {backend!r} is not one of {', '.join(EVAL_BACKENDS)}")


def check_split(name, split, arch):
    """Raise ValueError naming ``name`` unless ``split`` fits ``arch``.

    The images must be flattened to ``(N, arch.sizes[0])`` and the labels index
    the network's outputs.
    """
    if split.images.ndim != 2 or split.images.shape[1] != arch.sizes[0]:
        raise ValueError(
            f"{name}: images must be flattened to (N, {arch.sizes[0]}), "
            f"got {split.images.shape}"
        )
    if split.labels.max() >= arch.sizes[-1]:
        raise ValueError(
            f"{name}: labels go up to {split.labels.max()} but the network has "
            f"{arch.sizes[-1]} outputs"
        )


def log_progress(message):
    """One progress line on stderr (flushed, so logs of background runs stay live)."""
    print(message, file=sys.stderr, flush=True)


def train_backprop(
    arch,
    train,
    config,
    *,
    backend="nengo_dl",
    validation=None,
    params=None,
    checkpoint_path=None,
    progress=True,
    max_shift=0,
):
    """Train ``arch`` with backprop (cross-entropy, Adam) on a data split.

    Parameters
    ----------
    arch : Architecture
        The network.
    train : nengo_pc.data.Split
        Training images (flattened) and integer labels.
    config : TrainConfig
        Epochs, batch size, learning rate, seed.
    backend : str
        ``"nengo_dl"`` (the Nengo network in ``nengo_dl.Simulator``) or ``"keras"``.
    validation : nengo_pc.data.Split, optional
        Evaluated after every epoch.
    params : Params, optional
        Initial parameters; default ``init_params(arch, config.seed)``.
    checkpoint_path : str or Path, optional
        Where to write the parameters after every epoch (atomically).
    progress : bool
        Show a progress bar within epochs (when attached to a terminal) and a summary
        line per epoch on stderr.
    max_shift : int
        Augment every epoch's images with `nengo_pc.data.random_shifts` of up to
        this many pixels (convolutional architectures only; default 0: none). The
        shifts come from the generator of the data order.

    Returns
    -------
    TrainResult
    """
    import tensorflow as tf

    from nengo_pc.data import random_shifts

    if backend not in BACKENDS:
        raise ValueError(f"backend: {backend!r} is not one of {', '.join(BACKENDS)}")
    if max_shift and not arch.conv:
        raise ValueError("max_shift: shift augmentation needs an image-shaped input "
                         "(a convolutional architecture)")
    check_split("train", train, arch)
    if validation is not None:
        check_split("validation", validation, arch)
    n_used = (len(train) // config.batch_size) * config.batch_size
    if n_used == 0:
        raise ValueError(
            f"batch_size: {config.batch_size} is larger than the training set "
            f"({len(train)} examples)"
        )

    tf.random.set_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    params = init_params(arch, config.seed) if params is None else params

    start = time.perf_counter()
    model = _make_backend(
        backend, arch, params, config.batch_size, config.seed,
        progress=progress and sys.stderr.isatty(),
    )
    model.compile(make_optimizer(config, n_used // config.batch_size))
    build_seconds = time.perf_counter() - start

    verbose = 1 if (progress and sys.stdout.isatty()) else 0
    history = []
    try:
        for epoch in range(1, config.epochs + 1):
            order = rng.permutation(len(train))[:n_used]
            x, y = train.images[order], train.labels[order]
            if max_shift:
                x = random_shifts(x, arch.input_shape, max_shift, rng)
            t0 = time.perf_counter()
            loss = model.fit_epoch(x, y, verbose)
            entry = {"epoch": epoch, "loss": loss, "seconds": time.perf_counter() - t0}
            if not math.isfinite(loss):
                raise FloatingPointError(
                    f"training loss became {loss} in epoch {epoch} "
                    f"(learning_rate={config.learning_rate}); try a smaller learning_rate"
                )
            if validation is not None:
                metrics = classification_metrics(model.predict(validation.images),
                                                  validation.labels)
                entry["val_accuracy"] = metrics["accuracy"]
                entry["val_loss"] = metrics["loss"]
            history.append(entry)
            if checkpoint_path is not None:
                save_params(checkpoint_path, arch, model.params(), epoch=epoch)
            if progress:
                val = (f"  val acc {100 * entry['val_accuracy']:.2f}%"
                       if "val_accuracy" in entry else "")
                log_progress(f"[{backend}] epoch {epoch}/{config.epochs}  loss {loss:.4f}"
                     f"{val}  {entry['seconds']:.1f} s")
        trained = model.params()
    finally:
        model.close()
    return TrainResult(trained, history, build_seconds)


def predict_logits(arch, params, images, *, backend="nengo_dl", batch_size=500, seed=0,
                   presentation=None):
    """Output of the network for flattened ``images``, shape ``(N, n_out)``.

    Arguments as in `evaluate`; the time includes building the simulator.
    """
    require_int("batch_size", batch_size, low=1)
    if presentation is not None and arch.activation != "lif":
        raise ValueError(
            f"presentation: spiking mode needs 'lif' neurons, the network uses "
            f"{arch.activation!r}"
        )
    model = _make_backend(backend, arch, params, batch_size, seed, progress=False,
                          presentation=presentation, training=False)
    try:
        return model.predict(np.asarray(images))
    finally:
        model.close()


def compare_with_reference(arch, params, split, presentation, seed=0):
    """Run ``split`` spiking in NengoDL and in the Nengo reference simulator.

    Both simulators run the same `FeedforwardNetwork` with the same
    ``presentation``; the reference simulator (one image at a time) is the check
    that NengoDL simulates the network faithfully.

    Returns
    -------
    metrics : dict
        ``reference_agreement`` (fraction of images given the same label),
        ``reference_accuracy`` and ``nengo_dl_accuracy_on_reference_subset``.
    seconds : float
        Time the reference simulator took.
    """
    dl_pred = predict_logits(arch, params, split.images, batch_size=len(split),
                             presentation=presentation, seed=seed).argmax(axis=1)
    t0 = time.perf_counter()
    ref_pred = predict_logits(arch, params, split.images, backend="nengo",
                              presentation=presentation, seed=seed).argmax(axis=1)
    seconds = time.perf_counter() - t0
    metrics = {
        "reference_agreement": float(np.mean(dl_pred == ref_pred)),
        "reference_accuracy": float(np.mean(ref_pred == split.labels)),
        "nengo_dl_accuracy_on_reference_subset": float(np.mean(dl_pred == split.labels)),
    }
    return metrics, seconds


def evaluate(arch, params, split, *, backend="nengo_dl", batch_size=500, seed=0,
             presentation=None):
    """Classify a data split with trained parameters.

    Parameters
    ----------
    arch : Architecture
    params : Params
    split : nengo_pc.data.Split
    backend : str
        ``"nengo_dl"`` runs the Nengo network in ``nengo_dl.Simulator``, ``"nengo"``
        in the Nengo reference simulator, ``"keras"`` the Keras model.
    batch_size : int
        Images per simulator call.
    seed : int
        Simulator seed.
    presentation : nengo_pc.nengo_net.Presentation, optional
        Run spiking (LIF networks), holding each image for ``presentation.n_steps``.
        Default: rate mode, one step per image (LIF neurons as `nengo.LIFRate`).

    Returns
    -------
    dict
        ``accuracy``, ``loss``, ``n_examples``, ``seconds``, ``images_per_second``.
    """
    check_split("split", split, arch)
    t0 = time.perf_counter()
    logits = predict_logits(arch, params, split.images, backend=backend,
                            batch_size=batch_size, seed=seed, presentation=presentation)
    seconds = time.perf_counter() - t0
    metrics = classification_metrics(logits, split.labels)
    metrics.update(
        n_examples=len(split),
        seconds=seconds,
        images_per_second=len(split) / seconds if seconds > 0 else float("inf"),
    )
    return metrics
