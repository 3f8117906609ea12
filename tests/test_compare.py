"""The rule-comparison runs (benchmarks/compare_rules.py) and their table."""

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nengo_pc.pc.settings import (
    BASELINE_TRAINING, COMMON, RULE_OPTIONS, benchmark_config,
)
from nengo_pc.results import make_record, read_record, write_json_atomic

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_config_shares_everything_but_the_rule_options():
    configs = {rule: benchmark_config(rule, seed=2) for rule in RULE_OPTIONS
               if rule not in BASELINE_TRAINING}
    assert set(configs) == {"bp-mse", "pc-standard", "pc-fixed-prediction", "pc-zil",
                            "pc-incremental"}
    for rule, config in configs.items():
        assert config.rule == rule and config.seed == 2
        assert config.options == RULE_OPTIONS[rule]
        for key, value in COMMON.items():
            assert getattr(config, key) == value
    assert benchmark_config("pc-standard", epochs=3).epochs == 3
    assert benchmark_config("eqprop").options["beta"] == 0.2
    with pytest.raises(ValueError, match="rule"):
        benchmark_config("telepathy")


def _run(args, **kwargs):
    return subprocess.run([sys.executable, *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=ROOT, **kwargs)


def test_compare_rules_runs_once_and_resumes(tmp_path):
    args = [ROOT / "benchmarks" / "compare_rules.py", "--datasets", "mnist", "--rules",
            "bp-mse", "pc-zil", "--seeds", "0", "--epochs", "1", "--n-train", "300",
            "--hidden", "16", "--out-dir", tmp_path, "--quiet"]
    first = _run(args)
    assert first.returncode == 0, first.stderr
    assert "2 runs done, 0 already recorded" in first.stderr
    bp = read_record(tmp_path / "mnist" / "bp-mse_seed0.json")
    zil = read_record(tmp_path / "mnist" / "pc-zil_seed0.json")
    # Z-IL is exact backprop: same start, same data order, same accuracy
    assert zil["metrics"]["test_accuracy"] == bp["metrics"]["test_accuracy"]
    assert zil["metrics"]["final_alignment_min"] > 0.999
    assert bp["config"]["train"]["epochs"] == 1 and bp["config"]["n_train"] == 300
    assert not list((tmp_path / "mnist").glob("*.checkpoint.npz"))  # removed
    # a record under the rule's name from before the registry counts as done
    (tmp_path / "mnist" / "pc-zil_seed0.json").rename(tmp_path / "mnist" / "zil_seed0.json")
    again = _run(args)
    assert again.returncode == 0, again.stderr
    assert "0 runs done, 2 already recorded" in again.stderr


def _record(rule, dataset, seed, accuracy, alignment=0.99, synops=None):
    extra = {}
    if synops is not None:
        extra["cost_per_inference"] = {"constant_input": {"synops": synops}}
    return make_record(
        "benchmark", config={"benchmark": "compare_rules", "rule": rule,
                             "dataset": dataset, "train": {"epochs": 15}},
        seed=seed, metrics={"test_accuracy": accuracy, "final_alignment_min": alignment},
        seconds={"per_epoch": 4.0 + seed}, **extra)


def test_comparison_table_aggregates_seeds(tmp_path):
    for seed, acc in enumerate((0.98, 0.99, 0.97)):
        write_json_atomic(tmp_path / "mnist" / f"fa_seed{seed}.json",
                          _record("fa", "mnist", seed, acc, alignment=0.5 + 0.1 * seed))
    write_json_atomic(tmp_path / "fashion_mnist" / "fa_seed0.json",
                      _record("fa", "fashion_mnist", 0, 0.885))
    out_csv = tmp_path / "table.csv"
    result = _run([ROOT / "analysis" / "comparison_table.py", tmp_path,
                   "--csv", out_csv, "--markdown", tmp_path / "table.md"])
    assert result.returncode == 0, result.stderr
    fa_line = next(line for line in result.stdout.splitlines()
                   if line.startswith("| FA |"))
    # mean 98.00, sample std 1.00 over 3 seeds; one Fashion-MNIST seed has no std;
    # seconds and cosines average over all four runs
    assert "| - | 98.00 +- 1.00 (n=3) | 88.50 (n=1) | 15 | 4.8 | 0.698 |" in fa_line
    assert "| yes |" in fa_line  # weight transport
    assert "| BP | - | not run | not run |" in result.stdout
    assert (tmp_path / "table.md").read_text().strip() == result.stdout.strip()
    # records named before the registry ("zil") count as the rule's ("pc-zil")
    write_json_atomic(tmp_path / "mnist" / "zil_seed0.json",
                      _record("zil", "mnist", 0, 0.985))
    result = _run([ROOT / "analysis" / "comparison_table.py", tmp_path])
    assert "| PC Z-IL | - | 98.50 (n=1) | not run |" in result.stdout
    (tmp_path / "mnist" / "zil_seed0.json").unlink()
    with open(out_csv) as f:
        rows = {row["method"]: row for row in csv.DictReader(f)}
    assert float(rows["FA"]["mnist_mean"]) == pytest.approx(98.0)
    assert rows["FA"]["weight transport"] == "yes"

    # an online run: epochs and seconds per epoch from the samples it saw
    online = make_record(
        "benchmark", config={"benchmark": "spiking_pc_online",
                             "online": {"n_samples": 90000}},
        seed=0, metrics={"test_accuracy": 0.95}, seconds={"train": 3000.0})
    write_json_atomic(tmp_path / "mnist" / "spiking_pc_online_seed0.json", online)
    result = _run([ROOT / "analysis" / "comparison_table.py", tmp_path])
    online_line = next(line for line in result.stdout.splitlines()
                       if line.startswith("| spiking PC, online |"))
    assert "| 95.00 (n=1) | not run | 1.5 | 2000.0 |" in online_line
    # once its spiking network has classified the test set, that is its score
    online["metrics"]["final_spiking_accuracy"] = 0.94
    write_json_atomic(tmp_path / "mnist" / "spiking_pc_online_seed0.json", online)
    result = _run([ROOT / "analysis" / "comparison_table.py", tmp_path])
    assert "| spiking PC, online | - | 94.00 (n=1) |" in result.stdout

    missing = _run([ROOT / "analysis" / "comparison_table.py", tmp_path / "nowhere"])
    assert missing.returncode == 2 and "results_dir" in missing.stderr


def test_rule_alignment_figure_averages_angles_over_seeds(tmp_path):
    sys.path.insert(0, str(ROOT / "analysis"))
    try:
        from rule_alignment import angles
    finally:
        sys.path.pop(0)
    records = []
    for seed, cosines in enumerate(([1.0, 0.5], [0.0, -0.5], [0.5, 0.5])):
        record = _record("fa", "mnist", seed, 0.9)
        # three epochs for seeds 0 and 1, two for seed 2: averaged over the first two
        record["history"] = [{"epoch": e + 1, "alignment": cosines}
                             for e in range(3 - seed // 2)]
        records.append(record)
        write_json_atomic(tmp_path / "mnist" / f"fa_seed{seed}.json", record)
    epochs, degrees = angles(records)
    assert list(epochs) == [1, 2] and degrees.shape == (3, 2, 2)
    np.testing.assert_allclose(degrees[:, 0, 0], [0.0, 90.0, 60.0])
    np.testing.assert_allclose(degrees[:, 1, 1], [60.0, 120.0, 60.0])

    out = tmp_path / "alignment.png"
    result = _run([ROOT / "analysis" / "rule_alignment.py", tmp_path, "--out", out])
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 10000
    empty = tmp_path / "empty"
    (empty / "mnist").mkdir(parents=True)
    result = _run([ROOT / "analysis" / "rule_alignment.py", empty, "--out", out])
    assert result.returncode == 2 and "no records of fa" in result.stderr
