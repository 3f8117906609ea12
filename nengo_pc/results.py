"""Run records: the JSON every command writes, and the atomic writes behind it.

A run record holds everything needed to interpret a number later: the metrics, the
seconds they took, the full configuration, the seed, package versions and the machine.
`analysis/` scripts read only these records.
"""

import datetime
import json
import os
import platform
import sys
import tempfile
from importlib import metadata
from pathlib import Path

#: Version of the record layout; bump when a required key changes meaning.
SCHEMA = "nengo_pc.run/1"

#: Keys every record has, with their types.
REQUIRED_KEYS = {
    "schema": str,
    "kind": str,
    "created": str,
    "config": dict,
    "seed": int,
    "metrics": dict,
    "seconds": dict,
    "versions": dict,
    "machine": dict,
}

_PACKAGES = ("nengo-pc", "nengo", "nengo-dl", "tensorflow", "numpy")


def package_versions():
    """Installed versions of Python and the packages results depend on."""
    versions = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def machine_info():
    """A short description of the machine a number was measured on."""
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python_executable": sys.executable,
    }


def make_record(kind, config, seed, metrics, seconds, **extra):
    """Assemble a run record.

    Parameters
    ----------
    kind : str
        What produced it, e.g. ``"train"``, ``"evaluate"``, ``"benchmark"``.
    config : dict
        The full configuration (every option, including defaults).
    seed : int
        The seed the run used.
    metrics : dict
        Measured results (accuracies, losses ...).
    seconds : dict
        Wall-clock timings in seconds.
    **extra
        Further JSON-serialisable entries (e.g. ``history``).
    """
    record = {
        "schema": SCHEMA,
        "kind": kind,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec="seconds"
        ),
        "config": config,
        "seed": int(seed),
        "metrics": metrics,
        "seconds": seconds,
        "versions": package_versions(),
        "machine": machine_info(),
    }
    record.update(extra)
    validate_record(record)
    return record


def validate_record(record):
    """Raise ValueError if ``record`` lacks a required key or has a wrong type."""
    if not isinstance(record, dict):
        raise ValueError(f"record: expected a dict, got {type(record).__name__}")
    for key, kind in REQUIRED_KEYS.items():
        if key not in record:
            raise ValueError(f"record: missing required key {key!r}")
        if not isinstance(record[key], kind):
            raise ValueError(
                f"record: key {key!r} should be {kind.__name__}, "
                f"got {type(record[key]).__name__}"
            )
    if record["schema"] != SCHEMA:
        raise ValueError(f"record: schema {record['schema']!r} is not {SCHEMA!r}")
    for name, value in record["metrics"].items():
        if isinstance(value, float) and value != value:
            raise ValueError(f"record: metric {name!r} is NaN")
    return record


def atomic_write(path, write, binary=False):
    """Create ``path`` by ``write(file)`` on a temporary file and a rename.

    Readers never see a half-written file, and an interrupted run leaves the previous
    version intact. The file gets the usual permissions (``0o666`` less the umask),
    not the private ones of a temporary file.

    Parameters
    ----------
    path : str or Path
        Destination; parent directories are created.
    write : callable
        Called with the open temporary file.
    binary : bool
        Open the temporary file in binary mode.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_json_atomic(path, obj):
    """Write ``obj`` as JSON to ``path`` atomically (see `atomic_write`).

    NaN and infinity are rejected (ValueError): a record never hides a diverged run.
    """
    text = json.dumps(obj, indent=2, allow_nan=False) + "\n"
    return atomic_write(path, lambda f: f.write(text))


def emit_record(record, out=None, shown=None):
    """Hand over a benchmark's record: write it atomically to ``out`` (if given) and
    print it (or ``shown``, e.g. only its metrics, when given) as JSON on stdout.
    Returns ``record``."""
    if out:
        write_json_atomic(out, record)
    print(json.dumps(record if shown is None else shown, indent=2))
    return record


def read_record(path):
    """Load and validate a run record."""
    with open(path) as f:
        return validate_record(json.load(f))


def seed_records(results_dir):
    """The records of a results directory laid out as ``<dataset>/<name>_seed<k>.json``
    (as ``benchmarks/compare_rules.py`` writes them), grouped by run.

    Names of learning rules from before the registry (``zil``, ``bp``, ...) are read
    as their registry names (`nengo_pc.rules.canonical`); the files keep theirs.

    Returns
    -------
    dict
        ``{(name, dataset): [record, ...]}``, records in path order (seed 0 first).
    """
    from nengo_pc.rules import canonical

    groups = {}
    for path in sorted(Path(results_dir).glob("*/*_seed*.json")):
        name = canonical(path.name.rsplit("_seed", 1)[0])
        groups.setdefault((name, path.parent.name), []).append(read_record(path))
    return groups


def find_seed_record(results_dir, dataset, name, seed):
    """The path of the ``<dataset>/<name>_seed<seed>.json`` record, also under a name
    from before the registry that maps to ``name``; None if there is none."""
    from nengo_pc.rules.registry import LEGACY_NAMES

    folder = Path(results_dir) / dataset
    for candidate in [name] + [old for old, new in LEGACY_NAMES.items() if new == name]:
        path = folder / f"{candidate}_seed{seed}.json"
        if path.exists():
            return path
    return None


def save_figure(fig, path, dpi=120):
    """Write a matplotlib figure atomically and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or Path
        Destination; the format follows the suffix (e.g. ``.png``).
    dpi : int
        Resolution.

    Returns
    -------
    Path
        ``path``.
    """
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel

    path = Path(path)
    fmt = path.suffix.lstrip(".") or "png"
    try:
        return atomic_write(path, lambda f: fig.savefig(f, dpi=dpi, format=fmt),
                            binary=True)
    finally:
        plt.close(fig)
