"""Benchmark: a trained spiking network on nengo-loihi's Loihi emulator.

For the soft-LIF MLP or CNN of a run directory (``nengo-pc train --model ...``),
on the first ``--n-images`` test images, interleaved chunk by chunk (so that every
simulator sees the same machine load):

* ``emulator``: the network prepared by `nengo_pc.loihi` (off-chip input layer,
  Lowpass synapses, block shapes) on ``nengo_loihi.Simulator(target="sim")``;
* ``nengo_lif``: the same prepared network in `nengo.Simulator` (exact LIF neurons,
  float weights): what the emulator would give without Loihi's discretisation;
* ``nengo_loihi_lif``: the same with `nengo_loihi.LoihiLIF` neurons in
  `nengo.Simulator`: Loihi's neuron discretisation (integer inter-spike intervals)
  without its weight and voltage quantisation.

The three run each chunk as one continuous presentation (nengo-loihi's simulator
cannot reset). Then, as references: NengoDL rate mode on the subset and the full
test set, NengoDL spiking (each image from rest) with the Loihi presentation and
with the model's own (alpha synapses for the MLP), the rate distortion of Loihi's
LIF curve per layer, and the energy per inference from the emulator's spike
counts. Accuracies on the subset carry 95% Wilson intervals.

Example::

    python benchmarks/loihi.py --run-dir runs/softlif-mlp --n-images 300 \\
        --out results/loihi/mlp.json
"""

import argparse
import json
import math
import os
import sys
import time
import warnings

import numpy as np


def _log(message):
    print(message, file=sys.stderr, flush=True)


