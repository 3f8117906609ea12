"""Drive one nengo-gui page in headless Chromium and report what it showed.

Run by ``tests/test_gui_e2e.py`` with the Python of a separate environment that has
selenium (its typing-extensions pin conflicts with TensorFlow 2.12's), so this file
imports nothing of nengo-pc or nengo-gui::

    python drive.py URL --screenshot out.png --report out.json \
        [--run-seconds 4] [--min-sim-time 0.05] [--expanded-screenshot expanded.png]

It opens URL (a running ``nengo --no-browser`` server) at 1600x1000, waits for the
network graph, hides the code editor, presses play, lets the simulation run and
saves a screenshot; with ``--expanded-screenshot`` it then expands every network of
the graph (as double-clicking each would; nengo-gui 0.6 never expands one on load,
whatever the ``.cfg`` says), waits for nengo-gui to save its layout, and saves a
second screenshot. The JSON report holds the simulation
times seen before and after running, the plots on the page, the network-graph items
and connections, the text of nengo-gui's error console, alerts, and the browser's
console messages; the test decides what is an error. The exit code is 0 when the
report was written, whatever it says; when a step fails, the page as it was is saved
beside the report (``<report>-failed.png``).
"""

import argparse
import json
import os
import sys
import tempfile
import time
import traceback

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, UnexpectedAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

WINDOW = (1600, 1000)
# Without the networking flags Chromium keeps calling Google's hosts, which this
# closed network refuses; --no-sandbox because CI runs as root.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
)

# What nengo-gui's page shows, read in the page's own terms (the globals its
# generated script creates: ``sim``, ``Nengo.netgraph``, ``Nengo.Component.components``).
JS_STATE = """
const state = {time: null, paused: null, graph_items: 0, graph_conns: 0,
               plots: [], console_error: '', console_stdout: '', networks: [],
               ready: document.readyState === 'complete',
               is_gui: typeof Nengo !== 'undefined',
               text: document.body ? document.body.innerText.slice(0, 2000) : ''};
if (typeof sim !== 'undefined' && sim) {
    state.time = sim.time;
    state.paused = sim.paused;
}
if (typeof Nengo !== 'undefined' && Nengo.netgraph) {
    const ng = Nengo.netgraph;
    state.graph_items = Object.keys(ng.svg_objects).length;
    state.graph_conns = Object.keys(ng.svg_conns).length;
    for (const [uid, item] of Object.entries(ng.svg_objects)) {
        if (item.type === 'net') {
            state.networks.push({uid: uid, expanded: !!item.expanded});
        }
    }
}
if (typeof Nengo !== 'undefined' && Nengo.Component && Nengo.Component.components) {
    for (const c of Nengo.Component.components) {
        const r = c.div.getBoundingClientRect();
        // nengo-gui's JavaScript class of each Python component (SpikeGrid: Image)
        const kinds = [['Raster', Nengo.Raster], ['Value', Nengo.Value],
                       ['HTMLView', Nengo.HTMLView], ['SpikeGrid', Nengo.Image],
                       ['XYValue', Nengo.XYValue], ['Slider', Nengo.Slider]];
        const found = kinds.find(([name, cls]) => cls && c instanceof cls);
        const kind = found ? found[0] : 'other';
        state.plots.push({kind: kind, label: c.label ? c.label.textContent : '',
                          x: r.left, y: r.top, width: r.width, height: r.height});
    }
}
const err = document.getElementById('console_error');
if (err) { state.console_error = err.textContent; }
const out = document.getElementById('console_stdout');
if (out) { state.console_stdout = out.textContent; }
return state;
"""


def make_driver(user_data_dir):
    """Headless Debian Chromium through chromedriver, logging the browser console."""
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("NENGO_PC_CHROMIUM", "/usr/bin/chromium")
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={user_data_dir}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(os.environ.get("NENGO_PC_CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    # --window-size sets the outer window; make the page itself 1600x1000
    driver.set_window_size(*WINDOW)
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight];")
    driver.set_window_size(2 * WINDOW[0] - inner[0], 2 * WINDOW[1] - inner[1])
    return driver


class Session:
    """One page and everything it reported."""

    def __init__(self, driver):
        self.driver = driver
        self.alerts = []
        self.console = []

    def state(self):
        """The page's state (see ``JS_STATE``), accepting and recording alerts."""
        for _ in range(5):
            try:
                return self.driver.execute_script(JS_STATE)
            except UnexpectedAlertPresentException:
                alert = self.driver.switch_to.alert
                self.alerts.append(alert.text)
                alert.accept()
        return self.driver.execute_script(JS_STATE)

    def collect_console(self):
        """Move the browser's console messages into ``self.console``."""
        for entry in self.driver.get_log("browser"):
            self.console.append({"level": entry["level"], "message": entry["message"]})

    def wait_for(self, condition, timeout, what):
        """Wait until ``condition(state)`` holds; return the state, or raise naming
        ``what`` with the last state seen (at once if the page is not nengo-gui's,
        e.g. the server's error page)."""
        last = {}

        def check(_):
            nonlocal last
            last = self.state()
            if last["ready"] and not last["is_gui"]:
                raise RuntimeError(f"waiting for {what}, the page is not nengo-gui's: "
                                   f"{last['text']!r}")
            return condition(last)

        try:
            WebDriverWait(self.driver, timeout, poll_frequency=0.2).until(check)
        except TimeoutException:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}; "
                               f"page state: {json.dumps(last)}") from None
        return last


