"""Benchmark: spiking predictive-coding inference on nengo-loihi's Loihi emulator.

The shipped spiking PC network (``nengo_pc.pretrained.load("mnist-pc-spiking")``)
as `nengo_pc.loihi.pc.LoihiPCNetwork` (mode "sweep", output free, dense transforms,
no gates, off-chip input layer) on the first ``--n-images`` MNIST test images, in
chunks (nengo-loihi's simulator cannot be reset: each chunk is one continuous
presentation), with the chunks done kept beside the record (a rerun resumes). Then
the references on the same images:

* ``rate``: the feedforward pass through the exact LIF curve, the fixed point the
  PC network settles to with the output free;
* ``nengo_dl_pc_spiking``: the PC network itself (`PredictiveCodingNetwork`, pair
  amplitude `nengo_pc.arch.PAIR_AMPLITUDE`, what ``nengo-pc evaluate --network pc
  --mode spiking`` runs) in NengoDL, each image from rest, same steps and readout;
  ``nengo_dl_pc_spiking_benchmark_amplitude``: the same at
  `nengo_pc.arch.BENCHMARK_PAIR_AMPLITUDE` (results/bench_spiking_pc.json);
* ``nengo_dl_loihi_form``: the Loihi network in NengoDL, exact neurons and float
  weights, each image from rest;
* on the first ``--attribution-images`` (a continuous presentation as on the
  emulator): ``nengo_loihi_form`` in `nengo.Simulator` (exact neurons, float
  weights) and ``nengo_loihi_neurons`` (nengo-loihi's ``LoihiSpikingRectifiedLinear``
  and ``LoihiLIF``: Loihi's whole-step inter-spike intervals without its weight
  quantisation), which split the emulator's drop into neuron discretisation and
  weight/voltage quantisation.

With ``--max-rate-sweep HZ ...``: instead, the accuracy of the emulator and of
NengoDL (exact neurons; both one continuous presentation) for each highest pair
rate (`nengo_pc.loihi.pc.pair_amplitudes`), which chose `PC_MAX_RATE`, and the
rate-mode accuracy on the full test set with the weights rounded as the error
blocks resolve them (`nengo_pc.loihi.pc.quantised_params`).

Examples::

    python benchmarks/loihi_pc.py --n-images 500 --out results/loihi/pc.json
    python benchmarks/loihi_pc.py --max-rate-sweep 250 500 1000 --first-image 100 \\
        --n-images 50 --out results/loihi/pc_max_rate.json
"""

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loihi import accuracy_with_interval, package_version  # noqa: E402  (sibling)


def _log(message):
    print(message, file=sys.stderr, flush=True)


