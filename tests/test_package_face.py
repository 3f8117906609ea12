"""The package face: what ``import nengo_pc`` gives a user, and that it stays cheap."""

import subprocess
import sys

import pytest

import nengo_pc

FACE = ("mlp", "cnn", "Architecture", "Params", "init_params", "load_params",
        "save_params", "forward", "FeedforwardNetwork", "PredictiveCodingNetwork",
        "PoissonRateCode", "rules")


def test_import_is_cheap_and_gives_the_face():
    # issue #18's "done when" command, in a fresh interpreter
    code = ("import nengo_pc, sys; "
            "print(nengo_pc.PredictiveCodingNetwork, nengo_pc.rules); "
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'; "
            "assert 'nengo_dl' not in sys.modules, 'nengo_dl imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "PredictiveCodingNetwork" in result.stdout


@pytest.mark.parametrize("name", FACE)
def test_face_names_resolve_to_their_modules(name):
    obj = getattr(nengo_pc, name)
    assert name in nengo_pc.__all__ and name in dir(nengo_pc)
    if name == "rules":
        assert obj.__name__ == "nengo_pc.rules"
        assert "pc-standard" in obj.names()
    else:
        assert obj.__module__.startswith("nengo_pc.")


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'PCNetwork'"):
        nengo_pc.PCNetwork  # noqa: B018  pylint: disable=pointless-statement
