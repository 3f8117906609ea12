"""Profile of spiking CNN inference in the tensorflow backend: where the time goes.

For the softlif-cnn network (conv 32-64-128 LIF + dense 10) and ``--n-steps`` steps,
times, interleaved over ``--repeats`` rounds in one process (medians):

* the parts of a presentation of ``--images`` images, per chunk size: the LIF update
  of each hidden layer over all steps, and each convolution over all steps (on
  random spikes at the network's measured firing probability);
* the whole prediction for each (chunk, block) setting of `TFSpikingBackend`;
* building: the initial voltages (Nengo's builder) and the first, tracing call.

Writes one run record (``--out``). The machine is shared: compare numbers within a
record, not across records.

Example::

    python benchmarks/spiking_profile.py --params /work/runs/perf-spiking/cnn/params.npz \\
        --out results/bench/spiking_profile.json
"""

import argparse
import os
import statistics
import time

import numpy as np

from nengo_pc.arch import load_params
from nengo_pc.data import load_dataset
from nengo_pc.networks.presentation import Presentation
from nengo_pc.results import emit_record, make_record


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--params", required=True)
    parser.add_argument("--n-steps", type=int, default=30)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--chunks", type=int, nargs="+", default=[200, 10])
    parser.add_argument("--blocks", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    import tensorflow as tf

    from nengo_pc.spiking_tf import TFSpikingBackend, initial_voltages

    arch, params, _ = load_params(args.params)
    p = Presentation(n_steps=args.n_steps, synapse="none")
    x = load_dataset("mnist", data_dir=args.data_dir).test.images[:args.images]
    seconds, timings = {}, {}

    t0 = time.perf_counter()
    initial_voltages(arch, params, p, 0)
    seconds["initial_voltages"] = time.perf_counter() - t0

    # spike probability per step, measured on the first chunk
    model = TFSpikingBackend(arch, params, 10, 0, presentation=p)
    t0 = time.perf_counter()
    model.predict(x[:10])
    seconds["first_call_10_images"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.predict(x[:10])
    seconds["second_call_10_images"] = time.perf_counter() - t0
    probability = 0.025  # ~25 Hz at dt 1 ms (results/bench_spiking_cnn.json rates)

    rng = np.random.RandomState(0)
    tasks = {}
    for chunk in args.chunks:
        reps = args.images // chunk
        for i in range(arch.n_layers - 1):
            n = arch.sizes[i + 1]
            J = tf.constant(rng.randn(chunk, n).astype(np.float32) + 1.5)
            state = (tf.constant(rng.rand(chunk, n).astype(np.float32)), tf.zeros((chunk, n)))

            @tf.function
            def lif(J=J, state=state):
                total = 0.0
                for _ in range(args.n_steps):
                    s, state = model._lif(J, state)
                    total += tf.reduce_sum(s)
                return total
            tasks[f"chunk{chunk}/lif_layer{i + 1}"] = (lif, reps)
        for i in range(1, arch.n_layers - 1):
            spikes = tf.constant((rng.rand(chunk, arch.sizes[i]) < probability)
                                 .astype(np.float32) * 10)

            @tf.function
            def conv(i=i, spikes=spikes):
                total = 0.0
                for _ in range(args.n_steps):
                    total += tf.reduce_sum(model._linear(i, spikes + 0.0 * total))
                return total
            tasks[f"chunk{chunk}/conv{i + 1}"] = (conv, reps)
        for block in args.blocks:
            m = TFSpikingBackend(arch, params, chunk, 0, presentation=p, block=block,
                                 chunk=chunk)
            m.predict(x[:chunk])
            tasks[f"chunk{chunk}/predict_block{block}"] = (lambda m=m: m.predict(x), 1)
    for fn, reps in tasks.values():
        fn()
    loads = [os.getloadavg()[0]]
    for _ in range(args.repeats):
        for name, (fn, reps) in tasks.items():
            t0 = time.perf_counter()
            for _ in range(reps):
                fn()
            timings.setdefault(name, []).append(time.perf_counter() - t0)
        loads.append(os.getloadavg()[0])
    metrics = {f"{name}_seconds": statistics.median(v) for name, v in timings.items()}
    record = make_record(
        "benchmark",
        config={"benchmark": "spiking_profile", "params": args.params,
                "n_steps": args.n_steps, "images": args.images, "chunks": args.chunks,
                "blocks": args.blocks, "repeats": args.repeats,
                "spike_probability_for_convs": probability},
        seed=0, metrics=metrics, seconds=seconds, timings=timings,
        load_average={"min_1min": min(loads), "max_1min": max(loads),
                      "mean_1min": sum(loads) / len(loads)})
    emit_record(record, args.out)


if __name__ == "__main__":
    main()
