"""The nengo-pc command line: train/evaluate round trip and argument errors."""

import json
import subprocess
import sys

import pytest

from nengo_pc import cli
from nengo_pc.results import read_record


def _run(*args):
    return subprocess.run([sys.executable, "-m", "nengo_pc.cli", *args],
                          capture_output=True, text=True, timeout=120)


def test_train_then_evaluate(tmp_path, real_data, capsys):
    out = tmp_path / "run"
    rc = cli.main(["train", "--hidden", "64", "--epochs", "4", "--n-train", "1000",
                   "--batch-size", "50", "--seed", "1", "--out-dir", str(out),
                   "--data-dir", str(real_data), "--quiet"])
    assert rc == 0
    train = read_record(out / "train.json")
    assert train["kind"] == "train" and train["seed"] == 1
    assert train["config"]["architecture"]["sizes"] == [784, 64, 10]
    assert train["config"]["train"]["epochs"] == 4
    assert train["config"]["n_train"] == 1000
    assert len(train["history"]) == 4
    assert train["metrics"]["test_accuracy"] > 0.7
    assert train["seconds"]["per_epoch"] > 0
    assert (out / "params.npz").is_file() and (out / "checkpoint.npz").is_file()

    rc = cli.main(["evaluate", "--run-dir", str(out), "--data-dir", str(real_data)])
    assert rc == 0
    evaluation = read_record(out / "evaluate.json")
    assert evaluation["config"]["dataset"] == "mnist"
    # the reloaded parameters reproduce the accuracy measured after training
    assert evaluation["metrics"]["accuracy"] == train["metrics"]["test_accuracy"]
    assert "test accuracy" in capsys.readouterr().out

    rc = cli.main(["evaluate", "--run-dir", str(out), "--data-dir", str(real_data),
                   "--backend", "nengo", "--n-examples", "200",
                   "--out", str(tmp_path / "ref.json")])
    assert rc == 0
    assert json.loads((tmp_path / "ref.json").read_text())["config"]["n_examples"] == 200


@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"]])
def test_help(command):
    result = _run(*command, "--help")
    assert result.returncode == 0
    assert "usage: nengo-pc" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--out-dir", "x", "--epochs", "0"], "--epochs: must be >= 1"),
        (["train", "--out-dir", "x", "--epochs", "ten"], "--epochs: expected an integer"),
        (["train", "--out-dir", "x", "--lr", "-0.1"], "--lr: must be a finite number > 0"),
        (["train", "--out-dir", "x", "--dataset", "cifar"], "--dataset: invalid choice"),
        (["train", "--out-dir", "x", "--data-dir", "/nonexistent"],
         "--data-dir: /nonexistent is not an existing directory"),
        (["train"], "the following arguments are required: --out-dir"),
        (["evaluate", "--run-dir", "/nonexistent"], "--run-dir"),
        (["fly"], "invalid choice: 'fly'"),
        (["train", "--out-dir", "x", "--max-shift", "2", "--data-dir", "/"],
         "--max-shift: backprop shifts the images of convolutional models only"),
    ],
)
def test_bad_arguments_exit_2(args, message):
    result = _run(*args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr


def test_missing_params_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["evaluate", "--run-dir", str(tmp_path)]) == 1
    assert "params.npz not found" in capsys.readouterr().err


def test_train_pc_rule_then_evaluate(tmp_path, real_data):
    out = tmp_path / "pc"
    rc = cli.main(["train", "--rule", "pc-standard", "--hidden", "32", "--epochs", "3",
                   "--n-train", "1000", "--lr", "0.003", "--output-precision", "0.1",
                   "--max-shift", "1", "--out-dir", str(out),
                   "--data-dir", str(real_data), "--quiet"])
    assert rc == 0
    train = read_record(out / "train.json")
    assert train["config"]["rule"] == "pc-standard"
    assert train["config"]["train"]["rule"] == "standard"
    assert train["config"]["train"]["output_precision"] == 0.1
    assert train["config"]["train"]["max_shift"] == 1
    assert len(train["history"][-1]["alignment"]) == 2
    # a round trip, not an accuracy benchmark: well above chance and still learning
    assert train["metrics"]["test_accuracy"] > 0.3
    assert train["history"][-1]["loss"] < train["history"][0]["loss"]
    # PC-trained parameters run in the same Nengo network (free output = feedforward)
    assert cli.main(["evaluate", "--run-dir", str(out), "--data-dir", str(real_data)]) == 0
    assert (read_record(out / "evaluate.json")["metrics"]["accuracy"]
            == train["metrics"]["test_accuracy"])


def test_pc_rule_options_checked():
    result = _run("train", "--out-dir", "x", "--rule", "pc-zil", "--n-steps", "1",
                  "--data-dir", "/")  # options fail before any data are read
    assert result.returncode == 2, result.stderr
    assert "--rule pc-zil" in result.stderr and "n_steps" in result.stderr


def test_softlif_train_then_spiking_evaluate(tmp_path, real_data):
    out = tmp_path / "lif"
    assert cli.main(["train", "--model", "softlif-mlp", "--hidden", "64", "--epochs", "3",
                     "--n-train", "2000", "--lr", "0.003", "--tau-ref", "0.004",
                     "--out-dir", str(out), "--data-dir", str(real_data), "--quiet"]) == 0
    train = read_record(out / "train.json")
    assert train["config"]["architecture"]["lif"]["tau_ref"] == 0.004
    rc = cli.main(["evaluate", "--run-dir", str(out), "--data-dir", str(real_data),
                   "--mode", "spiking", "--n-steps", "60", "--synapse", "lowpass",
                   "--input-coding", "poisson", "--n-examples", "200",
                   "--batch-size", "100"])
    assert rc == 0
    spiking = read_record(out / "evaluate.json")
    assert spiking["config"]["presentation"]["input_coding"] == "poisson"
    assert spiking["config"]["presentation"]["n_steps"] == 60
    # rate accuracy is measured on all 10,000 images, spiking on the first 200
    assert spiking["metrics"]["accuracy"] > train["metrics"]["test_accuracy"] - 0.1


def test_spiking_mode_needs_lif(tmp_path, real_data):
    out = tmp_path / "relu"
    assert cli.main(["train", "--hidden", "16", "--epochs", "1", "--n-train", "200",
                     "--out-dir", str(out), "--data-dir", str(real_data), "--quiet"]) == 0
    result = _run("evaluate", "--run-dir", str(out), "--mode", "spiking")
    assert result.returncode == 2
    assert "--mode spiking" in result.stderr and "softlif-mlp" in result.stderr
