"""What nengo-gui 0.6 needs of a network, checked on every networks/ script's model.

nengo-gui is not installed in the test environment (its dependencies conflict with
TensorFlow's); these tests replay the two steps of its page loader that a network can
break, as nengo-gui 0.6.0 implements them:

* ``NameFinder`` hashes every item of every public list attribute of every network
  (``nengo_gui/namefinder.py``): arrays there raise ``TypeError: unhashable``;
* ``NetGraph.connection_kind`` samples the transform of every connection into
  ``.neurons`` and evaluates ``transform <= 0`` (``nengo_gui/components/netgraph.py``):
  a `nengo.Sparse` transform raises, and the expanded network draws no connections.

When nengo-gui is importable, its own classes are run as well.
"""

import runpy
from pathlib import Path

import nengo
import numpy as np
import pytest

from nengo_pc.arch import mlp
from nengo_pc.params import init_params, save_params

NETWORKS = Path(__file__).resolve().parents[1] / "networks"
SCRIPTS = sorted(p.name for p in NETWORKS.glob("*.py"))


def find_names(net, name="model", known=None):
    """NameFinder.find_names of nengo-gui 0.6.0: names for every object."""
    known = {net: name} if known is None else known
    lists = {"ensembles", "nodes", "connections", "networks", "all_ensembles",
             "all_nodes", "all_connections", "all_networks", "all_objects", "all_probes"}
    classes = (nengo.Node, nengo.Ensemble, nengo.Network, nengo.Connection)
    for attr in dir(net):
        if attr.startswith("_") or attr in lists:
            continue
        value = getattr(net, attr)
        if isinstance(value, list):
            for i, obj in enumerate(value):
                if obj not in known:  # hashes obj, as nengo-gui does
                    known[obj] = f"{known[net]}.{attr}[{i}]"
        elif isinstance(value, classes) and value not in known:
            known[value] = f"{known[net]}.{attr}"
    for kind in ("ensembles", "nodes", "connections", "networks"):
        for i, obj in enumerate(getattr(net, kind)):
            known.setdefault(obj, f"{known[net]}.{kind}[{i}]")
    for sub in net.networks:
        find_names(sub, known=known)
    return known


def connection_kind(conn):
    """NetGraph.connection_kind of nengo-gui 0.6.0 (the part that reads transforms)."""
    if isinstance(conn.post_obj, nengo.connection.LearningRule):
        return "modulatory"
    if isinstance(conn.post_obj, nengo.ensemble.Neurons):
        trafo = conn.transform
        if not isinstance(trafo, nengo.transforms.NoTransform):
            trafo = trafo.sample()
        if hasattr(trafo, "size") and trafo.size > 0 and (
                np.all(trafo <= 0.0) and not np.all(np.isclose(trafo, 0.0))):
            return "inhibitory"
    return "normal"


@pytest.fixture
def small_params(tmp_path, monkeypatch):
    """Point the scripts at small trained-format parameters (quick to build)."""
    def use(arch):
        path = tmp_path / "params.npz"
        save_params(path, arch, init_params(arch))
        monkeypatch.setenv("NENGO_PC_PARAMS", str(path))
    monkeypatch.setenv("NENGO_PC_DATA", str(tmp_path / "no-data"))
    return use


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_pass_the_page_loader_checks(script, small_params):
    from nengo_pc.arch import softlif_cnn
    from nengo_pc.conv import ConvLayer

    small_params({"mnist_softlif_cnn.py": softlif_cnn(conv=(ConvLayer(4, 5, 3),)),
                  "mnist_softlif_mlp.py": mlp((20,), "lif"),
                  "mnist_pc_spiking.py": mlp((12, 8), "lif")}.get(script, mlp((12, 8))))
    model = runpy.run_path(str(NETWORKS / script), run_name="nengo_gui")["model"]
    known = find_names(model)
    kinds = [connection_kind(conn) for conn in model.all_connections]
    assert len(kinds) == len(model.all_connections)
    assert all(obj in known for obj in model.all_ensembles + model.all_nodes
               + model.all_connections + model.all_networks)
    try:
        import nengo_gui  # pylint: disable=import-outside-toplevel
        from nengo_gui.components.netgraph import NetGraph
    except ImportError:
        return
    nengo_gui.NameFinder({"model": model}, model)
    for conn in model.all_connections:
        NetGraph.connection_kind(conn)


def test_pc_network_inhibition_is_drawn_inhibitory():
    from nengo_pc.networks import PredictiveCodingNetwork

    pc = PredictiveCodingNetwork(mlp((5,), n_in=4, n_out=2), add_to_container=False)
    gates = [c for c in pc.all_connections if c.pre_obj is pc.clamp
             and isinstance(c.post_obj, nengo.ensemble.Neurons)
             and c.post_obj.ensemble is pc.output_drive]
    assert len(gates) == 1 and connection_kind(gates[0]) == "inhibitory"
