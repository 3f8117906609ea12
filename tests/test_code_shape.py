"""The design rules of the package's code, checked by reading the source with `ast`.

* No module of ``nengo_pc`` imports a private name (``_x``) from another module, or
  reads one as an attribute (``othermodule._x``, ``ImportedClass._x``): a name another
  module needs is public in its one home.
* No module of ``nengo_pc`` is longer than `MAX_LINES` lines unless its docstring has
  a paragraph starting with `LONG_MARKER` saying why (a file past ~500 lines is
  usually two concepts).
* The names that moved out of ``nengo_pc.arch`` and ``nengo_pc.data`` when they were
  split stay importable from there (the same objects, listed in ``__all__``).

Nothing here imports TensorFlow: the source is parsed, not imported, except for the
cheap ``arch`` / ``data`` modules of the last check.
"""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nengo_pc"

#: Longest module (in lines) that needs no stated reason.
MAX_LINES = 500

#: A module longer than `MAX_LINES` says why in a docstring paragraph starting so.
LONG_MARKER = "Why this module is long:"

#: Names that moved to a new home when ``arch.py`` and ``data.py`` were split,
#: {old module: {new module: names}}.
MOVED = {
    "nengo_pc.arch": {
        "nengo_pc.conv": ("PADDINGS", "ConvLayer", "conv2d"),
        "nengo_pc.params": ("Params", "init_params", "load_params", "save_params"),
    },
    "nengo_pc.data": {
        "nengo_pc.datafiles": ("CLASSES", "COUNTS", "DATASETS", "DISPLAY_NAMES",
                               "ENV_VAR", "FILES", "IMAGE_SHAPE", "MD5", "N_CLASSES",
                               "DataError", "default_cache_dir", "resolve_data_dir"),
        "nengo_pc.download": ("BASE_URLS", "download"),
    },
}


def _modules():
    return sorted(PACKAGE.rglob("*.py"))


def _relative(path):
    return path.relative_to(ROOT).as_posix()


def _module_name(path, root):
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _absolute(path, module, node):
    """The absolute module an ``ImportFrom`` node of ``path`` imports from."""
    if not node.level:
        return node.module or ""
    package = module.split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    package = package[:len(package) - node.level + 1]
    return ".".join(package + ([node.module] if node.module else []))


def private_uses(path, root=ROOT):
    """``["line: what", ...]``: private names this module takes from other modules."""
    module = _module_name(path, root)
    tree = ast.parse(path.read_text(), filename=str(path))
    found, bound = [], set()  # bound: local names standing for other nengo_pc objects
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _absolute(path, module, node)
            if source.split(".")[0] != "nengo_pc" or source == module:
                continue
            for alias in node.names:
                if _is_private(alias.name):
                    found.append(f"{node.lineno}: from {source} import {alias.name}")
                bound.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "nengo_pc":
                    bound.add(alias.asname or "nengo_pc")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            root = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in bound:
                found.append(f"{node.lineno}: {ast.unparse(node)}")
    return found


def _docstring_states_why(path):
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    return any(paragraph.strip().startswith(LONG_MARKER)
               for paragraph in docstring.split("\n\n"))


def _n_lines(path):
    return len(path.read_text().splitlines())


@pytest.mark.parametrize("path", _modules(), ids=_relative)
def test_no_private_name_crosses_a_module(path):
    uses = private_uses(path)
    assert not uses, (
        f"{_relative(path)} uses private names of other modules (make them public "
        f"in their home module, or move the code):\n  " + "\n  ".join(uses))


@pytest.mark.parametrize("path", _modules(), ids=_relative)
def test_long_modules_say_why(path):
    n = _n_lines(path)
    assert n <= MAX_LINES or _docstring_states_why(path), (
        f"{_relative(path)} has {n} lines (> {MAX_LINES}) and its docstring has no "
        f"paragraph starting {LONG_MARKER!r}: split it by concept, or say why not")


def test_the_checks_catch_violations(tmp_path):
    """The checkers flag each kind of violation (so the tests above can fail)."""
    package = tmp_path / "nengo_pc"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    bad = package / "sub" / "bad.py"
    bad.write_text(
        '"""A module."""\n'
        "import nengo_pc.arch\n"
        "from nengo_pc import neurons\n"
        "from nengo_pc.neurons import _hidden, public\n"
        "from . import _sibling\n"
        "from .other import Thing\n"
        "def f(self):\n"
        "    return (nengo_pc.arch._pair, neurons._clip, Thing._cache, self._own,\n"
        "            public.__name__)\n"
        "def _mine():\n"
        "    return _mine\n")
    uses = private_uses(bad, root=tmp_path)
    assert [u.split(": ", 1)[1] for u in uses] == [
        "from nengo_pc.neurons import _hidden",
        "from nengo_pc.sub import _sibling",
        "nengo_pc.arch._pair",
        "neurons._clip",
        "Thing._cache",
    ]
    long = package / "long.py"
    body = "x = 1\n" * MAX_LINES
    long.write_text('"""Short docstring."""\n' + body)
    assert not _docstring_states_why(long) and _n_lines(long) > MAX_LINES
    long.write_text(f'"""Title.\n\n{LONG_MARKER} a reason.\n"""\n' + body)
    assert _docstring_states_why(long)
    # the marker counts only at the start of a paragraph
    long.write_text(f'"""Title; {LONG_MARKER} not a paragraph.\n"""\n' + body)
    assert not _docstring_states_why(long)


@pytest.mark.parametrize("old", sorted(MOVED))
def test_moved_names_stay_importable_from_their_old_module(old):
    old_module = importlib.import_module(old)
    for new, names in MOVED[old].items():
        new_module = importlib.import_module(new)
        for name in names:
            assert getattr(old_module, name) is getattr(new_module, name), (old, name)
            assert name in old_module.__all__, f"{old}.__all__ lacks {name}"
            assert name in new_module.__all__, f"{new}.__all__ lacks {name}"
