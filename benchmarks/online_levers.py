r"""Benchmark: levers on the speed of spiking online learning, A/B, interleaved.

Each *variant* runs the network of the headline online-learning runs (docs/results.md,
"Online learning of the PC network": 784-500-10 relu, spiking pairs of amplitude
5e-5, batch 10, learning rate 0.3 per second of window decaying over 240,000
samples, 30 ms sweep, 20 ms settle, 30 ms learning window, dt 1 ms, seed 0) in
its own Python process: it builds `nengo_pc.pc.online_network.learning_network` in
`OnlineSimulator`, presents ``--calls`` minibatches of the first MNIST training
images (the first ``--warmup`` calls are not timed: the first traces the graph),
then ``--eval-calls`` stateless evaluation calls (the network's own
classification). It records the wall and CPU (process) seconds of every call, and
a SHA-256 digest of the learned parameters after the calls and of every output of
every call, so that variants that compute the same numbers show the same digests.

A variant is ``NAME=TREE[,KEY=VALUE...]``: TREE is ``current`` (this checkout),
``before`` (the commit ``--before``) or any commit of this repository (its
``nengo_pc`` package extracted with ``git archive``); an upper-case KEY is an
environment variable of the process (``TF_ENABLE_ONEDNN_OPTS=0``,
``TF_NUM_INTRAOP_THREADS=1``), a key ``sim.NAME`` an argument of
``nengo_dl.Simulator`` (``sim.unroll_simulation=2``), any other lower-case key a
NengoDL setting applied to the network after it is built
(``nengo_dl.configure_settings``, e.g. ``inference_only=True``), except
``simulator='tensorflow'``, which runs the network in
`nengo_pc.pc.online_tf.OnlineTFSimulator` instead of NengoDL, and ``tf.NAME``, an
argument of that simulator; values are Python literals. A
variant whose numbers are not the first variant's gets
``max_param_difference_to_<first>``: the largest difference of every 997th
learned parameter (float32 rounding moves spikes, see
``tests/test_online_tf.py``). The variants run in the order given, ``--repeats`` rounds; the
ratios are each variant's images/s over the first variant's *in the same round*
(median over rounds). The machine's load average is recorded at every run.

Example (the record in ``results/bench/online_levers.json``)::

    nice -n 19 python benchmarks/online_levers.py --before 35e8476 \
        --variants before=before current=current --repeats 3 \
        --out results/bench/online_levers.json
"""

import argparse
import ast
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

#: The headline run's settings (benchmarks/spiking_pc_online.py's long runs).
HEADLINE = {"hidden": [500], "activation": "relu", "batch_size": 10,
            "learning_rate": 0.3, "lr_decay_samples": 240000, "amplitude": 5e-5,
            "sweep_time": 0.03, "settle_time": 0.02, "learn_time": 0.03, "dt": 0.001,
            "tau": 0.005, "synapse": 0.002, "pre_synapse": 0.02,
            "output_precision": 1.0, "feedback": "transpose", "seed": 0}

