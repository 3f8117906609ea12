"""What a ``networks/`` script's ``model`` loads at import: parameters and test images.

nengo-gui imports a script to build its ``model``; that must work on a fresh checkout
(no trained parameters, maybe no data) and must be quick. Every script therefore loads
its inputs the same way, defined here once: trained parameters if a file exists
(``$NENGO_PC_PARAMS``, else ``runs/<name>/params.npz`` next to ``networks/``, else
the parameters shipped with the package, `nengo_pc.pretrained`), else the default
architecture untrained; the first test images if the data are on disk
(never a download), else blank images. Each fallback prints a note naming what is
missing and how to provide it. `ImageDisplay` shows the current input image in
nengo-gui. `script_backend` says which simulator the ``model`` is for: a script
builds the form of its network that nengo-loihi can run when that is the backend.
"""

import base64
import io
import os
import sys
from pathlib import Path

import numpy as np

from nengo_pc.params import load_params


def note(name, message):
    """Print ``message`` to stderr, prefixed with the script's ``name``."""
    print(f"{name}: {message}", file=sys.stderr)


#: Environment variable naming the Nengo backend a script's ``model`` is for, when the
#: script runs outside nengo-gui (nengo-gui's ``--backend`` names it otherwise).
BACKEND_VARIABLE = "NENGO_PC_BACKEND"


def script_backend(script_globals):
    """The Nengo backend module a ``networks/`` script builds its ``model`` for.

    nengo-gui executes a script with its page in the script's globals (``__page__``),
    whose settings hold the ``--backend`` given to ``nengo`` (``"nengo"`` by
    default); outside nengo-gui ``$NENGO_PC_BACKEND`` names it, else ``"nengo"``.
    A script builds the form of its network that Loihi can run when this is
    ``"nengo_loihi"`` (docs/loihi.md), the network as trained otherwise. In
    nengo-gui, a backend other than ``"nengo"`` also selects that form's layout,
    ``X.py.<backend>.cfg`` beside the script ``X.py``, when it exists (nengo-gui
    reads the layout after running the script, from ``X.py.cfg`` by default).

    Parameters
    ----------
    script_globals : dict
        The script's ``globals()``.

    Returns
    -------
    str
        A module name with a ``Simulator``, e.g. ``"nengo"``, ``"nengo_dl"`` or
        ``"nengo_loihi"``.

    Raises
    ------
    ValueError
        ``$NENGO_PC_BACKEND`` names no installed module.
    """
    import importlib.util  # noqa: PLC0415

    page = script_globals.get("__page__")
    backend = getattr(getattr(page, "settings", None), "backend", None)
    if backend is not None:
        layout = f"{script_globals.get('__file__')}.{backend}.cfg"
        if backend != "nengo" and os.path.isfile(layout):
            page.filename_cfg = layout
        return backend
    backend = os.environ.get(BACKEND_VARIABLE, "nengo")
    if not backend.isidentifier() or importlib.util.find_spec(backend) is None:
        raise ValueError(f"{BACKEND_VARIABLE}: {backend!r} is not an installed Nengo "
                         "backend module (e.g. nengo, nengo_dl, nengo_loihi)")
    return backend


def run_dir(name, script=None):
    """``runs/<name>`` in the repository holding the script file ``script``.

    ``script`` is the script's ``__file__`` (nengo-gui sets it); without it, the
    working directory stands for the repository.
    """
    root = Path(script).resolve().parents[1] if script else Path.cwd()
    return root / "runs" / name


def trained_params(name, default_arch, candidates):
    """Architecture and parameters from the first existing file, else untrained.

    Parameters
    ----------
    name : str
        The script's name (``mnist-pc``), used in the note.
    default_arch : callable
        Returns the `~nengo_pc.arch.Architecture` to build when no file exists.
    candidates : sequence of path-like
        Parameter files (`nengo_pc.params.save_params` format) in order of preference,
        before the shipped ones of ``name`` (`nengo_pc.pretrained`);
        ``$NENGO_PC_PARAMS``, when set, replaces them all.

    Returns
    -------
    arch : Architecture
    params : Params or None
        None: untrained (a note says so).
    """
    from nengo_pc import pretrained  # noqa: PLC0415

    env = os.environ.get("NENGO_PC_PARAMS")
    paths = [Path(env)] if env else [Path(p) for p in candidates]
    for path in paths:
        if path.is_file():
            arch, params, _ = load_params(path)
            return arch, params
    if env is None and name in pretrained.names() and pretrained.available(name):
        arch, params, _ = pretrained.load(name)
        return arch, params
    note(name, f"no trained parameters at {', '.join(str(p) for p in paths)}"
               + ("" if env else " nor shipped ones") + ": the network is untrained "
               "(train it with the nengo-pc command, or set NENGO_PC_PARAMS to a "
               "params.npz)")
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


def presented_images(name, arch, n_images, data_dir=None):
    """Images and one-hot labels for `nengo.processes.PresentInput`.

    The first ``n_images`` MNIST test images (`mnist_test_images`), or one blank
    image with an all-zero label when they are not available.

    Returns
    -------
    images : ndarray
        ``(n, arch.sizes[0])``.
    one_hot : ndarray
        ``(n, arch.sizes[-1])``.
    """
    images, labels = mnist_test_images(name, n_images, data_dir)
    if images is None:
        return np.zeros((1, arch.sizes[0])), np.zeros((1, arch.sizes[-1]))
    images = np.asarray(images, dtype=float).reshape(len(images), -1)
    return images, np.eye(arch.sizes[-1])[np.asarray(labels)]


class ImageDisplay:
    """Output function of a node showing the current input image in nengo-gui.

    Sets ``_nengo_html_`` (read by nengo-gui's HTMLView) to a PNG of the image when
    it changes.

    Parameters
    ----------
    shape : tuple of int
        Height and width of the image.
    """

    def __init__(self, shape=(28, 28)):
        self.shape = shape
        self._last = None
        self._nengo_html_ = ""

    def __call__(self, t, x):
        if self._last is None or not np.array_equal(x, self._last):
            self._last = np.array(x)
            self._nengo_html_ = self.html(x)

    def html(self, x):
        """An ``<img>`` tag with the image as an inline PNG (blank if unavailable)."""
        try:
            import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
        except ImportError:
            return ""
        buffer = io.BytesIO()
        image = np.clip(np.asarray(x).reshape(self.shape), 0, 1)
        plt.imsave(buffer, image, cmap="gray", vmin=0, vmax=1, format="png")
        data = base64.b64encode(buffer.getvalue()).decode("ascii")
        return (f'<img src="data:image/png;base64,{data}" '
                f'style="width:100%;height:100%;image-rendering:pixelated"/>')
