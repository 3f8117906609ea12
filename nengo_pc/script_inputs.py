"""What a ``networks/`` script's ``model`` needs at import: parameters and test images.

nengo-gui imports a script to build its ``model``; that must work on a fresh checkout
(no trained parameters, maybe no data) and must be quick. Every script therefore loads
its inputs the same way, defined here once: trained parameters if a file exists, else
the default architecture untrained; the first test images if the data are on disk
(never a download), else blank images. Each fallback prints a note naming what is
missing and how to provide it.
"""

import os
import sys
from pathlib import Path

from nengo_pc.arch import load_params


def note(name, message):
    """Print ``message`` to stderr, prefixed with the script's ``name``."""
    print(f"{name}: {message}", file=sys.stderr)


def trained_params(name, default_arch, candidates):
    """Architecture and parameters from the first existing file, else untrained.

    Parameters
    ----------
    name : str
        The script's name (``mnist-pc``), used in the note and its training hint.
    default_arch : callable
        Returns the `~nengo_pc.arch.Architecture` to build when no file exists.
    candidates : sequence of path-like
        Parameter files (`nengo_pc.arch.save_params` format) in order of preference;
        ``$NENGO_PC_PARAMS``, when set, replaces them.

    Returns
    -------
    arch : Architecture
    params : Params or None
        None: untrained (a note says so).
    """
    env = os.environ.get("NENGO_PC_PARAMS")
    paths = [Path(env)] if env else [Path(p) for p in candidates]
    for path in paths:
        if path.is_file():
            arch, params, _ = load_params(path)
            return arch, params
    note(name, f"no trained parameters at {', '.join(str(p) for p in paths)}: the "
               f"network is untrained (train it with "
               f"'python networks/{name.replace('-', '_')}.py')")
    return default_arch(), None


def mnist_test_images(name, n_images, data_dir=None):
    """The first ``n_images`` MNIST test images and labels, or (None, None).

    Reads only the test files from ``data_dir`` (or ``$NENGO_PC_DATA``, or the user
    cache) and never downloads, so importing a script stays quick; without them a note
    says how to provide them.
    """
    try:
        from nengo_pc.data import load_split  # noqa: PLC0415

        test = load_split("mnist", "test", data_dir, download=False)
        test = test.subset(min(n_images, len(test)))
        return test.images, test.labels
    except Exception as err:  # noqa: BLE001 -- any failure: show blank images instead
        note(name, f"MNIST test images not available ({err}); presenting blank images "
                   "(set NENGO_PC_DATA to a directory holding mnist/)")
        return None, None
