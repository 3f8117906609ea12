"""Profile of spiking PC inference in the tensorflow backend: where the time goes.

For the shipped ``mnist-pc-spiking`` network (784-500-500-10 lif) at the headline
settings (150 ms, pair amplitude 5e-4, seed 0), times the parts of one chunk of
``--chunk`` test images in `nengo_pc.networks.spiking_pc_tf.SweepInference`,
interleaved over ``--repeats`` rounds in one process (medians of wall and CPU
seconds): the input pairs over all steps, the two large prediction products alone,
each layer's loop over all steps (with its product), and the whole chunk, also
compiled with XLA; and, once,
building the network and Nengo's builder of it (the initial states).

Writes one run record (``--out``). The machine is shared: compare numbers within a
record, not across records.

Example::

    python benchmarks/spiking_pc_profile.py --chunk 100 --out results/bench/spiking_pc_profile.json
"""

import argparse
import os
import statistics
import time

import numpy as np

from nengo_pc import cli, pretrained
from nengo_pc.data import load_dataset
from nengo_pc.results import emit_record, make_record


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunk", type=cli.positive_int, default=100)
    parser.add_argument("--repeats", type=cli.positive_int, default=3)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    import tensorflow as tf

    from nengo_pc.networks.spiking import inference_network
    from nengo_pc.networks.spiking_pc_tf import SweepInference

    arch, params, _ = pretrained.load("mnist-pc-spiking")
    images = load_dataset("mnist", data_dir=args.data_dir).test.subset(args.chunk).images
    x = tf.constant(np.asarray(images, np.float32))
    seconds = {}
    t0 = time.perf_counter()
    built = inference_network(arch, params, duration=0.15, sweep_time=0.15,
                              pair_amplitude=5e-4, seed=0)
    seconds["network"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    runner = SweepInference(built["net"], params, 150, 0.001, built["fan_out"],
                            built["labels"], chunk=args.chunk)
    seconds["nengo_builder"] = time.perf_counter() - t0
    last = arch.n_layers

    def layer(l):
        return tf.function(lambda pre: runner._layer(l, pre))  # pylint: disable=protected-access

    pre = [tf.function(runner._input_layer)(x)[0]]  # pylint: disable=protected-access
    for l in range(1, last):
        pre.append(layer(l)(pre[-1])[0])
    parts = {"input pairs (value 0), all steps": (tf.function(
        runner._input_layer), x)}  # pylint: disable=protected-access
    for l in (1, 2):
        w = runner.weights[l - 1]
        parts[f"prediction product of layer {l} alone ({w.shape[0]} x {w.shape[1]}, "
              "all steps)"] = (tf.function(
                  lambda p, w=w: tf.matmul(tf.reshape(p, (-1, w.shape[0])), w)), pre[l - 1])
    for l in range(1, last + 1):
        parts[f"layer {l}, all steps (with its product)"] = (layer(l), pre[l - 1])
    parts["whole chunk"] = (runner._run, x)  # pylint: disable=protected-access
    xla = SweepInference(built["net"], params, 150, 0.001, built["fan_out"],
                         built["labels"], chunk=args.chunk, jit_compile=True)
    parts["whole chunk, XLA (jit_compile=True)"] = (xla._run, x)  # pylint: disable=protected-access
    t0 = time.perf_counter()
    for f, arg in parts.values():
        f(arg)  # trace
    seconds["tracing"] = time.perf_counter() - t0
    wall = {k: [] for k in parts}
    cpu = {k: [] for k in parts}
    loads = [os.getloadavg()[0]]
    for _ in range(args.repeats):
        for key, (f, arg) in parts.items():
            t0, c0 = time.perf_counter(), time.process_time()
            tf.nest.map_structure(lambda a: a if a is None else a.numpy(), f(arg))
            wall[key].append(time.perf_counter() - t0)
            cpu[key].append(time.process_time() - c0)
        loads.append(os.getloadavg()[0])
    metrics = {"parts": {k: {"wall_seconds": statistics.median(wall[k]),
                             "cpu_seconds": statistics.median(cpu[k])} for k in parts},
               "load_1min": {"min": min(loads), "max": max(loads)}}
    record = make_record(
        "benchmark", config={"benchmark": "spiking_pc_profile", "chunk": args.chunk,
                             "repeats": args.repeats, "params": "mnist-pc-spiking",
                             "duration": 0.15, "pair_amplitude": 5e-4},
        seed=0, metrics=metrics, seconds=seconds, raw={"wall": wall, "cpu": cpu})
    emit_record(record, args.out)


if __name__ == "__main__":
    main()