WORKER = r"""
import hashlib, json, os, sys, time
import numpy as np
import nengo, nengo_pc
from nengo_pc.tf_startup import import_tensorflow_quietly
tf = import_tensorflow_quietly()
# the thread pools, as TensorFlow's environment variables name them (set here too,
# before the first operation, in case this TensorFlow does not read them)
if "TF_NUM_INTRAOP_THREADS" in os.environ:
    tf.config.threading.set_intra_op_parallelism_threads(
        int(os.environ["TF_NUM_INTRAOP_THREADS"]))
if "TF_NUM_INTEROP_THREADS" in os.environ:
    tf.config.threading.set_inter_op_parallelism_threads(
        int(os.environ["TF_NUM_INTEROP_THREADS"]))
import nengo_dl
from nengo_pc.arch import mlp
from nengo_pc.data import load_dataset
from nengo_pc.params import init_params
from nengo_pc.pc.online_network import OnlineSimulator, learning_network
from nengo_pc.pc.online_schedule import Presentation, one_hot

args = json.loads(sys.argv[1])
s = args["settings"]
B = s["batch_size"]
arch = mlp(tuple(s["hidden"]), s["activation"])
data = load_dataset("mnist")
presentation = Presentation(s["dt"], s["sweep_time"], s["settle_time"], s["learn_time"])
window = s["dt"] * presentation.learn
t0 = time.perf_counter()
net = learning_network(
    arch, init_params(arch, seed=s["seed"]), spiking=True,
    learning_rate=s["learning_rate"], pre_synapse=nengo.Lowpass(s["pre_synapse"]),
    tau=s["tau"], output_precision=s["output_precision"], feedback=s["feedback"],
    amplitude=s["amplitude"], synapse=s["synapse"], seed=s["seed"])
options = dict(args["nengo_dl"])
kind = options.pop("simulator", "nengo_dl")
simulator_options = {k[4:]: v for k, v in options.items() if k.startswith("sim.")}
tf_options = {k[3:]: v for k, v in options.items() if k.startswith("tf.")}
settings = {k: v for k, v in options.items() if not k.startswith(("sim.", "tf."))}
if settings:
    with net:
        nengo_dl.configure_settings(**settings)
if simulator_options:  # OnlineSimulator makes the simulator: give it these too
    class Simulator(nengo_dl.Simulator):
        def __init__(self, *a, **kw):
            super().__init__(*a, **{**kw, **simulator_options})
    Simulator.__module__ = nengo_dl.Simulator.__module__  # params_from tests it
    nengo_dl.Simulator = Simulator
t1 = time.perf_counter()
if kind == "tensorflow":
    from nengo_pc.pc.online_tf import OnlineTFSimulator as OnlineSimulator
run = OnlineSimulator(net, presentation, B, dt=s["dt"], seed=s["seed"],
                      input_coding="constant", max_rate=500.0, **tf_options)
t2 = time.perf_counter()
images, targets = data.train.images, one_hot(data.train.labels, arch.sizes[-1])
wall, cpu, outputs = [], [], []
for k in range(args["calls"]):
    factor = 1.0 / (1.0 + k * B / s["lr_decay_samples"])
    rng = np.random.default_rng([s["seed"], 1, k])
    w, c = time.perf_counter(), time.process_time()
    out = run.train(images[k * B:(k + 1) * B], targets[k * B:(k + 1) * B], factor, rng)
    wall.append(time.perf_counter() - w)
    cpu.append(time.process_time() - c)
    outputs.append(np.asarray(out))
eval_wall, eval_cpu = [], []
for k in range(args["eval_calls"]):
    rng = np.random.default_rng([s["seed"], 3, k])
    w, c = time.perf_counter(), time.process_time()
    out = run.outputs(data.test.images[k * B:(k + 1) * B], 10, rng)
    eval_wall.append(time.perf_counter() - w)
    eval_cpu.append(time.process_time() - c)
    outputs.append(np.asarray(out))
params = run.params()
digest = hashlib.sha256()
for a in params.weights + params.biases:
    digest.update(np.ascontiguousarray(a, np.float32).tobytes())
out_digest = hashlib.sha256()
for o in outputs:
    out_digest.update(np.ascontiguousarray(o, np.float32).tobytes())
print(json.dumps({"module": nengo_pc.__file__, "network_seconds": t1 - t0,
                  "simulator_seconds": t2 - t1, "call_wall": wall, "call_cpu": cpu,
                  "eval_wall": eval_wall, "eval_cpu": eval_cpu,
                  "params_sha256": digest.hexdigest(),
                  "params": [np.asarray(a, np.float32).ravel()[::997].tolist()
                             for a in params.weights + params.biases],
                  "outputs_sha256": out_digest.hexdigest()}))
"""


