"""The PCX peer's own virtual environment: PCX 0.6.3 with CPU JAX, apart from ours.

PCX (package ``pcx`` on PyPI) runs on JAX; it is installed into a separate venv
(``python3.11 -m venv``) so neither stack constrains the other. `ensure_venv`
creates the venv on first use and returns its interpreter; the peer scripts in this
folder run in it as subprocesses.

Run alone to create (or check) the venv::

    python benchmarks/peers/pcx_env.py [--venv DIR]
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

#: The PCX release the pairs compare with, and what its MNIST example needs besides
#: (PCX pins jax < 0.5, equinox < 0.12, optax < 0.3 itself; numpy < 2 matches the
#: JAX 0.4 wheels).
REQUIREMENTS = ("pcx==0.6.3", "jax[cpu]>=0.4.33,<0.5", "numpy<2")

#: Default location; override with ``NENGO_PC_PCX_VENV`` or ``--venv``.
DEFAULT_VENV = Path(os.environ.get("NENGO_PC_PCX_VENV", "/work/venvs/pcx"))


def venv_python(venv=DEFAULT_VENV):
    """The interpreter of ``venv``."""
    return Path(venv) / "bin" / "python"


def installed_versions(venv=DEFAULT_VENV):
    """Versions of pcx, jax, jaxlib, equinox, optax and numpy in ``venv`` (dict)."""
    code = ("import json, importlib.metadata as m, platform;"
            "print(json.dumps({'python': platform.python_version(), **{p: m.version(p) "
            "for p in ('pcx', 'jax', 'jaxlib', 'equinox', 'optax', 'numpy')}}))")
    out = subprocess.run([str(venv_python(venv)), "-c", code], check=True,
                         capture_output=True, text=True).stdout
    import json

    return json.loads(out)


def ensure_venv(venv=DEFAULT_VENV, python="python3.11", quiet=False):
    """Create ``venv`` with `REQUIREMENTS` unless it already has PCX 0.6.3.

    Returns
    -------
    Path
        The venv's interpreter.
    """
    venv = Path(venv)
    exe = venv_python(venv)
    if exe.exists():
        try:
            if installed_versions(venv)["pcx"] == "0.6.3":
                return exe
        except (subprocess.CalledProcessError, KeyError, ValueError):
            pass
    out = subprocess.DEVNULL if quiet else sys.stderr
    subprocess.run([python, "-m", "venv", str(venv)], check=True, stdout=out)
    subprocess.run([str(exe), "-m", "pip", "install", "--upgrade", "pip"],
                   check=True, stdout=out)
    subprocess.run([str(exe), "-m", "pip", "install", *REQUIREMENTS], check=True,
                   stdout=out)
    return exe


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", default=str(DEFAULT_VENV))
    args = parser.parse_args(argv)
    exe = ensure_venv(args.venv)
    print(exe, installed_versions(args.venv))


if __name__ == "__main__":
    main()
