"""Every ``networks/`` script runs in nengo-gui 0.6, in a real headless browser.

For each script: start ``nengo --no-browser -P PORT --auto-shutdown 0 networks/X.py``
on localhost (and, for the scripts with a Loihi form, with ``--backend nengo_loihi``:
nengo-loihi's emulator, skipped when nengo-loihi is not installed), open it in headless Chromium through ``tests/gui/drive.py`` (run with
the Python of a separate environment holding selenium, whose typing-extensions pin
conflicts with TensorFlow 2.12's), wait for the network graph, press play, let it
run, then expand every network. The test asserts that the simulation time advances,
that the server printed no Python traceback and the page no error (nengo-gui's error
console, alerts, the browser console's SEVERE messages), that the plots of the
script's ``.cfg`` are on the page without overlapping, and that nothing in
``networks/`` was rewritten (nengo-gui saves layout changes to ``X.py.cfg``).

Environment:

``NENGO_PC_SELENIUM_PYTHON``
    A Python with selenium installed (``.ci/run`` makes one). Unset: skipped, with
    ``NENGO_PC_GUI_SKIP_REASON`` (set by ``.ci/run`` when it could not install the
    browser) or the reason below as the message. Set: Chromium, chromedriver and
    nengo-gui must be there, or the test fails.
``NENGO_PC_CHROMIUM``, ``NENGO_PC_CHROMEDRIVER``
    Default ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` (Debian's
    ``chromium`` and ``chromium-driver`` packages).
``NENGO_PC_GUI_SCREENSHOTS``
    A directory to save ``<script>.png`` and ``<script>-loihi.png`` (1600x1000) into, e.g. ``docs/screenshots``;
    default a temporary directory.
``NENGO_PC_GUI_RUN_SECONDS``
    Wall-clock seconds each network runs before the screenshot (default 3).
"""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from gui import loader

pytestmark = pytest.mark.gui

SCRIPTS = loader.network_scripts()
PAIRS = loader.backends()
DRIVER = Path(__file__).parent / "gui" / "drive.py"
#: Wall-clock seconds each network runs after play is pressed
#: (``$NENGO_PC_GUI_RUN_SECONDS``: longer for screenshots showing several images).
RUN_SECONDS = float(os.environ.get("NENGO_PC_GUI_RUN_SECONDS", "3"))
#: Simulated seconds it must advance by, at least: the PC networks run at a few
#: percent of real time on two busy cores, the soft-LIF ones near real time.
MIN_SIM_ADVANCE = 0.05
SERVER_START_TIMEOUT = 90
DRIVER_TIMEOUT = 300
#: Scripts driven at once.
PARALLEL = 2
#: Browser console errors that nengo-gui 0.6 itself logs on every page with a raster:
#: `Nengo.Raster` builds its axes before it knows its neuron count (``TimeAxes`` with
#: ``tickValues([undefined, undefined])``), then sets them; nothing is wrong on the page.
KNOWN_BROWSER_ERRORS = ('d3.v3.min.js 0 Error: <g> attribute transform: Trailing '
                        'garbage, "translate(0,NaN)".',)


def _browser_requirements():
    """``(selenium python, None)``, or ``(None, reason to skip)``; raises when the
    selenium environment is named but something else is missing."""
    selenium_python = os.environ.get("NENGO_PC_SELENIUM_PYTHON")
    if not selenium_python:
        reason = os.environ.get("NENGO_PC_GUI_SKIP_REASON") or (
            "NENGO_PC_SELENIUM_PYTHON is unset: set it to a Python with selenium "
            "(python3.11 -m venv SEL && SEL/bin/pip install selenium) and install "
            "Debian's chromium and chromium-driver to run the browser tests "
            "(.ci/run does both)")
        return None, reason
    problems = []
    if subprocess.run([selenium_python, "-c", "import selenium"],
                      capture_output=True, check=False).returncode != 0:
        problems.append(f"NENGO_PC_SELENIUM_PYTHON={selenium_python} cannot import "
                        f"selenium")
    for var, default in (("NENGO_PC_CHROMIUM", "/usr/bin/chromium"),
                         ("NENGO_PC_CHROMEDRIVER", "/usr/bin/chromedriver")):
        path = os.environ.get(var, default)
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            problems.append(f"{var}: no executable at {path}")
    try:
        import nengo_gui  # pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        problems.append("nengo-gui is not installed in this environment "
                        "(pip install -e '.[gui]' -c constraints.txt)")
    if problems:
        raise RuntimeError("NENGO_PC_SELENIUM_PYTHON is set but the browser test "
                           "cannot run: " + "; ".join(problems))
    return selenium_python, None


