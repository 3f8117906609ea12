"""What ``nengo-pc evaluate`` does with parsed arguments.

The parameters come from a run directory written by ``nengo-pc train`` or from the
ones shipped with the package (``--pretrained``, `nengo_pc.pretrained`); the options
are checked against the network (feedforward or PC), the mode and the backend before
any work starts (`evaluate_settings`), then a data split is classified and the record
written next to the parameters (or to ``--out``).
"""

import math
import time
from pathlib import Path

from nengo_pc.commands import UsageError, UserError, as_usage, flag, writable_dir

#: ``evaluate`` options, by the (network, mode) pairs they apply to.
EVALUATE_OPTIONS = {
    "backend": {("feedforward", "rate"), ("feedforward", "spiking"), ("pc", "spiking")},
    "n_steps": {("feedforward", "spiking")},
    "dt": {("feedforward", "spiking"), ("pc", "rate"), ("pc", "spiking")},
    "synapse": {("feedforward", "spiking")},
    "tau": {("feedforward", "spiking"), ("pc", "rate"), ("pc", "spiking")},
    "input_coding": {("feedforward", "spiking"), ("pc", "spiking")},
    "readout": {("feedforward", "spiking")},
    "readout_tau": {("feedforward", "spiking")},
    "settle_time": {("pc", "rate")},
    "sweep_time": {("pc", "rate"), ("pc", "spiking")},
    "duration": {("pc", "spiking")},
}


def _load_run(run_dir):
    """``(arch, params, metadata, path)`` of a run directory's parameters."""
    import zipfile

    from nengo_pc.params import load_params

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
    if args.backend == "loihi":
        from nengo_pc.loihi import check_loihi_options

        check_loihi_options(args, UsageError, UserError)
    for name, applies in EVALUATE_OPTIONS.items():
        if getattr(args, name) is not None and key not in applies:
            raise UsageError(f"{flag(name)}: does not apply to --network "
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


def _check_out(args, default):
    out = Path(args.out).expanduser() if args.out else Path(default)
    if out.is_dir():
        raise UsageError(f"--out: {out} is a directory; give a file name")
    writable_dir("--out", out.parent)
    return out


def run_evaluate(args):
    """``nengo-pc evaluate``: classify a split with a run's parameters."""
    from nengo_pc.results import make_record, write_json_atomic

    if args.pretrained is not None:
        from nengo_pc import pretrained

        try:
            arch, params, meta = pretrained.load(args.pretrained)
        except FileNotFoundError as err:
            raise UserError(f"--pretrained {args.pretrained}: {err}") from None
        params_path = pretrained.path(args.pretrained)
        default_out = Path.cwd() / f"evaluate-{args.pretrained}.json"
    else:
        arch, params, meta, params_path = _load_run(args.run_dir)
        default_out = Path(args.run_dir) / "evaluate.json"
    rule, options = _rule_of(meta)
    free_phase = evaluate_settings(args, arch, rule)
    out = _check_out(args, default_out)
    dataset = args.dataset or meta.get("dataset", "mnist")
    from nengo_pc.data import load_dataset

    data = load_dataset(dataset, data_dir=args.data_dir)
    split = getattr(data, args.split)
    if args.n_examples is not None:
        split = split.subset(min(args.n_examples, len(split)))
    default_batch = 100 if args.network == "pc" else 500
    batch_size = min(args.batch_size or default_batch, len(split))
    if args.network == "pc" and args.backend == "loihi":
        metrics, settings, label = _evaluate_pc_loihi(args, arch, params, split,
                                                      batch_size, data.train.images)
    elif args.network == "pc":
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
        config={"run_dir": None if args.run_dir is None else str(args.run_dir),
                "pretrained": args.pretrained, "params": str(params_path),
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
                   ("n_steps", "dt", "synapse", "tau", "input_coding", "readout",
                    "readout_tau")
                   if getattr(args, name) is not None}
        if backend == "loihi":  # alpha synapses do not exist on Loihi
            options.setdefault("synapse", "lowpass")
        try:
            presentation = Presentation(**options)
        except ValueError as err:
            raise as_usage(err) from None
    if backend == "loihi":
        from nengo_pc.loihi import LoihiConfigError, evaluate_loihi

        try:
            metrics = evaluate_loihi(arch, params, split, presentation,
                                     batch_size=batch_size, seed=args.seed, progress=True)
        except LoihiConfigError as err:
            raise UserError(f"--backend loihi: {err}") from None
    else:
        metrics = evaluate(arch, params, split, backend=backend, batch_size=batch_size,
                           seed=args.seed, presentation=presentation)
    mode = f"spiking {presentation.seconds * 1000:g} ms" if presentation else "rate"
    settings = {"backend": backend,
                "presentation": presentation.to_dict() if presentation else None}
    return metrics, settings, f"{backend}, {mode}"


def _evaluate_pc_loihi(args, arch, params, split, batch_size, train_images):
    """The predictive-coding network's inference on the Loihi emulator
    (`nengo_pc.loihi.pc`); pair amplitudes set on the first 1,000 training images."""
    from nengo_pc.loihi import LoihiConfigError
    from nengo_pc.loihi.pc_running import PC_STEPS, evaluate_pc_loihi

    dt = args.dt or 0.001
    n_steps = PC_STEPS if args.duration is None else max(1, round(args.duration / dt))
    options = {"dt": dt, "n_steps": n_steps}
    if args.tau is not None:
        options["tau"] = args.tau
    try:
        metrics = evaluate_pc_loihi(arch, params, split, batch_size=batch_size,
                                    calibration=train_images[:1000], seed=args.seed,
                                    progress=True, **options)
    except LoihiConfigError as err:
        raise UserError(f"--backend loihi: {err}") from None
    return metrics, {"backend": "loihi", "pc": options}, "PC network, Loihi emulator"


def _pc_spiking_backend(args):
    """The spiking PC network's backend: ``--backend`` (nengo_dl or tensorflow), by
    default `~nengo_pc.networks.spiking.default_spiking_backend`."""
    from nengo_pc.networks.spiking import default_spiking_backend

    if args.backend is not None:
        if args.backend not in ("nengo_dl", "tensorflow"):
            raise UsageError(f"--backend: the PC network runs spiking on nengo_dl, "
                             f"tensorflow or loihi, not {args.backend}")
        return args.backend
    return default_spiking_backend(args.sweep_time, args.duration or 0.2,
                                   args.input_coding or "constant")


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
            options["backend"] = _pc_spiking_backend(args)
            run = spiking_inference(arch, params, split.images, batch_size=batch_size,
                                    seed=args.seed, progress=True, **options)
            over_time = accuracy_over_time(run["outputs"], split.labels)
            outputs = run["outputs"][:, -1, :]
    except ValueError as err:
        raise as_usage(err, f"--network pc --mode {args.mode}: ") from None
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
