"""One run of the rule comparison: a (data set, rule, seed) task and its record.

The comparison table (``analysis/comparison_table.py``) reads one run record per data
set, learning rule and seed, ``<out-dir>/<dataset>/<rule>_seed<k>.json`` (``<rule>``
a registry name of `nengo_pc.rules`). `run_task` makes one of them: it trains the
rule's benchmark network (`nengo_pc.pc.settings.benchmark_arch`) with its benchmark
settings (`nengo_pc.pc.settings.benchmark_config`) through `nengo_pc.training.train`,
tests it and writes the record atomically, so a reader (the table, a resumed grid)
sees either no record or a whole one. Both ways of running the grid call it: one task
after another (``benchmarks/compare_rules.py``) and as Dask tasks (`nengo_pc.grid`,
``nengo-pc compare``). No TensorFlow is imported here until a task runs.
"""

import dataclasses
import functools
import os
import socket
import time
from pathlib import Path

from nengo_pc.results import find_seed_record, make_record, read_record, write_json_atomic


@dataclasses.dataclass(frozen=True)
class Task:
    """One run of the grid.

    Parameters
    ----------
    dataset : str
        A data set of `nengo_pc.data.DATASETS`.
    rule : str
        A rule of `nengo_pc.pc.settings.BENCHMARK_RULES` (registry names).
    seed : int
        Seed of initialisation, data order and random feedback.
    """

    dataset: str
    rule: str
    seed: int

    @property
    def name(self):
        """``"<dataset>/<rule>/seed<k>"``, as progress lines name the task."""
        return f"{self.dataset}/{self.rule}/seed{self.seed}"


@dataclasses.dataclass(frozen=True)
class Settings:
    """What every task of one grid shares.

    Parameters
    ----------
    out_dir : str
        Records go to ``<out_dir>/<dataset>/<rule>_seed<k>.json``; checkpoints beside
        them (``.checkpoint.npz``).
    epochs : int, optional
        Override the benchmark's epochs (small runs).
    n_train, n_test : int, optional
        Use only the first N training / test images (small runs; default all).
    hidden : tuple of int, optional
        One MLP for every rule, with these hidden widths (default: each rule's
        benchmark network).
    activation : str, optional
        The hidden nonlinearity of that MLP (default: the benchmark's).
    data_dir : str, optional
        Where the data sets are (default ``$NENGO_PC_DATA``, else the user cache).
    resume : bool
        Continue an interrupted task from its checkpoint (to the result of an
        uninterrupted run).
    force : bool
        Rerun tasks whose record exists.
    progress : bool
        Per-epoch progress lines of `nengo_pc.training.train` on stderr.
    """

    out_dir: str
    epochs: int = None
    n_train: int = None
    n_test: int = None
    hidden: tuple = None
    activation: str = None
    data_dir: str = None
    resume: bool = False
    force: bool = False
    progress: bool = False


def grid_tasks(datasets, rules, seeds):
    """Every (data set, seed, rule), in the order the sequential script runs them."""
    return [Task(dataset, rule, int(seed)) for dataset in datasets for seed in seeds
            for rule in rules]


def record_path(out_dir, dataset, rule, seed):
    """Where the record of one run goes."""
    return Path(out_dir) / dataset / f"{rule}_seed{seed}.json"


def finished(task, settings):
    """The path of ``task``'s record if it exists (and ``settings.force`` is off).

    Raises
    ------
    ValueError
        Naming ``out_dir`` and the file, if the record is damaged: it is neither
        taken as done nor silently replaced.
    """
    if settings.force:
        return None
    existing = find_seed_record(settings.out_dir, task.dataset, task.rule, task.seed)
    if existing is not None:
        try:
            read_record(existing)
        except (OSError, ValueError) as err:
            raise ValueError(f"out_dir: {existing} is not a readable run record "
                             f"({err}); remove it to run {task.name} again") from None
    return existing


def task_arch(task, settings):
    """The network ``task`` trains: the rule's benchmark MLP unless ``settings``
    give one for every rule."""
    from nengo_pc.arch import mlp
    from nengo_pc.pc.settings import ACTIVATION, HIDDEN, benchmark_arch

    if settings.hidden is None and settings.activation is None:
        return benchmark_arch(task.rule)
    return mlp(tuple(settings.hidden or HIDDEN),
               activation=settings.activation or ACTIVATION)


# A process running several tasks (a Dask worker, the sequential script) decodes each
# data set once; the subsets below are views, so they cost no copies.
@functools.lru_cache(maxsize=2)
def _dataset(name, data_dir):
    from nengo_pc.data import load_dataset

    return load_dataset(name, data_dir=data_dir)


def task_data(dataset, settings):
    """The data set with its splits cut to ``settings.n_train`` / ``n_test``."""
    data = _dataset(dataset, settings.data_dir)
    cut = {}
    for split, n in (("train", settings.n_train), ("test", settings.n_test)):
        if n is not None:
            full = getattr(data, split)
            cut[split] = full.subset(min(n, len(full)))
    return dataclasses.replace(data, **cut) if cut else data