@pytest.fixture(scope="module")
def selenium_python():
    """The Python that runs ``tests/gui/drive.py``."""
    python, reason = _browser_requirements()
    if python is None:
        print(f"skipping the nengo-gui browser tests: {reason}")
        pytest.skip(reason)
    # Nengo 3.2 logs a traceback ("Decoder cache index corrupted") the first time
    # any simulator is built on a machine; build one here so that the servers'
    # stderr holds only what the scripts cause
    subprocess.run([sys.executable, "-c",
                    "import nengo; nengo.Simulator(nengo.Network(), progress_bar=False)"],
                   capture_output=True, check=True, timeout=120)
    return python


@pytest.fixture(scope="module")
def screenshot_dir(tmp_path_factory):
    """Where the screenshots go: ``$NENGO_PC_GUI_SCREENSHOTS`` or a temporary dir."""
    path = os.environ.get("NENGO_PC_GUI_SCREENSHOTS")
    if path:
        path = Path(path).expanduser().absolute()
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("gui-screenshots")


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _nengo_command():
    """``nengo`` of this environment (nengo-gui's console script)."""
    script = Path(sys.executable).parent / "nengo"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from nengo_gui.main import main; "
                                  "sys.argv[0] = 'nengo'; main()"]


def _snapshot(folder):
    """``{name: bytes}`` of every file in ``folder``."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


class Server:
    """``nengo --no-browser`` serving one script, its output in files."""

    def __init__(self, script, backend, log_dir):
        self.script = script
        self.port = _free_port()
        self.stdout_path = log_dir / "server.out"
        self.stderr_path = log_dir / "server.err"
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env["PYTHONPATH"] = os.pathsep.join(
            [str(loader.REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(  # pylint: disable=consider-using-with
                _nengo_command() + ["--no-browser", "-P", str(self.port),
                                    "--auto-shutdown", "0", "--backend", backend,
                                    str(script)],
                cwd=loader.REPO, env=env, stdout=out, stderr=err)

    def url(self, timeout=SERVER_START_TIMEOUT):
        """The page's address with its one-time token, once the server listens."""
        prefix = f"http://localhost:{self.port}/"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for word in self.stdout_path.read_text().split():
                if word.startswith(prefix):
                    return word
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"nengo-gui did not start for {self.script} "
                             f"(exit code {self.process.poll()}):\n{self.stderr()}")

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def stop(self):
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _report_problems(report, server_stderr, expected_plots):
    """Everything wrong with one page, as sentences."""
    problems = []
    if "driver_error" in report:
        problems.append(f"the browser session failed:\n{report['driver_error']}")
    before, after = report.get("time_before"), report.get("time_after")
    if before is None or after is None or after - before < MIN_SIM_ADVANCE:
        problems.append(f"the simulation time did not advance: {before} -> {after}")
    expanded = report.get("expanded_state")
    if (report.get("expanded") and expanded
            and expanded["graph_conns"] <= report.get("graph_conns", 0)):
        problems.append(f"expanding {report['expanded']} drew no connections")
    if "Traceback" in server_stderr:
        problems.append(f"the server printed a traceback:\n{server_stderr[-4000:]}")
    if report.get("console_error", "").strip():
        problems.append(f"nengo-gui's console shows an error:\n{report['console_error']}")
    if report.get("alerts"):
        problems.append(f"the page raised alerts: {report['alerts']}")
    severe = [e["message"] for e in report.get("browser_console", [])
              if e["level"] == "SEVERE"
              and not (any(e["message"].endswith(known) for known in KNOWN_BROWSER_ERRORS)
                       and "Raster" in {p["kind"] for p in report.get("plots", [])})]
    if severe:
        problems.append(f"the browser console has errors: {severe}")
    plots = report.get("plots", [])
    kinds = sorted(p["kind"] for p in plots)
    if kinds != sorted(expected_plots.values()):
        problems.append(f"expected the plots {sorted(expected_plots.values())} of the "
                        f".cfg, the page shows {kinds}: {plots}")
    boxes = {f"{i} {p['kind']} {p['label']}": (p["x"], p["y"], p["x"] + p["width"],
                                                p["y"] + p["height"])
             for i, p in enumerate(plots)}
    for name, (left, top, right, bottom) in boxes.items():
        if right - left < 50 or bottom - top < 50:
            problems.append(f"plot {name} is too small to read: {boxes[name]}")
        if left < 0 or top < 0 or right > 1600 or bottom > 1000:
            problems.append(f"plot {name} is outside the 1600x1000 window: "
                            f"{boxes[name]}")
    if loader.overlaps(boxes):
        problems.append(f"plots overlap: {loader.overlaps(boxes)}")
    return problems


