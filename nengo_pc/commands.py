"""What ``nengo-pc train`` and ``nengo-pc evaluate`` do with parsed arguments.

`nengo_pc.cli` parses; here the arguments are validated together (against the rule,
the preset, the run directory) before any work starts, and then handed to
`nengo_pc.training.train` and the evaluation functions. `UsageError` becomes exit
status 2, `UserError` status 1.
"""

import math
import tempfile
import time
from pathlib import Path

#: Per architecture preset: its default hidden widths and how it is trained and
#: classified spiking when the command line does not say (``backend``,
#: ``input_gain``, ``max_shift`` and ``epochs`` apply where the rule can use them).
#: softlif-cnn: the benchmark's recipe (``results/bench_spiking_cnn.json``: Keras,
#: images x 10, 2-pixel shifts, 15 epochs; 99.28% spiking at 60 ms without synapses).
MODEL_DEFAULTS = {
    "mlp": {"hidden": (500, 500)},
    "softlif-mlp": {"hidden": (500, 500), "spiking_steps": 100,
                    "synapse": "alpha"},
    "softlif-cnn": {"hidden": (), "backend": "keras", "input_gain": 10.0,
                    "max_shift": 2, "epochs": 15, "spiking_steps": 60,
                    "synapse": "none"},
}

#: Backends that train by Keras ``fit`` (where an input gain can be folded away).
FIT_BACKENDS = ("nengo_dl", "keras", "keras-bn")

#: ``evaluate`` options, by the (network, mode) pairs they apply to.
EVALUATE_OPTIONS = {
    "backend": {("feedforward", "rate"), ("feedforward", "spiking")},
    "n_steps": {("feedforward", "spiking")},
    "dt": {("feedforward", "spiking"), ("pc", "rate"), ("pc", "spiking")},
    "synapse": {("feedforward", "spiking")},
    "tau": {("feedforward", "spiking"), ("pc", "rate"), ("pc", "spiking")},
    "input_coding": {("feedforward", "spiking"), ("pc", "spiking")},
    "readout": {("feedforward", "spiking")},
    "settle_time": {("pc", "rate")},
    "sweep_time": {("pc", "rate"), ("pc", "spiking")},
    "duration": {("pc", "spiking")},
}

#: Files a training run writes into its directory.
RUN_FILES = ("params.npz", "checkpoint.npz", "train.json")


class UserError(Exception):
    """An error the user can fix; printed without a traceback (exit status 1)."""


class UsageError(Exception):
    """An inconsistent combination of options (exit status 2, like argparse)."""


def _flag(name):
    return "--" + name.replace("_", "-")


#: Python argument names whose command-line option is spelled otherwise.
_OPTION_OF = {"arch": "model", "learning_rate": "lr"}


def _as_usage(err, prefix=""):
    """A ValueError ``"name: message"`` as a UsageError naming ``--name``."""
    text = str(err)
    name, sep, rest = text.partition(": ")
    if sep and name.isidentifier():
        text = f"{_flag(_OPTION_OF.get(name, name))}: {rest}"
    return UsageError(prefix + text)