def drive(url, screenshot, run_seconds, load_timeout, min_sim_time=0.05,
          expanded_screenshot=None, failure_screenshot=None):
    """Open, play, run for ``run_seconds`` of wall time and at least ``min_sim_time``
    simulated seconds, screenshot, expand (if ``expanded_screenshot``, saved after);
    return the report dictionary. If something fails, the page as it was then goes
    to ``failure_screenshot``."""
    report = {"url": url, "steps": []}
    with tempfile.TemporaryDirectory(prefix="nengo-pc-chromium-") as profile:
        driver = make_driver(profile)
        session = Session(driver)
        try:
            t0 = time.monotonic()
            driver.get(url)
            report["title"] = driver.title
            loaded = session.wait_for(
                lambda s: s["graph_items"] > 0 and s["time"] is not None,
                load_timeout, "the network graph")
            report["steps"].append({"loaded": loaded, "seconds": time.monotonic() - t0})
            # a fresh browser shows the code editor on the right; the screenshots
            # show the page as a user who hides it (toolbar button, Ctrl+E) sees it
            driver.execute_script(
                "if (Nengo.ace && !Nengo.ace.hidden) { Nengo.ace.toggle_shown(); }")
            # the graph's items arrive one websocket message at a time
            time.sleep(1.0)
            before = session.state()
            report["time_before"] = before["time"]
            if before["paused"]:
                driver.find_element("id", "pause_button").click()
            # building the simulator happens after play on a fresh page
            running = session.wait_for(lambda s: (s["time"] or 0) > before["time"],
                                       load_timeout, "the simulation time to advance")
            report["steps"].append({"running": running,
                                    "seconds": time.monotonic() - t0})
            started = time.monotonic()
            session.wait_for(lambda s: s["time"] >= before["time"] + min_sim_time,
                             load_timeout, f"{min_sim_time} s of simulated time")
            time.sleep(max(0.0, run_seconds - (time.monotonic() - started)))
            after = session.state()
            report["time_after"] = after["time"]
            report["plots"] = after["plots"]
            report["graph_items"] = after["graph_items"]
            report["graph_conns"] = after["graph_conns"]
            driver.save_screenshot(screenshot)
            report["screenshot"] = screenshot
            report["steps"].append({"screenshot": screenshot,
                                    "seconds": time.monotonic() - t0})
            if expanded_screenshot:
                report["expanded"] = expand_all(session, load_timeout)
                # nengo-gui saves a changed layout at most every 2 s
                time.sleep(2.5)
                report["expanded_state"] = session.state()
                driver.save_screenshot(expanded_screenshot)
                report["steps"].append({"expanded": expanded_screenshot,
                                        "seconds": time.monotonic() - t0})
            final = session.state()
            report["console_error"] = final["console_error"]
            report["console_stdout"] = final["console_stdout"]
            report["seconds"] = time.monotonic() - t0
        except Exception:  # the report says what went wrong, with what was seen
            report["driver_error"] = traceback.format_exc()
            try:
                report["last_state"] = session.state()
                report["console_error"] = report["last_state"]["console_error"]
                if failure_screenshot:
                    driver.save_screenshot(failure_screenshot)
                    report["failure_screenshot"] = failure_screenshot
            except Exception:
                report["last_state_error"] = traceback.format_exc()
        finally:
            try:
                session.collect_console()
            except Exception:
                report["console_log_error"] = traceback.format_exc()
            report["alerts"] = session.alerts
            report["browser_console"] = session.console
            driver.quit()
    return report


def expand_all(session, timeout):
    """Expand every collapsed network, as double-clicking each would, until none is
    left; return the uids expanded."""
    expanded = []
    for _ in range(20):
        state = session.state()
        collapsed = [n["uid"] for n in state["networks"] if not n["expanded"]]
        if not collapsed:
            break
        for uid in collapsed:
            session.driver.execute_script(
                "Nengo.netgraph.svg_objects[arguments[0]].expand();", uid)
            expanded.append(uid)
        # the server sends the networks' contents after the expand messages
        try:
            session.wait_for(lambda s, n=state["graph_items"]: s["graph_items"] > n,
                             timeout / 4, "the expanded networks' contents")
        except TimeoutError:
            break
        time.sleep(0.5)
    return expanded


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--report", required=True)
    parser.add_argument("--run-seconds", type=float, default=4.0)
    parser.add_argument("--min-sim-time", type=float, default=0.05,
                        help="simulated seconds to wait for, at least")
    parser.add_argument("--load-timeout", type=float, default=60.0)
    parser.add_argument("--expanded-screenshot", default=None,
                        help="expand every network, then save a screenshot here")
    args = parser.parse_args(argv)
    report = drive(args.url, args.screenshot, args.run_seconds, args.load_timeout,
                   args.min_sim_time, args.expanded_screenshot,
                   failure_screenshot=os.path.splitext(args.report)[0] + "-failed.png")
    with open(args.report, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
