"""The signal bookkeeping of `nengo_pc.pc.step_compiler.StepCompiler` on
hand-built Nengo operators (run eagerly): a signal written in runs of columns
after a reset is kept as its runs (`Parts`), read run by run, and joined -- with
zeros between the runs -- only when read whole or written across its runs."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from nengo.builder.operator import Copy, Reset  # noqa: E402
from nengo.builder.signal import Signal  # noqa: E402

from nengo_pc.pc.step_compiler import StepCompiler  # noqa: E402
from nengo_pc.pc.step_signals import Parts, stable_order  # noqa: E402


def _step(operators, batch_size=2):
    compiler = StepCompiler(stable_order(operators), fed=set(), shared=set(),
                            dt=0.001, batch_size=batch_size)
    env = {}
    compiler.step(env)
    return compiler, env


def test_runs_after_a_reset_are_read_as_runs_and_joined_with_zeros():
    a = Signal(np.array([1.0, 2.0, 3.0], np.float32), name="a")
    b = Signal(np.array([4.0, 5.0], np.float32), name="b")
    out = Signal(np.zeros(7, np.float32), name="out")
    compiler, env = _step([Reset(out), Copy(a, out[:3], inc=True), Copy(b, out[4:6], inc=True),
                           Copy(b, out[4:6], inc=True)])
    assert isinstance(env[out], Parts)
    np.testing.assert_array_equal(compiler.read(env, out[4:6]), [[8, 10], [8, 10]])
    np.testing.assert_array_equal(compiler.columns(env, out, 0, 3), [[1, 2, 3]] * 2)
    assert isinstance(env[out], Parts)  # reading runs joins nothing
    np.testing.assert_array_equal(compiler.read(env, out[2:5]), [[3, 0, 8]] * 2)
    np.testing.assert_array_equal(compiler.value(env, out),
                                  [[1, 2, 3, 0, 8, 10, 0]] * 2)


def test_a_write_across_runs_joins_them_first():
    a = Signal(np.array([1.0, 2.0], np.float32), name="a")
    c = Signal(np.array([10.0, 20.0, 30.0], np.float32), name="c")
    out = Signal(np.zeros(5, np.float32), name="out")
    compiler, env = _step([Reset(out), Copy(a, out[:2], inc=True), Copy(a, out[3:5], inc=True),
                           Copy(c, out[1:4], inc=True)], batch_size=1)
    np.testing.assert_array_equal(compiler.value(env, out), [[1, 12, 20, 31, 2]])
