"""The inputs a networks/ script's model loads at import (nengo_pc.script_inputs)."""

import numpy as np
import pytest

from nengo_pc import script_inputs
from nengo_pc.arch import mlp
from nengo_pc.params import init_params, save_params


def test_trained_params_prefers_the_first_existing_file(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("NENGO_PC_PARAMS", raising=False)
    small, other = mlp((3,), n_in=4, n_out=2), mlp((5,), n_in=4, n_out=2)
    save_params(tmp_path / "b.npz", other, init_params(other, 1))
    arch, params = script_inputs.trained_params("x-y", lambda: small,
                                  [tmp_path / "a.npz", tmp_path / "b.npz"])
    assert arch == other and params.weights[0].shape == (4, 5)

    save_params(tmp_path / "a.npz", small, init_params(small, 2))
    monkeypatch.setenv("NENGO_PC_PARAMS", str(tmp_path / "b.npz"))  # replaces the list
    assert script_inputs.trained_params("x-y", lambda: small, [tmp_path / "a.npz"])[0] == other
    assert capsys.readouterr().err == ""


def test_missing_params_and_data_fall_back_with_notes(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("NENGO_PC_PARAMS", raising=False)
    small = mlp((3,), n_in=4, n_out=2)
    arch, params = script_inputs.trained_params("x-y", lambda: small, [tmp_path / "none.npz"])
    assert arch == small and params is None
    images, labels = script_inputs.mnist_test_images("x-y", 5, data_dir=tmp_path / "no-data")
    assert images is None and labels is None
    err = capsys.readouterr().err
    assert "x-y: no trained parameters" in err and "nengo-pc" in err
    assert "blank images" in err and "NENGO_PC_DATA" in err


def test_mnist_test_images_reads_the_first_images(real_data):
    images, labels = script_inputs.mnist_test_images("x-y", 7, data_dir=real_data)
    assert images.shape == (7, 784) and labels.shape == (7,)
    assert np.all((0 <= images) & (images <= 1))


def test_presented_images_fall_back_to_one_blank_image(tmp_path, capsys):
    arch = mlp((3,), n_in=784, n_out=10)
    images, labels = script_inputs.presented_images("x-y", arch, 5,
                                                    data_dir=tmp_path / "no-data")
    assert images.shape == (1, 784) and labels.shape == (1, 10)
    assert not images.any() and not labels.any()
    assert "blank images" in capsys.readouterr().err


def test_presented_images_are_one_hot(real_data):
    arch = mlp((3,), n_in=784, n_out=10)
    images, labels = script_inputs.presented_images("x-y", arch, 4, data_dir=real_data)
    assert images.shape == (4, 784) and labels.shape == (4, 10)
    np.testing.assert_array_equal(labels.sum(axis=1), 1)


def test_run_dir_is_next_to_the_networks_folder(tmp_path):
    script = tmp_path / "repo" / "networks" / "x.py"
    assert script_inputs.run_dir("x-y", script) == tmp_path / "repo" / "runs" / "x-y"


def test_image_display_html():
    display = script_inputs.ImageDisplay()
    display(0.0, np.zeros(784))
    assert display._nengo_html_.startswith("<img")  # what nengo-gui's HTMLView reads


class _Page:
    """What nengo-gui puts in a script's globals as ``__page__``."""

    def __init__(self, backend):
        self.settings = type("Settings", (), {"backend": backend})()
        self.filename_cfg = "x.py.cfg"


def test_script_backend_reads_nengo_gui_then_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv(script_inputs.BACKEND_VARIABLE, raising=False)
    assert script_inputs.script_backend({}) == "nengo"
    monkeypatch.setenv(script_inputs.BACKEND_VARIABLE, "nengo_dl")
    assert script_inputs.script_backend({}) == "nengo_dl"
    # nengo-gui's --backend wins over the environment
    script = tmp_path / "x.py"
    page = _Page("nengo")
    assert script_inputs.script_backend({"__page__": page, "__file__": str(script)}) \
        == "nengo"
    assert page.filename_cfg == "x.py.cfg"


def test_script_backend_selects_the_backends_own_layout(tmp_path):
    script = tmp_path / "x.py"
    page = _Page("nengo_loihi")
    # no X.py.nengo_loihi.cfg: nengo-gui's default layout stays
    assert script_inputs.script_backend({"__page__": page, "__file__": str(script)}) \
        == "nengo_loihi"
    assert page.filename_cfg == "x.py.cfg"
    own = tmp_path / "x.py.nengo_loihi.cfg"
    own.write_text("")
    script_inputs.script_backend({"__page__": page, "__file__": str(script)})
    assert page.filename_cfg == str(own)


@pytest.mark.parametrize("value", ["loihi", "no_such_backend_module", "nengo loihi"])
def test_script_backend_refuses_an_unknown_backend(monkeypatch, value):
    monkeypatch.setenv(script_inputs.BACKEND_VARIABLE, value)
    with pytest.raises(ValueError, match=f"{script_inputs.BACKEND_VARIABLE}: "
                                         f"'{value}' is not an installed Nengo"):
        script_inputs.script_backend({})