def run_one(arch, data, dataset, rule, seed, epochs=None, progress=True,
            checkpoint_path=None, resume=False):
    """Train and test one (data set, rule, seed); return its run record."""
    from nengo_pc.pc.settings import benchmark_config
    from nengo_pc.training import evaluate_rule, train

    overrides = {} if epochs is None else {"epochs": epochs}
    config = benchmark_config(rule, seed=seed, dataset=dataset, **overrides)
    t0 = time.perf_counter()
    result = train(arch, data.train, config, checkpoint_path=checkpoint_path,
                   resume=resume, progress=progress)
    t1 = time.perf_counter()
    test = evaluate_rule(arch, result.params, data.test, rule,
                         config.rule_options(arch))
    final = [c for c in result.history[-1]["alignment"] if c is not None]
    metrics = {
        "test_accuracy": test["accuracy"],
        "test_squared_error": test["squared_error"],
        "final_alignment": result.history[-1]["alignment"],
        "final_alignment_min": min(final) if final else None,
        "final_alignment_mean": sum(final) / len(final) if final else None,
    }
    seconds = {"per_epoch": result.seconds_per_epoch, "build": result.build_seconds,
               "test": time.perf_counter() - t1, "total": time.perf_counter() - t0}
    return make_record(
        "benchmark",
        config={"benchmark": "compare_rules", "dataset": dataset, "rule": rule,
                "architecture": arch.to_dict(), "train": config.to_dict(),
                "n_train": len(data.train), "n_test": len(data.test)},
        seed=seed, metrics=metrics, seconds=seconds, history=result.history,
    )


def usable_cores():
    """Cores this process may run on (its CPU affinity, else the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def configure_tensorflow(threads):
    """Give TensorFlow in this process ``threads`` intra-op and inter-op threads.

    Must run before TensorFlow executes anything: its thread pools are made then and
    never resized. Dask sets ``OMP_NUM_THREADS`` (and MKL's, OpenBLAS's) to 1 in
    the workers it starts, which TensorFlow's own pools do not follow, so the grid
    sets them explicitly (`nengo_pc.grid_worker.TensorFlowThreads`). The thread
    count is part of a run's identity: float32 sums split over another number of
    threads round differently (docs/grid.md), so a record states it
    (`execution_info`) and the sequential script takes it too (``--tf-threads``).

    Returns
    -------
    (int, int)
        The intra-op and inter-op thread counts in force.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import nengo_pc  # noqa: F401  (selects Keras 2 before TensorFlow is imported)
    import tensorflow as tf

    threading_ = tf.config.threading
    try:
        threading_.set_intra_op_parallelism_threads(threads)
        # the training step is a chain of dependent ops: independent ops to overlap
        # are few, so the inter-op pool gets the same budget, not more
        threading_.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        pass  # TensorFlow already ran here; the counts below say what is in force
    return (threading_.get_intra_op_parallelism_threads(),
            threading_.get_inter_op_parallelism_threads())


def execution_info(runner):
    """Where and how a task ran (kept in its record under ``"execution"``)."""
    import tensorflow as tf

    return {"runner": runner, "host": socket.gethostname(), "pid": os.getpid(),
            "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads()}


def run_task(task, settings, runner="sequential"):
    """Run one task to its record, unless the record exists.

    The record is written atomically (`nengo_pc.results.write_json_atomic`) and the
    task's checkpoint, superseded by it, removed afterwards; a task stopped at any
    point leaves either no record or a whole one, and running it again (with
    ``settings.resume``: from its checkpoint) gives the same record.

    Parameters
    ----------
    task : Task
    settings : Settings
    runner : str
        How the task is run (``"sequential"``, ``"dask"``), for the record.

    Returns
    -------
    dict
        ``path`` (str), ``skipped`` (True if the record existed),
        ``test_accuracy``, ``seconds_per_epoch`` and ``execution``
        (see `execution_info`; None when skipped).
    """
    from nengo_pc.training.loop import remove_stale_temporaries

    existing = finished(task, settings)
    if existing is not None:
        # a task rerun after its worker died between writing the record and
        # reporting back: the work is done
        record = read_record(existing)
        return {"path": str(existing), "skipped": True,
                "test_accuracy": record["metrics"]["test_accuracy"],
                "seconds_per_epoch": record["seconds"].get("per_epoch"),
                "execution": None}
    path = record_path(settings.out_dir, task.dataset, task.rule, task.seed)
    # temporaries of a write interrupted by a killed process
    remove_stale_temporaries(path)
    checkpoint = path.with_suffix(".checkpoint.npz")
    arch = task_arch(task, settings)
    data = task_data(task.dataset, settings)
    record = run_one(arch, data, task.dataset, task.rule, task.seed, settings.epochs,
                     progress=settings.progress, checkpoint_path=checkpoint,
                     resume=settings.resume)
    record["execution"] = execution_info(runner)
    write_json_atomic(path, record)
    checkpoint.unlink(missing_ok=True)  # superseded by the record
    return {"path": str(path), "skipped": False,
            "test_accuracy": record["metrics"]["test_accuracy"],
            "seconds_per_epoch": record["seconds"]["per_epoch"],
            "execution": record["execution"]}
