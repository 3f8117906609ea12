"""``nengo-pc compare``: the rule-comparison grid as Dask tasks.

Every (data set, rule, seed) of the grid is one Dask task running
`nengo_pc.comparison.run_task` (the function ``benchmarks/compare_rules.py`` calls one
task after another), which writes its record atomically to
``<out-dir>/<dataset>/<rule>_seed<k>.json``, where ``analysis/comparison_table.py``
reads it. Tasks whose record exists are not submitted, so a stopped grid resumes.

Where the tasks run: by default a `distributed.LocalCluster` of worker *processes*,
one per usable core (``--workers N`` sizes it), each running one task at a time with
a TensorFlow thread pool of ``cores / workers`` threads
(`nengo_pc.grid_worker.TensorFlowThreads`); with ``--scheduler tcp://HOST:PORT`` (or
``$DASK_SCHEDULER_ADDRESS``) an existing cluster, whose workers must see the same
``--out-dir`` and data directory (docs/grid.md).

Reliability comes from Dask and from the task: a task whose worker dies (killed,
out of memory) is rescheduled on another worker by the scheduler (up to
``distributed.scheduler.allowed-failures`` times); since a task writes its record in
one atomic rename, the rerun replaces nothing half-written, and since training is
seeded, it gives the same record. A task that raises (a diverging rule, a bad
checkpoint) is reported with its error while the others go on; the command exits
with status 1 if any task failed.

The parser (`add_parser`) imports neither Dask nor TensorFlow; `run_command` needs
the ``grid`` extra (``pip install nengo-pc[grid]``).
"""

import os
import sys
import time
import uuid
from pathlib import Path

#: The Dask configuration's environment variable naming a scheduler.
SCHEDULER_VAR = "DASK_SCHEDULER_ADDRESS"

#: Seconds between looks at the tasks' states, and between progress lines when
#: nothing changes (on a terminal the line is rewritten at every look).
POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 30.0

#: How long to try reaching a scheduler given by address.
CONNECT_TIMEOUT = "20s"

#: Thread counts of the math libraries numpy may use, which Dask sets to 1 in the
#: workers it starts; a local worker gets its share of the cores in them too.
BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def add_parser(sub, positive_int, nonnegative_int, add_data_options):
    """Add the ``compare`` subcommand to the ``nengo-pc`` subparsers ``sub``."""
    from nengo_pc import rules
    from nengo_pc.datafiles import DATASETS
    from nengo_pc.pc.settings import ACTIVATION, BENCHMARK_RULES

    compare = sub.add_parser(
        "compare", help="run the rule-comparison grid as Dask tasks",
        description="Train and test every (rule, data set, seed) with the rule's "
                    "benchmark settings, each as a Dask task, writing "
                    "OUT_DIR/<dataset>/<rule>_seed<k>.json (read by "
                    "analysis/comparison_table.py). Finished records are skipped. "
                    "Runs on a local cluster unless --scheduler (or "
                    f"${SCHEDULER_VAR}) names one.")
    compare.add_argument("--rules", nargs="+", required=True, choices=rules.names(),
                         metavar="RULE", help="learning rules (registry names with "
                         "benchmark settings: " + ", ".join(BENCHMARK_RULES) + ")")
    compare.add_argument("--datasets", nargs="+", default=["mnist"], choices=DATASETS,
                         help="data sets (default: mnist)")
    compare.add_argument("--seeds", nargs="+", type=nonnegative_int, default=[0],
                         metavar="SEED", help="seeds (default: 0)")
    compare.add_argument("--out-dir", required=True,
                         help="directory of the records (shared by every worker)")
    compare.add_argument("--epochs", type=positive_int, default=None,
                         help="override each rule's benchmark epochs")
    compare.add_argument("--n-train", type=positive_int, default=None,
                         help="train on the first N training images (default: all)")
    compare.add_argument("--n-test", type=positive_int, default=None,
                         help="test on the first N test images (default: all)")
    compare.add_argument("--hidden", nargs="+", type=positive_int, default=None,
                         metavar="WIDTH", help="one MLP for every rule with these "
                         "hidden widths (default: each rule's benchmark network)")
    compare.add_argument("--activation", default=None,
                         choices=["relu", "tanh", "sigmoid"],
                         help=f"hidden nonlinearity of that MLP (default: {ACTIVATION})")
    compare.add_argument("--resume", action="store_true",
                         help="continue interrupted tasks from their checkpoints")
    compare.add_argument("--force", action="store_true",
                         help="rerun tasks whose record exists")
    compare.add_argument("--scheduler", default=None, metavar="ADDRESS",
                         help="an existing Dask scheduler, e.g. tcp://HOST:8786 "
                              f"(default: ${SCHEDULER_VAR}, else a local cluster)")
    compare.add_argument("--workers", type=positive_int, default=None,
                         help="local cluster: worker processes (default: one per "
                              "usable core, at most one per task)")
    compare.add_argument("--tf-threads", type=positive_int, default=None,
                         help="TensorFlow threads per worker (default: the host's "
                              "cores / its worker processes)")
    compare.add_argument("--dashboard-address", default=":8787",
                         help="local cluster: where the Dask dashboard listens "
                              "(default :8787; :0 picks a free port)")
    add_data_options(compare)
    return compare


