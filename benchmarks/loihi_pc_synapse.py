"""Benchmark: the synapse of the Loihi PC network, on more images than the emulator.

The Loihi form of the shipped spiking PC network (`nengo_pc.loihi.pc.LoihiPCNetwork`,
pair amplitudes from the first 1,000 test images, exact neurons, float weights) in
NengoDL, each image from rest, 150 steps, window readout
(`nengo_pc.loihi.dl.pc_logits`), for each ``--synapse-tau``, against the PC network
itself in spiking mode (`nengo_pc.networks.spiking.spiking_inference`, its own pair
amplitude and synapses, the same steps and readout) and the rate-mode feedforward
pass on the same first ``--n-images`` test images: how much of the Loihi form's
drop on more images than the emulator's the synapse (`nengo_pc.loihi.pc.PC_SYNAPSE_TAU`
by default) accounts for (docs/loihi.md).

Example::

    python benchmarks/loihi_pc_synapse.py --n-images 2000 --synapse-tau 0.02 \\
        --out results/loihi/pc_synapse.json
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loihi import accuracy_with_interval  # noqa: E402  (sibling)


def run(args):
    import nengo_pc  # noqa: F401  (before nengo_dl: tf-keras)
    import nengo_pc.pretrained
    from nengo_pc.data import load_dataset
    from nengo_pc.loihi.dl import pc_logits
    from nengo_pc.loihi.pc import pair_amplitudes
    from nengo_pc.networks.spiking import readout_over_time, spiking_inference
    from nengo_pc.rates import forward
    from nengo_pc.results import make_record

    arch, params, _ = nengo_pc.pretrained.load(args.pretrained)
    test = load_dataset("mnist", data_dir=args.data_dir).test
    x, y = test.images[:args.n_images], test.labels[:args.n_images]
    amplitudes = pair_amplitudes(arch, params, test.images[:1000])
    load = {"start": os.getloadavg()}
    metrics, seconds = {}, {}
    t0 = time.perf_counter()
    spiking = spiking_inference(arch, params, x, duration=args.n_steps * 0.001)
    pred = readout_over_time(spiking["outputs"], "window")[:, -1].argmax(1)
    metrics["pc_network_spiking"] = accuracy_with_interval(pred, y)
    seconds["pc_network_spiking"] = time.perf_counter() - t0
    metrics["rate"] = accuracy_with_interval(forward(arch, params, x).argmax(1), y)
    for tau in args.synapse_tau:
        t0 = time.perf_counter()
        pred = pc_logits(arch, params, amplitudes, x, args.n_steps,
                         synapse_tau=tau).argmax(1)
        metrics[f"loihi_form_synapse_{tau:g}"] = accuracy_with_interval(pred, y)
        seconds[f"loihi_form_synapse_{tau:g}"] = time.perf_counter() - t0
        print(f"synapse {tau:g}: {metrics[f'loihi_form_synapse_{tau:g}']['accuracy']:.4f}",
              file=sys.stderr, flush=True)
    load["end"] = os.getloadavg()
    return make_record(
        "bench_loihi_pc_synapse",
        config={"pretrained": args.pretrained, "n_images": len(x),
                "n_steps": args.n_steps, "synapse_taus": args.synapse_tau,
                "amplitudes": amplitudes, "readout": "window (second half)",
                "loihi_form": "exact neurons, float weights, each image from rest"},
        seed=0, metrics=metrics, seconds=seconds, load_average=load)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pretrained", default="mnist-pc-spiking")
    parser.add_argument("--n-images", type=int, default=2000)
    parser.add_argument("--n-steps", type=int, default=150)
    parser.add_argument("--synapse-tau", type=float, nargs="+", default=[0.01, 0.02])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    from nengo_pc.results import write_json_atomic

    write_json_atomic(args.out, run(args))


if __name__ == "__main__":
    main()
