"""The tensorflow spiking backend computes what NengoDL computes for the same network."""

import numpy as np
import pytest

from nengo_pc.arch import ConvLayer, init_params, mlp, softlif_cnn
from nengo_pc.networks.presentation import Presentation
from nengo_pc.spiking_tf import TFSpikingBackend
from nengo_pc.training.evaluation import predict_logits

NETWORKS = {
    "mlp": mlp((50, 40), activation="lif"),
    "cnn": softlif_cnn((12,), conv=(ConvLayer(4, 3, 1), ConvLayer(6, 3, 2)),
                       input_shape=(9, 9, 1)),
}


def _problem(name):
    arch = NETWORKS[name]
    params = init_params(arch, seed=1)
    # drive every layer hard enough that it spikes within a few steps
    params.weights[:-1] = [w * 10 for w in params.weights[:-1]]
    x = np.random.RandomState(0).uniform(0, 1, (7, arch.sizes[0])).astype(np.float32)
    return arch, params, x


@pytest.mark.parametrize("name", sorted(NETWORKS))
@pytest.mark.parametrize("synapse, readout, n_steps", [
    ("none", "mean", 23), ("none", "last", 23), ("none", "lowpass", 23),
    ("lowpass", "mean", 23), ("lowpass", "last", 23), ("lowpass", "lowpass", 23),
    ("alpha", "mean", 40)])
def test_matches_nengo_dl(name, synapse, readout, n_steps):
    arch, params, x = _problem(name)
    p = Presentation(n_steps=n_steps, synapse=synapse, readout=readout)
    expected = predict_logits(arch, params, x, backend="nengo_dl", batch_size=7,
                              presentation=p, seed=3)
    assert np.abs(expected).max() > 0.01  # the output layer received spikes
    # batches of 4 leave a partial last batch; blocks of 5 a partial last block
    got = predict_logits(arch, params, x, backend="tensorflow", batch_size=4,
                         presentation=p, seed=3)
    np.testing.assert_allclose(got, expected, atol=2e-6 * np.abs(expected).max() + 1e-6)


def test_both_backends_step_at_the_presentations_dt():
    arch, params, x = _problem("mlp")
    outputs = {}
    for dt in (0.001, 0.002):
        p = Presentation(n_steps=23, synapse="lowpass", dt=dt)
        outputs[dt] = predict_logits(arch, params, x, backend="nengo_dl", batch_size=7,
                                     presentation=p, seed=3)
        got = predict_logits(arch, params, x, backend="tensorflow", batch_size=7,
                             presentation=p, seed=3)
        np.testing.assert_allclose(got, outputs[dt],
                                   atol=2e-6 * np.abs(outputs[dt]).max() + 1e-6)
    assert not np.allclose(outputs[0.001], outputs[0.002])  # dt is not ignored


@pytest.mark.parametrize("readout", ["mean", "lowpass"])
@pytest.mark.parametrize("block", [1, 5, 23])
def test_block_size_changes_grouping_only(block, readout):
    arch, params, x = _problem("cnn")
    p = Presentation(n_steps=23, synapse="none", readout=readout)
    ref = TFSpikingBackend(arch, params, 7, seed=3, presentation=p, block=23).predict(x)
    got = TFSpikingBackend(arch, params, 7, seed=3, presentation=p, block=block).predict(x)
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_seed_sets_initial_voltages():
    arch, params, x = _problem("mlp")
    p = Presentation(n_steps=10, synapse="none", readout="last")
    a = TFSpikingBackend(arch, params, 7, seed=3, presentation=p).predict(x)
    b = TFSpikingBackend(arch, params, 7, seed=4, presentation=p).predict(x)
    assert not np.allclose(a, b)


def test_bad_settings_name_the_parameter():
    arch, params, _ = _problem("mlp")
    with pytest.raises(ValueError, match="spiking mode only"):
        TFSpikingBackend(arch, params, 7, seed=0)
    with pytest.raises(ValueError, match="input_coding"):
        TFSpikingBackend(arch, params, 7, seed=0,
                         presentation=Presentation(input_coding="poisson"))
    with pytest.raises(ValueError, match="block"):
        TFSpikingBackend(arch, params, 7, seed=0, presentation=Presentation(), block=0)
    relu = mlp((20,), activation="relu")
    with pytest.raises(ValueError, match="LIF"):
        TFSpikingBackend(relu, init_params(relu), 7, seed=0, presentation=Presentation())


def test_cli_spiking_evaluate_defaults_to_tensorflow(tmp_path, real_data):
    """``nengo-pc evaluate --mode spiking`` runs this backend unless told otherwise,
    and classifies as ``--backend nengo_dl`` does."""
    from nengo_pc import cli
    from nengo_pc.arch import save_params, softlif_mlp
    from nengo_pc.results import read_record

    arch = softlif_mlp((30,))
    params = init_params(arch, seed=2)
    params.weights[0] = params.weights[0] * 10
    run = tmp_path / "run"
    save_params(run / "params.npz", arch, params, rule="backprop", dataset="mnist")
    records = {}
    for backend in (None, "nengo_dl"):
        out = tmp_path / f"{backend}.json"
        extra = [] if backend is None else ["--backend", backend]
        assert cli.main(["evaluate", "--run-dir", str(run), "--data-dir", str(real_data),
                         "--mode", "spiking", "--n-steps", "15", "--synapse", "none",
                         "--n-examples", "30", "--batch-size", "30", "--out", str(out),
                         *extra]) == 0
        records[backend] = read_record(out)
    assert records[None]["config"]["backend"] == "tensorflow"
    assert records["nengo_dl"]["config"]["backend"] == "nengo_dl"
    assert records[None]["metrics"]["loss"] == pytest.approx(
        records["nengo_dl"]["metrics"]["loss"], rel=1e-4)


def test_cli_lowpass_readout_and_its_time_constant(tmp_path, real_data, capsys):
    """``--readout lowpass --readout-tau`` reach the presentation (its record says
    so); ``--readout-tau`` with another readout is refused (exit 2, naming it)."""
    from nengo_pc import cli
    from nengo_pc.arch import save_params, softlif_mlp
    from nengo_pc.results import read_record

    arch = softlif_mlp((30,))
    params = init_params(arch, seed=2)
    run = tmp_path / "run"
    save_params(run / "params.npz", arch, params, rule="backprop", dataset="mnist")
    common = ["evaluate", "--run-dir", str(run), "--data-dir", str(real_data),
              "--mode", "spiking", "--n-steps", "10", "--synapse", "none",
              "--n-examples", "20", "--batch-size", "20"]
    out = tmp_path / "lowpass.json"
    assert cli.main([*common, "--readout", "lowpass", "--readout-tau", "0.05",
                     "--out", str(out)]) == 0
    presentation = read_record(out)["config"]["presentation"]
    assert (presentation["readout"], presentation["readout_tau"]) == ("lowpass", 0.05)
    with pytest.raises(SystemExit) as exit_info:
        cli.main([*common, "--readout-tau", "0.05"])
    assert exit_info.value.code == 2
    assert "--readout-tau: applies to the lowpass readout only" in capsys.readouterr().err