def check_arguments(args):
    """Refuse inconsistent options (`nengo_pc.commands.UsageError`, exit 2); return
    the scheduler address to use (None: a local cluster)."""
    from nengo_pc.commands import UsageError
    from nengo_pc.pc.settings import BENCHMARK_RULES

    for rule in args.rules:
        if rule not in BENCHMARK_RULES:
            raise UsageError(f"--rules: rule {rule} has no benchmark settings "
                             "(nengo_pc.pc.settings); rules with them: "
                             + ", ".join(BENCHMARK_RULES))
    for option, values in (("--rules", args.rules), ("--datasets", args.datasets),
                           ("--seeds", args.seeds)):
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:
            raise UsageError(f"{option}: {', '.join(repeated)} given more than once")
    if not args.out_dir.strip():
        raise UsageError("--out-dir: must not be empty")
    scheduler = args.scheduler or os.environ.get(SCHEDULER_VAR) or None
    if scheduler is not None:
        where = "--scheduler" if args.scheduler else f"${SCHEDULER_VAR}"
        for option, given in (("--workers", args.workers is not None),
                              ("--dashboard-address",
                               args.dashboard_address != ":8787")):
            if given:
                raise UsageError(f"{option}: sizes the local cluster; not with "
                                 f"{where} {scheduler}")
    return scheduler


def run_command(args):
    """``nengo-pc compare``: check, run the grid, report; UserError if a task failed."""
    from nengo_pc.commands import UserError, writable_dir
    from nengo_pc.comparison import Settings, finished, grid_tasks

    scheduler = check_arguments(args)
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UserError("nengo-pc compare needs Dask: pip install 'nengo-pc[grid]' "
                        "(see docs/grid.md)") from None
    out_dir = writable_dir("--out-dir", args.out_dir).resolve()
    data_dir = str(Path(args.data_dir).resolve()) if args.data_dir else None
    settings = Settings(
        out_dir=str(out_dir), epochs=args.epochs, n_train=args.n_train,
        n_test=args.n_test, hidden=tuple(args.hidden) if args.hidden else None,
        activation=args.activation, data_dir=data_dir, resume=args.resume,
        force=args.force)
    tasks = grid_tasks(args.datasets, args.rules, args.seeds)
    try:
        for task in tasks:
            finished(task, settings)
    except ValueError as err:
        raise UserError(str(err).replace("out_dir: ", "--out-dir: ", 1)) from None
    if scheduler is None:
        # the local workers share this machine's files: make sure each data set is
        # here (downloaded once, not by every worker at once) before starting them
        from nengo_pc.data import load_dataset

        for dataset in args.datasets:
            load_dataset(dataset, data_dir=data_dir)
    outcome = run_grid(tasks, settings, scheduler=scheduler, workers=args.workers,
                       tf_threads=args.tf_threads,
                       dashboard_address=args.dashboard_address)
    print(outcome.summary())
    if outcome.failed:
        raise UserError(f"{len(outcome.failed)} of {len(tasks)} tasks failed "
                        "(errors above); rerun the command to retry them")
    return outcome


