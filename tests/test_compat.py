"""nengo_pc.compat: NengoDL 3.6 on TensorFlow >= 2.16 through tf-keras."""

import os
import subprocess
import sys
import textwrap

import pytest

from nengo_pc import compat

NEW_TF = compat.needs_legacy_keras()


def run_python(code, env=None):
    env = dict(os.environ if env is None else env, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("text, expected", [
    ("2.19.1", (2, 19)), ("2.16.0rc0", (2, 16)), ("2.12", (2, 12)), ("3", (3, 0)),
    ("2.21.0.dev20250101", (2, 21)),
])
def test_parse_version(text, expected):
    assert compat.parse_version(text) == expected


def test_needs_legacy_keras_from_2_16():
    assert not compat.needs_legacy_keras((2, 12))
    assert not compat.needs_legacy_keras((2, 15))
    assert compat.needs_legacy_keras((2, 16))
    assert compat.needs_legacy_keras((2, 19))


def test_nengo_dl_runs_after_nengo_pc():
    """The supported order: nengo_pc first, then NengoDL simulates on this stack."""
    result = run_python("""
        import sys
        import nengo_pc
        assert "tensorflow" not in sys.modules
        import nengo, nengo_dl, numpy as np
        with nengo.Network(seed=0) as net:
            stim = nengo.Node([0.5])
            ens = nengo.Ensemble(50, 1)
            nengo.Connection(stim, ens)
            probe = nengo.Probe(ens, synapse=0.01)
        with nengo_dl.Simulator(net, progress_bar=False) as sim:
            sim.run(0.2)
        assert abs(sim.data[probe][-1, 0] - 0.5) < 0.1, sim.data[probe][-1]
        print("keras engine alias left behind:", "keras.engine" in sys.modules)
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    # the Keras 2 module names exist only while nengo_dl imports
    assert "alias left behind: False" in result.stdout or not NEW_TF


@pytest.mark.skipif(not NEW_TF, reason="TensorFlow < 2.16 has Keras 2: nothing to redirect")
def test_tensorflow_imported_first_says_what_to_do():
    env = {k: v for k, v in os.environ.items() if k != compat.LEGACY_KERAS_VAR}
    result = run_python("""
        import tensorflow
        import nengo_pc
        import nengo_dl
    """, env=env)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("nengo_pc.compat.LegacyKerasError")
    assert "import nengo_pc before tensorflow" in last
    assert "TF_USE_LEGACY_KERAS=1" in last


@pytest.mark.skipif(not NEW_TF, reason="TensorFlow < 2.16 has Keras 2: nothing to redirect")
def test_keras3_is_not_modified():
    result = run_python("""
        import sys
        import nengo_pc
        import keras
        layers_before = sys.modules["keras.layers"]
        import nengo_dl
        assert sys.modules["keras.layers"] is layers_before
        assert not hasattr(keras, "engine")
        assert keras.__version__.startswith("3."), keras.__version__
        import tensorflow as tf
        assert tf.keras.__name__.startswith("tf_keras"), tf.keras.__name__
    """)
    assert result.returncode == 0, result.stderr[-3000:]