def _writable_dir(option, path):
    """Create ``path`` if needed and check that files can be written into it."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option}: {path} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as err:
        raise UserError(f"{option}: cannot write into {path} ({err.strerror})") from None
    return path


def _architecture(args, defaults):
    from nengo_pc.arch import PRESETS, LIFParams

    options = {"hidden": tuple(defaults["hidden"] if args.hidden is None
                               else args.hidden)}
    if args.activation is not None:
        options["activation"] = args.activation
    lif = {name: value for name, value in (("tau_ref", args.tau_ref),
                                           ("amplitude", args.amplitude),
                                           ("smoothing", args.lif_smoothing))
           if value is not None}
    try:
        if lif:
            options["lif"] = LIFParams(**lif)
        return PRESETS[args.model](**options)
    except ValueError as err:
        raise _as_usage(err, f"--model {args.model}: ") from None


def train_settings(args):
    """Everything ``train`` will do, checked: ``(arch, rule, config, backend, gain)``.

    Raises
    ------
    UsageError
        Naming the option: one that does not apply to the rule or backend, or a
        value the rule, the preset or the training config refuses.
    """
    from nengo_pc import rules
    from nengo_pc.cli import rule_option_flags
    from nengo_pc.training import TrainConfig

    rule = rules.get(args.rule)
    defaults = MODEL_DEFAULTS[args.model]
    given = {name: getattr(args, name) for name in rule_option_flags()
             if getattr(args, name) is not None}
    for name in given:
        if name not in rule.option_names:
            takes = ", ".join(_flag(n) for n in rule.option_names) or "none"
            raise UsageError(f"{_flag(name)}: does not apply to rule {rule.name} "
                             f"(its options: {takes})")
    backend = args.backend
    if backend is None:
        preset = defaults.get("backend")
        backend = preset if preset in rule.backends else rule.backends[0]
    if backend not in rule.backends:
        raise UsageError(f"--backend: rule {rule.name} runs on "
                         f"{', '.join(rule.backends)}, not {backend}")
    gain = args.input_gain
    if gain is not None and backend not in FIT_BACKENDS:
        raise UsageError(f"--input-gain: applies to the fit backends "
                         f"({', '.join(FIT_BACKENDS)}), not {backend}")
    if gain is None:
        gain = defaults.get("input_gain", 1.0) if backend in FIT_BACKENDS else 1.0
    from nengo_pc.data import COUNTS

    if args.n_validation >= COUNTS["train"]:
        raise UsageError(f"--n-validation: must be below the {COUNTS['train']} "
                         f"training images, got {args.n_validation}")
    if args.lr_decay_samples is not None and args.lr_schedule != "inverse_time":
        raise UsageError("--lr-decay-samples: applies to --lr-schedule inverse_time "
                         "only")
    arch = _architecture(args, defaults)
    try:
        rule.check_options(arch, **given)
    except ValueError as err:
        raise _as_usage(err, f"--rule {rule.name}: ") from None
    fields = {name: value for name, value in (
        ("epochs", args.epochs), ("batch_size", args.batch_size),
        ("learning_rate", args.lr), ("lr_schedule", args.lr_schedule),
        ("lr_decay_samples", args.lr_decay_samples), ("optimizer", args.optimizer),
        ("max_shift", args.max_shift)) if value is not None}
    for name in ("epochs", "max_shift"):
        if name not in fields and name in defaults and rule.name == "backprop":
            fields[name] = defaults[name]
    try:
        config = TrainConfig.for_rule(rule.name, options=given, seed=args.seed,
                                      **fields)
    except ValueError as err:
        raise _as_usage(err) from None
    return arch, rule, config, backend, gain


def _check_run_dir(args):
    out_dir = _writable_dir("--out-dir", args.out_dir)
    if (out_dir / "train.json").exists() and not args.overwrite:
        raise UserError(f"--out-dir: {out_dir} holds a finished run (train.json); "
                        "choose another directory or pass --overwrite to replace it")
    if args.overwrite and not args.resume:
        for name in RUN_FILES:
            (out_dir / name).unlink(missing_ok=True)
    return out_dir


def _load_data(args):
    from nengo_pc.data import load_dataset

    try:
        return load_dataset(args.dataset, data_dir=args.data_dir,
                            n_validation=args.n_validation, validation_seed=args.seed)
    except ValueError as err:
        raise _as_usage(err) from None


def run_train(args):
    """``nengo-pc train``: validate, train, save, test, record."""
    from nengo_pc.arch import save_params
    from nengo_pc.convert import fold_input_gain
    from nengo_pc.data import Split
    from nengo_pc.results import make_record, write_json_atomic
    from nengo_pc.training import train

    arch, rule, config, backend, gain = train_settings(args)
    spiking_steps = (MODEL_DEFAULTS[args.model].get("spiking_steps", 0)
                     if args.spiking_steps is None else args.spiking_steps)
    if spiking_steps and arch.activation != "lif":
        if args.spiking_steps is not None:
            raise UsageError(f"--spiking-steps: the {arch.activation} model does not "
                             "spike; use a LIF model (--model softlif-mlp)")
        spiking_steps = 0
    out_dir = _check_run_dir(args)
    data = _load_data(args)
    train_split = data.train if args.n_train is None else data.train.subset(
        min(args.n_train, len(data.train)))
    if config.batch_size > len(train_split):
        raise UsageError(f"--batch-size: {config.batch_size} is larger than the "
                         f"training set ({len(train_split)} images)")
    validation = data.validation
    if gain != 1.0:
        train_split = Split(train_split.images * gain, train_split.labels)
        if validation is not None:
            validation = Split(validation.images * gain, validation.labels)
    checkpoint = out_dir / "checkpoint.npz"
    if args.resume and not checkpoint.exists() and not args.quiet:
        print(f"nengo-pc train: no {checkpoint} yet; starting from the beginning")

    t0 = time.perf_counter()
    try:
        # the checkpoint's parameters are those of images x gain: it says so
        result = train(arch, train_split, config, backend=backend, validation=validation,
                       checkpoint_path=checkpoint, resume=args.resume,
                       progress=not args.quiet,
                       metadata={"dataset": args.dataset, "model": args.model,
                                 "input_gain": gain})
    except FloatingPointError as err:
        raise UserError(f"training diverged: {err}; the last good parameters are in "
                        f"{checkpoint}" if checkpoint.exists() else
                        f"training diverged: {err}") from None
    except ValueError as err:
        raise _as_usage(err) from None
    train_seconds = time.perf_counter() - t0
    params = result.params if gain == 1.0 else fold_input_gain(result.params, gain)
    options = config.rule_options(arch)
    params_path = out_dir / "params.npz"
    save_params(params_path, arch, params, dataset=args.dataset, model=args.model,
                rule=rule.name, options=options, epochs=config.epochs,
                input_gain_folded=gain)
    test = _classify(arch, params, data.test, rule.name, options, backend)
    metrics = {"test_accuracy": test["accuracy"], "test_loss": test["loss"],
               "final_train_loss": result.history[-1]["loss"]}
    seconds = {"train": train_seconds, "build": result.build_seconds,
               "per_epoch": result.seconds_per_epoch, "test": test["seconds"]}
    presentation = None
    if spiking_steps:
        from nengo_pc.networks.presentation import Presentation
        from nengo_pc.training import evaluate

        presentation = Presentation(n_steps=spiking_steps,
                                    synapse=MODEL_DEFAULTS[args.model]["synapse"])
        spiking = evaluate(arch, params, data.test, presentation=presentation,
                           batch_size=250)
        metrics["spiking_test_accuracy"] = spiking["accuracy"]
        seconds["spiking_test"] = spiking["seconds"]
    record = make_record(
        "train",
        config={"model": args.model, "rule": rule.name, "options": options,
                "architecture": arch.to_dict(), "train": config.to_dict(),
                "backend": backend, "input_gain_folded": gain, "dataset": args.dataset,
                "n_train": len(train_split), "n_validation": args.n_validation,
                "data_dir": args.data_dir, "params": str(params_path),
                "resumed": bool(args.resume),
                "spiking_presentation": presentation.to_dict() if presentation
                else None},
        seed=args.seed, metrics=metrics, seconds=seconds, history=result.history,
    )
    path = write_json_atomic(out_dir / "train.json", record)
    spiking_text = (f", spiking {100 * metrics['spiking_test_accuracy']:.2f}% "
                    f"({presentation.seconds * 1000:g} ms)" if presentation else "")
    print(f"test accuracy {100 * test['accuracy']:.2f}%{spiking_text} "
          f"({args.dataset}, {len(data.test)} images); record: {path}")
    return record


def _classify(arch, params, split, rule, options, backend):
    """Test metrics of freshly trained parameters, the way the rule classifies."""
    from nengo_pc import rules
    from nengo_pc.training import evaluate, evaluate_rule

    if rules.get(rule).prediction == "free_phase":
        t0 = time.perf_counter()
        metrics = evaluate_rule(arch, params, split, rule, options)
        metrics["seconds"] = time.perf_counter() - t0
        return metrics
    # the Nengo network in NengoDL, or the Keras model a Keras backend trained
    return evaluate(arch, params, split,
                    backend="keras" if backend in ("keras", "keras-bn") else "nengo_dl")


def _load_run(run_dir):
    """``(arch, params, metadata, path)`` of a run directory's parameters."""
    import zipfile

    from nengo_pc.arch import load_params

    run_dir = Path(run_dir)
    path = run_dir / "params.npz"
    if not path.is_file():
        checkpoint = run_dir / "checkpoint.npz"
        if not checkpoint.is_file():
            raise UserError(f"--run-dir: {path} not found; train first with "
                            f"'nengo-pc train --out-dir {run_dir}'")
        print(f"nengo-pc evaluate: {path} not found; using the last checkpoint, "
              f"{checkpoint} (finish the run with 'nengo-pc train --resume')")
        path = checkpoint
    try:
        arch, params, meta = load_params(path)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise UserError(f"--run-dir: {path} is not a readable parameter file "
                        f"({type(err).__name__}: {err})") from None
    if meta.get("input_gain", 1.0) != 1.0:  # a checkpoint trained on images x gain
        from nengo_pc.convert import fold_input_gain

        params = fold_input_gain(params, meta["input_gain"])
    return arch, params, meta, path