class GridOutcome:
    """What became of each task of a grid.

    Attributes
    ----------
    done : dict
        ``{Task: result}`` of tasks run now (`nengo_pc.comparison.run_task`'s dict).
    skipped : list of Task
        Tasks whose record existed.
    failed : dict
        ``{Task: "ErrorType: message"}``.
    seconds : float
        Wall-clock time of the grid, cluster start to last result.
    task_seconds : float
        Wall-clock time from submitting the tasks to the last result.
    dashboard : str or None
        The Dask dashboard's address.
    """

    def __init__(self):
        self.done, self.skipped, self.failed = {}, [], {}
        self.seconds, self.task_seconds, self.dashboard = 0.0, 0.0, None

    def summary(self):
        """One line: how many tasks were done, skipped and failed."""
        return (f"nengo-pc compare: {len(self.done)} done, {len(self.skipped)} "
                f"already recorded, {len(self.failed)} failed "
                f"({format_duration(self.seconds)})")


def format_duration(seconds):
    """``"1h02m"``, ``"3m05s"`` or ``"12s"``."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def _error_text(future):
    err = future.exception()
    return f"{type(err).__name__}: {err}"


def start_client(scheduler=None, workers=None, tf_threads=None, n_tasks=1,
                 dashboard_address=":8787"):
    """A `distributed.Client` of an existing scheduler or a new local cluster, with
    `nengo_pc.grid_worker.TensorFlowThreads` registered on its workers.

    Returns
    -------
    (Client, LocalCluster or None)
    """
    import logging

    from distributed import Client, LocalCluster
    from distributed.comm import get_address_host

    from nengo_pc.commands import UserError
    from nengo_pc.comparison import usable_cores
    from nengo_pc.grid_worker import TensorFlowThreads

    cluster = None
    if scheduler is None:
        cores = usable_cores()
        workers = workers or max(1, min(cores, n_tasks))
        threads = tf_threads or max(1, cores // workers)
        # processes, one task each: TensorFlow's seed and thread pool are per process
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=dashboard_address,
                               silence_logs=logging.ERROR,
                               env={name: str(threads) for name in BLAS_THREAD_VARS})
        client = Client(cluster)
        plugin = TensorFlowThreads(threads)
    else:
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, ValueError, TypeError) as err:
            raise UserError(f"--scheduler: cannot connect to {scheduler} "
                            f"({type(err).__name__}: {err})") from None
        per_host = {}
        for address in client.nthreads():
            host = get_address_host(address)
            per_host[host] = per_host.get(host, 0) + 1
        plugin = TensorFlowThreads(tf_threads, per_host)
    client.register_plugin(plugin)
    return client, cluster


def run_grid(tasks, settings, *, scheduler=None, workers=None, tf_threads=None,
             dashboard_address=":8787", stream=None, client=None):
    """Run every task not yet recorded as a Dask task; report progress on ``stream``.

    Parameters
    ----------
    tasks : list of nengo_pc.comparison.Task
    settings : nengo_pc.comparison.Settings
    scheduler : str, optional
        Address of an existing scheduler (default: a new local cluster).
    workers, tf_threads : int, optional
        Local worker processes; TensorFlow threads per worker (`start_client`).
    dashboard_address : str
        Local cluster: where its dashboard listens.
    stream : file, optional
        Progress lines (default: stderr).
    client : distributed.Client, optional
        Use this client (its workers already set up) instead of starting one.

    Returns
    -------
    GridOutcome
    """
    from nengo_pc.comparison import finished
    from nengo_pc.grid_worker import run_in_worker

    stream = stream or sys.stderr
    outcome = GridOutcome()
    todo = []
    for task in tasks:
        (outcome.skipped if finished(task, settings) is not None else todo).append(task)
    if outcome.skipped:
        print(f"{len(outcome.skipped)} of {len(tasks)} tasks already recorded in "
              f"{settings.out_dir}", file=stream, flush=True)
    if not todo:
        return outcome
    t0 = time.monotonic()
    own_client = client is None
    cluster = None
    if own_client:
        client, cluster = start_client(scheduler, workers, tf_threads, len(todo),
                                       dashboard_address)
    try:
        outcome.dashboard = client.dashboard_link
        n_workers = len(client.nthreads())
        print(f"Dask: {client.scheduler.address}, {n_workers} workers; dashboard "
              f"{outcome.dashboard}", file=stream, flush=True)
        # keys unique to this run, so grids sharing a scheduler never collide
        run_id = uuid.uuid4().hex[:8]
        submitted = time.monotonic()
        futures = {client.submit(run_in_worker, task, settings, pure=False,
                                 key=f"nengo-pc-{task.name.replace('/', '-')}-{run_id}"):
                   task for task in todo}
        _watch(client, futures, outcome, stream, t0)
        outcome.task_seconds = time.monotonic() - submitted
    finally:
        if own_client:
            client.close()
            if cluster is not None:
                cluster.close()
    outcome.seconds = time.monotonic() - t0
    return outcome


def _watch(client, futures, outcome, stream, t0):
    """Collect results as tasks end, printing each end and the progress line."""
    progress = _Progress(stream, len(futures), t0)
    pending = dict(futures)
    # client.nthreads() asks the scheduler each time; scheduler_info() returns a
    # cache that the client's background refresh may have emptied of workers
    workers = set(client.nthreads())
    try:
        while pending:
            for future, task in list(pending.items()):
                if future.status == "finished":
                    result = future.result()
                    del pending[future]
                    if not Path(result["path"]).exists():
                        outcome.failed[task] = (
                            f"the worker wrote {result['path']}, which this machine "
                            "cannot see: --out-dir must be on a file system every "
                            "worker shares")
                        progress.event(f"FAILED {task.name}: {outcome.failed[task]}")
                        continue
                    outcome.done[task] = result
                    where = ("its record was already written" if result["skipped"]
                             else "{host} pid {pid}".format(**result["execution"]))
                    progress.event(f"done {task.name}: test accuracy "
                                   f"{100 * result['test_accuracy']:.2f}% ({where})")
                elif future.status in ("error", "cancelled", "lost"):
                    del pending[future]
                    outcome.failed[task] = (_error_text(future)
                                            if future.status == "error"
                                            else f"task {future.status}")
                    progress.event(f"FAILED {task.name}: {outcome.failed[task]}")
            if not pending:
                break
            nthreads = client.nthreads()
            now = set(nthreads)
            for address in sorted(workers - now):
                progress.event(f"worker {address} left; the scheduler reruns its "
                               "tasks elsewhere")
            workers = now
            keys = {f.key for f in pending}
            # the scheduler assigns a worker more tasks than it runs at once; it
            # runs as many as it has threads (one, as the local cluster starts them)
            running = sum(min(len(keys.intersection(on)),
                              nthreads.get(address, 1))
                          for address, on in client.processing().items())
            progress.show(len(outcome.done), running, len(outcome.failed))
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        client.cancel(list(pending))
        raise
    progress.show(len(outcome.done), 0, len(outcome.failed), final=True)


class _Progress:
    """The progress line: done / running / failed / queued and the time left."""

    def __init__(self, stream, total, t0):
        self.stream, self.total, self.t0 = stream, total, t0
        self.tty = getattr(stream, "isatty", lambda: False)()
        self.last_status, self.last_time, self.open_line = None, 0.0, False

    def event(self, text):
        if self.open_line:
            self.stream.write("\n")
            self.open_line = False
        print(text, file=self.stream, flush=True)

    def show(self, done, running, failed, final=False):
        elapsed = time.monotonic() - self.t0
        ended = done + failed
        queued = self.total - ended - running
        if ended and ended < self.total:
            # throughput so far: tasks end at about the rate they have been ending
            left = f"about {format_duration(elapsed / ended * (self.total - ended))} left"
        elif ended == self.total:
            left = "finished"
        else:
            left = "time left unknown until a task ends"
        text = (f"[grid] {done}/{self.total} done, {running} running, {failed} "
                f"failed, {queued} queued; {format_duration(elapsed)} elapsed, {left}")
        status = (done, running, failed, queued)
        now = time.monotonic()
        if self.tty:
            self.stream.write("\r" + text.ljust(100) + ("\n" if final else ""))
            self.stream.flush()
            self.open_line = not final
        elif (status != self.last_status or final
              or now - self.last_time >= HEARTBEAT_SECONDS):
            print(text, file=self.stream, flush=True)
            self.last_time = now
        self.last_status = status
