"""Tests of the predictive-coding numerics in `nengo_pc.pc`.

The backprop reference is an independent ``tf.keras`` model of the same MLP
differentiated with ``tf.GradientTape``. Relative error between two sets of updates
is ``max |a - b| / max |b|``, taken separately for every weight matrix and every
bias vector, and the largest of those is reported (`max_rel_error`).
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import tensorflow as tf

import nengo_pc.pc as pc
from nengo_pc.pc import core
from nengo_pc.pc.activations import get_activation

#: Widths from which every test network is cut: all different, so that a transposed
#: matrix anywhere fails on shape.
WIDTHS = (9, 7, 6, 5, 4, 3)

#: Exactness bounds for Z-IL and fixed prediction, per dtype.
EXACT = {np.float32: 1e-5, np.float64: 1e-10}


def make_mlp(sizes, dtype=np.float64, batch=8, seed=0):
    """Random weights (std 1/sqrt(n_in), so tanh is not saturated) and a batch."""
    rng = np.random.RandomState(seed)
    weights = [
        (rng.randn(n_in, n_out) / np.sqrt(n_in)).astype(dtype)
        for n_in, n_out in zip(sizes[:-1], sizes[1:])
    ]
    biases = [(0.1 * rng.randn(n_out)).astype(dtype) for n_out in sizes[1:]]
    x = rng.randn(batch, sizes[0]).astype(dtype)
    y = rng.randn(batch, sizes[-1]).astype(dtype)
    return weights, biases, x, y


def keras_backprop(weights, biases, x, y, activation):
    """-dL/dW, -dL/db of a tf.keras Sequential MLP, L = sum ||y - y_hat||^2 / 2."""
    dtype = x.dtype.name
    last = len(weights) - 1
    model = tf.keras.Sequential(
        [tf.keras.Input(shape=(x.shape[1],), dtype=dtype)]
        + [
            tf.keras.layers.Dense(
                w.shape[1],
                activation="linear" if i == last else (
                    get_activation("lif").f if activation == "lif" else activation),
                dtype=dtype,
            )
            for i, w in enumerate(weights)
        ]
    )
    for layer, w, b in zip(model.layers, weights, biases):
        layer.set_weights([w, b])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(y - model(x))) / 2
    grads = tape.gradient(loss, model.trainable_variables)
    return [(-gw.numpy(), -gb.numpy()) for gw, gb in zip(grads[0::2], grads[1::2])]


def max_rel_error(updates, reference):
    """Largest per-parameter max |a - b| / max |b|."""
    errors = []
    for pair, ref_pair in zip(updates, reference):
        for a, b in zip(pair, ref_pair):
            scale = max(np.max(np.abs(b)), np.finfo(b.dtype).tiny)
            errors.append(np.max(np.abs(a - b)) / scale)
    return max(errors)


def cosines(updates, reference):
    """Per-layer cosine between the weight matrices of two sets of updates."""
    return np.array(
        [
            np.sum(dw * rw) / (np.linalg.norm(dw) * np.linalg.norm(rw))
            for (dw, _), (rw, _) in zip(updates, reference)
        ]
    )


def loss(weights, biases, x, y, activation="tanh"):
    """The batch-summed loss sum ||y - y_hat||^2 / 2."""
    f = get_activation(activation).f
    y_hat = core.feedforward(weights, biases, x, f)[-1].numpy()
    return 0.5 * np.sum((y - y_hat) ** 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_layers", [3, 4, 5])
@pytest.mark.parametrize("activation", pc.ACTIVATIONS)
@pytest.mark.parametrize("variant", ["zil", "fixed_prediction"])
def test_exact_variants_equal_backprop(variant, activation, n_layers, dtype):
    weights, biases, x, y = make_mlp(WIDTHS[: n_layers + 1], dtype, seed=n_layers)
    reference = keras_backprop(weights, biases, x, y, activation)
    updates = pc.weight_updates(weights, biases, x, y, variant, activation)
    error = max_rel_error(updates, reference)
    print(f"{variant} {activation} L={n_layers} {dtype.__name__}: {error:.2e}")
    assert error <= EXACT[dtype]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_backprop_updates_match_keras(dtype):
    weights, biases, x, y = make_mlp(WIDTHS[:5], dtype)
    updates = pc.backprop_updates(weights, biases, x, y, "sigmoid")
    assert max_rel_error(updates, keras_backprop(weights, biases, x, y, "sigmoid")) <= (
        EXACT[dtype]
    )


def test_zil_needs_step_size_one():
    weights, biases, x, y = make_mlp(WIDTHS[:5])
    reference = keras_backprop(weights, biases, x, y, "tanh")
    exact = max_rel_error(
        pc.weight_updates(weights, biases, x, y, "zil", step_size=1.0), reference
    )
    off = max_rel_error(
        pc.weight_updates(weights, biases, x, y, "zil", step_size=0.99999), reference
    )
    print(f"Z-IL step 1: {exact:.2e}; step 0.99999: {off:.2e}")
    assert exact <= 1e-10
    # a relative change of 1e-5 per step, compounded over the layers (C3)
    assert 1e-8 < off < 1e-3


def test_zil_ignores_extra_steps():
    weights, biases, x, y = make_mlp(WIDTHS[:4])
    default = pc.weight_updates(weights, biases, x, y, "zil")
    longer = pc.weight_updates(weights, biases, x, y, "zil", n_steps=10)
    for (dw, db), (lw, lb) in zip(default, longer):
        assert np.array_equal(dw, lw) and np.array_equal(db, lb)


def test_fixed_prediction_converges_with_smaller_steps():
    weights, biases, x, y = make_mlp(WIDTHS[:5])
    reference = keras_backprop(weights, biases, x, y, "tanh")
    converged = pc.weight_updates(
        weights, biases, x, y, "fixed_prediction", step_size=0.5, n_steps=60
    )
    assert max_rel_error(converged, reference) <= 1e-10
    # but not in L steps: the deltas have not arrived in full yet
    early = pc.weight_updates(weights, biases, x, y, "fixed_prediction", step_size=0.5)
    assert max_rel_error(early, reference) > 1e-2


@pytest.mark.parametrize("variant", ["zil", "fixed_prediction"])
def test_exact_variants_do_not_depend_on_output_precision(variant):
    weights, biases, x, y = make_mlp(WIDTHS[:5])
    reference = keras_backprop(weights, biases, x, y, "tanh")
    updates = pc.weight_updates(
        weights, biases, x, y, variant, output_precision=0.01
    )
    assert max_rel_error(updates, reference) <= 1e-10


def test_standard_approaches_backprop_with_weak_feedback():
    # the 10-8-8-6-3 tanh network of the published comparison, at equilibrium
    weights, biases, x, y = make_mlp((10, 8, 8, 6, 3))
    reference = keras_backprop(weights, biases, x, y, "tanh")
    cos = {}
    for gamma in (1.0, 0.1, 0.01):
        updates = pc.weight_updates(
            weights,
            biases,
            x,
            y,
            "standard",
            n_steps=400,
            step_size=0.2,
            output_precision=gamma,
        )
        cos[gamma] = cosines(updates, reference)
        print(f"gamma={gamma}: cosines {np.round(cos[gamma], 4)}")

    # published: 0.78, 0.82, 0.65, -0.25 -- hidden layers roughly aligned, the
    # output layer far off
    assert np.all((cos[1.0][:-1] > 0.5) & (cos[1.0][:-1] < 0.95))
    assert cos[1.0][-1] < 0.5
    # published: 0.99, 0.99, 0.98, 0.90
    assert np.all(cos[0.1] > 0.8) and cos[0.1][-1] < 0.95
    # published: >= 0.999 in every layer
    assert np.all(cos[0.01] > 0.99)
    assert np.all(cos[0.01] > cos[0.1]) and np.all(cos[0.1] > cos[1.0])


def test_standard_weak_feedback_is_accurate_in_float32():
    # hidden errors are ~gamma times the BP deltas and are divided by gamma; the
    # displacement form of the errors keeps them accurate in float32
    weights, biases, x, y = make_mlp((10, 8, 8, 6, 3))
    options = dict(n_steps=300, step_size=0.2, output_precision=0.001)
    updates64 = pc.weight_updates(weights, biases, x, y, "standard", **options)
    single = [a.astype(np.float32) for a in weights], [
        b.astype(np.float32) for b in biases
    ]
    updates32 = pc.weight_updates(
        *single, x.astype(np.float32), y.astype(np.float32), "standard", **options
    )
    error = max_rel_error(updates32, updates64)
    print(f"float32 vs float64 at gamma=0.001: {error:.2e}")
    assert error < 1e-5


def test_relax_descends_energy_to_equilibrium():
    weights, biases, x, y = make_mlp((10, 8, 8, 6, 3))
    act = get_activation("tanh")
    args = (
        [tf.constant(w) for w in weights],
        [tf.constant(b) for b in biases],
        tf.constant(x),
        tf.constant(y),
    )
    energies = [
        core.energy(core.relax(*args, act, n, 0.2), args[0], args[1], act.f).numpy()
        for n in (0, 1, 2, 5, 20, 100, 300)
    ]
    assert np.all(np.diff(energies) <= 0)
    assert energies[-1] < 0.75 * energies[0]  # 14.1 -> 7.3 measured

    # near equilibrium one more step barely moves (the slowest mode contracts by
    # ~3% per step here: 1e-6 after 300 steps, 3e-10 after 600)
    values = core.relax(*args, act, 600, 0.2)
    again = core.relax(*args, act, 601, 0.2)
    for v, w in zip(values, again):
        assert np.max(np.abs(v.numpy() - w.numpy())) < 1e-8

    # the cancellation-free errors agree with the direct ones
    reference = core.feedforward(args[0], args[1], x, act.f)
    displacements = [v - h for v, h in zip(values, reference)]
    direct = core.prediction_errors(
        values, core.predictions(values, args[0], args[1], act.f)
    )
    displaced = core.displaced_errors(reference, displacements, args[0], act)
    for a, b in zip(displaced, direct):
        assert np.allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("gamma", [1.0, 0.3])
def test_energy_trace_follows_relax(gamma):
    weights, biases, x, y = make_mlp((10, 8, 8, 6, 3))
    trace = pc.energy_trace(weights, biases, x, y, "tanh", n_steps=30, step_size=0.2,
                            output_precision=gamma)
    assert trace.shape == (31,) and trace.dtype == np.float64
    # entry 0: feedforward values, output clamped: gamma times the loss
    assert np.isclose(trace[0], gamma * loss(weights, biases, x, y), rtol=1e-12)
    assert np.all(np.diff(trace) <= 0) and trace[-1] < 0.8 * trace[0]
    # every entry is the energy of the values relax reaches after that many steps
    act = get_activation("tanh")
    args = [[tf.constant(w) for w in weights], [tf.constant(b) for b in biases],
            tf.constant(x), tf.constant(y)]
    for n in (1, 7, 30):
        values = [v.numpy() for v in core.relax(*args, act, n, 0.2, gamma)]
        assert np.isclose(trace[n], pc.energy(weights, biases, values, "tanh", gamma),
                          rtol=1e-10)
    with pytest.raises(ValueError, match="step_size"):
        pc.energy_trace(weights, biases, x, y, "tanh", n_steps=3, step_size=-1.0)
    with pytest.raises(ValueError, match="n_steps"):
        pc.energy_trace(weights, biases, x, y, "tanh", n_steps=0)


@pytest.mark.parametrize("gamma", [1.0, 0.1])
def test_energy_at_feedforward_is_weighted_loss(gamma):
    weights, biases, x, y = make_mlp(WIDTHS[:4])
    reference = core.feedforward(weights, biases, x, get_activation("tanh").f)
    values = [x] + [h.numpy() for h in reference[1:-1]] + [y]
    energy = pc.energy(weights, biases, values, "tanh", output_precision=gamma)
    assert np.isclose(energy, gamma * loss(weights, biases, x, y), rtol=1e-12)


def test_incremental_single_step_is_output_delta_rule():
    weights, biases, x, y = make_mlp(WIDTHS[:5])
    reference = keras_backprop(weights, biases, x, y, "tanh")
    updates = pc.weight_updates(
        weights, biases, x, y, "incremental", n_steps=1, learning_rate=0.3
    )
    # iteration 0 sees only the output error: hidden layers do not change yet
    for dw, db in updates[:-1]:
        assert not np.any(dw) and not np.any(db)
    expected = [(0.3 * dw, 0.3 * db) for dw, db in reference[-1:]]
    assert max_rel_error(updates[-1:], expected) < 1e-12


def test_incremental_small_learning_rate_sums_standard_updates():
    # as learning_rate -> 0 the weights stay put, and iteration t contributes the
    # update standard PC would make after t inference steps
    weights, biases, x, y = make_mlp((10, 8, 8, 6, 3))
    n_steps, rate = 4, 1e-7
    updates = pc.weight_updates(
        weights, biases, x, y, "incremental", n_steps=n_steps, learning_rate=rate
    )
    expected = pc.weight_updates(
        weights, biases, x, y, "incremental", n_steps=1, learning_rate=1.0
    )
    for t in range(1, n_steps):
        standard = pc.weight_updates(weights, biases, x, y, "standard", n_steps=t)
        expected = [(a + c, b + d) for (a, b), (c, d) in zip(expected, standard)]
    error = max_rel_error([(dw / rate, db / rate) for dw, db in updates], expected)
    print(f"incremental/lr vs summed standard updates: {error:.2e}")
    assert error < 1e-5  # O(learning_rate): 1.5e-7 * 1e7 ~ 1.5e-6 measured


def test_incremental_reduces_loss():
    weights, biases, x, y = make_mlp((10, 8, 8, 6, 3))
    before = loss(weights, biases, x, y)
    updates = pc.weight_updates(weights, biases, x, y, "incremental")
    after = loss(
        [w + dw for w, (dw, _) in zip(weights, updates)],
        [b + db for b, (_, db) in zip(biases, updates)],
        x,
        y,
    )
    print(f"incremental (defaults) loss: {before:.3f} -> {after:.3f}")
    assert after < 0.5 * before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("variant", pc.VARIANTS)
def test_dtype_and_shapes_preserved(variant, dtype):
    weights, biases, x, y = make_mlp(WIDTHS[:4], dtype)
    copies = [a.copy() for a in weights + biases + [x, y]]
    updates = pc.weight_updates(weights, biases, x, y, variant, "relu", n_steps=5)
    assert len(updates) == len(weights)
    for (dw, db), w, b in zip(updates, weights, biases):
        assert dw.dtype == dtype and db.dtype == dtype
        assert dw.shape == w.shape and db.shape == b.shape
        assert np.all(np.isfinite(dw)) and np.all(np.isfinite(db))
    # the caller's arrays are never modified (not even by "incremental")
    for a, c in zip(weights + biases + [x, y], copies):
        assert np.array_equal(a, c)
    for dw, db in pc.backprop_updates(weights, biases, x, y, "relu"):
        assert dw.dtype == dtype and db.dtype == dtype


def _set(index, key, value):
    def change(args):
        args[key] = list(args[key])
        args[key][index] = value(args[key][index])

    return change


def _replace(key, value):
    def change(args):
        args[key] = value(args[key])

    return change


def _nan_at(array):
    array = array.copy()
    array.flat[0] = np.nan
    return array


def _inf_at(array):
    array = array.copy()
    array.flat[-1] = np.inf
    return array


INVALID = {
    "unknown variant": (_replace("variant", lambda v: "backprop"), r"^variant:"),
    "unknown activation": (_replace("activation", lambda a: "elu"), r"^activation:"),
    "fewer biases": (_replace("biases", lambda b: b[:-1]), r"^biases:"),
    "weights not a list": (_replace("weights", lambda w: w[0]), r"^weights:"),
    "no layers": (
        lambda args: args.update(weights=[], biases=[]),
        r"^weights: .*at least one",
    ),
    "weights[1] n_in": (
        _set(1, "weights", lambda w: np.zeros((w.shape[0] + 1, w.shape[1]))),
        r"^weights\[1\]: layer 1 has shape \(8, 6\).*expected \(7, n_out\)",
    ),
    "weights[0] 1-D": (_set(0, "weights", lambda w: w[0]), r"^weights\[0\]:"),
    "biases[2] shape": (
        _set(2, "biases", lambda b: np.zeros(b.size + 2)),
        r"^biases\[2\]: .*\(7,\).*expected \(5,\)",
    ),
    "x width": (_replace("x", lambda x: x[:, 1:]), r"^x: .*columns"),
    "x 1-D": (_replace("x", lambda x: x[0]), r"^x:"),
    "y width": (_replace("y", lambda y: y[:, 1:]), r"^y: .*columns"),
    "batch sizes": (_replace("y", lambda y: y[:5]), r"^y: .*batch size 5"),
    "nan in x": (_replace("x", _nan_at), r"^x: .*non-finite"),
    "nan in y": (_replace("y", _nan_at), r"^y: .*non-finite"),
    "inf in weights[2]": (_set(2, "weights", _inf_at), r"^weights\[2\]: .*non-finite"),
    "nan in biases[0]": (_set(0, "biases", _nan_at), r"^biases\[0\]: .*non-finite"),
    "mixed dtypes": (
        _replace("x", lambda x: x.astype(np.float32)),
        r"^x: .*mixed dtypes",
    ),
    "integer dtype": (_replace("y", lambda y: y.astype(int)), r"^y: dtype"),
    "n_steps 0": (_replace("n_steps", lambda n: 0), r"^n_steps:"),
    "n_steps float": (_replace("n_steps", lambda n: 2.5), r"^n_steps:"),
    "zil too few steps": (
        lambda args: args.update(variant="zil", n_steps=2),
        r"^n_steps: .*zil",
    ),
    "step_size 0": (_replace("step_size", lambda s: 0.0), r"^step_size:"),
    "step_size negative": (_replace("step_size", lambda s: -0.1), r"^step_size:"),
    "step_size nan": (_replace("step_size", lambda s: float("nan")), r"^step_size:"),
    "output_precision 0": (
        lambda args: args.update(output_precision=0.0),
        r"^output_precision:",
    ),
    "learning_rate not incremental": (
        lambda args: args.update(learning_rate=0.1),
        r"^learning_rate: .*incremental",
    ),
    "learning_rate negative": (
        lambda args: args.update(variant="incremental", learning_rate=-1.0),
        r"^learning_rate:",
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_arguments_name_the_argument(case):
    weights, biases, x, y = make_mlp(WIDTHS[:4])
    args = dict(
        weights=weights,
        biases=biases,
        x=x,
        y=y,
        variant="standard",
        activation="tanh",
        n_steps=None,
        step_size=None,
    )
    change, match = INVALID[case]
    change(args)
    with pytest.raises(ValueError, match=match):
        pc.weight_updates(**args)


def test_unknown_option_is_a_type_error():
    weights, biases, x, y = make_mlp(WIDTHS[:4])
    with pytest.raises(TypeError, match="gamma"):
        pc.weight_updates(weights, biases, x, y, "standard", gamma=0.1)


def test_backprop_updates_and_energy_check_inputs():
    weights, biases, x, y = make_mlp(WIDTHS[:4])
    with pytest.raises(ValueError, match=r"^activation:"):
        pc.backprop_updates(weights, biases, x, y, "softplus")
    with pytest.raises(ValueError, match=r"^values: need 4"):
        pc.energy(weights, biases, [x, y])
    values = [x, np.zeros((8, 7)), np.zeros((8, 5)), y]
    with pytest.raises(ValueError, match=r"^values\[2\]: .*expected \(8, 6\)"):
        pc.energy(weights, biases, values)


def test_importing_pc_does_not_import_tensorflow():
    import nengo_pc  # pylint: disable=import-outside-toplevel

    root = os.path.dirname(os.path.dirname(os.path.abspath(nengo_pc.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (root, env.get("PYTHONPATH")) if p
    )
    code = (
        "import sys, nengo_pc, nengo_pc.pc as pc; "
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'; "
        "assert set(pc.VARIANTS) == {'standard', 'fixed_prediction', 'zil', "
        "'incremental'}; "
        "assert set(pc.ACTIVATIONS) == {'tanh', 'relu', 'sigmoid', 'linear', 'lif'}"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def test_divergence_warns():
    weights, biases, x, y = make_mlp(WIDTHS[:4])
    with pytest.warns(RuntimeWarning, match="diverged"):
        pc.weight_updates(
            weights, biases, x, y, "incremental", n_steps=50, learning_rate=1e3
        )


def test_rising_energy_warns_naming_the_step_size():
    """Standard inference that overshoots raises the energy: the updates are still
    finite (here ~1e19) but meaningless, and the warning names the step size."""
    weights, biases, x, y = make_mlp(WIDTHS[:4])
    with pytest.warns(RuntimeWarning, match="energy rose .* step_size=10"):
        pc.weight_updates(weights, biases, x, y, "standard", step_size=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pc.weight_updates(weights, biases, x, y, "standard")  # the default is stable
