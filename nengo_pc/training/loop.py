"""The training loop: one for every rule and backend.

`train` owns what every run shares and hands the execution to a backend
(`nengo_pc.training.backends`):

* **data order**: epoch runs train every epoch on a fresh permutation drawn from
  ``numpy.random.default_rng(seed)``, in whole minibatches; sample-counted runs
  (``config.n_samples``) present one stream of passes, pass p the permutation of
  ``[seed, 2, p]``, so the images at any point are known without replaying the run;
* **augmentation**: random shifts (`nengo_pc.data.random_shifts`) from the generator
  ``[seed, 3]``, which leaves the data order alone;
* **the schedule** (`nengo_pc.training.schedule.Schedule`);
* **evaluation** after every epoch (or every ``eval_every`` images) on a validation
  split, by the outputs the rule classifies with, and for backends that can, the
  alignment of every layer's update with the gradient on a fixed probe batch;
* **checkpoints**: parameters, optimiser state, generator states and history after
  every evaluation, written atomically; a run started with ``resume=True``
  continues from it to the same result as an uninterrupted run;
* **the history** the run record (`nengo_pc.results`) is made from.

Divergence (a non-finite loss or parameters) stops the run with a
`FloatingPointError` naming the point; the last checkpoint stays the last good one.
"""

import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np

from nengo_pc.arch import Architecture
from nengo_pc.params import Params, init_params
from nengo_pc.training.config import TrainConfig
from nengo_pc.training.evaluation import (
    check_split,
    classification_metrics,
    log_progress,
)
from nengo_pc.training.schedule import Schedule

#: Examples in the fixed probe batch on which update/gradient alignment is measured.
ALIGNMENT_BATCH = 500

#: Settings a resumed run may change: how long it runs (unless the schedule depends
#: on the length: ``"cosine"``) and how often it is evaluated.
RESUMABLE_CHANGES = ("epochs", "n_samples", "eval_every")


@dataclasses.dataclass
class TrainResult:
    """What `train` returns.

    Attributes
    ----------
    params : Params
        Trained parameters.
    history : list of dict
        One entry per evaluation: ``epoch`` (epoch runs) or ``samples``, ``loss``
        (mean training loss of the minibatches since the last entry, before each
        one's update), ``seconds`` (training time since the last entry) and, where
        available, ``train_accuracy``, ``alignment`` and with a validation split
        ``val_accuracy`` / ``val_loss`` (in the rule's loss).
    build_seconds : float
        Time to build the backend (and trace its functions) before training.
    final : dict or None
        What a backend with a ``final_metrics`` method measured after training
        (e.g. the simulated network's own classification), else None.
    """

    params: object
    history: list
    build_seconds: float
    final: dict = None

    @property
    def seconds_per_epoch(self):
        """Median training time per history entry (robust to a slow first one)."""
        seconds = [h["seconds"] for h in self.history if h.get("seconds")]
        return float(np.median(seconds)) if seconds else 0.0


class SampleStream:
    """The training images in presentation order of a sample-counted run: pass p is
    a permutation drawn from ``[seed, 2, p]``."""

    def __init__(self, n, seed):
        self.n, self.seed = n, seed
        self._cache = {}

    def _permutation(self, p):
        if p not in self._cache:
            if len(self._cache) > 1:  # a chunk spans few passes; keep memory bounded
                self._cache.pop(min(self._cache))
            self._cache[p] = np.random.default_rng([self.seed, 2, p]).permutation(
                self.n)
        return self._cache[p]

    def indices(self, start, count):
        """Indices of the images at sample positions ``start .. start + count - 1``."""
        positions = np.arange(start, start + count)
        passes, offsets = np.divmod(positions, self.n)
        out = np.empty(count, dtype=np.int64)
        for p in np.unique(passes):
            mask = passes == p
            out[mask] = self._permutation(int(p))[offsets[mask]]
        return out


