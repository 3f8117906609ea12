"""What nengo-gui 0.6's page loader does with a script, replayed in-process.

``nengo networks/X.py`` serves a page built by `nengo_gui.page.Page`: it execs the
script (``__name__`` is not ``"__main__"``), names every object with
`nengo_gui.NameFinder`, execs ``X.py.cfg`` line by line against a
`nengo_gui.config.Config` (silently dropping lines that raise), creates the plots the
``.cfg`` names and generates the page's JavaScript; expanding a network then asks
`NetGraph.connection_kind` about each of its connections. `load_page` runs nengo-gui's
own `Page` on the script, so nothing here re-implements nengo-gui; the checks that
nengo-gui would swallow (a ``.cfg`` line that raises, a connection it cannot draw) are
made loud by `cfg_errors` and `connection_kind_errors`.
"""

import contextlib
import os
import re
import sys
import traceback
from pathlib import Path

#: nengo-gui's components whose ``.cfg`` entries are not plots on the page.
NON_PLOTS = ("NetGraph", "SimControl", "AceEditor", "Progress")

REPO = Path(__file__).resolve().parents[2]


def network_scripts():
    """Every model script in ``networks/``, as paths relative to the repository."""
    return sorted(p.relative_to(REPO) for p in (REPO / "networks").glob("*.py"))


#: The scripts that build a network nengo-loihi runs with ``--backend nengo_loihi``
#: (``mnist_pc.py`` is rate mode: it stops with a message instead).
LOIHI_SCRIPTS = [p for p in network_scripts() if p.stem != "mnist_pc"]


def backends():
    """``(script, backend)`` pairs to open: every script with Nengo, the
    `LOIHI_SCRIPTS` with nengo-loihi as well."""
    return ([(p, "nengo") for p in network_scripts()]
            + [(p, "nengo_loihi") for p in LOIHI_SCRIPTS])


def pair_id(pair):
    """Test id of a ``(script, backend)`` pair: ``mnist_pc``, ``mnist_pc_spiking-loihi``."""
    script, backend = pair
    return script.stem + ("" if backend == "nengo" else "-" + backend.replace("nengo_", ""))


class _GuiStandIn:
    """The three attributes of `nengo_gui.gui.BaseGUI` that `Page` uses."""

    def __init__(self, filename):
        from nengo_gui.guibackend import ModelContext  # pylint: disable=import-error

        self.model_context = ModelContext(filename=filename)
        self.component_uids = {}

    def remove_page(self, page):
        """Pages are not tracked here."""


@contextlib.contextmanager
def _cwd_and_stdout(path):
    # nengo-gui resolves the script relative to the working directory, and its
    # ExecutionEnvironment sets sys.stdout back to sys.__stdout__ (not to what it was)
    old_cwd, old_stdout = os.getcwd(), sys.stdout
    os.chdir(path)
    try:
        yield
    finally:
        sys.stdout = old_stdout
        os.chdir(old_cwd)


def load_page(script, backend="nengo"):
    """Build nengo-gui's `Page` for ``script`` as ``nengo --backend BACKEND script``
    would.

    Parameters
    ----------
    script : str or Path
        The script, relative to the repository (the working directory of a user who
        runs ``nengo networks/X.py``).
    backend : str
        nengo-gui's ``--backend``.

    Returns
    -------
    nengo_gui.page.Page
        Loaded (script executed, names found, ``.cfg`` applied, plots created), with
        its simulation thread stopped. `Page` raises what nengo-gui's server would
        answer with a 500 page (e.g. a NameFinder ``TypeError``); a script that raises
        is in ``page.error`` (nengo-gui shows it in its editor console).
    """
    import nengo_gui.page  # pylint: disable=import-error

    with _cwd_and_stdout(REPO):
        page = nengo_gui.page.Page(_GuiStandIn(str(script)), str(script),
                                   nengo_gui.page.PageSettings(backend=backend))
        # Page starts a thread that only steps a simulator once the browser asks
        # for one; end it
        page.finished = True
    return page


class _PageStandIn:
    """What a script sees of nengo-gui's page (``__page__``): its settings."""

    def __init__(self, backend):
        import nengo_gui.page  # pylint: disable=import-error

        self.settings = nengo_gui.page.PageSettings(backend=backend)
        self.filename_cfg = None