def extract(commit, into):
    """The ``nengo_pc`` package of ``commit`` of this repository, under ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "nengo_pc"],
                             check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into)
    return into


def parse_variant(text):
    """``NAME=TREE[,KEY=VALUE...]`` -> (name, tree, env, nengo_dl settings)."""
    name, _, spec = text.partition("=")
    tree, *pairs = spec.split(",")
    if not name or not tree:
        raise argparse.ArgumentTypeError(
            f"--variants: {text!r} is not NAME=TREE[,KEY=VALUE...]")
    env, settings = {}, {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise argparse.ArgumentTypeError(f"--variants: {pair!r} is not KEY=VALUE")
        if key.isupper():
            env[key] = value
        else:
            settings[key] = ast.literal_eval(value)
    return name, tree, env, settings


def run(path, env, args):
    # run in ``path`` so that its nengo_pc is the one imported (a ``-c`` script puts
    # the working directory first on sys.path)
    env = {**os.environ, **env, "PYTHONPATH": str(path)}
    done = subprocess.run([sys.executable, "-c", WORKER, json.dumps(args)], env=env,
                          cwd=str(path), check=False, capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stderr[-3000:])
        raise RuntimeError(f"a worker failed (exit {done.returncode}): {args}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", type=parse_variant,
                        default=[parse_variant("before=before"),
                                 parse_variant("current=current")])
    parser.add_argument("--before", default="35e8476",
                        help="commit whose nengo_pc is the tree 'before'")
    parser.add_argument("--calls", type=int, default=22,
                        help="training calls (minibatches) per run")
    parser.add_argument("--warmup", type=int, default=2,
                        help="first calls not timed (the first traces the graph)")
    parser.add_argument("--eval-calls", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=HEADLINE["batch_size"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    from nengo_pc.results import emit_record, make_record

    settings = {**HEADLINE, "batch_size": args.batch_size}
    load_before = os.getloadavg()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"current": ROOT}
        for _, tree, _, _ in args.variants:
            if tree not in trees:
                commit = args.before if tree == "before" else tree
                trees[tree] = Path(extract(commit, Path(tmp) / tree))
        for repeat in range(args.repeats):
            for name, tree, env, nengo_dl_settings in args.variants:
                load = os.getloadavg()
                result = run(trees[tree], env, {
                    "settings": settings, "nengo_dl": nengo_dl_settings,
                    "calls": args.calls, "eval_calls": args.eval_calls})
                if not result["module"].startswith(str(trees[tree])):
                    raise RuntimeError(f"{name}: imported {result['module']}")
                timed = slice(args.warmup, None)
                result.update(
                    variant=name, tree=tree, env=env, nengo_dl=nengo_dl_settings,
                    repeat=repeat, load_average_before=load,
                    load_average_after=os.getloadavg(),
                    first_call_seconds=result["call_wall"][0],
                    images_per_second=args.batch_size
                    / float(np.median(result["call_wall"][timed])),
                    images_per_cpu_second=args.batch_size
                    / float(np.median(result["call_cpu"][timed])),
                    eval_images_per_second=(
                        args.batch_size / float(np.median(result["eval_wall"]))
                        if result["eval_wall"] else None))
                print(json.dumps({k: result[k] for k in (
                    "variant", "repeat", "images_per_second", "images_per_cpu_second",
                    "eval_images_per_second", "params_sha256", "load_average_after")}),
                    file=sys.stderr)
                runs.append(result)
    names = [v[0] for v in args.variants]
    reference = names[0]
    metrics = {}
    for name in names:
        mine = [r for r in runs if r["variant"] == name]
        ratios, cpu_ratios = [], []
        for r in mine:
            ref = next(x for x in runs if x["variant"] == reference
                       and x["repeat"] == r["repeat"])
            ratios.append(r["images_per_second"] / ref["images_per_second"])
            cpu_ratios.append(r["images_per_cpu_second"] / ref["images_per_cpu_second"])
        ref_digests = {(x["params_sha256"], x["outputs_sha256"]) for x in runs
                       if x["variant"] == reference}
        metrics[name] = {
            "images_per_second": [r["images_per_second"] for r in mine],
            "images_per_cpu_second": [r["images_per_cpu_second"] for r in mine],
            "eval_images_per_second": [r["eval_images_per_second"] for r in mine],
            f"ratio_to_{reference}": ratios,
            f"median_ratio_to_{reference}": float(np.median(ratios)),
            f"cpu_ratio_to_{reference}": cpu_ratios,
            f"median_cpu_ratio_to_{reference}": float(np.median(cpu_ratios)),
            f"max_param_difference_to_{reference}": max(
                float(np.max(np.abs(np.subtract(p, q)))) for r in mine
                for x in runs if x["variant"] == reference and x["repeat"] == r["repeat"]
                for p, q in zip(r["params"], x["params"])),
            "same_numbers_as_reference": all(
                (r["params_sha256"], r["outputs_sha256"]) in ref_digests for r in mine),
        }
    record = make_record(
        "benchmark",
        config={"benchmark": "online_levers", "before": args.before,
                "variants": [{"name": n, "tree": t, "env": e, "nengo_dl": s}
                             for n, t, e, s in args.variants],
                "settings": settings, "calls": args.calls, "warmup": args.warmup,
                "eval_calls": args.eval_calls, "repeats": args.repeats,
                "order": "interleaved: the variants in order, per round",
                "command": " ".join(["python", "benchmarks/online_levers.py"]
                                    + (argv if argv is not None else sys.argv[1:])),
                "load_average_before": load_before,
                "load_average_after": os.getloadavg()},
        seed=settings["seed"], metrics=metrics,
        seconds={"total_timed_calls": sum(sum(r["call_wall"]) for r in runs)},
        runs=runs)
    return emit_record(record, args.out, shown=metrics)


if __name__ == "__main__":
    main()