def _rule_of(meta):
    """Registry name and options of the rule that trained a run (old names mapped)."""
    from nengo_pc import rules

    name = rules.canonical(meta.get("rule") or meta.get("trainer") or "backprop")
    if name not in rules.names():
        name = "backprop"
    options = meta.get("options")
    if options is None and "free_steps" in meta:  # runs saved before the registry
        options = {"n_steps": meta["free_steps"]}
    return name, options


def evaluate_settings(args, arch, rule):
    """Check the evaluate options against the network, mode and model; fill defaults."""
    from nengo_pc import rules

    key = (args.network, args.mode)
    for name, applies in EVALUATE_OPTIONS.items():
        if getattr(args, name) is not None and key not in applies:
            raise UsageError(f"{_flag(name)}: does not apply to --network "
                             f"{args.network} --mode {args.mode}")
    free_phase = rules.get(rule).prediction == "free_phase"
    if free_phase and (args.mode == "spiking" or args.network == "pc"):
        option = "--mode spiking" if args.mode == "spiking" else "--network pc"
        raise UsageError(f"{option}: the model in {args.run_dir} was trained with "
                         f"{rule} and classifies by its free phase, which has no "
                         "Nengo network")
    if key == ("feedforward", "spiking"):
        if arch.activation != "lif":
            raise UsageError(f"--mode spiking: the model in {args.run_dir} uses "
                             f"{arch.activation!r} neurons, which do not spike; "
                             "train a LIF model (--model softlif-mlp)")
        if args.backend == "keras":
            raise UsageError("--mode spiking: choose --backend nengo_dl or nengo")
    if args.network == "pc" and arch.conv:
        raise UsageError("--network pc: the predictive-coding network is built for "
                         "dense architectures; this model is convolutional")
    if args.sweep_time is not None and args.sweep_time < 0:
        raise UsageError(f"--sweep-time: must be >= 0, got {args.sweep_time}")
    if args.dt is not None and args.dt > 0.01:
        raise UsageError(f"--dt: must be in (0, 0.01] seconds, got {args.dt}")
    return free_phase