def _drive(pair, selenium_python, screenshot_dir, work_dir):
    """Serve ``(script, backend)``, drive its page; ``{"report", "stderr",
    "seconds", ...}``."""
    script, backend = pair
    name = loader.pair_id(pair)
    out = work_dir / name
    out.mkdir()
    report_path = out / "report.json"
    server = Server(script, backend, out)
    t0 = time.monotonic()
    try:
        url = server.url()
        driven = subprocess.run(
            [selenium_python, str(DRIVER), url,
             "--screenshot", str(screenshot_dir / f"{name}.png"),
             "--expanded-screenshot", str(out / f"{name}-expanded.png"),
             "--report", str(report_path), "--run-seconds", str(RUN_SECONDS),
             "--min-sim-time", str(MIN_SIM_ADVANCE)],
            capture_output=True, text=True, timeout=DRIVER_TIMEOUT, check=False)
    except (AssertionError, subprocess.TimeoutExpired) as e:
        return {"error": str(e), "stderr": server.stderr(),
                "seconds": time.monotonic() - t0}
    finally:
        server.stop()
    result = {"stderr": server.stderr(), "seconds": time.monotonic() - t0}
    if driven.returncode != 0 or not report_path.exists():
        result["error"] = (f"tests/gui/drive.py failed (exit code {driven.returncode}):"
                           f"\n{driven.stdout}\n{driven.stderr}")
    else:
        result["report"] = json.loads(report_path.read_text())
    return result


@pytest.fixture(scope="module")
def sessions(request, selenium_python, screenshot_dir, tmp_path_factory):
    """``({script: result of _drive}, files of networks/ that changed)``: the
    scripts of the selected tests driven, PARALLEL at a time (the time is mostly
    spent waiting on pages, not computing), with the checkout put back as it was."""
    selected = [item.callspec.params["pair"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_network_runs_in_browser"
                and (item.callspec.params["pair"][1] != "nengo_loihi"
                     or importlib.util.find_spec("nengo_loihi") is not None)]
    networks = loader.REPO / "networks"
    before = _snapshot(networks)
    work_dir = tmp_path_factory.mktemp("gui-e2e")
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = dict(zip(selected, pool.map(
            lambda pair: _drive(pair, selenium_python, screenshot_dir, work_dir),
            selected)))
    after = _snapshot(networks)
    changed = sorted(name for name in set(before) | set(after)
                     if before.get(name) != after.get(name))
    for name in changed:  # leave the checkout as it was
        if name in before:
            (networks / name).write_bytes(before[name])
        else:
            (networks / name).unlink()
    return results, changed


@pytest.mark.parametrize("pair", PAIRS, ids=[loader.pair_id(p) for p in PAIRS])
def test_network_runs_in_browser(pair, sessions, screenshot_dir):
    script, backend = pair
    if backend == "nengo_loihi":
        pytest.importorskip("nengo_loihi", reason="nengo-loihi is not installed "
                            "(pip install -e '.[loihi]' -c constraints.txt)")
    results, changed = sessions
    result = results[pair]
    screenshot = screenshot_dir / f"{loader.pair_id(pair)}.png"
    assert "error" not in result, f"{script}: {result['error']}\nserver:\n" \
        f"{result['stderr']}"
    report = result["report"]
    print(f"{script} ({backend}): {result['seconds']:.1f} s; simulated "
          f"{report.get('time_before')} -> {report.get('time_after')} s; "
          f"{len(report.get('plots', []))} plots, {report.get('graph_items')} graph "
          f"items; expanded {report.get('expanded')}; screenshot {screenshot}")
    problems = _report_problems(report, result["stderr"],
                                loader.cfg_plots(loader.cfg_lines(script, backend)))
    # nengo-gui would write this script's layout next to it, X.py.cfg
    rewritten = [name for name in changed if name.startswith(script.name)
                 or not any(name.startswith(s.name) for s in SCRIPTS)]
    if rewritten:
        problems.append(f"nengo-gui rewrote or created files in networks/: {rewritten}")
    shown = report.get("failure_screenshot", screenshot)
    assert not problems, f"{script} in nengo-gui (screenshot {shown}):\n" + \
        "\n".join(f"- {p}" for p in problems)
