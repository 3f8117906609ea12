"""The nengo-pc command line: round trips, resume after a kill, and bad input."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from nengo_pc import cli
from nengo_pc.arch import mlp
from nengo_pc.params import init_params, load_params, save_params
from nengo_pc.results import read_record


def _run(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "nengo_pc.cli", *args],
                          capture_output=True, text=True, timeout=300, **kwargs)


def test_train_then_evaluate(tmp_path, real_data, capsys):
    out = tmp_path / "run"
    rc = cli.main(["train", "--hidden", "64", "--epochs", "4", "--n-train", "1000",
                   "--batch-size", "50", "--seed", "1", "--out-dir", str(out),
                   "--data-dir", str(real_data), "--quiet"])
    assert rc == 0
    train = read_record(out / "train.json")
    assert train["kind"] == "train" and train["seed"] == 1
    assert train["config"]["rule"] == "backprop"
    assert train["config"]["backend"] == "nengo_dl"
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
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and "ms per image" in printed

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


def test_every_registered_rule_is_a_choice():
    from nengo_pc import rules

    text = _run("train", "--help").stdout
    for name in rules.names():
        assert name in text


def test_train_pc_rule_then_evaluate(tmp_path, real_data):
    out = tmp_path / "pc"
    rc = cli.main(["train", "--rule", "pc-standard", "--hidden", "32", "--epochs", "3",
                   "--n-train", "1000", "--lr", "0.003", "--output-precision", "0.1",
                   "--max-shift", "1", "--out-dir", str(out),
                   "--data-dir", str(real_data), "--quiet"])
    assert rc == 0
    train = read_record(out / "train.json")
    assert train["config"]["rule"] == "pc-standard"
    assert train["config"]["train"]["rule"] == "pc-standard"
    assert train["config"]["options"]["output_precision"] == 0.1
    assert train["config"]["train"]["max_shift"] == 1
    assert train["config"]["backend"] == "vectorised"
    assert len(train["history"][-1]["alignment"]) == 2
    # a round trip, not an accuracy benchmark: well above chance and still learning
    assert train["metrics"]["test_accuracy"] > 0.3
    assert train["history"][-1]["loss"] < train["history"][0]["loss"]
    # PC-trained parameters run in the same Nengo network (free output = feedforward)
    assert cli.main(["evaluate", "--run-dir", str(out), "--data-dir", str(real_data)]) == 0
    assert (read_record(out / "evaluate.json")["metrics"]["accuracy"]
            == train["metrics"]["test_accuracy"])
    # ... and in the predictive-coding network, which settles at the feedforward pass
    assert cli.main(["evaluate", "--run-dir", str(out), "--data-dir", str(real_data),
                     "--network", "pc", "--n-examples", "50",
                     "--out", str(tmp_path / "pc.json")]) == 0
    pc = read_record(tmp_path / "pc.json")
    assert pc["metrics"]["label_agreement"] == 1.0


@pytest.mark.parametrize("rule", ["pc-online", "fa", "bp-mse", "eqprop"])
def test_other_rules_train(rule, tmp_path, real_data):
    out = tmp_path / rule
    assert cli.main(["train", "--rule", rule, "--hidden", "16", "--epochs", "1",
                     "--n-train", "400", "--out-dir", str(out),
                     "--data-dir", str(real_data), "--quiet"]) == 0
    train = read_record(out / "train.json")
    assert train["config"]["rule"] == rule
    if rule == "pc-online":  # the rule's own training defaults
        assert train["config"]["train"]["optimizer"] == "sgd"
        assert train["config"]["train"]["batch_size"] == 20
    if rule in ("fa", "eqprop"):  # the baselines' benchmark settings (pc.settings)
        from nengo_pc.pc.settings import BASELINE_TRAINING, RULE_ARCH

        config, arch = train["config"]["train"], train["config"]["architecture"]
        assert config["optimizer"] == BASELINE_TRAINING[rule]["optimizer"]
        assert config["learning_rate"] == BASELINE_TRAINING[rule]["learning_rate"]
        assert config["batch_size"] == 20 and config["epochs"] == 1  # given wins
        assert arch["activation"] == RULE_ARCH[rule][1]
        assert arch["sizes"] == [784, 16, 10]  # --hidden given wins


def test_softlif_train_then_spiking_evaluate(tmp_path, real_data):
    out = tmp_path / "lif"
    assert cli.main(["train", "--model", "softlif-mlp", "--hidden", "64", "--epochs", "3",
                     "--n-train", "2000", "--lr", "0.003", "--tau-ref", "0.004",
                     "--spiking-steps", "0",
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


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path, real_data):
    """``kill -9`` after the first checkpoint, then ``--resume``: the parameters and
    history equal those of a run that was never interrupted."""
    common = ["train", "--rule", "pc-standard", "--hidden", "500", "500", "--epochs",
              "3", "--n-train", "6000", "--n-steps", "10", "--data-dir",
              str(real_data), "--quiet"]
    killed = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "-m", "nengo_pc.cli", *common,
                                "--out-dir", str(killed)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = killed / "checkpoint.npz"
    deadline = time.time() + 240
    while not checkpoint.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    if (killed / "train.json").exists():
        pytest.skip("the run finished before it could be killed")
    assert checkpoint.exists()
    # an evaluation of the killed run uses its last checkpoint
    assert "using the last checkpoint" in _run(
        "evaluate", "--run-dir", str(killed), "--n-examples", "20", "--data-dir",
        str(real_data)).stdout
    assert _run(*common, "--out-dir", str(killed), "--resume").returncode == 0
    whole = tmp_path / "whole"
    assert _run(*common, "--out-dir", str(whole)).returncode == 0
    _, resumed, _ = load_params(killed / "params.npz")
    _, uninterrupted, _ = load_params(whole / "params.npz")
    for a, b in zip(resumed.weights + resumed.biases,
                    uninterrupted.weights + uninterrupted.biases):
        np.testing.assert_array_equal(a, b)
    a, b = read_record(killed / "train.json"), read_record(whole / "train.json")
    assert [{**h, "seconds": 0} for h in a["history"]] == [
        {**h, "seconds": 0} for h in b["history"]]
    assert a["metrics"]["test_accuracy"] == b["metrics"]["test_accuracy"]


def test_sigterm_ends_like_ctrl_c(tmp_path, real_data):
    process = subprocess.Popen(
        [sys.executable, "-m", "nengo_pc.cli", "train", "--rule", "pc-standard",
         "--hidden", "500", "500", "--epochs", "50", "--n-train", "6000",
         "--out-dir", str(tmp_path / "run"), "--data-dir", str(real_data), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    checkpoint = tmp_path / "run" / "checkpoint.npz"
    deadline = time.time() + 240
    while not checkpoint.exists() and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "interrupted" in err and "Traceback" not in err
    load_params(checkpoint)  # intact


@pytest.fixture
def relu_run(tmp_path):
    """A run directory with (untrained) parameters of a small ReLU MLP."""
    run = tmp_path / "relu"
    arch = mlp((16,))
    save_params(run / "params.npz", arch, init_params(arch), dataset="mnist",
                rule="backprop")
    return run


def _bad_params(kind, run):
    """Damage ``run/params.npz`` in one of several ways."""
    path = run / "params.npz"
    if kind == "truncated":
        path.write_bytes(path.read_bytes()[:200])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(4000))
    elif kind == "other-architecture":
        _, params, _ = load_params(path)
        header = json.dumps({"architecture": mlp((16, 16)).to_dict(), "metadata": {}})
        np.savez(path.with_suffix(""), header=np.array(header), w0=params.weights[0],
                 b0=params.biases[0], w1=params.weights[1], b1=params.biases[1])
    return path


FINISHED = "finished"

#: Bad inputs, the exit status they get and a piece of the message. ``RUN`` stands
#: for a run directory with parameters, ``FILE`` for an existing file, ``DATA`` for
#: the real data directory.
BAD_INPUTS = [
    (["train", "--out-dir", "x", "--epochs", "0"], 2, "--epochs: must be >= 1"),
    (["train", "--out-dir", "x", "--epochs", "ten"], 2, "--epochs: expected an integer"),
    (["train", "--out-dir", "x", "--lr", "-0.1"], 2, "--lr: must be a finite number > 0"),
    (["train", "--out-dir", "x", "--lr", "nan"], 2, "--lr: must be a finite number > 0"),
    (["train", "--out-dir", "x", "--dataset", "cifar"], 2, "--dataset: invalid choice"),
    (["train", "--out-dir", "x", "--data-dir", "/nonexistent"], 2,
     "--data-dir: /nonexistent is not an existing directory"),
    (["train"], 2, "the following arguments are required: --out-dir"),
    (["fly"], 2, "invalid choice: 'fly'"),
    (["train", "--out-dir", "x", "--rule", "zil"], 2, "'pc-zil'"),
    (["train", "--out-dir", "x", "--n-steps", "3"], 2,
     "--n-steps: does not apply to rule backprop (its options: none)"),
    (["train", "--out-dir", "x", "--rule", "fa", "--step-size", "0.1"], 2,
     "--step-size: does not apply to rule fa"),
    (["train", "--out-dir", "x", "--rule", "pc-standard", "--beta", "0.1"], 2,
     "--beta: does not apply to rule pc-standard"),
    (["train", "--out-dir", "x", "--rule", "fa", "--no-symmetric-nudging"], 2,
     "--symmetric-nudging: does not apply to rule fa"),
    (["train", "--out-dir", "x", "--rule", "pc-zil", "--n-steps", "1"], 2,
     "--rule pc-zil: --n-steps"),
    (["train", "--out-dir", "x", "--rule", "pc-standard", "--step-size", "0"], 2,
     "--step-size: must be a finite number > 0"),
    (["train", "--out-dir", "x", "--rule", "pc-standard", "--n-steps", "2.5"], 2,
     "--n-steps: must be an integer >= 1"),
    (["train", "--out-dir", "x", "--rule", "eqprop", "--activation", "relu"], 2,
     "activation"),
    (["train", "--out-dir", "x", "--rule", "eqprop", "--activation", "sigmoid",
      "--beta", "1.5"], 2, "beta"),
    (["train", "--out-dir", "x", "--rule", "pc-standard", "--backend", "keras"], 2,
     "--backend: rule pc-standard runs on vectorised"),
    (["train", "--out-dir", "x", "--backend", "torch"], 2, "--backend: invalid choice"),
    (["train", "--out-dir", "x", "--rule", "pc-standard", "--input-gain", "10"], 2,
     "--input-gain: applies to the fit backends"),
    (["train", "--out-dir", "x", "--rule", "backprop", "--backend", "keras", "--xla"],
     2, "--xla: applies to the vectorised backend, not keras"),
    (["train", "--out-dir", "x", "--rule", "backprop", "--simulator", "tensorflow"],
     2, "--simulator: applies to the simulated backend, not "),
    (["train", "--out-dir", "x", "--intra-op-threads", "0"], 2,
     "--intra-op-threads: "),
    (["train", "--out-dir", "x", "--lr-decay-samples", "100"], 2,
     "--lr-decay-samples: applies to --lr-schedule inverse_time only"),
    (["train", "--out-dir", "x", "--lr-schedule", "inverse_time"], 2,
     "--lr-decay-samples: the inverse_time schedule needs it"),
    (["train", "--out-dir", ""], 2, "--out-dir: must not be empty"),
    (["train", "--out-dir", "FILE"], 2, "exists and is not a directory"),
    (["train", "--out-dir", "x", "--batch-size", "0"], 2, "--batch-size: must be >= 1"),
    (["train", "--out-dir", "OUT", "--batch-size", "100000", "--n-train", "50",
      "--data-dir", "DATA"], 2, "--batch-size: 100000 is larger than the training set"),
    (["train", "--out-dir", "x", "--n-validation", "60000"], 2, "--n-validation:"),
    (["train", "--out-dir", "x", "--activation", "linear"], 2,
     "--activation: invalid choice"),
    (["train", "--out-dir", "x", "--model", "resnet"], 2, "--model: invalid choice"),
    (["train", "--out-dir", "x", "--tau-ref", "0"], 2, "--tau-ref: must be a finite"),
    (["train", "--out-dir", "x", "--max-shift", "-1"], 2, "--max-shift: must be >= 0"),
    (["train", "--out-dir", "x", "--spiking-steps", "10"], 2,
     "--spiking-steps: the relu model does not spike"),
    (["train", "--out-dir", "x", "--optimizer", "rmsprop"], 2,
     "--optimizer: invalid choice"),
    (["train", "--out-dir", "x", "--model", "softlif-cnn", "--activation", "relu"], 2,
     "--model softlif-cnn: --activation"),
    (["train", "--out-dir", "x", "--seed", "-1"], 2, "--seed: must be >= 0"),
    (["train", "--out-dir", FINISHED], 1, "holds a finished run"),
    (["evaluate", "--run-dir", "/nonexistent"], 2, "--run-dir"),
    (["evaluate", "--run-dir", "EMPTY"], 1, "params.npz not found; train first"),
    (["evaluate", "--run-dir", "RUN:truncated"], 1, "not a readable parameter file"),
    (["evaluate", "--run-dir", "RUN:empty"], 1, "not a readable parameter file"),
    (["evaluate", "--run-dir", "RUN:random"], 1, "not a readable parameter file"),
    (["evaluate", "--run-dir", "RUN:other-architecture"], 1,
     "not a readable parameter file"),
    (["evaluate", "--run-dir", "RUN", "--network", "pc", "--dt", "1.0"], 2,
     "--dt: must be in (0, 0.01] seconds"),
    (["evaluate", "--run-dir", "RUN", "--out", "RUN"], 2, "--out: "),
    (["evaluate", "--run-dir", "RUN", "--n-steps", "50"], 2,
     "--n-steps: does not apply to --network feedforward --mode rate"),
    (["evaluate", "--run-dir", "RUN", "--mode", "spiking"], 2, "softlif-mlp"),
    (["evaluate", "--run-dir", "RUN", "--settle-time", "0.2"], 2,
     "--settle-time: does not apply"),
    (["evaluate", "--run-dir", "RUN", "--network", "pc", "--backend", "keras"], 2,
     "--backend: does not apply to --network pc"),
    (["evaluate", "--run-dir", "RUN", "--batch-size", "0"], 2,
     "--batch-size: must be >= 1"),
    (["evaluate", "--run-dir", "RUN", "--network", "pc", "--sweep-time", "-1"], 2,
     "--sweep-time: must be >= 0"),
    (["evaluate", "--run-dir", "RUN", "--network", "cnn"], 2,
     "--network: invalid choice"),
]


@pytest.mark.parametrize("args, status, message", BAD_INPUTS)
def test_bad_inputs_exit_with_a_message(args, status, message, tmp_path, relu_run,
                                        capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "FILE").write_text("not a directory")
    (tmp_path / "EMPTY").mkdir()
    (tmp_path / FINISHED).mkdir()
    (tmp_path / FINISHED / "train.json").write_text("{}")
    resolved = []
    for arg in args:
        if arg.startswith("RUN"):
            _, _, damage = arg.partition(":")
            if damage:
                _bad_params(damage, relu_run)
            arg = str(relu_run)
        elif arg == "DATA":
            from conftest import REAL_DATA

            if REAL_DATA is None:
                pytest.skip("needs the real data")
            arg = str(REAL_DATA)
        resolved.append(arg)
    try:
        code = cli.main(resolved)
    except SystemExit as exit_info:
        code = exit_info.code
    err = capsys.readouterr().err
    assert code == status, err
    assert message in err
    assert "Traceback" not in err
    assert not os.path.exists(tmp_path / "x")  # nothing written before the check


def test_xla_and_threads_train_like_the_default(tmp_path, real_data):
    """--xla and --intra-op-threads change how the vectorised backend runs, not what
    it learns (to rounding): the same run with and without them."""
    common = ["train", "--rule", "backprop", "--backend", "vectorised", "--hidden",
              "32", "--epochs", "2", "--n-train", "1000", "--data-dir", str(real_data),
              "--quiet"]
    for name, extra in (("default", []), ("xla", ["--xla", "--intra-op-threads", "1"])):
        result = _run(*common, "--out-dir", str(tmp_path / name), *extra)
        assert result.returncode == 0, result.stderr
    default = read_record(tmp_path / "default" / "train.json")
    fast = read_record(tmp_path / "xla" / "train.json")
    assert fast["config"]["xla"] is True and fast["config"]["intra_op_threads"] == 1
    assert default["config"]["xla"] is False
    # measured: 42.14% both; XLA rounds differently, so allow a few images
    assert abs(fast["metrics"]["test_accuracy"]
               - default["metrics"]["test_accuracy"]) <= 0.002
    assert default["metrics"]["test_accuracy"] > 0.3


def test_pc_spiking_evaluation_defaults_to_tensorflow(tmp_path, real_data):
    """`--network pc --mode spiking` runs the tensorflow backend where it can (the
    same accuracy over time as NengoDL), NengoDL for free inference, and refuses a
    backend that cannot run it."""
    common = ["evaluate", "--pretrained", "mnist-pc-spiking", "--network", "pc",
              "--mode", "spiking", "--n-examples", "20", "--duration", "0.05",
              "--data-dir", str(real_data)]
    records = {}
    for name, extra in (("default", []), ("nengo_dl", ["--backend", "nengo_dl"]),
                        ("free", ["--sweep-time", "0.03"])):
        out = tmp_path / f"{name}.json"
        assert cli.main([*common, "--out", str(out), *extra]) == 0
        records[name] = read_record(out)
    backends = {k: r["config"]["pc"]["backend"] for k, r in records.items()}
    assert backends == {"default": "tensorflow", "nengo_dl": "nengo_dl",
                        "free": "nengo_dl"}
    assert (records["default"]["metrics"]["accuracy_over_time"]
            == records["nengo_dl"]["metrics"]["accuracy_over_time"])
    result = _run(*common, "--backend", "nengo", "--out", str(tmp_path / "x.json"))
    assert result.returncode == 2
    assert "--backend: the PC network runs spiking on nengo_dl, tensorflow or loihi" \
        in result.stderr
