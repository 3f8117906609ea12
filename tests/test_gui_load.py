"""Every ``networks/`` script loads in nengo-gui 0.6 as its page loader loads it.

Fast and without a browser: `gui.loader` runs nengo-gui's own `Page` on each script
(exec without ``__main__``, `nengo_gui.NameFinder`, the ``.cfg`` lines, the plots, the
page's JavaScript) and asks `NetGraph.connection_kind` about every connection, which
is what expanding a network in the browser does. ``tests/test_gui_e2e.py`` opens the
same pages in Chromium. Each script is loaded as ``nengo`` opens it and, where it
has a Loihi form, as ``nengo --backend nengo_loihi`` does (`gui.loader.backends`).
Skipped when nengo-gui (the ``gui`` extra) is not installed, the Loihi pages when
nengo-loihi (the ``loihi`` extra) is not.
"""

from pathlib import Path

import pytest

from gui import loader

pytest.importorskip("nengo_gui", reason="nengo-gui is not installed "
                    "(pip install -e '.[gui]' -c constraints.txt)")

SCRIPTS = loader.network_scripts()
PAIRS = loader.backends()


def _needs(backend):
    if backend == "nengo_loihi":
        pytest.importorskip("nengo_loihi", reason="nengo-loihi is not installed "
                            "(pip install -e '.[loihi]' -c constraints.txt)")


@pytest.fixture(scope="module", params=PAIRS, ids=[loader.pair_id(p) for p in PAIRS])
def loaded(request):
    """``(script, page or None, error)``: nengo-gui's page for one script with one
    backend (``nengo --backend ...``), loaded once for the checks below."""
    script, backend = request.param
    _needs(backend)
    try:
        return script, loader.load_page(script, backend), None
    except Exception as e:  # pylint: disable=broad-except
        return script, None, e


@pytest.fixture
def page(loaded):
    """The loaded page; the checks of a page that did not load are skipped (and
    `test_page_loads` fails with the reason)."""
    script, page, error = loaded
    if page is None:
        pytest.skip(f"nengo-gui cannot load {script}: {type(error).__name__}: {error}")
    return page


def test_scripts_found():
    assert len(SCRIPTS) >= 4, f"expected the model scripts in networks/, got {SCRIPTS}"


def test_page_loads(loaded):
    # nengo-gui's server answers a page that raises here with a 500 error
    script, _, error = loaded
    if error is not None:
        raise AssertionError(f"nengo-gui cannot load {script}") from error


def test_script_runs_without_error(page):
    # nengo-gui shows page.error as a traceback in its editor console
    assert page.error is None, page.error["trace"]
    assert page.model is not None


def test_cfg_lines_all_apply(page):
    lines = loader.cfg_lines(page.filename, page.settings.backend)
    assert lines, f"{page.filename} has no layout ({page.filename}.cfg)"
    errors = loader.cfg_errors(page, lines)
    assert not errors, "\n".join(f"{line}\n  -> {err}" for line, err in errors)


def test_cfg_plots_exist(page):
    named = loader.cfg_plots(loader.cfg_lines(page.filename, page.settings.backend))
    assert named, f"{page.filename}.cfg shows no plots"
    created = loader.plots(page)
    missing = {uid: kind for uid, kind in named.items()
               if type(created.get(uid)).__name__ != kind}
    assert not missing, f"plots in the .cfg that nengo-gui did not create: {missing}"


def test_layout_complete(page):
    """The top level of the graph has a position for everything, so nengo-gui does
    not lay it out itself; so has every network the ``.cfg`` says has a layout (the
    others are laid out by nengo-gui when expanded)."""
    config = page.config
    assert config[page.model].has_layout, f"{page.filename}.cfg: model.has_layout"
    missing = []
    for net in [page.model] + page.model.all_networks:
        if config[net].has_layout:
            missing.extend(page.get_uid(obj)
                           for obj in net.ensembles + net.nodes + net.networks
                           if config[obj].pos is None or config[obj].size is None)
    assert not missing, f"{page.filename}.cfg has no position for {missing}"


def test_layout_does_not_overlap(page):
    boxes = loader.plot_boxes(page)
    # plots stay on the page and clear of each other and of the network graph;
    # the 0.02 margin leaves room for a plot's label under it
    outside = {uid: box for uid, box in boxes.items()
               if min(box) < 0 or max(box) > 1}
    assert not outside, f"plots outside the page: {outside}"
    both = {**boxes, **loader.graph_boxes(page)}
    assert not loader.overlaps(both, margin=0.02), loader.overlaps(both, margin=0.02)


def test_page_javascript(page):
    # what the browser receives; it fails when a plot's object has no name
    assert "new Nengo.NetGraph" in page.create_javascript()


@pytest.fixture(scope="module", params=PAIRS, ids=[loader.pair_id(p) for p in PAIRS])
def model(request):
    """The ``model`` of one script, executed as nengo-gui executes it."""
    script, backend = request.param
    _needs(backend)
    return loader.exec_script(script, backend)["model"]


def test_rate_pc_script_names_why_it_cannot_run_on_loihi():
    # nengo-gui shows the script's error in its console; without the check it would
    # be nengo-loihi's BuildError about the bias ensemble's RectifiedLinear neurons
    _needs("nengo_loihi")
    page = loader.load_page(Path("networks/mnist_pc.py"), "nengo_loihi")
    assert page.error is not None
    last = page.error["trace"].strip().splitlines()[-1]
    assert "LoihiConfigError" in last and "rate mode" in last \
        and "networks/mnist_pc_spiking.py" in last, last


def test_connection_kind_for_every_connection(model):
    # checked on the executed script, so that it is checked even when the page
    # does not load
    connections = model.all_connections
    assert connections
    errors = loader.connection_kind_errors(model)
    assert not errors, (
        f"NetGraph.connection_kind fails for {len(errors)} of {len(connections)} "
        f"connections (nengo-gui then draws none of an expanded network's "
        f"connections):\n" + "\n".join(f"{c}: {e}" for c, e in errors[:5]))


def test_layout_saves_leave_the_tracked_cfg_alone(page):
    """nengo-gui saves every layout change (and expanding a network) to
    ``page.filename_cfg``; the first line of each preset ``.cfg`` points it out of
    the repository (docs/gui.md)."""
    tracked = loader.cfg_path(page.filename, page.settings.backend)
    saved = Path(page.filename_cfg)
    assert saved.resolve() != tracked.resolve()
    assert loader.REPO not in saved.resolve().parents, saved
    before = tracked.read_bytes()
    existed = saved.exists()
    try:
        page.save_config(force=True)
        assert saved.exists()
        # what nengo-gui saved is a layout it can load again
        assert "_viz_config[model]" in saved.read_text()
    finally:
        if not existed:
            saved.unlink(missing_ok=True)
    assert tracked.read_bytes() == before