def exec_script(script, backend="nengo"):
    """The namespace of ``script`` executed as `Page.execute` does (nengo-gui's
    `ExecutionEnvironment`, ``__file__`` and ``__page__`` set, ``__name__`` not
    ``"__main__"``), for checks that must not depend on the rest of the page
    loading."""
    import nengo_gui  # pylint: disable=import-error
    import nengo_gui.exec_env  # pylint: disable=import-error

    namespace = {"nengo_gui": nengo_gui, "__file__": str(script),
                 "__page__": _PageStandIn(backend)}
    code = (REPO / script).read_text()
    with _cwd_and_stdout(REPO):
        with nengo_gui.exec_env.ExecutionEnvironment(str(script)):
            exec(compile(code, nengo_gui.exec_env.compiled_filename, "exec"),
                 namespace)  # pylint: disable=exec-used
    return namespace


def cfg_path(script, backend="nengo"):
    """The layout nengo-gui loads for ``script`` with ``backend``: ``X.py.cfg``, or
    the backend's own ``X.py.<backend>.cfg`` where there is one
    (`nengo_pc.script_inputs.script_backend`)."""
    own = REPO / f"{script}.{backend}.cfg"
    return own if backend != "nengo" and own.exists() else REPO / f"{script}.cfg"


def cfg_lines(script, backend="nengo"):
    """The lines of ``script``'s layout with ``backend`` (empty if it has none)."""
    path = cfg_path(script, backend)
    return path.read_text().splitlines() if path.exists() else []


def cfg_plots(lines):
    """``{uid: component class name}`` of the plots a ``.cfg`` creates."""
    plots = {}
    for line in lines:
        match = re.match(r"(\w+) = nengo_gui\.components\.(\w+)\(", line)
        if match and match.group(2) not in NON_PLOTS:
            plots[match.group(1)] = match.group(2)
    return plots


def cfg_errors(page, lines):
    """Exec ``lines`` as `Page.load_config` does, on a copy of the page's namespace;
    return ``(line, traceback)`` for each line that raised (nengo-gui only logs them
    at debug level, so a plot of a renamed object silently disappears)."""
    import nengo_gui  # pylint: disable=import-error
    import nengo_gui.config  # pylint: disable=import-error

    namespace = dict(page.last_good_locals or page.locals)
    namespace["nengo_gui"] = nengo_gui
    namespace["_viz_config"] = nengo_gui.config.Config()
    errors = []
    with _cwd_and_stdout(REPO):
        for line in lines:
            try:
                exec(line, namespace)  # pylint: disable=exec-used
            except Exception:  # pylint: disable=broad-except
                errors.append((line, traceback.format_exc(limit=1)))
    return errors


def connection_kind_errors(model):
    """``(connection, error)`` for every connection of ``model`` that
    `NetGraph.connection_kind` fails on (nengo-gui then draws none of the expanded
    network's connections)."""
    from nengo_gui.components.netgraph import NetGraph  # pylint: disable=import-error

    errors = []
    for conn in model.all_connections:
        try:
            kind = NetGraph.connection_kind(conn)
        except Exception as e:  # pylint: disable=broad-except
            errors.append((conn, f"{type(e).__name__}: {e}"))
        else:
            if kind not in ("normal", "inhibitory", "modulatory"):
                errors.append((conn, f"unknown kind {kind!r}"))
    return errors


def plots(page):
    """``{uid: component}`` of the plots on the page (not the graph or controls)."""
    return {page.get_uid(c): c for c in page.components
            if type(c).__name__ not in NON_PLOTS}


def plot_boxes(page):
    """``{uid: (left, top, right, bottom)}`` of each plot, in fractions of the main
    area (nengo-gui's x, y are a plot's centre and width, height its half-sizes)."""
    boxes = {}
    for uid, component in plots(page).items():
        c = page.config[component]
        boxes[uid] = (c.x - c.width, c.y - c.height, c.x + c.width, c.y + c.height)
    return boxes


def graph_boxes(page):
    """``{uid: (left, top, right, bottom)}`` of the top-level network-graph items
    (their ``pos`` is the centre and ``size`` the half-size, like the plots)."""
    boxes = {}
    for obj in page.model.ensembles + page.model.nodes + page.model.networks:
        c = page.config[obj]
        if c.pos is not None and c.size is not None:
            (x, y), (w, h) = c.pos, c.size
            boxes[page.get_uid(obj)] = (x - w, y - h, x + w, y + h)
    return boxes


def overlaps(boxes, margin=0.0):
    """Pairs of names in ``boxes`` whose boxes, grown by ``margin``, intersect."""
    names = sorted(boxes)
    found = []
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            (l1, t1, r1, b1), (l2, t2, r2, b2) = boxes[a], boxes[b]
            if (l1 < r2 + margin and l2 < r1 + margin
                    and t1 < b2 + margin and t2 < b1 + margin):
                found.append((a, b))
    return found
