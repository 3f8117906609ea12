r"""Profile: where the time of spiking online learning goes.

Builds the network of the headline online-learning runs (the settings of
``benchmarks/online_levers.py``: 784-500-10 relu, spiking pairs of amplitude 5e-5,
batch 10, 30 + 20 + 30 ms presentations, dt 1 ms) in `OnlineSimulator` and
measures, in one process:

* building: the Nengo network, ``nengo_dl.Simulator`` (Nengo's builder, NengoDL's
  graph), the first training call (tracing the graph) and the first evaluation
  call (another trace: a different number of steps);
* what a call is: NengoDL operators per step (by builder), TensorFlow operations
  executed per step (from TensorFlow's profiler), steps per call;
* steady state: wall and CPU seconds per training call, the part of a call spent
  outside the compiled graph (Python, the input pipeline), and the thread time of
  the executed operations by TensorFlow op type and by NengoDL builder
  (``tf.profiler``; durations include time a thread waited for a core, so on a
  loaded machine they are inflated and only their shares mean something);
* images/s against the minibatch size (each size a fresh simulator; the learned
  numbers change with it, this is speed only).

Example (the record in ``results/bench/online_profile.json``)::

    nice -n 19 python benchmarks/online_profile.py --out results/bench/online_profile.json
"""

import argparse
import collections
import glob
import json
import os
import re
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from online_levers import HEADLINE  # noqa: E402  (the settings, one place)


def build(batch_size, settings, simulator=None):
    """(network, simulator, seconds to build the network, the simulator):
    ``simulator`` is `OnlineSimulator` (NengoDL) unless given (its class)."""
    import nengo  # pylint: disable=import-outside-toplevel

    from nengo_pc.arch import mlp  # pylint: disable=import-outside-toplevel
    from nengo_pc.params import init_params  # pylint: disable=import-outside-toplevel
    from nengo_pc.pc.online_network import (  # pylint: disable=import-outside-toplevel
        OnlineSimulator,
        learning_network,
    )

    s = settings
    arch = mlp(tuple(s["hidden"]), s["activation"])
    t0 = time.perf_counter()
    net = learning_network(
        arch, init_params(arch, seed=s["seed"]), spiking=True,
        learning_rate=s["learning_rate"], pre_synapse=nengo.Lowpass(s["pre_synapse"]),
        tau=s["tau"], output_precision=s["output_precision"], feedback=s["feedback"],
        amplitude=s["amplitude"], synapse=s["synapse"], seed=s["seed"])
    t1 = time.perf_counter()
    run = (simulator or OnlineSimulator)(net, presentation(s), batch_size, dt=s["dt"],
                                         seed=s["seed"], input_coding="constant",
                                         max_rate=500.0)
    return net, run, t1 - t0, time.perf_counter() - t1


def presentation(s):
    from nengo_pc.pc.online_schedule import Presentation  # pylint: disable=C0415

    return Presentation(s["dt"], s["sweep_time"], s["settle_time"], s["learn_time"])


def train_calls(run, data, batch_size, first, n):
    """Wall and CPU seconds of ``n`` training calls from minibatch ``first``."""
    from nengo_pc.pc.online_schedule import one_hot  # pylint: disable=C0415

    wall, cpu = [], []
    for k in range(first, first + n):
        x = data.train.images[k * batch_size:(k + 1) * batch_size]
        y = one_hot(data.train.labels[k * batch_size:(k + 1) * batch_size], 10)
        w, c = time.perf_counter(), time.process_time()
        run.train(x, y, 1.0, np.random.default_rng([0, 1, k]))
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return wall, cpu


def nengo_dl_operators(sim):
    """NengoDL builders in the plan (one group of operators each: the online
    network uses NengoDL's no-op planner), counted by builder class."""
    builds = sim.tensor_graph.op_builder.op_builds
    return dict(collections.Counter(type(b).__name__ for b in builds.values())
                .most_common())


