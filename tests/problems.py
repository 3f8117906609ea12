"""Small synthetic problems shared by the test modules (imported by name: pytest puts
this folder on ``sys.path``)."""

import numpy as np


def regression_problem(n=400, seed=0):
    """Inputs in [0, 1]^4 and targets of a fixed random linear map to R^2."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, 4)).astype(np.float32)
    w = rng.normal(0.0, 0.5, size=(4, 2))
    return x, (x @ w + 0.2).astype(np.float32)
