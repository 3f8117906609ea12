"""Batch-norm training in Keras (the ``keras-bn`` backend), folding into plain
parameters, and running the folded network spiking."""

import numpy as np
import pytest

from nengo_pc.arch import softlif_cnn, softlif_mlp
from nengo_pc.conv import ConvLayer
from nengo_pc.convert import build_keras, fold_batch_norm, params_from_keras
from nengo_pc.data import random_shifts
from nengo_pc.networks.presentation import Presentation
from nengo_pc.params import init_params
from nengo_pc.rates import forward
from nengo_pc.training import TrainConfig, evaluate, train
from nengo_pc.training.loop import read_checkpoint

SMALL_CNN = dict(conv=(ConvLayer(8, 5, 2), ConvLayer(16, 3, 2, "same")), hidden=(32,))


def _randomise_batch_norm(model, arch, rng):
    """Non-trivial BN statistics, as after training."""
    for i in range(arch.n_layers - 1):
        bn = model.get_layer(f"bn{i}")
        n = bn.get_weights()[0].shape[0]
        bn.set_weights([rng.uniform(0.5, 2.0, n), rng.normal(1.0, 0.5, n),
                        rng.normal(0.0, 0.5, n), rng.uniform(0.2, 3.0, n)])


@pytest.mark.parametrize("arch", [softlif_mlp((30, 20), n_in=784),
                                  softlif_cnn(**SMALL_CNN)], ids=["mlp", "cnn"])
def test_folded_equals_unfolded(arch):
    rng = np.random.default_rng(0)
    params = init_params(arch, seed=2)
    params.biases = [rng.normal(0, 0.3, b.shape).astype(np.float32) for b in params.biases]
    model = build_keras(arch, params, batch_norm=True)
    _randomise_batch_norm(model, arch, rng)
    folded = fold_batch_norm(model, arch)
    x = rng.random((20, 784)).astype(np.float32)
    unfolded = model(x, training=False).numpy()
    # soft-LIF: Lipschitz, so float32 rounding stays small (exact LIF has an infinite
    # slope at threshold, where any rounding can switch a neuron on)
    diff = np.abs(build_keras(arch, folded)(x).numpy() - unfolded).max()
    assert diff < 1e-5 and np.abs(unfolded).max() > 0.1
    # the conv biases stay tied and the description is unchanged
    assert [b.shape for b in folded.biases] == arch.bias_shapes
    # a model without BN folds to its own parameters
    plain = fold_batch_norm(build_keras(arch, params), arch)
    for a, b in zip(plain.weights + plain.biases, params.weights + params.biases):
        np.testing.assert_array_equal(a, b)
    assert params_from_keras(model, arch).weights[0].shape == arch.weight_shapes[0]


def test_batch_norm_cnn_folds_and_runs_spiking(mnist_data, tmp_path):
    arch = softlif_cnn(**SMALL_CNN)
    validation = mnist_data.test.subset(300)
    checkpoint = tmp_path / "checkpoint.npz"
    result = train(
        arch, mnist_data.train.subset(3000),
        TrainConfig(epochs=4, batch_size=50, learning_rate=3e-3), backend="keras-bn",
        validation=validation, checkpoint_path=checkpoint, progress=False)
    assert result.history[-1]["val_accuracy"] > 0.85, result.history
    # trained statistics: folded == unfolded in inference mode (the unfolded model
    # as the checkpoint holds it)
    _, _, state, _ = read_checkpoint(checkpoint)
    model = build_keras(arch, batch_norm=True)
    model.set_weights([state[f"model/{i}"] for i in range(len(model.get_weights()))])
    x = validation.images[:50]
    np.testing.assert_allclose(build_keras(arch, result.params)(x),
                               model(x, training=False), atol=1e-5)
    test = mnist_data.test.subset(200)
    rate = evaluate(arch, result.params, test)
    assert rate["accuracy"] == np.mean(
        forward(arch, result.params, test.images).argmax(1) == test.labels)
    # BN-trained soft-LIF networks are more sensitive to spike noise than those
    # trained without BN (folded weights are ~2-3x larger and pre-activations sit at
    # the threshold, where the LIF curve is steepest): at 60 ms with alpha synapses
    # they lose ~13 points, at 150 ms lowpass ~0.5 (measured)
    spiking = evaluate(arch, result.params, test, batch_size=200,
                       presentation=Presentation(n_steps=150, synapse="lowpass"))
    # 200 images: one image is 0.5 points
    assert spiking["accuracy"] > rate["accuracy"] - 0.04, (spiking, rate)


def test_random_shifts_translate_with_zero_padding():
    rng = np.random.default_rng(0)
    images = rng.uniform(0.1, 1.0, (50, 6 * 5 * 2)).astype(np.float32)
    shifted = random_shifts(images, (6, 5, 2), 2, np.random.default_rng(3))
    assert shifted.shape == images.shape and shifted.dtype == images.dtype
    for image, out in zip(images.reshape(-1, 6, 5, 2), shifted.reshape(-1, 6, 5, 2)):
        # exactly one shift within +-2 maps the image onto the output
        matches = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                expected = np.zeros_like(image)
                src = image[max(0, dy):6 + min(0, dy), max(0, dx):5 + min(0, dx)]
                expected[max(0, -dy):6 + min(0, -dy), max(0, -dx):5 + min(0, -dx)] = src
                matches.append(np.array_equal(expected, out))
        assert sum(matches) == 1
    assert random_shifts(images, (6, 5, 2), 0, rng) is images
    with pytest.raises(ValueError, match="max_shift"):
        random_shifts(images, (6, 5, 2), -1, rng)
    with pytest.raises(ValueError, match="max_shift"):
        random_shifts(images, (6, 5, 2), 5, rng)