def tf_profile(run, data, batch_size, first, n, steps):
    """Run ``n`` calls under TensorFlow's profiler; aggregate its events."""
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    from tensorflow.tsl.profiler.protobuf import (  # pylint: disable=C0415
        xplane_pb2,
    )

    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        wall, _ = train_calls(run, data, batch_size, first, n)
        tf.profiler.experimental.stop()
        path = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)[0]
        space = xplane_pb2.XSpace()
        with open(path, "rb") as f:
            space.ParseFromString(f.read())
    by_type, by_builder = collections.Counter(), collections.Counter()
    n_type, n_builder = collections.Counter(), collections.Counter()
    graph_ps, executor_ps, n_ops = 0, 0, 0
    for plane in space.planes:
        names = plane.event_metadata
        for line in plane.lines:
            for event in line.events:
                name = names[event.metadata_id].name
                if line.name == "python" and name == "predict_function":
                    graph_ps += event.duration_ps
                if not line.name.startswith("tf_Compute"):
                    continue
                if name == "ExecutorState::Process":
                    executor_ps += event.duration_ps
                    continue
                if ":" not in name or "::" in name:
                    continue  # executor bookkeeping, not an operation
                path, op_type = name.rsplit(":", 1)
                match = re.search(r"iteration_0/([A-Za-z]+)", path)
                builder = match.group(1) if match else "outside the step"
                n_ops += 1
                by_type[op_type] += event.duration_ps
                n_type[op_type] += 1
                by_builder[builder] += event.duration_ps
                n_builder[builder] += 1
    per_call = 1e-12 / n

    def table(durations, counts):
        return [{"name": k, "thread_seconds_per_call": v * per_call,
                 "share": v / sum(durations.values()),
                 "ops_per_step": counts[k] / n / steps}
                for k, v in durations.most_common()]

    return {"calls": n, "wall_seconds_per_call": float(np.mean(wall)),
            "graph_seconds_per_call": graph_ps * per_call,
            "outside_graph_seconds_per_call": float(np.mean(wall)) - graph_ps * per_call,
            "executor_thread_seconds_per_call": executor_ps * per_call,
            "op_thread_seconds_per_call": sum(by_type.values()) * per_call,
            "ops_per_call": n_ops / n, "ops_per_step": n_ops / n / steps,
            "by_op_type": table(by_type, n_type),
            "by_builder": table(by_builder, n_builder)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=12,
                        help="timed training calls (after two untimed ones)")
    parser.add_argument("--profile-calls", type=int, default=4)
    parser.add_argument("--batch-sizes", type=int, nargs="*",
                        default=[1, 5, 10, 20, 50, 100])
    parser.add_argument("--batch-calls", type=int, default=6,
                        help="timed calls per batch size (after two untimed ones)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)

    import nengo_pc  # pylint: disable=import-outside-toplevel
    from nengo_pc.data import load_dataset  # pylint: disable=C0415
    from nengo_pc.results import make_record, write_json_atomic  # pylint: disable=C0415
    from nengo_pc.tf_startup import import_tensorflow_quietly  # pylint: disable=C0415

    load_before = os.getloadavg()
    t0 = time.perf_counter()
    import_tensorflow_quietly()
    import_seconds = time.perf_counter() - t0
    data = load_dataset("mnist")
    settings, batch = dict(HEADLINE), HEADLINE["batch_size"]
    steps = presentation(settings).n_train_steps
    _, run, network_seconds, simulator_seconds = build(batch, settings)
    first_wall, _ = train_calls(run, data, batch, 0, 1)
    t0 = time.perf_counter()
    run.outputs(data.test.images[:batch], 10, np.random.default_rng(0))
    first_eval = time.perf_counter() - t0
    t0 = time.perf_counter()
    run.outputs(data.test.images[batch:2 * batch], 10, np.random.default_rng(1))
    second_eval = time.perf_counter() - t0
    train_calls(run, data, batch, 1, 1)
    wall, cpu = train_calls(run, data, batch, 2, args.calls)
    operators = nengo_dl_operators(run.sim)
    profile = tf_profile(run, data, batch, 2 + args.calls, args.profile_calls, steps)
    run.close()
    print(f"[online profile] {batch / np.median(wall):.1f} images/s, "
          f"{profile['ops_per_step']:.0f} TensorFlow ops per step", file=sys.stderr)

    scaling = []
    for size in args.batch_sizes:
        _, run, _, sim_seconds = build(size, settings)
        train_calls(run, data, size, 0, 2)
        w, c = train_calls(run, data, size, 2, args.batch_calls)
        run.close()
        scaling.append({"batch_size": size, "simulator_seconds": sim_seconds,
                        "seconds_per_call": float(np.median(w)),
                        "images_per_second": size / float(np.median(w)),
                        "images_per_cpu_second": size / float(np.median(c)),
                        "load_average": os.getloadavg()})
        print(f"[online profile] batch {size}: {scaling[-1]['images_per_second']:.1f} "
              f"images/s", file=sys.stderr)

    metrics = {
        "steps_per_training_call": steps,
        "images_per_second": batch / float(np.median(wall)),
        "images_per_cpu_second": batch / float(np.median(cpu)),
        "seconds_per_call": float(np.median(wall)),
        "cpu_seconds_per_call": float(np.median(cpu)),
        "nengo_dl_builders_per_step": sum(operators.values()),
        "nengo_dl_builders": operators,
        "profile": profile,
        "batch_scaling": scaling,
    }
    record = make_record(
        "benchmark",
        config={"benchmark": "online_profile", "settings": settings,
                "nengo_pc": os.path.dirname(nengo_pc.__file__),
                "calls": args.calls, "profile_calls": args.profile_calls,
                "batch_sizes": args.batch_sizes, "batch_calls": args.batch_calls,
                "command": " ".join(["python", "benchmarks/online_profile.py"]
                                    + (argv if argv is not None else sys.argv[1:])),
                "load_average_before": load_before,
                "load_average_after": os.getloadavg()},
        seed=settings["seed"], metrics=metrics,
        seconds={"import_tensorflow": import_seconds, "network": network_seconds,
                 "simulator": simulator_seconds, "first_training_call": first_wall[0],
                 "first_evaluation_call": first_eval,
                 "second_evaluation_call": second_eval},
        call_wall=wall, call_cpu=cpu)
    if args.out:
        write_json_atomic(args.out, record)
    print(json.dumps({k: v for k, v in metrics.items() if k != "profile"}, indent=2))
    return record


if __name__ == "__main__":
    main()