def run(args):
    import nengo_pc  # noqa: F401  (before nengo_dl: tf-keras)
    import nengo_pc.pretrained
    from nengo_pc.arch import BENCHMARK_PAIR_AMPLITUDE, PAIR_AMPLITUDE
    from nengo_pc.data import load_dataset
    from nengo_pc.loihi.dl import pc_logits
    from nengo_pc.loihi.pc import pair_amplitudes
    from nengo_pc.loihi.pc_running import pc_presentation_network, run_pc
    from nengo_pc.networks.spiking import readout_over_time, spiking_inference

    def accuracy_readout(outputs):
        return readout_over_time(outputs, "window")[:, -1]
    from nengo_pc.rates import forward
    from nengo_pc.results import make_record, write_json_atomic

    arch, params, meta = nengo_pc.pretrained.load(args.pretrained)
    data = load_dataset("mnist", data_dir=args.data_dir)
    subset = data.test.subset(args.n_images)
    x, y = subset.images, subset.labels
    amplitudes = pair_amplitudes(arch, params, data.train.images[:1000],
                                 max_rate=args.max_rate)
    dt, n_steps = 0.001, args.n_steps
    load = {"start": os.getloadavg()}
    partial = args.out + ".partial.json"
    # (not n_images: a rerun with fewer images uses the chunks already done)
    key = {"pretrained": args.pretrained, "chunk": args.chunk,
           "n_steps": n_steps, "max_rate": args.max_rate, "seed": args.seed}
    state = {"key": key, "done": 0, "logits": [], "seconds": {"build": 0.0, "run": 0.0},
             "spikes": {}, "synops": {}, "cores": None, "layers": None, "load": load}
    if os.path.exists(partial):
        with open(partial) as f:
            old = json.load(f)
        old_key = {k: v for k, v in old["key"].items() if k != "n_images"}
        if old_key == key and old["done"] <= len(x):
            state = old
            state["key"] = key
            _log(f"resuming after {state['done']} images from {partial}")
    for start in range(state["done"], len(x), args.chunk):
        chunk = x[start:start + args.chunk]
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")
            net = pc_presentation_network(arch, params, chunk, amplitudes, n_steps, dt,
                                          seed=args.seed)
        result = run_pc(net, len(chunk), n_steps, dt, "loihi", args.seed)
        state["logits"] += result["logits"].tolist()
        for name in ("spikes", "synops"):
            for label, v in result[name].items():
                state[name][label] = state[name].get(label, 0.0) + v * len(chunk)
        state["seconds"]["build"] += result["build_seconds"]
        state["seconds"]["run"] += result["run_seconds"]
        state["cores"], state["layers"] = result["cores"], net.loihi["layers"]
        state["done"] = start + len(chunk)
        pred = np.argmax(state["logits"], axis=1)
        _log(f"{state['done']}/{len(x)} images: emulator "
             f"{np.mean(pred == y[:state['done']]):.4f} "
             f"({result['run_seconds'] / len(chunk):.2f} s per image)")
        write_json_atomic(partial, state)
    load["after_emulator"] = os.getloadavg()
    n = len(x)
    emulator = np.asarray(state["logits"]).argmax(1)
    feedforward = forward(arch, params, x).argmax(1)
    metrics = {"emulator": {**accuracy_with_interval(emulator, y),
                            "agreement_with_rate": float(np.mean(emulator == feedforward)),
                            "images_per_second": n / state["seconds"]["run"]},
               "rate": accuracy_with_interval(feedforward, y),
               "rate_full_test": {"accuracy": float(np.mean(
                   forward(arch, params, data.test.images).argmax(1) == data.test.labels)),
                   "n": len(data.test)}}

    _log("NengoDL references")
    duration = n_steps * dt
    for name, amplitude in (("nengo_dl_pc_spiking", PAIR_AMPLITUDE),
                            ("nengo_dl_pc_spiking_benchmark_amplitude",
                             BENCHMARK_PAIR_AMPLITUDE)):
        t0 = time.perf_counter()
        ref = spiking_inference(arch, params, x, duration=duration, dt=dt,
                                pair_amplitude=amplitude, batch_size=args.batch_size,
                                seed=args.seed)
        # the window readout at the last step: x_L over the second half
        pred = np.argmax(accuracy_readout(ref["outputs"]), axis=1)
        metrics[name] = {**accuracy_with_interval(pred, y), "pair_amplitude": amplitude,
                         "seconds": time.perf_counter() - t0}
        _log(f"{name}: {metrics[name]['accuracy']:.4f}")
    dl = pc_logits(arch, params, amplitudes, x, n_steps, batch_size=args.batch_size,
                   seed=args.seed).argmax(1)
    metrics["nengo_dl_loihi_form"] = {**accuracy_with_interval(dl, y),
                                      "agreement_with_emulator": float(np.mean(dl == emulator))}
    _log(f"nengo_dl_loihi_form: {metrics['nengo_dl_loihi_form']['accuracy']:.4f}")

    # attribution: nengo.Simulator, continuous presentation, exact / Loihi neurons
    a = min(args.attribution_images, n)
    if a:
        from nengo_pc.loihi.dl import loihi_lif, loihi_relu

        kinds = {"nengo_loihi_form": {},
                 "nengo_loihi_neurons": {"pair_neuron_type": loihi_relu,
                                         "activity_neuron_type": loihi_lif}}
        for name, kw in kinds.items():
            with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
                warnings.simplefilter("ignore")
                logits = []
                for start in range(0, a, args.chunk):
                    chunk = x[start:min(start + args.chunk, a)]
                    net = pc_presentation_network(arch, params, chunk, amplitudes,
                                                  n_steps, dt, prepare=False,
                                                  seed=args.seed, **kw)
                    logits.append(run_pc(net, len(chunk), n_steps, dt, "nengo",
                                         args.seed)["logits"])
            pred = np.concatenate(logits).argmax(1)
            metrics[name] = {**accuracy_with_interval(pred, y[:a]),
                             "agreement_with_emulator": float(np.mean(pred == emulator[:a])),
                             "emulator_on_these": accuracy_with_interval(emulator[:a], y[:a])}
            _log(f"{name} (first {a}): {metrics[name]['accuracy']:.4f}")
    load["end"] = os.getloadavg()

    from nengo_pc.networks.spiking import inference_energy

    spikes = {k: v / n for k, v in state["spikes"].items()}
    synops = {k: v / n for k, v in state["synops"].items()}
    on_chip = sum(layer["neurons"] for layer in state["layers"].values())
    energy = inference_energy(sum(synops.values()), on_chip * n_steps)
    return make_record(
        "bench_loihi_pc",
        config={"pretrained": args.pretrained, "params": str(
            nengo_pc.pretrained.path(args.pretrained)), "architecture": arch.to_dict(),
            "dataset": "mnist", "n_images": n, "chunk": args.chunk, "n_steps": n_steps,
            "dt": dt, "readout": "mean of x_L over the second half of each image",
            "max_rate": args.max_rate, "amplitudes": amplitudes,
            "attribution_images": a, "nengo_loihi": package_version("nengo-loihi")},
        seed=args.seed, metrics=metrics,
        seconds={"emulator": state["seconds"]},
        cores=state["cores"], layers=state["layers"],
        spikes_per_inference=spikes, synops_per_inference=synops,
        energy_per_inference={"synops": sum(synops.values()),
                              "spikes": sum(spikes.values()),
                              "neuron_updates": on_chip * n_steps,
                              "joules": energy},
        load_average=load,
        note="the machine was shared with other jobs (load_average); times are "
             "not quiet-machine numbers",
    ), partial


