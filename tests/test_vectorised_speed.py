"""The vectorised backend's speed options, the split of the PC math, and the
PCX pairs of ``benchmarks/pairs``.

``fused`` (the default) runs a chunk of minibatches inside one traced function; it
must train exactly as one call per minibatch did (the same numbers, bit for bit).
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nengo_pc.arch import init_params, mlp
from nengo_pc.training import TrainConfig
from nengo_pc.training.schedule import Schedule

ROOT = Path(__file__).resolve().parent.parent
SMALL = mlp((32, 16))


def _backend(rule, options, fused, n_steps_total=12, **kw):
    from nengo_pc import rules
    from nengo_pc.training.vectorised import VectorisedBackend

    config = TrainConfig(rule=rule, options=options, batch_size=20, seed=1)
    return VectorisedBackend(SMALL, rules.get(rule), config.rule_options(SMALL),
                             config, init_params(SMALL, 1),
                             Schedule.from_config(config, n_steps_total),
                             fused=fused, **kw)


@pytest.mark.parametrize("rule, options", [
    ("bp-mse", {}),
    ("pc-standard", {"n_steps": 8}),
    ("pc-zil", {}),
    # learns during inference at the scheduled rate: reads the optimiser's step
    ("pc-incremental", {"n_steps": 3}),
])
def test_fused_chunks_train_bit_for_bit_like_single_steps(rule, options, mnist_data):
    split = mnist_data.train.subset(120)
    results = []
    for fused in (False, True):
        backend = _backend(rule, options, fused)
        history = [backend.train_chunk(split.images[k:k + 60], split.labels[k:k + 60])
                   for k in (0, 60)]
        results.append((history, backend.params()))
    (h0, p0), (h1, p1) = results
    assert h0 == h1
    start = init_params(SMALL, 1)
    assert max(np.max(np.abs(a - b)) for a, b in zip(p0.weights, start.weights)) > 0
    for a, b in zip(p0.weights + p0.biases, p1.weights + p1.biases):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("option", ["fused", "jit_compile"])
def test_backend_options_are_checked(option):
    with pytest.raises(ValueError, match=option):
        _backend("bp-mse", {}, **{"fused": True, option: "yes"})


def test_core_keeps_every_public_name():
    from nengo_pc.pc import core, exact, primitives, relaxation

    assert set(core.__all__) >= {
        "feedforward", "energy", "displaced_errors", "value_step", "layer_update",
        "relax", "energy_trace", "standard_updates", "incremental_updates",
        "fixed_prediction_updates", "zil_updates", "backprop", "pc_updates"}
    for name in core.__all__:
        home = [m for m in (primitives, relaxation, exact) if hasattr(m, name)]
        assert getattr(core, name) is (getattr(home[0], name) if home
                                       else core.pc_updates)
    for module in (core, primitives, relaxation, exact):
        with open(module.__file__) as f:
            assert sum(1 for _ in f) < 500, module.__name__


def _load_pair(name):
    spec = importlib.util.spec_from_file_location(
        f"pairs_{name}", ROOT / "benchmarks" / "pairs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["pc_pcx", "bp_pcx", "zil_bp"])
def test_pair_modules_have_the_interface(name):
    module = _load_pair(name)
    assert module.NAME == name
    assert isinstance(module.DESCRIPTION, str) and "\n" not in module.DESCRIPTION
    assert callable(module.ours) and callable(module.peer)
    assert set(module.QUICK) <= set(module.SETTINGS)


def test_our_side_trains_and_times(mnist_data):
    module = _load_pair("pc_pcx")
    settings = {**module.SETTINGS, **module.QUICK, "n_train": 512, "quick": True,
                "seed": 0, "data_dir": os.environ.get("NENGO_PC_DATA")}
    result = module.ours(settings)
    assert result["seconds"] > 0
    assert len(result["epoch_seconds"]) == settings["epochs"]
    assert result["n_train"] == 512
    assert result["config"]["options"] == {"n_steps": 8}
    assert 0.15 < result["accuracy"] <= 1.0  # 8 steps of 128 images: above chance


PCX_PYTHON = Path(os.environ.get("NENGO_PC_PCX_VENV", "/work/venvs/pcx")) / "bin" \
    / "python"


@pytest.mark.skipif(not PCX_PYTHON.exists(),
                    reason="no PCX venv (python benchmarks/peers/pcx_env.py makes it)")
def test_pcx_peer_runs_in_its_venv():
    out = subprocess.run(
        [str(PCX_PYTHON), str(ROOT / "benchmarks" / "peers" / "pcx_mlp.py"),
         "--rule", "bp", "--epochs", "2", "--n-train", "512",
         "--data-dir", os.environ["NENGO_PC_DATA"]],
        capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["versions"]["pcx"] == "0.6.3"
    assert len(result["epoch_seconds"]) == 2
    assert result["settings"]["batch_size"] == 128
    assert 0.13 < result["test_accuracy"] <= 1.0  # 8 steps: above chance
    assert sys.executable != str(PCX_PYTHON)
