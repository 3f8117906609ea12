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


def test_xla_option_trains_backprop_to_rounding(mnist_data):
    # XLA reorders floating-point work: backprop (whose Adam steps are not near
    # zero-gradient sign flips) stays within rounding of the default after 6 steps
    split = mnist_data.train.subset(120)
    params = []
    for jit in (False, True):
        backend = _backend("bp-mse", {}, fused=True, jit_compile=jit)
        for k in (0, 60):
            backend.train_chunk(split.images[k:k + 60], split.labels[k:k + 60])
        params.append(backend.params())
    for a, b in zip(params[0].weights, params[1].weights):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-5 * np.max(np.abs(a)))


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "lif"])
@pytest.mark.parametrize("n_steps", [1, 2, 8])
def test_standard_inference_skips_only_exact_zeros(activation, n_steps):
    # standard_updates computes only the layers the displacement has reached; the
    # full synchronous steps of every layer (the primitives, as before) must give
    # the same numbers bit for bit
    import tensorflow as tf

    from nengo_pc.pc import core
    from nengo_pc.pc.activations import get_activation

    rng = np.random.default_rng(5)
    sizes = (12, 9, 8, 7, 3)
    weights = [tf.constant(rng.normal(0, 0.6, (a, b)), tf.float32)
               for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [tf.constant(rng.normal(0, 0.2, b), tf.float32) for b in sizes[1:]]
    x = tf.constant(rng.normal(0, 1, (6, sizes[0])), tf.float32)
    y = tf.constant(rng.normal(0, 1, (6, sizes[-1])), tf.float32)
    act = get_activation(activation)
    reference = core.feedforward(weights, biases, x, act.f)
    d = core.initial_displacements(reference, y)
    for _ in range(n_steps):
        errors = core.displaced_errors(reference, d, weights, act)
        values = core.displaced_values(reference, d)
        d = core.value_step(d, errors, weights, [act.df(v) for v in values[1:-1]],
                            0.1, 0.5)
    errors = core.displaced_errors(reference, d, weights, act)
    expected = core.local_updates(core.presynaptic(core.displaced_values(reference, d),
                                                   act.f), errors, 0.5)
    got = core.standard_updates(weights, biases, x, y, act, n_steps, 0.1, 0.5)
    assert any(np.any(dw.numpy() != 0) for dw, _ in got[:-1])
    for (dw, db), (ew, eb) in zip(got, expected):
        np.testing.assert_array_equal(dw.numpy(), ew.numpy())
        np.testing.assert_array_equal(db.numpy(), eb.numpy())