def _check_out(args, run_dir):
    out = Path(args.out).expanduser() if args.out else Path(run_dir) / "evaluate.json"
    if out.is_dir():
        raise UsageError(f"--out: {out} is a directory; give a file name")
    _writable_dir("--out", out.parent)
    return out


def run_evaluate(args):
    """``nengo-pc evaluate``: classify a split with a run's parameters."""
    from nengo_pc.results import make_record, write_json_atomic

    arch, params, meta, params_path = _load_run(args.run_dir)
    rule, options = _rule_of(meta)
    free_phase = evaluate_settings(args, arch, rule)
    out = _check_out(args, args.run_dir)
    dataset = args.dataset or meta.get("dataset", "mnist")
    from nengo_pc.data import load_dataset

    data = load_dataset(dataset, data_dir=args.data_dir)
    split = getattr(data, args.split)
    if args.n_examples is not None:
        split = split.subset(min(args.n_examples, len(split)))
    default_batch = 100 if args.network == "pc" else 500
    batch_size = min(args.batch_size or default_batch, len(split))
    if args.network == "pc":
        metrics, settings, label = _evaluate_pc(args, arch, params, split, batch_size)
    elif free_phase:
        from nengo_pc.training import evaluate_rule

        t0 = time.perf_counter()
        metrics = evaluate_rule(arch, params, split, rule, options)
        metrics["seconds"] = time.perf_counter() - t0
        settings, label = {"backend": "free-phase"}, "free phase"
    else:
        metrics, settings, label = _evaluate_feedforward(args, arch, params, split,
                                                         batch_size)
    seconds = metrics["seconds"]
    record = make_record(
        "evaluate",
        config={"run_dir": str(args.run_dir), "params": str(params_path),
                "rule": rule, "architecture": arch.to_dict(), "dataset": dataset,
                "split": args.split, "n_examples": len(split), "network": args.network,
                "mode": args.mode, "batch_size": batch_size, "data_dir": args.data_dir,
                **settings},
        seed=args.seed,
        metrics={k: v for k, v in metrics.items()
                 if k not in ("seconds", "images_per_second", "n_examples")},
        seconds={"evaluate": seconds},
        images_per_second=len(split) / seconds if seconds > 0 else math.inf,
    )
    path = write_json_atomic(out, record)
    print(f"{args.split} accuracy {100 * metrics['accuracy']:.2f}% ({dataset}, "
          f"{len(split)} images, {label}; {1000 * seconds / len(split):.2f} ms per "
          f"image); record: {path}")
    return record


