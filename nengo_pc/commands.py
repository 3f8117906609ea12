"""What ``nengo-pc train`` does with parsed arguments, and what every command shares.

`nengo_pc.cli` parses; here the arguments are validated together (against the rule,
the preset, the run directory) before any work starts, and then handed to
`nengo_pc.training.train`. `UsageError` becomes exit status 2, `UserError` status 1;
`as_usage`, `flag` and `writable_dir` are shared with the other commands
(`nengo_pc.evaluate_command`, `nengo_pc.grid`).
"""

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

#: Files a training run writes into its directory.
RUN_FILES = ("params.npz", "checkpoint.npz", "train.json")


class UserError(Exception):
    """An error the user can fix; printed without a traceback (exit status 1)."""


class UsageError(Exception):
    """An inconsistent combination of options (exit status 2, like argparse)."""


def flag(name):
    return "--" + name.replace("_", "-")


#: Python argument names whose command-line option is spelled otherwise.
_OPTION_OF = {"arch": "model", "learning_rate": "lr"}


def as_usage(err, prefix=""):
    """A ValueError ``"name: message"`` as a UsageError naming ``--name``."""
    text = str(err)
    name, sep, rest = text.partition(": ")
    if sep and name.isidentifier():
        text = f"{flag(_OPTION_OF.get(name, name))}: {rest}"
    return UsageError(prefix + text)


def writable_dir(option, path):
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


def rule_defaults(rule, model):
    """The architecture and training settings ``train`` uses for a rule where the
    command line gives none: on the ``mlp`` preset, the baselines (FA, DFA, EqProp,
    CHL) train as they are benchmarked (`nengo_pc.pc.settings`: their own widths,
    nonlinearity, optimiser, learning rate, batch size and epochs); with Adam at
    batches of 100 and ReLU, FA and DFA stay near chance for an epoch and EqProp and
    CHL cannot run at all. Returns ``(arch_options, config_fields)``."""
    from nengo_pc.pc.settings import BASELINE_TRAINING, RULE_ARCH

    if model != "mlp" or rule not in RULE_ARCH:
        return {}, {}
    hidden, activation = RULE_ARCH[rule]
    return ({"hidden": tuple(hidden), "activation": activation},
            dict(BASELINE_TRAINING.get(rule, {})))


def _architecture(args, defaults, rule_arch=None):
    from nengo_pc.arch import PRESETS, LIFParams

    rule_arch = rule_arch or {}
    options = {"hidden": tuple(args.hidden if args.hidden is not None
                               else rule_arch.get("hidden", defaults["hidden"]))}
    if args.activation is not None:
        options["activation"] = args.activation
    elif "activation" in rule_arch:
        options["activation"] = rule_arch["activation"]
    lif = {name: value for name, value in (("tau_ref", args.tau_ref),
                                           ("amplitude", args.amplitude),
                                           ("smoothing", args.lif_smoothing))
           if value is not None}
    try:
        if lif:
            options["lif"] = LIFParams(**lif)
        return PRESETS[args.model](**options)
    except ValueError as err:
        raise as_usage(err, f"--model {args.model}: ") from None


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
            takes = ", ".join(flag(n) for n in rule.option_names) or "none"
            raise UsageError(f"{flag(name)}: does not apply to rule {rule.name} "
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
    if args.xla and backend != "vectorised":
        raise UsageError(f"--xla: applies to the vectorised backend, not {backend}")
    if args.simulator is not None and backend != "simulated":
        raise UsageError(f"--simulator: applies to the simulated backend, not {backend}")
    from nengo_pc.datafiles import COUNTS

    if args.n_validation >= COUNTS["train"]:
        raise UsageError(f"--n-validation: must be below the {COUNTS['train']} "
                         f"training images, got {args.n_validation}")
    if args.lr_decay_samples is not None and args.lr_schedule != "inverse_time":
        raise UsageError("--lr-decay-samples: applies to --lr-schedule inverse_time "
                         "only")
    rule_arch, rule_config = rule_defaults(rule.name, args.model)
    arch = _architecture(args, defaults, rule_arch)
    try:
        rule.check_options(arch, **given)
    except ValueError as err:
        raise as_usage(err, f"--rule {rule.name}: ") from None
    fields = {name: value for name, value in (
        ("epochs", args.epochs), ("batch_size", args.batch_size),
        ("learning_rate", args.lr), ("lr_schedule", args.lr_schedule),
        ("lr_decay_samples", args.lr_decay_samples), ("optimizer", args.optimizer),
        ("max_shift", args.max_shift)) if value is not None}
    for name in ("epochs", "max_shift"):
        if name not in fields and name in defaults and rule.name == "backprop":
            fields[name] = defaults[name]
    fields = {**rule_config, **fields}
    try:
        config = TrainConfig.for_rule(rule.name, options=given, seed=args.seed,
                                      **fields)
    except ValueError as err:
        raise as_usage(err) from None
    return arch, rule, config, backend, gain


def _check_run_dir(args):
    out_dir = writable_dir("--out-dir", args.out_dir)
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
        raise as_usage(err) from None


def run_train(args):
    """``nengo-pc train``: validate, train, save, test, record."""
    from nengo_pc.convert import fold_input_gain
    from nengo_pc.data import Split
    from nengo_pc.params import save_params
    from nengo_pc.results import make_record, write_json_atomic
    from nengo_pc.training import train

    arch, rule, config, backend, gain = train_settings(args)
    if args.intra_op_threads is not None:
        import tensorflow as tf

        # before TensorFlow runs its first operation (it cannot change afterwards)
        try:
            tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
        except RuntimeError:
            if tf.config.threading.get_intra_op_parallelism_threads() \
                    != args.intra_op_threads:
                raise UserError("--intra-op-threads: TensorFlow is already running "
                                "in this process; set TF_NUM_INTRAOP_THREADS before "
                                "it starts instead") from None
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
                       backend_options=({"jit_compile": True} if args.xla
                                        else {"simulator": args.simulator}
                                        if args.simulator else None),
                       metadata={"dataset": args.dataset, "model": args.model,
                                 "input_gain": gain})
    except FloatingPointError as err:
        raise UserError(f"training diverged: {err}; the last good parameters are in "
                        f"{checkpoint}" if checkpoint.exists() else
                        f"training diverged: {err}") from None
    except ValueError as err:
        raise as_usage(err) from None
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
                "resumed": bool(args.resume), "xla": bool(args.xla),
                "simulator": args.simulator,
                "intra_op_threads": args.intra_op_threads,
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
