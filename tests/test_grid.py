"""The comparison grid on Dask (nengo_pc.grid, ``nengo-pc compare``).

One small grid (2 rules x MNIST x 2 seeds, 300 training and 200 test images, a
16-unit hidden layer, 2 epochs) runs on one local cluster of two worker processes
shared by the tests, and once one task after another by benchmarks/compare_rules.py
in a subprocess with the same thread counts (one TensorFlow thread, one BLAS
thread): the records must be equal bit for bit, also when a worker is killed
mid-task.
"""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="the grid extra is not installed "
                    "(pip install -e '.[grid]' -c constraints.txt)")

from nengo_pc import cli, grid  # noqa: E402  (after the skip)
from nengo_pc.comparison import Settings, grid_tasks, record_path  # noqa: E402
from nengo_pc.results import read_record  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RULES, DATASETS, SEEDS = ("bp-mse", "pc-standard"), ("mnist",), (0, 1)
SMALL = {"epochs": 2, "n_train": 300, "n_test": 200, "hidden": (16,)}
TASKS = grid_tasks(DATASETS, RULES, SEEDS)


def _settings(out_dir, **changes):
    return Settings(out_dir=str(out_dir), **{**SMALL, **changes})


def _small_flags():
    return ["--epochs", "2", "--n-train", "300", "--n-test", "200", "--hidden", "16"]


def _result(record):
    """A record without what says when, where and how fast it ran."""
    record = {k: v for k, v in record.items()
              if k not in ("created", "seconds", "machine", "versions", "execution")}
    record["history"] = [{k: v for k, v in entry.items() if k != "seconds"}
                         for entry in record["history"]]
    return record


@pytest.fixture(scope="module")
def sequential(real_data, tmp_path_factory):
    """The grid run one task after another, started in a subprocess at once (it
    overlaps the cluster's start); ``.wait()`` gives its records' directory."""
    out = tmp_path_factory.mktemp("sequential")
    env = {**os.environ, "NENGO_PC_DATA": str(real_data),
           **{name: "1" for name in grid.BLAS_THREAD_VARS}}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "compare_rules.py"),
         "--datasets", *DATASETS, "--rules", *RULES, "--seeds", *map(str, SEEDS),
         *_small_flags(), "--tf-threads", "1", "--out-dir", str(out), "--quiet"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    class Reference:
        def wait(self):
            _, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err[-3000:]
            return out

    yield Reference()
    if proc.poll() is None:
        proc.kill()


@pytest.fixture(scope="module")
def client(real_data):
    """A local cluster of two worker processes, one TensorFlow thread each."""
    os.environ.setdefault("NENGO_PC_DATA", str(real_data))
    client, cluster = grid.start_client(workers=2, tf_threads=1, n_tasks=len(TASKS),
                                        dashboard_address=":0")
    yield client
    client.close()
    cluster.close()


def _assert_equal_records(out, reference):
    for task in TASKS:
        path = record_path(out, task.dataset, task.rule, task.seed)
        ref = read_record(record_path(reference, task.dataset, task.rule, task.seed))
        got = read_record(path)
        assert got["execution"]["runner"] == "dask"
        assert got["execution"]["tf_intra_op_threads"] == 1
        assert _result(got) == _result(ref), task.name
    names = sorted(p.name for p in (Path(out) / "mnist").iterdir())
    # one whole record per task: no temporaries, no checkpoints left
    assert names == sorted(f"{t.rule}_seed{t.seed}.json" for t in TASKS)


