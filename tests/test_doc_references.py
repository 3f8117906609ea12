"""Every ``nengo_pc.<...>`` the documentation names exists.

The README, ``docs/**/*.md`` and the docstrings of ``benchmarks/``, ``analysis/``,
``networks/`` and the package's own modules name modules, classes and functions by
their dotted path (``nengo_pc.networks.pc.PredictiveCodingNetwork``) or their file
(``nengo_pc/pc/settings.py``). When code moves, those names go stale silently; this
test resolves each one. It reads the source with `ast` and imports nothing (so no
TensorFlow): a dotted name resolves when its longest module prefix is a file of the
package and each further part is defined there -- a top-level name (a definition,
an assignment, an import, or listed in ``__all__``), followed through an import to
its home, then a member of a class (defined in its body, a dataclass field, or set
on ``self`` in a method, including inherited ones of the package).

Historical names belong in prose without the ``nengo_pc.`` prefix (see
``docs/notes/layout-first-wave.md``).
"""

import ast
import functools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

DOTTED = re.compile(r"(?<![\w/.-])nengo_pc(?:\.[A-Za-z_]\w*)+")
FILE = re.compile(r"(?<![\w.-])nengo_pc(?:/[\w.-]+)*\.py\b")


def _docs():
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _docstrings(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes = [tree] + [node for node in ast.walk(tree) if isinstance(
        node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    return "\n".join(filter(None, (ast.get_docstring(node) for node in nodes)))


def _python_sources():
    files = [*sorted((ROOT / "benchmarks").glob("*.py")),
             *sorted((ROOT / "analysis").glob("*.py")),
             *sorted((ROOT / "networks").glob("*.py")),
             *sorted((ROOT / "nengo_pc").rglob("*.py"))]
    return files


def _texts():
    """``(name, text)`` of every document and docstring collection checked."""
    texts = [(p.relative_to(ROOT).as_posix(), p.read_text()) for p in _docs()]
    texts += [(p.relative_to(ROOT).as_posix() + " (docstrings)", _docstrings(p))
              for p in _python_sources()]
    return texts


# --- resolving names from the source -------------------------------------------


def _module_file(module):
    base = ROOT / Path(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


@functools.lru_cache(maxsize=None)
def _tree(path):
    return ast.parse(path.read_text(), filename=str(path))


def _absolute(path, module, node):
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    package = package[:len(package) - node.level + 1]
    return ".".join(package + ([node.module] if node.module else []))


def _literal_names(tree, name):
    """Strings in a top-level list/tuple/dict (keys) literal assigned to ``name``."""
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                value = node.value
                items = value.keys if isinstance(value, ast.Dict) else getattr(
                    value, "elts", [])
                names = set()
                for item in items:
                    if isinstance(item, ast.Constant) and isinstance(item.value, str):
                        names.add(item.value)
                    elif isinstance(item, ast.Starred) \
                            and isinstance(item.value, ast.Name):
                        names |= _literal_names(tree, item.value.id)
                return names
    return set()


def _top_level(module):
    """``{name: node}`` of what ``module`` defines or imports at its top level
    (including inside ``if`` / ``try``), and ``"__all__"`` names mapped to None."""
    path = _module_file(module)
    tree = _tree(path)
    names = dict.fromkeys(_literal_names(tree, "__all__"))
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        names[sub.id] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = node
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                names[alias.asname or alias.name] = (_absolute(path, module, node),
                                                     alias.name)
        elif isinstance(node, (ast.If, ast.Try)):
            stack.extend(node.body + node.orelse + getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                stack.extend(handler.body)
    return names


def _class_members(module, cls, seen=()):
    members = set()
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            members.add(node.name)
        elif isinstance(node, ast.Assign):
            members |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            members.add(node.target.id)
    for node in ast.walk(cls):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "self" and isinstance(node.ctx, ast.Store):
            members.add(node.attr)
    for base in cls.bases:  # inherited members of the package's own classes
        if isinstance(base, ast.Name) and (module, base.id) not in seen:
            home, node = _follow(module, base.id)
            if isinstance(node, ast.ClassDef):
                members |= _class_members(home, node, (*seen, (module, base.id)))
    return members


def _follow(module, name):
    """``(module, node)`` where ``name`` of ``module`` is defined, following imports
    within the package; node None when it is defined elsewhere or only listed."""
    for _ in range(20):
        if _module_file(module) is None:
            return module, None
        target = _top_level(module).get(name, "missing")
        if isinstance(target, tuple):
            source, name = target
            if _module_file(f"{source}.{name}"):  # ``from package import module``
                return f"{source}.{name}", "module"
            if not source.startswith("nengo_pc"):
                return source, None
            module = source
            continue
        if target == "missing":
            if _module_file(f"{module}.{name}"):
                return f"{module}.{name}", "module"
            return module, "missing"
        return module, target
    raise AssertionError(f"import cycle following {module}.{name}")


def resolve(reference):
    """None if the dotted ``reference`` names something that exists, else why not."""
    parts = reference.split(".")
    i = len(parts)
    while i > 1 and _module_file(".".join(parts[:i])) is None:
        i -= 1
    module, rest = ".".join(parts[:i]), parts[i:]
    if _module_file(module) is None:
        return f"no module {module}"
    while rest:
        name, rest = rest[0], rest[1:]
        home, node = _follow(module, name)
        if node == "missing":
            return f"{module} has no {name!r}"
        if node == "module":
            module = home
            continue
        if isinstance(node, ast.ClassDef) and rest:
            if rest[0] not in _class_members(home, node):
                return f"{home}.{name} has no member {rest[0]!r}"
        return None  # deeper attributes of a member are not checked
    return None


# --- the tests ---------------------------------------------------------------------


def test_resolver_tells_existing_from_missing_names():
    for good in ("nengo_pc", "nengo_pc.arch", "nengo_pc.mlp", "nengo_pc.rules.names",
                 "nengo_pc.arch.load_params", "nengo_pc.networks.PredictiveCodingNetwork",
                 "nengo_pc.networks.pc.PredictiveCodingNetwork.output",
                 "nengo_pc.data.Split.one_hot", "nengo_pc.rules.Rule.config_defaults"):
        assert resolve(good) is None, (good, resolve(good))
    for bad in ("nengo_pc.nengo_net", "nengo_pc.pc.network.PredictiveCodingNetwork",
                "nengo_pc.arch.no_such_name", "nengo_pc.PCNetwork",
                "nengo_pc.data.Split.no_such_member", "nengo_pc.train"):
        assert resolve(bad) is not None, bad


@pytest.mark.parametrize("name, text", _texts(), ids=[name for name, _ in _texts()])
def test_dotted_names_resolve(name, text):
    stale = {ref: resolve(ref) for ref in sorted(set(DOTTED.findall(text)))}
    stale = {ref: why for ref, why in stale.items() if why}
    assert not stale, f"{name} names what does not exist: {stale}"


@pytest.mark.parametrize("name, text", _texts(), ids=[name for name, _ in _texts()])
def test_file_names_exist(name, text):
    missing = sorted(ref for ref in set(FILE.findall(text)) if not (ROOT / ref).is_file())
    assert not missing, f"{name} names files that do not exist: {missing}"