def wilson(k, n, z=1.96):
    """95% Wilson score interval of a binomial proportion k / n."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return [centre - half, centre + half]


def accuracy_with_interval(pred, labels):
    k = int(np.sum(pred == labels))
    return {"accuracy": k / len(labels), "correct": k, "n": len(labels),
            "ci95": wilson(k, len(labels))}


def load_network(pretrained=None, run_dir=None):
    """``(arch, params, path)`` of a shipped network or a run directory's, the input
    gain folded into the first layer (the Loihi network's input layer codes pixels)."""
    from nengo_pc.arch import load_params
    from nengo_pc.convert import fold_input_gain

    if pretrained:
        import nengo_pc.pretrained

        path = str(nengo_pc.pretrained.path(pretrained))
        arch, params, meta = nengo_pc.pretrained.load(pretrained)
    else:
        path = os.path.join(run_dir, "params.npz")
        if not os.path.exists(path):
            path = os.path.join(run_dir, "checkpoint.npz")
        arch, params, meta = load_params(path)
    if meta.get("input_gain", 1.0) != 1.0:
        params = fold_input_gain(params, meta["input_gain"])
    return arch, params, path


def run(args):
    import nengo_pc  # noqa: F401  (before nengo_dl: tf-keras)
    from nengo_pc import loihi
    from nengo_pc.data import load_dataset
    from nengo_pc.loihi.dl import loihi_lif
    from nengo_pc.networks.presentation import Presentation
    from nengo_pc.results import write_json_atomic
    from nengo_pc.training import evaluate

    arch, params, path = load_network(args.pretrained, args.run_dir)
    data = load_dataset(args.dataset, data_dir=args.data_dir)
    test = data.test
    subset = test.subset(args.n_images)
    x, y = subset.images, subset.labels
    presentation = Presentation(n_steps=args.n_steps, synapse=args.synapse, tau=args.tau)
    load = {"start": os.getloadavg()}

    runs = {"emulator": ("loihi", None), "nengo_lif": ("nengo", None),
            "nengo_loihi_lif": ("nengo", loihi_lif)}
    logits = {name: [] for name in runs}
    whole = {name: [] for name in runs}
    seconds = {name: 0.0 for name in runs}
    build = {name: 0.0 for name in runs}
    spikes = {name: np.zeros(arch.n_layers - 1) for name in runs}
    prepared, utilization = None, None
    # resumable: the chunks done so far are kept beside the record
    partial = args.out + ".partial.json"
    key = {"params": path, "n_images": len(x), "chunk": args.chunk,
           "presentation": presentation.to_dict(), "input_rate": args.input_rate,
           "seed": args.seed}
    first = 0
    if os.path.exists(partial):
        with open(partial) as f:
            state = json.load(f)
        if state["key"] == key:
            first = state["done"]
            logits = {k: [np.array(v)] for k, v in state["logits"].items()}
            whole = {k: [np.array(v)] for k, v in state["whole"].items()}
            seconds, build = state["seconds"], state["build"]
            spikes = {k: np.array(v) for k, v in state["spikes"].items()}
            prepared, utilization, skip = (state["prepared"], state["utilization"],
                                           state["skip"])
            load = state["load"]
            _log(f"resuming after {first} images from {partial}")
    for start in range(first, len(x), args.chunk):
        chunk = x[start:start + args.chunk]
        for name, (simulator, neuron_type) in runs.items():
            with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
                warnings.simplefilter("ignore")
                net = loihi.presentation_network(arch, params, chunk, presentation,
                                                 input_rate=args.input_rate,
                                                 neuron_type=neuron_type, seed=args.seed)
                result = loihi.run_presentation(net, len(chunk), presentation,
                                                simulator, seed=args.seed)
            logits[name].append(result["logits"])
            whole[name].append(result["logits_whole_window"])
            skip = result["skip"]
            seconds[name] += result["run_seconds"]
            build[name] += result["build_seconds"]
            spikes[name] += np.array(result["spikes_per_layer"]) * len(chunk)
            if simulator == "loihi":
                prepared, utilization = net.loihi, result["utilization"]
        done = min(start + args.chunk, len(x))
        _log(f"{done}/{len(x)} images: " + ", ".join(
            f"{name} {np.mean(np.concatenate(v).argmax(1) == y[:done]):.3f}"
            for name, v in logits.items()))
        write_json_atomic(partial, {
            "key": key, "done": done, "skip": skip, "prepared": prepared,
            "utilization": utilization, "load": load, "seconds": seconds,
            "build": build,
            "logits": {k: np.concatenate(v).tolist() for k, v in logits.items()},
            "whole": {k: np.concatenate(v).tolist() for k, v in whole.items()},
            "spikes": {k: v.tolist() for k, v in spikes.items()}})
    load["after_emulator"] = os.getloadavg()
    preds = {name: np.concatenate(v).argmax(1) for name, v in logits.items()}
    metrics = {name: accuracy_with_interval(p, y) for name, p in preds.items()}
    for name in runs:
        metrics[name]["readout_skips_steps"] = skip
        metrics[name]["whole_window"] = accuracy_with_interval(
            np.concatenate(whole[name]).argmax(1), y)
        metrics[name]["images_per_second"] = len(x) / seconds[name]
        metrics[name]["spikes_per_layer"] = list(spikes[name] / len(x))
    metrics["emulator"]["agreement_with_nengo_lif"] = float(
        np.mean(preds["emulator"] == preds["nengo_lif"]))
    metrics["emulator"]["agreement_with_nengo_loihi_lif"] = float(
        np.mean(preds["emulator"] == preds["nengo_loihi_lif"]))
    metrics["emulator_time_ratio_vs_nengo_lif"] = seconds["emulator"] / seconds["nengo_lif"]

    # references: NengoDL rate mode and spiking (each image from rest)
    _log("NengoDL references")
    from nengo_pc.training.evaluation import predict_logits

    if args.full_test:
        rate_full = evaluate(arch, params, test, batch_size=500)
        metrics["nengo_dl_rate_full_test"] = {"accuracy": rate_full["accuracy"],
                                              "n": len(test)}
    rate_pred = predict_logits(arch, params, x, batch_size=min(500, len(x))).argmax(1)
    metrics["nengo_dl_rate"] = accuracy_with_interval(rate_pred, y)
    own = Presentation(n_steps=args.own_steps, synapse=args.own_synapse, tau=args.tau)
    for name, p in (("nengo_dl_spiking_loihi_presentation", presentation),
                    ("nengo_dl_spiking_own_presentation", own)):
        pred = predict_logits(arch, params, x, batch_size=min(100, len(x)),
                              presentation=p, seed=args.seed).argmax(1)
        metrics[name] = {**accuracy_with_interval(pred, y), "presentation": p.to_dict()}
    load["end"] = os.getloadavg()

    # where the drop comes from; energy from the emulator's own spike counts
    distortion = loihi.rate_distortion(arch, params, x[:100], presentation.dt)
    from nengo_pc.energy import inference_cost

    layer_rates = [s / presentation.seconds / n for s, n in
                   zip(metrics["emulator"]["spikes_per_layer"], arch.sizes[1:-1])]
    cost = inference_cost(arch, layer_rates, presentation.seconds, presentation.dt,
                          input_rate=x.astype(np.float64).mean(0) * args.input_rate)
    hidden_only = inference_cost(arch, layer_rates, presentation.seconds,
                                 presentation.dt, input_rate=np.zeros(arch.sizes[0]))
    energy = {"synops": cost["synops"], "hidden_spikes": cost["spikes"],
              "input_synops": cost["synops"] - hidden_only["synops"],
              "neuron_updates": cost["neuron_updates"],
              "loihi_joules": cost["energy_joules"]["loihi"],
              "ann_macs": cost["ann_macs"],
              "ann_cpu_joules": cost["ann_energy_joules"]["cpu"],
              "ann_gpu_joules": cost["ann_energy_joules"]["gpu"]}

    from nengo_pc.results import make_record

    return make_record(
        "bench_loihi",
        config={"run_dir": args.run_dir, "pretrained": args.pretrained, "params": path, "architecture": arch.to_dict(),
                "dataset": args.dataset, "n_images": len(x), "chunk": args.chunk,
                "presentation": presentation.to_dict(),
                "input_rate": args.input_rate, "prepared": prepared,
                "nengo_loihi": package_version("nengo-loihi")},
        seed=args.seed, metrics=metrics,
        seconds={"run": seconds, "build": build},
        rate_distortion=distortion, energy_per_inference=energy,
        cores=prepared["cores"] if prepared else None,
        utilization=utilization, load_average=load,
        note="the machine was shared with other jobs (load_average); times are "
             "ratios within this run, not quiet-machine numbers",
    )


def gui_check(args):
    """Build and run each ``networks/`` script's ``model`` as ``nengo --backend
    nengo_loihi`` would (the script builds its Loihi form,
    `nengo_pc.script_inputs.script_backend`; nengo-gui 0.6 then calls the backend's
    ``Simulator(model, progress_bar=...)``): record whether nengo-loihi builds and
    runs it (200 steps) and its cores, or the script's error."""
    import runpy
    from pathlib import Path

    import nengo_loihi

    import nengo_pc  # noqa: F401
    from nengo_pc.script_inputs import BACKEND_VARIABLE

    scripts = sorted((Path(__file__).resolve().parents[1] / "networks").glob("*.py"))
    checks = {}
    os.environ[BACKEND_VARIABLE] = "nengo_loihi"
    for script in scripts:
        _log(f"gui check: {script.name}")
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = runpy.run_path(str(script), run_name="__nengo_gui__")["model"]
                with nengo_loihi.Simulator(model, target="sim",
                                           progress_bar=False) as sim:
                    sim.run_steps(200)
            checks[script.name] = {"builds": True, "runs_steps": 200,
                                   "cores": model.loihi["cores"]}
        except Exception as err:  # noqa: BLE001  (the record says what failed)
            checks[script.name] = {"builds": False, "error": type(err).__name__,
                                   "message": str(err)[:500]}
        checks[script.name]["seconds"] = time.perf_counter() - t0
    from nengo_pc.results import make_record

    return make_record("bench_loihi_gui_check",
                       config={"backend": "nengo_loihi", "target": "sim",
                               "scripts": [s.name for s in scripts],
                               "nengo_loihi": package_version("nengo-loihi"),
                               "nengo_gui": package_version("nengo-gui")},
                       seed=0, metrics=checks, seconds={},
                       load_average=os.getloadavg())


def package_version(name):
    from importlib import metadata

    return metadata.version(name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run-dir", help="directory with params.npz")
    parser.add_argument("--pretrained", metavar="NAME",
                        help="instead: a shipped network (nengo_pc.pretrained), e.g. "
                             "mnist-softlif-mlp")
    parser.add_argument("--gui-check", action="store_true",
                        help="instead: build every networks/ script with nengo-loihi")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--n-images", type=int, default=300)
    parser.add_argument("--chunk", type=int, default=50,
                        help="images per simulator (the unit of interleaving)")
    parser.add_argument("--n-steps", type=int, default=100)
    parser.add_argument("--synapse", default="lowpass", choices=("lowpass", "none"))
    parser.add_argument("--tau", type=float, default=0.005)
    parser.add_argument("--own-steps", type=int, default=100,
                        help="NengoDL reference with the model's own presentation")
    parser.add_argument("--own-synapse", default="alpha")
    parser.add_argument("--input-rate", type=float, default=1000.0,
                        help="Hz of the off-chip input layer for a pixel of 1")
    parser.add_argument("--no-full-test", dest="full_test", action="store_false",
                        help="skip NengoDL rate mode on the full test set")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    from nengo_pc.results import write_json_atomic

    if args.gui_check:
        write_json_atomic(args.out, gui_check(args))
        return
    if (args.run_dir is None) == (args.pretrained is None):
        parser.error("give one of --run-dir, --pretrained (unless --gui-check)")
    t0 = time.perf_counter()
    record = run(args)
    record["seconds"]["total"] = time.perf_counter() - t0
    write_json_atomic(args.out, record)
    if os.path.exists(args.out + ".partial.json"):
        os.remove(args.out + ".partial.json")
    m = record["metrics"]
    _log(f"wrote {args.out}: emulator {m['emulator']['accuracy']:.4f}, nengo LIF "
         f"{m['nengo_lif']['accuracy']:.4f}, LoihiLIF {m['nengo_loihi_lif']['accuracy']:.4f}"
         f", NengoDL rate {m['nengo_dl_rate']['accuracy']:.4f}")


if __name__ == "__main__":
    main()
