"""Shared fixtures: where the real data sets are, and small slices of them.

The real MNIST / Fashion-MNIST files are found through ``$NENGO_PC_DATA`` (which
``.ci/run`` sets to ``../shared/data``), else ``<workspace>/shared/data`` beside the
repository; tests that need them are skipped with the reason when neither exists.
"""

import os
from pathlib import Path

import pytest

from nengo_pc import data, datafiles

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _find_real_data():
    env = os.environ.get(datafiles.ENV_VAR)
    if env:
        # CI sets a path relative to the repository, where pytest runs from
        return Path(env).expanduser().absolute()
    fallback = Path(__file__).resolve().parents[2] / "shared" / "data"
    return fallback if fallback.is_dir() else None


REAL_DATA = _find_real_data()


@pytest.fixture(scope="session")
def real_data():
    """Directory holding the real ``mnist/`` and ``fashion_mnist/`` folders."""
    if REAL_DATA is None:
        pytest.skip(
            f"real MNIST data not found: {datafiles.ENV_VAR} is unset and "
            f"{Path(__file__).resolve().parents[2] / 'shared' / 'data'} does not "
            f"exist; set {datafiles.ENV_VAR}=/path/to/dir containing mnist/ and "
            f"fashion_mnist/ to run these tests"
        )
    for name in datafiles.DATASETS:
        if not (REAL_DATA / name).is_dir():
            pytest.fail(f"{datafiles.ENV_VAR}={REAL_DATA} has no {name}/ subfolder")
    return REAL_DATA


@pytest.fixture(scope="session")
def mnist_data(real_data):
    """The full MNIST data set, loaded once per test session."""
    return data.load_dataset("mnist", real_data, download=False)