def _evaluate_feedforward(args, arch, params, split, batch_size):
    from nengo_pc.networks.presentation import Presentation
    from nengo_pc.training import evaluate

    # spiking runs default to the tensorflow backend (same outputs as NengoDL, faster:
    # docs/performance.md); it takes constant input only
    fast = args.mode == "spiking" and args.input_coding in (None, "constant")
    backend = args.backend or ("tensorflow" if fast else "nengo_dl")
    presentation = None
    if args.mode == "spiking":
        options = {name: getattr(args, name) for name in
                   ("n_steps", "dt", "synapse", "tau", "input_coding", "readout")
                   if getattr(args, name) is not None}
        try:
            presentation = Presentation(**options)
        except ValueError as err:
            raise _as_usage(err) from None
    metrics = evaluate(arch, params, split, backend=backend, batch_size=batch_size,
                       seed=args.seed, presentation=presentation)
    mode = f"spiking {presentation.seconds * 1000:g} ms" if presentation else "rate"
    settings = {"backend": backend,
                "presentation": presentation.to_dict() if presentation else None}
    return metrics, settings, f"{backend}, {mode}"


def _evaluate_pc(args, arch, params, split, batch_size):
    """The predictive-coding network, output free: settled (rate) or over time
    (spiking); compared with the feedforward pass."""
    import numpy as np

    from nengo_pc.rates import forward
    from nengo_pc.training import classification_metrics

    options = {name: getattr(args, name) for name in ("dt", "tau", "sweep_time")
               if getattr(args, name) is not None}
    t0 = time.perf_counter()
    try:
        if args.mode == "rate":
            from nengo_pc.networks.inference import settled_outputs

            if args.settle_time is not None:
                options["settle_time"] = args.settle_time
            outputs = settled_outputs(arch, params, split.images, batch_size=batch_size,
                                      seed=args.seed, progress=True, **options)
            over_time = None
        else:
            from nengo_pc.networks.spiking import accuracy_over_time, spiking_inference

            for name in ("duration", "input_coding"):
                if getattr(args, name) is not None:
                    options[name] = getattr(args, name)
            run = spiking_inference(arch, params, split.images, batch_size=batch_size,
                                    seed=args.seed, progress=True, **options)
            over_time = accuracy_over_time(run["outputs"], split.labels)
            outputs = run["outputs"][:, -1, :]
    except ValueError as err:
        raise _as_usage(err, f"--network pc --mode {args.mode}: ") from None
    seconds = time.perf_counter() - t0
    feedforward = forward(arch, params, split.images)
    metrics = classification_metrics(outputs, split.labels)
    if over_time is not None:
        metrics["accuracy"] = float(over_time[-1])
        metrics["accuracy_over_time"] = [float(a) for a in over_time]
        metrics["synops_per_inference"] = float(
            sum(v.sum() for v in run["synops"].values()))
    metrics.update(
        feedforward_accuracy=float(np.mean(feedforward.argmax(1) == split.labels)),
        label_agreement=float(np.mean(outputs.argmax(1) == feedforward.argmax(1))),
        seconds=seconds)
    return metrics, {"pc": options}, f"PC network, {args.mode}"

