"""Check a dependency stack: NengoDL's own tests and nengo-pc's suite, counted.

Creates a fresh virtual environment with the given TensorFlow (plus tf-keras of the
same minor version from TensorFlow 2.16 on), nengo, nengo-dl and numpy, installs
nengo-pc from a clean clone of this repository's HEAD, then runs

1. NengoDL's own test suite from its 3.6.0 source distribution (downloaded from the
   package index; it carries the ``conftest.py`` and ``setup.cfg`` the tests need),
   every file but ``test_benchmarks.py``, with pytest 7.4 (NengoDL's tests use
   ``pytest.warns(None)``, which pytest 8 removed), with `nengo_pc.compat` installed
   at interpreter start (a ``sitecustomize`` module on ``PYTHONPATH``, so that it also
   holds in the fresh interpreters some of NengoDL's tests start), as importing
   nengo_pc first does in a user's script;
2. nengo-pc's suite (``python -m pytest`` in the clone, pytest as pinned by the
   ``test`` extra),

and writes one JSON record with the counts per suite, the failing test ids, the
installed versions and the machine::

    python benchmarks/stack_check.py --tensorflow 2.19.1 --numpy 1.26.4 \\
        --out results/stack/tf-2.19.1.json

The data sets for nengo-pc's suite come from ``$NENGO_PC_DATA`` (as for the tests).
Takes 20-40 minutes on 2 cores.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nengo_pc.compat import KERAS3_TF, parse_version  # noqa: E402
from nengo_pc.results import make_record, write_json_atomic  # noqa: E402

NENGO_DL_VERSION = "3.6.0"
NENGO_DL_PYTEST = "pytest==7.4.4"
# the plugins NengoDL 3.6's ``tests`` extra asks for whose fixtures its tests use
NENGO_DL_TEST_PLUGINS = ("pytest-allclose", "pytest-rng", "pytest-plt", "click", "six")


def run(cmd, log, **kwargs):
    """Run ``cmd``, appending its output to ``log``; return the exit code."""
    with open(log, "a", encoding="utf-8") as out:
        out.write(f"\n$ {' '.join(map(str, cmd))}\n")
        out.flush()
        return subprocess.run(list(map(str, cmd)), stdout=out, stderr=subprocess.STDOUT,
                              check=False, **kwargs).returncode


def must(cmd, log, **kwargs):
    code = run(cmd, log, **kwargs)
    if code != 0:
        sys.exit(f"stack_check: command failed (exit {code}), see {log}: "
                 f"{' '.join(map(str, cmd))}")


def junit_counts(path):
    """Counts and failing test ids from a pytest JUnit XML file."""
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    failing = []
    for case in ET.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        if case.find("failure") is not None:
            counts["failed"] += 1
            failing.append(name)
        elif case.find("error") is not None:
            counts["errors"] += 1
            failing.append(name)
        elif case.find("skipped") is not None:
            counts["skipped"] += 1
        else:
            counts["passed"] += 1
    return counts, failing


def installed_versions(python):
    code = ("import json, importlib.metadata as m\n"
            "names = ['tensorflow', 'tf-keras', 'keras', 'nengo', 'nengo-dl', 'numpy',"
            " 'scipy', 'pytest']\n"
            "out = {}\n"
            "for n in names:\n"
            "    try: out[n] = m.version(n)\n"
            "    except m.PackageNotFoundError: pass\n"
            "print(json.dumps(out))")
    return json.loads(subprocess.run([str(python), "-c", code], capture_output=True,
                                     text=True, check=True).stdout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tensorflow", required=True, help="TensorFlow version, e.g. 2.19.1")
    parser.add_argument("--tf-keras", help="tf-keras version (default: the TensorFlow "
                        "minor version, from 2.16 on)")
    parser.add_argument("--numpy", default="1.26.4")
    parser.add_argument("--nengo", default="3.2.0")
    parser.add_argument("--python", default="python3.11", help="interpreter for the venv")
    parser.add_argument("--workdir", type=Path, help="scratch directory "
                        "(default /tmp/nengo-pc-stack-<tensorflow>)")
    parser.add_argument("--out", type=Path, required=True, help="JSON record to write")
    parser.add_argument("--skip-nengo-dl", action="store_true",
                        help="do not run NengoDL's tests")
    parser.add_argument("-k", dest="select", default=None,
                        help="only NengoDL's tests matching this pytest -k expression")
    parser.add_argument("--skip-suite", action="store_true",
                        help="do not run nengo-pc's suite")
    args = parser.parse_args(argv)

    tf_minor = parse_version(args.tensorflow)
    tf_keras = args.tf_keras
    if tf_keras is None and tf_minor >= KERAS3_TF:
        tf_keras = f"{tf_minor[0]}.{tf_minor[1]}.*"
    work = (args.workdir or Path(f"/tmp/nengo-pc-stack-{args.tensorflow}")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    log = work / "log.txt"
    log.write_text("")
    print(f"stack_check: working in {work} (log: {log})", flush=True)
    t0 = time.perf_counter()

    src = work / "src"
    if not src.exists():
        must(["git", "clone", "-q", ROOT, src], log)
    commit = subprocess.run(["git", "-C", src, "rev-parse", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    venv = work / "venv"
    python = venv / "bin" / "python"
    if not python.exists():
        must([args.python, "-m", "venv", venv], log)
    stack = [f"tensorflow=={args.tensorflow}", f"nengo=={args.nengo}",
             f"nengo-dl=={NENGO_DL_VERSION}", f"numpy=={args.numpy}", "scipy"]
    if tf_keras:
        stack.append(f"tf-keras=={tf_keras}")
    must([python, "-m", "pip", "install", "-q", *stack, "matplotlib"], log)
    must([python, "-m", "pip", "install", "-q", "--no-deps", "-e", src], log)
    versions = installed_versions(python)
    print(f"stack_check: installed {versions}", flush=True)

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    suites = {}
    if not args.skip_nengo_dl:
        sdist = work / f"nengo-dl-{NENGO_DL_VERSION}.tar.gz"
        if not sdist.exists():
            must([python, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                  "--no-build-isolation", "-d", work, f"nengo-dl=={NENGO_DL_VERSION}"], log)
        tests_root = work / f"nengo-dl-{NENGO_DL_VERSION}"
        if not tests_root.exists():
            with tarfile.open(sdist) as tar:
                tar.extractall(work, filter="data")
        must([python, "-m", "pip", "install", "-q", NENGO_DL_PYTEST, *NENGO_DL_TEST_PLUGINS],
             log)
        xml = work / "nengo_dl.xml"
        startup = work / "startup"
        startup.mkdir(exist_ok=True)
        (startup / "sitecustomize.py").write_text(
            "import nengo_pc.compat\nnengo_pc.compat.install()\n")
        select = ["-k", args.select] if args.select else []
        t = time.perf_counter()
        code = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    "nengo_dl/tests", "--ignore", "nengo_dl/tests/test_benchmarks.py",
                    *select, f"--junitxml={xml}"],
                   log, cwd=tests_root, env=dict(env, PYTHONPATH=str(startup)))
        counts, failing = junit_counts(xml)
        suites["nengo_dl"] = dict(counts, failing=failing, exit_code=code,
                                  seconds=time.perf_counter() - t,
                                  pytest=NENGO_DL_PYTEST, select=args.select)
        print(f"stack_check: NengoDL's tests: {counts}", flush=True)
    if not args.skip_suite:
        must([python, "-m", "pip", "install", "-q", "--no-deps", "-e", f"{src}[test]"], log)
        must([python, "-m", "pip", "install", "-q", "pytest==9.2.0"], log)
        xml = work / "nengo_pc.xml"
        t = time.perf_counter()
        code = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    f"--junitxml={xml}"], log, cwd=src, env=env)
        counts, failing = junit_counts(xml)
        suites["nengo_pc"] = dict(counts, failing=failing, exit_code=code,
                                  seconds=time.perf_counter() - t)
        print(f"stack_check: nengo-pc's suite: {counts}", flush=True)

    config = {"tensorflow": args.tensorflow, "tf_keras": tf_keras, "numpy": args.numpy,
              "nengo": args.nengo, "nengo_dl": NENGO_DL_VERSION, "python": args.python,
              "commit": commit}
    record = make_record("stack_check", config, seed=0,
                         metrics={"suites": suites, "installed": versions,
                                  "python_version": subprocess.run(
                                      [python, "--version"], capture_output=True,
                                      text=True, check=True).stdout.strip(),
                                  "load_average": os.getloadavg(),
                                  "host": platform.node()},
                         seconds={"total": time.perf_counter() - t0})
    write_json_atomic(args.out, record)
    print(f"stack_check: wrote {args.out}", flush=True)
    failed = any(s["failed"] or s["errors"] for s in suites.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
