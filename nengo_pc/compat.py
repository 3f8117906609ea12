"""NengoDL 3.6 on TensorFlow >= 2.16, through the Keras 2 package ``tf-keras``.

NengoDL 3.6.0 (its last release) was written for Keras 2. TensorFlow 2.16 and later
ship Keras 3, where NengoDL fails in two ways:

* ``import nengo_dl`` stops at ``nengo_dl/compat.py``, which imports
  ``keras.engine.functional`` and ``keras.layers.BatchNormalizationV1/V2``: Keras 3
  has no ``keras.engine`` and no such layers.
* Everything else in NengoDL goes through ``tf.keras``, which is Keras 3 unless the
  environment variable ``TF_USE_LEGACY_KERAS=1`` is set *before* TensorFlow is
  imported; then ``tf.keras`` is ``tf_keras`` (Keras 2, the ``tf-keras`` package of
  the same minor version).

`install` handles both, and every entry point passes through it (``nengo_pc``'s
``__init__`` calls it, so the package, the CLI, the networks/ scripts nengo-gui
opens, the benchmarks and the tests all do):

1. it sets ``TF_USE_LEGACY_KERAS=1`` (unless the user set it) while TensorFlow is not
   yet imported;
2. it puts a finder on ``sys.meta_path`` that, while ``nengo_dl`` itself is being
   imported and only then, points the module names ``keras.engine``,
   ``keras.engine.functional`` and ``keras.layers`` at tf_keras's modules, and
   restores them afterwards. Keras 3 is never modified: these names do not exist
   in it (``keras.layers`` is put back as it was).

On TensorFlow < 2.16 (Keras 2 is ``keras``) `install` does nothing.

A script that imports ``tensorflow`` or ``nengo_dl`` *before* ``nengo_pc`` on
TensorFlow >= 2.16 gets one line saying what to do (`LegacyKerasError`): import
``nengo_pc`` first, or set ``TF_USE_LEGACY_KERAS=1`` in the environment.

Measured evidence for the stack is in ``docs/stack.md``.
"""

import importlib.abc
import importlib.machinery
import os
import sys
from importlib import metadata

#: The environment variable TensorFlow >= 2.16 reads at import to pick Keras 2.
LEGACY_KERAS_VAR = "TF_USE_LEGACY_KERAS"

#: The first TensorFlow release whose ``tf.keras`` is Keras 3.
KERAS3_TF = (2, 16)

# the module names NengoDL 3.6's compat.py imports from Keras 2, and where tf_keras
# keeps them
_KERAS2_MODULES = {
    "keras.engine": "tf_keras.src.engine",
    "keras.engine.functional": "tf_keras.src.engine.functional",
    "keras.layers": "tf_keras.src.layers",
}

_ADVICE = (
    "import nengo_pc before tensorflow and nengo_dl, or set TF_USE_LEGACY_KERAS=1 in "
    "the environment"
)


class LegacyKerasError(ImportError):
    """NengoDL cannot run because TensorFlow was imported with Keras 3."""


def tensorflow_version():
    """The installed TensorFlow's (major, minor), without importing it; None if absent."""
    for dist in ("tensorflow", "tensorflow-cpu", "tensorflow-intel"):
        try:
            text = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
        return parse_version(text)
    return None


def parse_version(text):
    """(major, minor) of a version string such as ``"2.19.1"`` or ``"2.16.0rc0"``."""
    parts = []
    for piece in text.split(".")[:2]:
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        parts.append(int(digits or 0))
    while len(parts) < 2:
        parts.append(0)
    return tuple(parts)


def needs_legacy_keras(version=None):
    """Whether NengoDL needs the tf-keras redirection on this TensorFlow."""
    version = tensorflow_version() if version is None else version
    return version is not None and version >= KERAS3_TF


def legacy_keras_enabled():
    """Whether the environment asks TensorFlow for Keras 2 (as TensorFlow reads it)."""
    return os.environ.get(LEGACY_KERAS_VAR) in ("true", "True", "1")


class _Keras2Aliases:
    """Context: the Keras 2 module names NengoDL imports point at tf_keras."""

    def __enter__(self):
        try:
            import tf_keras  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
        except ImportError as error:
            version = ".".join(map(str, tensorflow_version() or ()))
            raise LegacyKerasError(
                f"NengoDL needs Keras 2 on TensorFlow {version}: pip install "
                f"'tf-keras=={version}.*'"
            ) from error
        self.saved = {name: sys.modules.get(name) for name in _KERAS2_MODULES}
        for name, target in _KERAS2_MODULES.items():
            sys.modules[name] = importlib.import_module(target)
        return self

    def __exit__(self, *exc):
        for name, module in self.saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        return False


class _AliasingLoader(importlib.abc.Loader):
    """Runs the real loader of ``nengo_dl`` inside `_Keras2Aliases`."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        if "tensorflow" in sys.modules and not legacy_keras_enabled():
            raise LegacyKerasError(
                "NengoDL 3.6 needs Keras 2, but TensorFlow was imported before nengo_pc "
                f"without {LEGACY_KERAS_VAR}=1: {_ADVICE}"
            )
        with _Keras2Aliases():
            self.loader.exec_module(module)


class _NengoDLFinder(importlib.abc.MetaPathFinder):
    """Finds ``nengo_dl`` as usual and wraps its loader in `_AliasingLoader`."""

    def find_spec(self, fullname, path, target=None):  # pylint: disable=unused-argument
        if fullname != "nengo_dl":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _AliasingLoader(spec.loader)
        return spec


def install():
    """Make NengoDL 3.6 importable and runnable on this TensorFlow (see module doc).

    Idempotent, cheap (imports neither TensorFlow nor NengoDL) and a no-op on
    TensorFlow < 2.16 or without TensorFlow.
    """
    if not needs_legacy_keras():
        return
    if "tensorflow" not in sys.modules:
        os.environ.setdefault(LEGACY_KERAS_VAR, "1")
    if "nengo_dl" in sys.modules:
        return  # imported before nengo_pc: it worked, or it already said why not
    if not any(isinstance(finder, _NengoDLFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _NengoDLFinder())
