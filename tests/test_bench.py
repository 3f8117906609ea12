"""benchmarks/bench.py runs pairs interleaved in fresh processes and records them."""

import subprocess
import sys
from pathlib import Path

import pytest

from nengo_pc.results import read_record

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench.py"

TRIVIAL = '''
import os, time
NAME = "trivial"
DESCRIPTION = "sleeps: ours half as long as the peer"
SETTINGS = {"sleep": 0.3}
QUICK = {"sleep": 0.1}

def ours(settings):
    block = bytearray(64 * 2 ** 20)  # touch 64 MiB (untimed): peak RSS must show it
    block[::4096] = b"x" * len(block[::4096])
    t0 = time.perf_counter()
    time.sleep(settings["sleep"] / 2)
    return {"seconds": time.perf_counter() - t0, "accuracy": 0.5, "pid": os.getpid()}

def peer(settings):
    t0 = time.perf_counter()
    time.sleep(settings["sleep"])
    return {"seconds": time.perf_counter() - t0, "accuracy": 0.25, "pid": os.getpid()}
'''


@pytest.fixture
def pairs_dir(tmp_path):
    folder = tmp_path / "mypairs"
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    (folder / "trivial.py").write_text(TRIVIAL)
    (folder / "broken.py").write_text(TRIVIAL.replace('"seconds"', '"secs"')
                                      .replace('NAME = "trivial"', 'NAME = "broken"'))
    return folder


def _bench(pairs_dir, *args):
    return subprocess.run([sys.executable, str(BENCH), "--pairs-dir", str(pairs_dir),
                           *args], capture_output=True, text=True, check=False)


def test_list(pairs_dir):
    proc = _bench(pairs_dir, "--list")
    assert proc.returncode == 0, proc.stderr
    assert "trivial" in proc.stdout and "sleeps: ours half" in proc.stdout


def test_interleaved_record(pairs_dir, tmp_path):
    out = tmp_path / "out"
    proc = _bench(pairs_dir, "--pairs", "trivial", "--repeats", "2", "--quick",
                  "--out-dir", str(out))
    assert proc.returncode == 0, proc.stderr
    record = read_record(out / "trivial.json")
    assert record["kind"] == "bench"
    assert record["config"]["settings"]["sleep"] == 0.1  # QUICK applied
    runs = record["runs"]
    assert len(runs["ours"]) == len(runs["peer"]) == 2
    # every run in its own process
    pids = {r["pid"] for side in runs.values() for r in side}
    assert len(pids) == 4
    assert 0.3 < record["metrics"]["time_ratio"] < 0.8
    assert record["metrics"]["speedup"] == pytest.approx(1 / record["metrics"]["time_ratio"])
    assert record["metrics"]["ours_accuracy"] == 0.5
    assert record["metrics"]["peer_accuracy"] == 0.25
    assert record["metrics"]["ours_peak_rss_mb"] > record["metrics"]["peer_peak_rss_mb"] + 50
    for side in runs.values():
        for r in side:
            assert len(r["load_before"]) == 3 and len(r["load_after"]) == 3
    assert record["load_average"]["max_1min"] >= record["load_average"]["min_1min"]
    assert "numpy" in record["versions"] and record["machine"]["cpu_count"]


def test_set_and_tag(pairs_dir, tmp_path):
    proc = _bench(pairs_dir, "--pairs", "trivial", "--repeats", "1", "--set",
                  "sleep=0.05", "--tag", "short", "--out-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert read_record(tmp_path / "trivial-short.json")["config"]["settings"]["sleep"] == 0.05


@pytest.mark.parametrize("args, message", [
    (["--pairs", "nope"], "no pair 'nope'"),
    (["--pairs", "trivial", "--set", "wrong=1"], "--set: expected key=value"),
    (["--pairs", "trivial", "--repeats", "0"], "--repeats: must be >= 1"),
])
def test_bad_options(pairs_dir, tmp_path, args, message):
    proc = _bench(pairs_dir, *args, "--out-dir", str(tmp_path))
    assert proc.returncode == 2
    assert message in proc.stderr


def test_side_without_seconds_fails(pairs_dir, tmp_path):
    proc = _bench(pairs_dir, "--pairs", "broken", "--repeats", "1", "--out-dir",
                  str(tmp_path))
    assert proc.returncode != 0
    assert "returned no 'seconds'" in proc.stderr
    assert not (tmp_path / "broken.json").exists()


def test_scaling_fit_and_figure(tmp_path):
    """benchmarks/scaling.py's fits recover known laws, and its figure draws every
    sweep of a record."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "scaling.py"
    spec = importlib.util.spec_from_file_location("scaling", path)
    scaling = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scaling)
    xs = [1, 2, 4, 8, 16]
    quadratic = scaling.fit(xs, [3.0 * x ** 2 for x in xs])
    assert quadratic["exponent"] == pytest.approx(2.0)
    assert quadratic["exponent_upper"] == pytest.approx(2.0)
    line = scaling.fit(xs, [0.5 + 2.0 * x for x in xs])
    assert line["linear"]["slope"] == pytest.approx(2.0)
    assert line["linear"]["intercept"] == pytest.approx(0.5)
    assert line["linear"]["r2"] == pytest.approx(1.0)
    # an affine cost bends in log-log: steeper in its upper half
    assert line["exponent"] < line["exponent_upper"] < 1.0
    points = [{"x": x, "seconds_per_image": 1e-3 * x, "bp_seconds_per_image": 1e-3}
              for x in xs]
    record = {"sweeps": {name: {"points": points, "fit": scaling.fit(xs, xs)}
                         for name in ("width", "steps")}}
    scaling.plot(record, tmp_path / "scaling.png")
    assert (tmp_path / "scaling.png").stat().st_size > 10000



def test_online_cost_model_refuses_steps_outside_a_call():
    """benchmarks/online_tf_cost.py: a number of coupled steps outside a call's 82
    is refused (exit 2, naming --steps), before TensorFlow is imported."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "online_tf_cost.py"
    for steps in ("0", "83"):
        proc = subprocess.run([sys.executable, str(script), "--steps", steps],
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 2
        assert f"--steps: between 1 and 82 (a call's steps), got {steps}" in proc.stderr