def sweep(args):
    """Accuracy against the pairs' highest rate: the emulator and NengoDL (exact
    neurons, float weights), both one continuous presentation of the same images."""
    import nengo_pc  # noqa: F401
    import nengo_pc.pretrained
    from nengo_pc.data import load_dataset
    from nengo_pc.loihi.dl import pc_logits
    from nengo_pc.loihi.pc import pair_amplitudes, quantised_params
    from nengo_pc.loihi.pc_running import pc_presentation_network, run_pc
    from nengo_pc.rates import forward
    from nengo_pc.results import make_record

    arch, params, _ = nengo_pc.pretrained.load(args.pretrained)
    data = load_dataset("mnist", data_dir=args.data_dir)
    first = args.first_image
    x = data.test.images[first:first + args.n_images]
    y = data.test.labels[first:first + args.n_images]
    test = data.test
    metrics = {"rate": accuracy_with_interval(forward(arch, params, x).argmax(1), y),
               "rate_full_test": accuracy_with_interval(
                   forward(arch, params, test.images).argmax(1), test.labels)}
    load = {"start": os.getloadavg()}
    for rate in args.max_rate_sweep:
        amplitudes = pair_amplitudes(arch, params, data.train.images[:1000], rate)
        # the weight quantisation alone, in rate mode on the full test set
        quantised = forward(arch, quantised_params(arch, params, amplitudes),
                            test.images).argmax(1)
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore")
            net = pc_presentation_network(arch, params, x, amplitudes, args.n_steps,
                                          seed=args.seed)
        emulator = run_pc(net, len(x), args.n_steps, simulator="loihi", seed=args.seed)
        dl = pc_logits(arch, params, amplitudes, x, args.n_steps, chunk=len(x),
                       batch_size=1, seed=args.seed)
        metrics[f"{rate:g} Hz"] = {
            "amplitudes": amplitudes,
            "rate_quantised_weights_full_test": accuracy_with_interval(quantised,
                                                                       test.labels),
            "emulator": accuracy_with_interval(emulator["logits"].argmax(1), y),
            "nengo_dl_exact": accuracy_with_interval(dl.argmax(1), y),
            "spikes_per_inference": sum(emulator["spikes"].values())}
        _log(f"{rate:g} Hz: emulator {metrics[f'{rate:g} Hz']['emulator']['accuracy']:.3f}"
             f", NengoDL {metrics[f'{rate:g} Hz']['nengo_dl_exact']['accuracy']:.3f}")
    load["end"] = os.getloadavg()
    return make_record(
        "bench_loihi_pc_max_rate",
        config={"pretrained": args.pretrained, "first_image": first, "n_images": len(x),
                "n_steps": args.n_steps, "max_rates": args.max_rate_sweep,
                "presentation": "continuous, window readout (second half)",
                "nengo_loihi": package_version("nengo-loihi")},
        seed=args.seed, metrics=metrics, seconds={}, load_average=load)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pretrained", default="mnist-pc-spiking")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--n-images", type=int, default=500)
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument("--n-steps", type=int, default=150)
    parser.add_argument("--max-rate", type=float, default=1000.0)
    parser.add_argument("--batch-size", type=int, default=100,
                        help="NengoDL references: images per call")
    parser.add_argument("--attribution-images", type=int, default=50)
    parser.add_argument("--max-rate-sweep", type=float, nargs="+", default=None,
                        metavar="HZ", help="instead: accuracy of the emulator and of "
                        "NengoDL for each of these highest pair rates")
    parser.add_argument("--first-image", type=int, default=0,
                        help="--max-rate-sweep: test images from this index")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    from nengo_pc.results import write_json_atomic

    if args.max_rate_sweep:
        write_json_atomic(args.out, sweep(args))
        return
    t0 = time.perf_counter()
    record, partial = run(args)
    record["seconds"]["total"] = time.perf_counter() - t0
    write_json_atomic(args.out, record)
    if os.path.exists(partial):
        os.remove(partial)
    m = record["metrics"]
    _log(f"wrote {args.out}: emulator {m['emulator']['accuracy']:.4f}, rate "
         f"{m['rate']['accuracy']:.4f}, NengoDL PC spiking "
         f"{m['nengo_dl_pc_spiking']['accuracy']:.4f}")


if __name__ == "__main__":
    main()