def image_shape(arch):
    """``(height, width, channels)`` of ``arch``'s input images, or None."""
    shape = getattr(arch, "input_shape", None)
    if shape:
        return tuple(shape)
    side = math.isqrt(arch.sizes[0])
    return (side, side, 1) if side * side == arch.sizes[0] else None


def _check_training_data(train):
    """``(inputs, labels_or_targets)`` of a Split or an ``(inputs, targets)`` tuple."""
    if isinstance(train, tuple) and len(train) == 2:
        return np.asarray(train[0], np.float32), np.asarray(train[1], np.float32)
    if hasattr(train, "images") and hasattr(train, "labels"):
        return train.images, train.labels
    raise ValueError(f"train: expected a data Split or an (inputs, targets) tuple, "
                     f"got {type(train).__name__}")


class _Plan:
    """Which images each chunk trains on, and when a run is done."""

    def __init__(self, config, n_train):
        size = config.batch_size
        self.config, self.n_train = config, n_train
        self.resumed_at = 0  # images a resumed sample-counted run has already seen
        if config.n_samples is None:
            self.per_epoch = (n_train // size) * size
            if self.per_epoch == 0:
                raise ValueError(f"batch_size: {size} is larger than the training set "
                                 f"({n_train} examples)")
            self.n_chunks = config.epochs
            self.total_steps = config.epochs * self.per_epoch // size
        else:
            if size > n_train:
                raise ValueError(f"batch_size: {size} is larger than the training set "
                                 f"({n_train} examples)")
            n_batches = config.n_samples // size
            if n_batches == 0:
                raise ValueError(f"n_samples: {config.n_samples} is less than one "
                                 f"minibatch ({size})")
            every = config.eval_every or n_batches * size
            # chunk ends: after every eval_every images and after the last minibatch
            ends = sorted({min(-(-e // size), n_batches)
                           for e in range(every, n_batches * size + every, every)})
            self.ends = [e * size for e in ends]
            self.stream = SampleStream(n_train, config.seed)
            self.n_chunks = len(self.ends)
            self.total_steps = n_batches

    def resume(self, path, chunk, history):
        """The first chunk of a run resumed from a checkpoint after ``chunk`` chunks
        (ValueError naming the length setting if it trained past this run).

        A sample-counted run continues from the images the checkpoint has seen,
        which need not be one of this run's evaluation points (the run that wrote
        it may have been shorter): its first chunk then ends at the next one.
        """
        if self.config.n_samples is None:
            if chunk > self.n_chunks:
                raise ValueError(f"epochs: {path} has already trained {chunk} epochs, "
                                 f"more than the {self.n_chunks} asked for")
            return chunk
        seen = history[-1]["samples"] if history else 0
        if seen > self.ends[-1]:
            raise ValueError(f"n_samples: {path} has already seen {seen} samples, "
                             f"more than the {self.ends[-1]} asked for")
        self.resumed_at = seen
        return sum(end <= seen for end in self.ends)

    def indices(self, chunk, rng):
        """``(indices, history key and value)`` of chunk ``chunk`` (0-based)."""
        if self.config.n_samples is None:
            order = rng.permutation(self.n_train)[:self.per_epoch]
            return order, ("epoch", chunk + 1)
        start = max(self.ends[chunk - 1] if chunk else 0, self.resumed_at)
        return (self.stream.indices(start, self.ends[chunk] - start),
                ("samples", self.ends[chunk]))


def _checkpoint_config(config):
    fixed = {"eval_every"} if config.lr_schedule == "cosine" else set(RESUMABLE_CHANGES)
    return json.loads(json.dumps(
        {k: v for k, v in config.to_dict().items() if k not in fixed}))


def write_checkpoint(path, arch, params, state, **metadata):
    """Write parameters, backend state and metadata to ``path`` atomically.

    `nengo_pc.params.load_params` reads such a file as a parameter file; `read_checkpoint`
    reads all of it.
    """
    from nengo_pc.results import atomic_write

    params.check(arch)
    arrays = {}
    for i, (w, b) in enumerate(zip(params.weights, params.biases)):
        arrays[f"w{i}"], arrays[f"b{i}"] = np.asarray(w), np.asarray(b)
    for name, value in state.items():
        arrays[f"state:{name}"] = np.asarray(value)
    header = json.dumps({"architecture": arch.to_dict(), "metadata": metadata})
    atomic_write(path, lambda f: np.savez(f, header=np.array(header), **arrays),
                 binary=True)


def read_checkpoint(path):
    """``(arch, params, state, metadata)`` of a `write_checkpoint` file.

    Raises
    ------
    ValueError
        Naming ``resume`` and the file, if it is not a readable checkpoint.
    """
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as f:
            header = json.loads(str(f["header"]))
            arch = Architecture.from_dict(header["architecture"])
            params = Params([f[f"w{i}"] for i in range(arch.n_layers)],
                            [f[f"b{i}"] for i in range(arch.n_layers)]).check(arch)
            state = {k[len("state:"):]: f[k] for k in f.files if k.startswith("state:")}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"resume: {path} is not a readable checkpoint ({err})") from None
    return arch, params, state, header.get("metadata", {})


def remove_stale_temporaries(path):
    """Delete ``path*.tmp`` files an interrupted atomic write left behind."""
    path = Path(path)
    for tmp in path.parent.glob(path.name + "*.tmp"):
        tmp.unlink()


def train(arch, train, config, *, backend=None, validation=None, params=None,
          checkpoint_path=None, resume=False, progress=True, metadata=None,
          backend_options=None):
    """Train ``arch`` with ``config.rule`` on a data split.

    Parameters
    ----------
    arch : Architecture
        The network.
    train : nengo_pc.data.Split or (ndarray, ndarray)
        Training images (flattened) and integer labels, or inputs and regression
        targets.
    config : TrainConfig
        The rule, its options, the schedule, the data order and the seed.
    backend : str, optional
        A backend the rule lists (`nengo_pc.rules.Rule.backends`); default its first.
    validation : nengo_pc.data.Split, optional
        Classified after every epoch (or chunk of ``eval_every`` images).
    params : Params, optional
        Initial parameters; default ``init_params(arch, config.seed)``.
    checkpoint_path : str or Path, optional
        Written atomically after every evaluation (see `write_checkpoint`).
    resume : bool
        Continue from ``checkpoint_path`` if it exists (it must come from a run
        with the same architecture and settings, except those in
        `RESUMABLE_CHANGES`); the result equals the uninterrupted run's.
    progress : bool
        Progress within chunks (where the backend has it) and a line per
        evaluation on stderr.
    metadata : dict, optional
        JSON-serialisable facts about the run stored in every checkpoint (e.g. the
        data set, or an input gain the parameters still contain).
    backend_options : dict, optional
        Keyword arguments for the backend's constructor beyond the common ones
        (e.g. how a simulated network runs: spiking or not, its synapses); part of
        the run's identity for ``resume`` (by JSON, or by repr where JSON cannot
        hold a value), except the backend's ``EVALUATION_OPTIONS``.

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError
        Naming the argument: a rule the backend cannot run, an architecture or
        option the rule refuses, data that do not fit, a checkpoint of another run.
    FloatingPointError
        If the loss or the parameters become non-finite, naming the point.
    """
    import tensorflow as tf

    from nengo_pc import rules
    from nengo_pc.training.backends import get_backend

    if not isinstance(config, TrainConfig):
        raise ValueError(f"config: must be a TrainConfig, got {type(config).__name__}")
    if not isinstance(arch, Architecture):
        raise ValueError(f"arch: expected an Architecture, got {type(arch).__name__}")
    rule = rules.get(config.rule)
    backend = rule.backends[0] if backend is None else backend
    if backend not in rule.backends:
        raise ValueError(f"backend: rule {rule.name} runs on "
                         f"{', '.join(rule.backends)}, not {backend!r}")
    backend_cls = get_backend(backend)
    options = config.rule_options(arch)
    x_all, y_all = _check_training_data(train)
    if y_all.ndim == 1:
        check_split("train", train, arch)
    elif x_all.ndim != 2 or x_all.shape[1] != arch.sizes[0] \
            or y_all.shape != (len(x_all), arch.sizes[-1]):
        raise ValueError(f"train: expected inputs (N, {arch.sizes[0]}) and targets "
                         f"(N, {arch.sizes[-1]}), got {x_all.shape} and {y_all.shape}")
    if validation is not None:
        check_split("validation", validation, arch)
    shape = image_shape(arch)
    if config.max_shift and shape is None:
        raise ValueError(f"max_shift: shift augmentation needs square images, the "
                         f"network takes {arch.sizes[0]} inputs")
    plan = _Plan(config, len(x_all))
    params = init_params(arch, config.seed) if params is None else params
    if not isinstance(params, Params):
        raise ValueError(f"params: expected a Params, got {type(params).__name__}")
    params.check(arch)

    tf.random.set_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    shift_rng = np.random.default_rng([config.seed, 3])
    history, first, state = [], 0, None
    backend_options = dict(backend_options or {})
    identity = {"rule": rule.name, "backend": backend,
                "config": _checkpoint_config(config),
                "backend_options": _options_identity(backend_cls, backend_options)}
    if checkpoint_path is not None:
        remove_stale_temporaries(checkpoint_path)
        if resume and Path(checkpoint_path).exists():
            saved_arch, params, state, meta = read_checkpoint(checkpoint_path)
            _check_resumable(checkpoint_path, saved_arch, arch, meta, identity)
            history = meta["history"]
            first = plan.resume(checkpoint_path, meta["chunk"], history)
            rng.bit_generator.state = meta["rng"]
            shift_rng.bit_generator.state = meta["shift_rng"]

    start = time.perf_counter()
    schedule = Schedule.from_config(config, plan.total_steps)
    model = backend_cls(arch, rule, options, config, params, schedule, progress,
                        **backend_options)
    try:
        if state is not None:
            model.restore(state)
        probe = np.sort(np.random.default_rng([config.seed, 1]).permutation(
            len(x_all))[:ALIGNMENT_BATCH])
        build_seconds = time.perf_counter() - start
        if plan.config.n_samples is not None and first == 0 and validation is not None:
            # the initial parameters' outputs without the backend (every backend
            # starts from them); a backend's own measures with it
            entry = _evaluation({"samples": 0, "seconds": 0.0, "loss": None}, None,
                                validation, arch, rule, options, params)
            history.append(_extra_metrics(entry, model, validation))
        for chunk in range(first, plan.n_chunks):
            index, (key, value) = plan.indices(chunk, rng)
            x, y = x_all[index], y_all[index]
            if config.max_shift:
                from nengo_pc.data import random_shifts

                x = random_shifts(np.asarray(x, np.float32), shape, config.max_shift,
                                  shift_rng)
            t0 = time.perf_counter()
            result = model.train_chunk(x, y)
            entry = {key: value, **result, "seconds": time.perf_counter() - t0}
            finite = getattr(model, "finite", lambda: True)()
            if not (math.isfinite(entry["loss"]) and finite):
                raise FloatingPointError(
                    f"rule {rule.name}: parameters or training loss became non-finite "
                    f"in {key} {value} (learning_rate={config.learning_rate}); try a "
                    f"smaller learning_rate"
                    + (" or step_size" if "step_size" in options else ""))
            if hasattr(model, "alignment"):
                entry["alignment"] = model.alignment(x_all[probe], y_all[probe])
            current = model.params()
            entry = _evaluation(entry, model, validation, arch, rule, options, current)
            history.append(_extra_metrics(entry, model, validation))
            if checkpoint_path is not None:
                write_checkpoint(checkpoint_path, arch, current, model.state(),
                                 **(metadata or {}), **identity, history=history,
                                 chunk=chunk + 1,
                                 rng=rng.bit_generator.state,
                                 shift_rng=shift_rng.bit_generator.state, **{key: value})
            if progress:
                log_progress(progress_line(rule.name, backend, entry, config, plan))
        trained = model.params()
        final = None
        if validation is not None and hasattr(model, "final_metrics"):
            final = model.final_metrics(validation)
    finally:
        model.close()
    return TrainResult(trained, history, build_seconds, final)


def _options_identity(backend_cls, backend_options):
    """The backend options a resumed run must repeat: all but the backend's
    ``EVALUATION_OPTIONS`` (how it is evaluated, not what it learns), as JSON (a
    value JSON cannot hold, such as a `nengo.synapses.Synapse`, by its repr)."""
    evaluation_only = set(getattr(backend_cls, "EVALUATION_OPTIONS", ()))
    return json.loads(json.dumps(
        {k: v for k, v in backend_options.items() if k not in evaluation_only},
        default=repr))


def _extra_metrics(entry, model, validation):
    """``entry`` with what the backend measures itself at an evaluation (its optional
    ``extra_metrics(validation, entry)``, e.g. the simulated network's own
    classification)."""
    if validation is not None and hasattr(model, "extra_metrics"):
        entry.update(model.extra_metrics(validation, entry))
    return entry


def _evaluation(entry, model, validation, arch, rule, options, params):
    if validation is None:
        return entry
    if model is None:
        from nengo_pc.training.evaluation import rule_outputs

        outputs = rule_outputs(arch, params, validation.images, rule, options)
    else:
        outputs = model.predict(validation.images)
    metrics = classification_metrics(outputs, validation.labels)
    entry["val_accuracy"] = metrics["accuracy"]
    if rule.loss == "cross_entropy":
        entry["val_loss"] = metrics["loss"]
    else:
        targets = np.eye(arch.sizes[-1])[validation.labels]
        entry["val_loss"] = float(np.mean(np.sum((targets - outputs) ** 2, 1)) / 2)
    return entry


def _check_resumable(path, saved_arch, arch, meta, identity):
    if "chunk" not in meta or "history" not in meta:
        raise ValueError(f"resume: {path} is not a training checkpoint "
                         f"(no chunk/history)")
    if saved_arch.to_dict() != arch.to_dict():
        raise ValueError(f"resume: {path} holds {saved_arch.to_dict()}, not "
                         f"{arch.to_dict()}")
    top = ("rule", "backend", "backend_options")
    changed = [k for k in top if meta.get(k, {} if k == "backend_options" else None)
               != identity[k]]
    saved, now = meta.get("config", {}), identity["config"]
    changed += sorted(k for k in now if saved.get(k) != now[k])
    if changed:
        def value(source, k):
            return source.get(k) if k in top else source["config"].get(k)
        raise ValueError(
            f"resume: {path} was trained with other settings: "
            + ", ".join(f"{k}={value(meta, k)!r} (now {value(identity, k)!r})"
                        for k in changed))


def progress_line(rule, backend, entry, config, plan):
    """The line logged after an evaluation."""
    if "epoch" in entry:
        where = f"epoch {entry['epoch']}/{config.epochs}"
    else:
        where = f"{entry['samples']}/{plan.ends[-1]} samples"
    parts = [f"[{rule}:{backend}] {where}", f"loss {entry['loss']:.4f}"]
    if "train_accuracy" in entry:
        parts.append(f"train acc {100 * entry['train_accuracy']:.2f}%")
    if "val_accuracy" in entry:
        parts.append(f"val acc {100 * entry['val_accuracy']:.2f}%")
    if "spiking_accuracy" in entry:
        parts.append(f"spiking {100 * entry['spiking_accuracy']:.2f}%")
    if entry.get("alignment"):
        parts.append("align " + " ".join("-" if c is None else f"{c:.3f}"
                                         for c in entry["alignment"]))
    parts.append(f"{entry['seconds']:.1f} s")
    return "  ".join(parts)
