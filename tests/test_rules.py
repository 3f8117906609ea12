"""The learning-rule registry (`nengo_pc.rules`): one name per rule, one interface."""

import subprocess
import sys

import numpy as np
import pytest

from nengo_pc import rules
from nengo_pc.arch import mlp
from nengo_pc.params import init_params

ALL = ("backprop", "bp-mse", "pc-standard", "pc-fixed-prediction", "pc-zil",
       "pc-incremental", "fa", "dfa", "eqprop", "chl", "pc-online")


def test_every_rule_registered_once_by_family():
    assert rules.names() == ALL
    assert rules.names("pc") == ("pc-standard", "pc-fixed-prediction", "pc-zil",
                                 "pc-incremental")
    for name in ALL:
        rule = rules.get(name)
        assert rule.name == name and rule.family in rules.FAMILIES and rule.summary
    with pytest.raises(ValueError, match="already registered"):
        rules.register(rules.get("fa"))


def test_unknown_rule_lists_the_registered_ones():
    with pytest.raises(ValueError, match="^rule: 'zil' is not a registered rule; "
                                         "registered: backprop, bp-mse, pc-standard"):
        rules.get("zil")


def test_import_does_not_import_tensorflow():
    code = ("import sys, nengo_pc.rules as r; r.names(); "
            "[r.get(n).check_options() for n in r.names()]; "
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name, options, match", [
    ("fa", {"n_steps": 3}, "^n_steps: rule fa does not take this option"),
    ("pc-standard", {"step_size": 0}, "^step_size: must be a finite number > 0"),
    ("pc-standard", {"n_steps": 2.5}, "^n_steps: must be an integer >= 1"),
    ("eqprop", {"beta": -1.0}, "^beta: must be a finite number > 0"),
    ("eqprop", {"symmetric_nudging": "yes"}, "^symmetric_nudging: must be True"),
])
def test_bad_options_name_the_option(name, options, match):
    with pytest.raises(ValueError, match=match):
        rules.get(name).check_options(**options)


def test_options_resolve_against_the_architecture():
    arch = mlp((16, 8), "relu", n_in=6, n_out=3)
    assert rules.get("pc-zil").check_options(arch) == {
        "n_steps": 3, "step_size": 1.0, "output_precision": 1.0}
    assert rules.get("pc-standard").check_options(arch)["n_steps"] == 20
    with pytest.raises(ValueError, match="^n_steps"):
        rules.get("pc-zil").check_options(arch, n_steps=2)
    with pytest.raises(ValueError, match="^activation: rule eqprop needs one of"):
        rules.get("eqprop").check_options(arch)
    with pytest.raises(ValueError, match="^beta: symmetric nudging needs beta < 1"):
        rules.get("eqprop").check_options(mlp((8,), "sigmoid"), beta=1.0)


def test_dense_rules_refuse_convolutional_architectures():
    from nengo_pc.arch import cnn

    arch = cnn()
    rules.get("backprop").check_arch(arch)  # trained by fit
    with pytest.raises(ValueError, match="^arch: rule pc-zil trains dense"):
        rules.get("pc-zil").check_options(arch)


def test_update_functions_match_the_math():
    """Each rule's update is its family's function (`nengo_pc.pc`), and the exact
    PC variants equal backprop of the squared error."""
    import tensorflow as tf

    from nengo_pc.pc import backprop_updates, weight_updates

    arch = mlp((7, 5), "tanh", n_in=6, n_out=3)
    params = init_params(arch, seed=1, dtype=np.float64)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (4, 6))
    y = np.eye(3)[rng.integers(0, 3, 4)]
    batch = rules.Batch(tf.constant(x), tf.constant(y))
    tensors = type(params)([tf.constant(w) for w in params.weights],
                           [tf.constant(b) for b in params.biases])
    reference = backprop_updates(params.weights, params.biases, x, y, "tanh")
    for name in ("bp-mse", "pc-zil", "pc-fixed-prediction"):
        changes = rules.get(name).build(arch)(tensors, batch)
        for (dw, db), (rw, rb) in zip(changes, reference):
            np.testing.assert_allclose(dw.numpy(), rw, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(db.numpy(), rb, rtol=1e-9, atol=1e-12)
    standard = weight_updates(params.weights, params.biases, x, y, "standard",
                              activation="tanh")
    for name in ("pc-standard", "pc-online"):
        changes = rules.get(name).build(arch)(tensors, batch)
        for (dw, _), (rw, _) in zip(changes, standard):
            np.testing.assert_allclose(dw.numpy(), rw, rtol=1e-9, atol=1e-12)
    for name in ("backprop", "fa", "dfa", "pc-incremental"):
        lr = tf.constant(0.01, tf.float64) if name == "pc-incremental" else None
        changes = rules.get(name).build(arch, seed=0)(tensors,
                                                      rules.Batch(batch.x, batch.y, lr))
        assert [dw.shape for dw, _ in changes] == [w.shape for w in params.weights]
    energy_arch = mlp((7,), "sigmoid", n_in=6, n_out=3)
    p = init_params(energy_arch, seed=1)
    t = type(p)([tf.constant(w) for w in p.weights], [tf.constant(b) for b in p.biases])
    b32 = rules.Batch(tf.constant(x, tf.float32), tf.constant(y, tf.float32))
    for name in ("eqprop", "chl"):
        changes = rules.get(name).build(energy_arch)(t, b32)
        assert [dw.shape for dw, _ in changes] == [w.shape for w in p.weights]


def test_legacy_names_map_to_registry_names():
    assert rules.canonical("zil") == "pc-zil"
    assert rules.canonical("bp") == "bp-mse"
    assert rules.canonical("pc") == "pc-online"
    assert rules.canonical("fa") == "fa"
