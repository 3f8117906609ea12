"""Synaptic-operation counts, energy estimates and the README tables."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nengo_pc.arch import LIFParams, mlp, softlif_cnn, softlif_mlp
from nengo_pc.conv import ConvLayer
from nengo_pc.energy import SYNOP_ENERGY, hidden_rates, inference_cost, neuron_rates
from nengo_pc.neurons import lif_rate
from nengo_pc.params import init_params
from nengo_pc.results import make_record, write_json_atomic

ROOT = Path(__file__).resolve().parents[1]


def test_inference_cost_by_hand():
    arch = softlif_mlp((4, 3), n_in=5, n_out=2)
    cost = inference_cost(arch, [10.0, 20.0], seconds=0.1, dt=0.001)
    # spikes: 10 Hz * 4 neurons * 0.1 s + 20 Hz * 3 * 0.1 s = 4 + 6
    assert cost["spikes"] == pytest.approx(10.0)
    # layer-1 spikes reach 3 neurons, layer-2 spikes reach the 2 outputs
    assert cost["synops"] == pytest.approx(4 * 3 + 6 * 2)
    assert cost["dense_input_ops"] == 5 * 4 * 100
    assert cost["neuron_updates"] == (4 + 3) * 100
    assert cost["ann_macs"] == 5 * 4 + 4 * 3 + 3 * 2
    ops = 24 + 2000
    assert cost["energy_joules"]["cpu"] == pytest.approx(ops * SYNOP_ENERGY["cpu"])
    assert cost["energy_joules"]["loihi"] == pytest.approx(
        ops * 23.6e-12 + 700 * 81e-12)
    poisson = inference_cost(arch, [10.0, 20.0], seconds=0.1, dt=0.001, input_rate=50.0)
    assert poisson["dense_input_ops"] == 0
    assert poisson["synops"] == pytest.approx(24 + 50 * 5 * 0.1 * 4)


def test_inference_cost_counts_conv_synapses_exactly():
    # a spike of hidden neuron k drives exactly the outputs that depend on it: count
    # them by pushing a one-hot activity through the layer with all-ones weights
    arch = softlif_cnn((5,), conv=(ConvLayer(2, 3, 2), ConvLayer(3, 3, 1)),
                       input_shape=(9, 9, 1), n_out=4)
    ones = [np.ones(w) for w in arch.weight_shapes]
    zeros = [np.zeros(b) for b in arch.bias_shapes]

    def driven(i, k):
        h = np.zeros((1, arch.sizes[i]))
        h[0, k] = 1.0
        return int(np.count_nonzero(arch.linear(i, ones[i], zeros[i], h)))

    rng = np.random.default_rng(0)
    rates = [rng.uniform(0, 50, n) for n in arch.sizes[1:-1]]
    pixels = rng.uniform(0, 1, arch.sizes[0])
    cost = inference_cost(arch, rates, seconds=0.05, dt=0.001, input_rate=100 * pixels)
    expected = sum(r[k] * driven(i + 1, k) for i, r in enumerate(rates)
                   for k in range(len(r))) * 0.05
    expected += sum(100 * pixels[k] * driven(0, k) for k in range(arch.sizes[0])) * 0.05
    assert cost["synops"] == pytest.approx(expected)
    assert cost["spikes_per_layer"] == pytest.approx([r.sum() * 0.05 for r in rates])
    # mean rates use the mean fan-out: the same total for uniform rates
    uniform = inference_cost(arch, [10.0, 10.0, 10.0], seconds=0.05, dt=0.001)
    assert uniform["synops"] == pytest.approx(
        10.0 * 0.05 * sum(arch.n_connections[1:]))
    assert uniform["dense_input_ops"] == arch.n_connections[0] * 50
    with pytest.raises(ValueError, match="layer_rates"):
        inference_cost(arch, [10.0], seconds=0.05, dt=0.001)


def test_neuron_rates_average_to_hidden_rates():
    arch = softlif_mlp((6, 4), n_in=3, n_out=2)
    params = init_params(arch, seed=1)
    x = np.random.default_rng(1).uniform(0, 1, (7, 3))
    per_neuron = neuron_rates(arch, params, x, chunk=3)
    assert [r.shape for r in per_neuron] == [(6,), (4,)]
    assert hidden_rates(arch, params, x) == pytest.approx([r.mean() for r in per_neuron])


def test_hidden_rates_match_lif_curve():
    arch = softlif_mlp((3,), n_in=2, n_out=2, lif=LIFParams(amplitude=0.5))
    params = init_params(arch, seed=0)
    x = np.array([[1.0, 2.0], [0.5, 0.0]])
    j = x @ params.weights[0] + params.biases[0]
    expected = lif_rate(j, tau_rc=0.02, tau_ref=0.002).mean()
    assert hidden_rates(arch, params, x) == [pytest.approx(expected)]
    with pytest.raises(ValueError, match="arch"):
        hidden_rates(mlp((3,)), init_params(mlp((3,))), x)


def _bp_record():
    metrics, seconds = {}, {}
    for name in ("mnist", "fashion_mnist"):
        for backend, acc, sec in (("nengo_dl", 0.981, 10.0), ("keras", 0.982, 5.0)):
            metrics[f"{name}/{backend}/test_accuracy"] = acc
            seconds[f"{name}/{backend}/per_epoch"] = sec
        metrics[f"{name}/nengo_dl_over_keras_time"] = 2.0
    return make_record("benchmark", config={"benchmark": "bp_mlp",
                                            "datasets": ["mnist", "fashion_mnist"]},
                       seed=0, metrics=metrics, seconds=seconds)


def test_report_renders_bp_table(tmp_path):
    path = write_json_atomic(tmp_path / "bp.json", _bp_record())
    result = subprocess.run([sys.executable, str(ROOT / "analysis" / "report.py"),
                             str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "| MNIST | 98.10% | 98.20% | 10.0 | 5.0 | 2.00x |" in result.stdout
    assert "| Fashion-MNIST |" in result.stdout
    assert "2 cores" in result.stdout or "cores" in result.stdout


def test_report_rejects_unknown_records(tmp_path):
    record = _bp_record()
    record["config"]["benchmark"] = "mystery"
    path = write_json_atomic(tmp_path / "x.json", record)
    result = subprocess.run([sys.executable, str(ROOT / "analysis" / "report.py"),
                             str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "no table for benchmark 'mystery'" in result.stderr


def test_inference_costs_constant_and_poisson():
    from nengo_pc.energy import inference_costs
    from nengo_pc.networks.presentation import Presentation
    from nengo_pc.processes import PoissonRateCode

    arch = softlif_mlp((4, 3), n_in=5, n_out=2)
    images = np.random.default_rng(0).uniform(0, 1, (6, 5))
    costs = inference_costs(arch, [10.0, 20.0], images, Presentation(n_steps=100))
    assert costs["constant_input"] == inference_cost(arch, [10.0, 20.0], 0.1, 0.001)
    # a dense first layer: mean pixel rate x pixels x fan-out x seconds
    rate = images.mean() * PoissonRateCode().max_rate
    assert costs["poisson_input"]["synops"] == pytest.approx(24 + rate * 5 * 4 * 0.1)
