"""The spiking-PC inference benchmark (benchmarks/spiking_pc.py) end to end."""

import subprocess
import sys
from pathlib import Path

from nengo_pc.params import load_params
from nengo_pc.results import read_record

ROOT = Path(__file__).resolve().parent.parent


def _run(*args):
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "spiking_pc.py"),
                           *map(str, args)], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)


def test_trains_runs_spiking_and_refuses_params_of_another_dataset(tmp_path, real_data):
    params, out = tmp_path / "p.npz", tmp_path / "r.json"
    small = ["--hidden", "16", "--epochs", "1", "--n-test", "40", "--n-states", "10",
             "--n-poisson", "20", "--duration", "0.05", "--report-ms", "25", "50",
             "--headline-ms", "50", "--batch-size", "20", "--params", params,
             "--data-dir", real_data, "--quiet"]
    result = _run("--dataset", "fashion_mnist", "--out", out, *small)
    assert result.returncode == 0, result.stderr
    # no --params file yet: it says it trains one first (not silently)
    assert f"--params {params} does not exist" in result.stderr
    record = read_record(out)
    assert record["config"]["dataset"] == "fashion_mnist"
    assert load_params(params)[2]["dataset"] == "fashion_mnist"
    metrics = record["metrics"]
    # measured (784-16-10 lif, one epoch, 40 test images): rate 70%, spiking 52.5% at
    # 50 ms (10% at 25 ms, before the output has formed)
    assert metrics["rate_test_accuracy"] > 0.5
    assert metrics["spiking_test_accuracy"] > 0.3
    assert [row["ms"] for row in record["constant"]] == [25.0, 50.0]
    assert record["constant"][0]["synops"] < record["constant"][1]["synops"]

    # the tensorflow backend runs the same network: the same accuracies and synops
    tf_out = tmp_path / "tf.json"
    result = _run("--dataset", "fashion_mnist", "--out", tf_out, "--backend",
                  "tensorflow", *small)
    assert result.returncode == 0, result.stderr
    assert f"loaded {params}" in result.stderr and "training" not in result.stderr
    tf_record = read_record(tf_out)
    assert tf_record["config"]["inference"]["backend"] == "tensorflow"
    for got, expected in zip(tf_record["constant"], record["constant"]):
        assert got["accuracy"] == expected["accuracy"]
        assert abs(got["synops"] - expected["synops"]) < 1e-5 * expected["synops"]
    free = _run("--dataset", "fashion_mnist", "--backend", "tensorflow",
                "--sweep-time", "0.01", *small)
    assert free.returncode == 2 and "--sweep-time: " in free.stderr

    wrong = _run("--dataset", "mnist", *small)
    assert wrong.returncode != 0
    assert "--params: " in wrong.stderr and "trained on fashion_mnist" in wrong.stderr
