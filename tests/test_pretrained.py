"""The trained parameters shipped for the networks/ scripts (nengo_pc.pretrained)."""

import runpy
import shutil
from pathlib import Path

import numpy as np
import pytest

from nengo_pc import cli, pretrained
from nengo_pc.data import load_split
from nengo_pc.rates import forward
from nengo_pc.results import read_record

REPO = Path(__file__).resolve().parents[1]

#: networks/ script of each shipped network
SCRIPTS = {
    "mnist-softlif-mlp": "mnist_softlif_mlp.py",
    "mnist-softlif-cnn": "mnist_softlif_cnn.py",
    "mnist-pc": "mnist_pc.py",
    "mnist-pc-spiking": "mnist_pc_spiking.py",
}


def test_every_script_has_shipped_parameters_within_the_size_limits():
    assert set(pretrained.names()) == set(SCRIPTS)
    sizes = {name: pretrained.path(name).stat().st_size for name in pretrained.names()}
    assert max(sizes.values()) <= pretrained.MAX_FILE_BYTES
    assert sum(sizes.values()) <= pretrained.MAX_TOTAL_BYTES
    for name in pretrained.names():
        with np.load(pretrained.path(name)) as stored:
            assert stored["w0"].dtype == np.float16  # stored at half size


@pytest.mark.parametrize("name", pretrained.names())
def test_shipped_parameters_classify_mnist(name, real_data):
    arch, params, meta = pretrained.load(name)
    assert all(w.dtype == np.float32 for w in params.weights + params.biases)
    assert meta["command"].startswith("nengo-pc train")
    test = load_split("mnist", "test", real_data).subset(500)
    accuracy = np.mean(forward(arch, params, test.images).argmax(1) == test.labels)
    assert accuracy >= 0.95, accuracy


@pytest.mark.parametrize("name", pretrained.names())
def test_scripts_use_the_shipped_parameters_on_a_fresh_checkout(name, tmp_path,
                                                                monkeypatch, capsys):
    # a copy of the script in a tree with no runs/ directory, as on a fresh clone
    (tmp_path / "networks").mkdir()
    script = shutil.copy(REPO / "networks" / SCRIPTS[name], tmp_path / "networks")
    monkeypatch.delenv("NENGO_PC_PARAMS", raising=False)
    namespace = runpy.run_path(str(script), run_name="gui")
    assert "untrained" not in capsys.readouterr().err
    arch, params, _ = pretrained.load(name)
    assert namespace["arch"] == arch
    for used, shipped in zip(namespace["params"].weights, params.weights):
        np.testing.assert_array_equal(used, shipped)


def test_unknown_names_are_refused_listing_the_shipped_ones():
    with pytest.raises(ValueError, match="mnist-softlif-mlp"):
        pretrained.path("mnist-mlp")


def test_evaluate_the_shipped_parameters(tmp_path, real_data, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["evaluate", "--pretrained", "mnist-softlif-mlp", "--n-examples",
                     "200", "--data-dir", str(real_data)]) == 0
    assert "test accuracy" in capsys.readouterr().out
    record = read_record(tmp_path / "evaluate-mnist-softlif-mlp.json")
    assert record["config"]["pretrained"] == "mnist-softlif-mlp"
    assert record["metrics"]["accuracy"] >= 0.95


def test_evaluate_takes_a_run_or_the_shipped_parameters_not_both(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["evaluate", "--pretrained", "mnist-pc", "--run-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "not allowed with" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["evaluate", "--pretrained", "mnist"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err