def test_grid_equals_sequential_and_resumes(sequential, client, tmp_path, capsys):
    outcome = grid.run_grid(TASKS, _settings(tmp_path), client=client)
    assert not outcome.failed and not outcome.skipped
    assert set(outcome.done) == set(TASKS)
    _assert_equal_records(tmp_path, sequential.wait())
    err = capsys.readouterr().err
    assert "dashboard http" in err
    assert "[grid] 4/4 done, 0 running, 0 failed, 0 queued" in err
    # the two rules differ (so a swapped record would be caught)
    bp, pc = (read_record(record_path(tmp_path, "mnist", r, 0)) for r in RULES)
    assert bp["history"][-1]["loss"] != pc["history"][-1]["loss"]

    again = grid.run_grid(TASKS, _settings(tmp_path), client=client)
    assert again.skipped == TASKS and not again.done
    assert "4 of 4 tasks already recorded" in capsys.readouterr().err

    # the table regenerates from the records
    table = subprocess.run([sys.executable, str(ROOT / "analysis" / "comparison_table.py"),
                            str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert table.returncode == 0, table.stderr
    bp_mean = 100 * (sum(read_record(record_path(tmp_path, "mnist", "bp-mse", s))
                         ["metrics"]["test_accuracy"] for s in SEEDS) / 2)
    bp_line = next(line for line in table.stdout.splitlines()
                   if line.startswith("| BP |"))
    assert f"| BP | 784-16-10 relu | {bp_mean:.2f} +- " in bp_line
    assert "(n=2) | not run | 2 |" in bp_line


def _executing(client):
    """``{worker address: (pid, [keys it is running])}``."""
    def probe(dask_worker):
        return os.getpid(), [str(ts.key) for ts in dask_worker.state.executing]

    return client.run(probe)


def test_killed_worker_task_reruns_to_the_same_record(sequential, client, tmp_path,
                                                      capsys):
    outcome, errors = {}, []

    def run():
        try:
            outcome["grid"] = grid.run_grid(TASKS, _settings(tmp_path, resume=True),
                                            client=client)
        except Exception as err:  # pylint: disable=broad-except
            errors.append(err)

    runner = threading.Thread(target=run)
    runner.start()
    killed = None
    deadline = time.monotonic() + 300
    while killed is None and runner.is_alive() and time.monotonic() < deadline:
        for pid, keys in _executing(client).values():
            if keys:
                os.kill(pid, signal.SIGKILL)
                killed = (pid, keys[0])
                break
        else:
            time.sleep(0.1)
    runner.join(timeout=600)
    assert not errors, errors
    assert killed is not None, "no task was seen running"
    result = outcome["grid"]
    assert not result.failed and set(result.done) == set(TASKS)
    pid, key = killed
    task = next(t for t in TASKS if f"-{t.name.replace('/', '-')}-" in key)
    # the killed task was finished by another worker process
    assert result.done[task]["execution"]["pid"] != pid
    assert "left; the scheduler reruns its tasks elsewhere" in capsys.readouterr().err
    _assert_equal_records(tmp_path, sequential.wait())


def test_failing_task_is_reported_and_the_others_finish(sequential, client, tmp_path,
                                                        capsys):
    reference = sequential.wait()
    # two tasks done, one whose checkpoint is damaged, one to run
    for task in TASKS[:2]:
        target = record_path(tmp_path, task.dataset, task.rule, task.seed)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(record_path(reference, task.dataset, task.rule, task.seed), target)
    bad = TASKS[2]
    record_path(tmp_path, bad.dataset, bad.rule, bad.seed).with_suffix(
        ".checkpoint.npz").write_bytes(b"not a checkpoint")
    # the command line, on the running cluster by its address
    code = cli.main(["compare", "--rules", *RULES, "--seeds", *map(str, SEEDS),
                     *_small_flags(), "--out-dir", str(tmp_path), "--resume",
                     "--scheduler", client.scheduler.address])
    out, err = capsys.readouterr()
    assert code == 1
    assert f"FAILED {bad.name}: ValueError: resume: " in err
    assert "is not a readable checkpoint" in err
    assert "1 done, 2 already recorded, 1 failed" in out
    assert "1 of 4 tasks failed" in err
    good = TASKS[3]
    assert _result(read_record(record_path(tmp_path, good.dataset, good.rule,
                                           good.seed))) == _result(read_record(
        record_path(reference, good.dataset, good.rule, good.seed)))
    assert not record_path(tmp_path, bad.dataset, bad.rule, bad.seed).exists()


BAD_OPTIONS = [
    (["--rules", "telepathy"], 2, "--rules: invalid choice: 'telepathy'"),
    (["--rules", "backprop"], 2, "--rules: rule backprop has no benchmark settings"),
    (["--rules", "bp-mse", "--seeds", "0", "0"], 2, "--seeds: 0 given more than once"),
    (["--rules", "bp-mse", "--datasets", "cifar"], 2, "--datasets: invalid choice"),
    (["--rules", "bp-mse", "--workers", "0"], 2, "--workers: must be >= 1"),
    (["--rules", "bp-mse", "--epochs", "x"], 2, "--epochs: expected an integer"),
    (["--rules", "bp-mse", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], 2,
     "--workers: sizes the local cluster; not with --scheduler"),
    (["--rules", "bp-mse", "--workers", "2", "ENV:tcp://127.0.0.1:1"], 2,
     "--workers: sizes the local cluster; not with $DASK_SCHEDULER_ADDRESS"),
    (["--rules", "bp-mse", "--out-dir", "FILE"], 2, "exists and is not a directory"),
    (["--rules", "bp-mse", "--scheduler", "tcp://127.0.0.1:1"], 1,
     "--scheduler: cannot connect to tcp://127.0.0.1:1"),
    (["--rules", "bp-mse", "DAMAGED"], 1,
     "bp-mse_seed0.json is not a readable run record"),
]


@pytest.mark.parametrize("args, status, message", BAD_OPTIONS)
def test_bad_options_exit_with_a_message(args, status, message, tmp_path, capsys,
                                         monkeypatch):
    monkeypatch.setattr(grid, "CONNECT_TIMEOUT", "2s")
    monkeypatch.delenv(grid.SCHEDULER_VAR, raising=False)
    (tmp_path / "FILE").write_text("not a directory")
    argv = ["compare"]
    for arg in args:
        if arg.startswith("ENV:"):
            monkeypatch.setenv(grid.SCHEDULER_VAR, arg[4:])
        elif arg == "DAMAGED":  # a half-written record from elsewhere
            (tmp_path / "out" / "mnist").mkdir(parents=True)
            (tmp_path / "out" / "mnist" / "bp-mse_seed0.json").write_text('{"sche')
        else:
            argv.append(str(tmp_path / arg) if arg == "FILE" else arg)
    if "--out-dir" not in argv:
        argv += ["--out-dir", str(tmp_path / "out")]
    try:
        code = cli.main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    err = capsys.readouterr().err
    assert code == status, err
    assert message in err
    assert "Traceback" not in err
    if "DAMAGED" not in args:
        assert not list(tmp_path.glob("out/*/*.json"))


def test_compare_help_lists_the_benchmark_rules_without_importing_dask():
    from nengo_pc.pc.settings import BENCHMARK_RULES

    result = subprocess.run([sys.executable, "-m", "nengo_pc.cli", "compare", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert "--scheduler" in result.stdout and "--workers" in result.stdout
    for rule in BENCHMARK_RULES:
        assert rule in result.stdout
    code = ("import sys; from nengo_pc import cli; cli.build_parser(); "
            "print(sorted(m for m in ('distributed', 'dask', 'tensorflow') "
            "if m in sys.modules))")
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True,
                              text=True, timeout=120)
    assert imported.stdout.strip() == "[]", imported.stderr
