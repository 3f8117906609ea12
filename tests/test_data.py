"""Tests for `nengo_pc.data`, `nengo_pc.datafiles` and `nengo_pc.download`.

The real-data tests read MNIST and Fashion-MNIST from ``$NENGO_PC_DATA``
(or ``<workspace>/shared/data`` next to the repository) and are skipped when
neither exists. They never write there: every corruption test works on copies
in ``tmp_path``. No test touches the network: an autouse fixture points all
download URLs at a missing local folder, and the download tests point them at
``file://`` folders of their own.
"""

import collections
import dataclasses
import gzip
import hashlib
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nengo_pc import data, datafiles, download
from nengo_pc.data import load_dataset
from nengo_pc.datafiles import DataError

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
FILENAMES = list(datafiles.FILES.values())
TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = FILENAMES


@pytest.fixture(scope="module")
def mnist(real_data):
    return load_dataset("mnist", real_data, download=False)


@pytest.fixture(scope="module")
def fashion(real_data):
    return load_dataset("fashion_mnist", real_data, download=False)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Make any download that a test did not set up fail locally."""
    for name in datafiles.DATASETS:
        monkeypatch.setitem(
            download.BASE_URLS, name, "file:///nonexistent-nengo-pc-test-source/"
        )


@pytest.fixture
def mnist_copy(real_data, tmp_path):
    """A data dir in tmp_path holding writable copies of the MNIST files."""
    root = tmp_path / "data"
    _copy_files(real_data / "mnist", root / "mnist")
    return root


def _copy_files(src, dest, filenames=FILENAMES):
    dest.mkdir(parents=True, exist_ok=True)
    for f in filenames:
        # copyfile, not copy: the originals may be read-only and we must be
        # able to corrupt the copies.
        shutil.copyfile(src / f, dest / f)


def _rewrite_idx(path, edit):
    """Decompress ``path``, apply ``edit`` to the bytes and recompress."""
    content = edit(bytearray(gzip.decompress(path.read_bytes())))
    path.write_bytes(gzip.compress(bytes(content), compresslevel=1, mtime=0))


def _flip_middle_byte(path):
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


def _load_error(root, **kwargs):
    kwargs.setdefault("download", False)
    with pytest.raises(DataError) as excinfo:
        load_dataset("mnist", root, **kwargs)
    return str(excinfo.value)


def _row_keys(split):
    """One hashable key per example (pixels and label), for set bookkeeping."""
    pixels = np.rint(split.images * 255).astype(np.uint8)
    return [row.tobytes() + bytes([label]) for row, label in zip(pixels, split.labels)]


def _is_subsequence(short, long):
    it = iter(long)
    return all(any(x == y for y in it) for x in short)


# --- real data ----------------------------------------------------------------


def test_import_loads_no_heavy_modules():
    code = (
        "import sys, nengo_pc.data; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'nengo', 'nengo_dl', 'keras', 'jax')]; "
        "assert not bad, bad"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def test_mnist_real(mnist):
    assert mnist.name == "mnist"
    assert mnist.classes == tuple(str(i) for i in range(10))
    assert mnist.validation is None
    for split, n in [(mnist.train, 60000), (mnist.test, 10000)]:
        assert split.images.shape == (n, 784)
        assert len(split) == n
        assert split.images.dtype == np.float32
        assert split.images.min() == 0.0
        assert split.images.max() == 1.0
        assert split.labels.shape == (n,)
        assert split.labels.dtype == np.int64
        assert set(np.unique(split.labels)) == set(range(10))
    assert np.bincount(mnist.test.labels).tolist() == MNIST_TEST_COUNTS
    assert np.bincount(mnist.train.labels).tolist() == MNIST_TRAIN_COUNTS
    # Pixels are exactly k / 255 for integer k.
    k = mnist.test.images * 255
    assert np.allclose(k, np.rint(k), atol=1e-4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        mnist.train = mnist.test


def test_fashion_real(fashion):
    assert fashion.name == "fashion_mnist"
    assert fashion.classes == (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    )
    assert fashion.train.images.shape == (60000, 784)
    assert fashion.test.images.shape == (10000, 784)
    for split in (fashion.train, fashion.test):
        assert split.images.dtype == np.float32
        assert split.images.min() == 0.0 and split.images.max() == 1.0
        assert split.labels.dtype == np.int64
    assert np.bincount(fashion.test.labels).tolist() == [1000] * 10
    assert np.bincount(fashion.train.labels).tolist() == [6000] * 10


def test_flatten_false(real_data, mnist):
    ds = load_dataset("mnist", real_data, flatten=False, download=False)
    assert ds.train.images.shape == (60000, 28, 28)
    assert ds.test.images.shape == (10000, 28, 28)
    assert ds.train.images.dtype == np.float32
    np.testing.assert_array_equal(ds.test.images.reshape(10000, 784), mnist.test.images)
    np.testing.assert_array_equal(ds.train.labels, mnist.train.labels)


def test_one_hot(mnist):
    onehot = mnist.test.one_hot()
    assert onehot.shape == (10000, 10)
    assert onehot.dtype == np.float32
    np.testing.assert_array_equal(onehot.sum(axis=1), 1)
    np.testing.assert_array_equal(onehot.argmax(axis=1), mnist.test.labels)
    assert set(np.unique(onehot)) == {0, 1}
    assert mnist.test.one_hot(dtype=np.int32).dtype == np.int32


def test_subset(mnist):
    sub = mnist.test.subset(100)
    assert len(sub) == 100
    np.testing.assert_array_equal(sub.images, mnist.test.images[:100])
    np.testing.assert_array_equal(sub.labels, mnist.test.labels[:100])
    assert len(mnist.test.subset(10000)) == 10000
    for bad in (0, -1, 10001, 2.0):
        with pytest.raises(ValueError, match=r"\bn\b"):
            mnist.test.subset(bad)


def test_validation_split(real_data, mnist):
    a = load_dataset("mnist", real_data, n_validation=5000, download=False)
    assert len(a.train) == 55000 and len(a.validation) == 5000
    assert a.validation.images.shape == (5000, 784)
    assert a.validation.images.dtype == np.float32
    assert a.validation.labels.dtype == np.int64

    # Train and validation split the original 60000 examples between them
    # (as multisets, so duplicate images cannot fool the check) ...
    full = _row_keys(mnist.train)
    train, val = _row_keys(a.train), _row_keys(a.validation)
    assert collections.Counter(train) + collections.Counter(val) == (
        collections.Counter(full)
    )
    # ... and the remaining training examples keep their file order.
    assert _is_subsequence(train, full)
    # The test split is untouched.
    np.testing.assert_array_equal(a.test.images, mnist.test.images)

    # Same seed, same split.
    b = load_dataset("mnist", real_data, n_validation=5000, download=False)
    np.testing.assert_array_equal(a.validation.images, b.validation.images)
    np.testing.assert_array_equal(a.validation.labels, b.validation.labels)
    np.testing.assert_array_equal(a.train.labels, b.train.labels)

    # Another seed, another split.
    c = load_dataset(
        "mnist", real_data, n_validation=5000, validation_seed=1, download=False
    )
    assert len(c.validation) == 5000
    assert set(_row_keys(c.validation)) != set(val)


def test_flat_layout(real_data, tmp_path):
    # Pointing data_dir straight at the folder with the four files also works.
    _copy_files(real_data / "mnist", tmp_path)
    ds = load_dataset("mnist", tmp_path, download=False)
    assert len(ds.train) == 60000 and len(ds.test) == 10000


# --- arguments and directories --------------------------------------------------


@pytest.mark.parametrize("name", ["MNIST", "cifar10", "", None, 3])
def test_bad_name(name, tmp_path):
    with pytest.raises(ValueError, match="name") as excinfo:
        load_dataset(name, tmp_path, download=False)
    assert "'mnist'" in str(excinfo.value)
    assert "'fashion_mnist'" in str(excinfo.value)
    with pytest.raises(ValueError, match="name"):
        download.download(name, tmp_path)


@pytest.mark.parametrize("n_validation", [-1, 60000, 1.5, "10", True, None])
def test_bad_n_validation(n_validation, tmp_path):
    with pytest.raises(ValueError, match="n_validation"):
        load_dataset("mnist", tmp_path, n_validation=n_validation, download=False)


@pytest.mark.parametrize("seed", [-1, 0.5, "0"])
def test_bad_validation_seed(seed, tmp_path):
    with pytest.raises(ValueError, match="validation_seed"):
        load_dataset("mnist", tmp_path, validation_seed=seed, download=False)


def test_split_length_mismatch():
    with pytest.raises(ValueError, match="same length"):
        data.Split(np.zeros((3, 784), np.float32), np.zeros(2, np.int64))


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert datafiles.default_cache_dir() == tmp_path / "xdg" / "nengo_pc"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for xdg in ("", "relative/cache"):
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
        assert datafiles.default_cache_dir() == tmp_path / "home" / ".cache" / "nengo_pc"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert datafiles.default_cache_dir() == tmp_path / "home" / ".cache" / "nengo_pc"


def test_resolve_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv(datafiles.ENV_VAR, str(tmp_path / "env"))
    # The argument wins over the environment variable ...
    assert datafiles.resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert datafiles.resolve_data_dir(str(tmp_path / "arg")) == tmp_path / "arg"
    assert datafiles.resolve_data_dir("~/arg") == tmp_path / "home" / "arg"
    # ... which wins over the cache dir.
    assert datafiles.resolve_data_dir() == tmp_path / "env"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(datafiles.ENV_VAR, "../relative")
    assert datafiles.resolve_data_dir() == (tmp_path / "../relative").absolute()
    monkeypatch.delenv(datafiles.ENV_VAR)
    assert datafiles.resolve_data_dir() == tmp_path / "xdg" / "nengo_pc"


# --- failure modes ----------------------------------------------------------------


def test_missing_file(mnist_copy):
    missing = mnist_copy / "mnist" / TEST_LABELS
    missing.unlink()
    msg = _load_error(mnist_copy)
    assert str(missing) in msg
    assert "Missing" in msg and "download=False" in msg
    assert str(mnist_copy / "mnist" / TRAIN_IMAGES) not in msg
    for hint in (datafiles.ENV_VAR, "data_dir=", "--data-dir", "fashion_mnist/"):
        assert hint in msg


def test_missing_files_from_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv(datafiles.ENV_VAR, str(tmp_path))
    with pytest.raises(DataError) as excinfo:
        load_dataset("fashion_mnist", download=False)
    msg = str(excinfo.value)
    for f in FILENAMES:
        assert str(tmp_path / "fashion_mnist" / f) in msg
    assert f"{datafiles.ENV_VAR} environment variable" in msg
    assert excinfo.value.path == tmp_path / "fashion_mnist"


def test_missing_files_in_cache_dir(monkeypatch, tmp_path):
    monkeypatch.delenv(datafiles.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(DataError) as excinfo:
        load_dataset("mnist", download=False)
    msg = str(excinfo.value)
    assert str(tmp_path / "nengo_pc" / "mnist" / TRAIN_IMAGES) in msg
    assert f"{datafiles.ENV_VAR} is not set" in msg
    assert not (tmp_path / "nengo_pc").exists()


def test_checksum_mismatch(mnist_copy):
    path = mnist_copy / "mnist" / TRAIN_LABELS
    _flip_middle_byte(path)
    msg = _load_error(mnist_copy)
    assert str(path) in msg
    assert "checksum mismatch" in msg
    assert f"expected {datafiles.MD5['mnist'][TRAIN_LABELS]}, got {_md5(path)}" in msg
    assert datafiles.ENV_VAR in msg


def test_corrupt_deflate_data(mnist_copy):
    # Without the checksum, the same corruption is caught by gzip itself
    # (CRC or deflate error).
    path = mnist_copy / "mnist" / TRAIN_LABELS
    _flip_middle_byte(path)
    msg = _load_error(mnist_copy, verify_checksum=False)
    assert str(path) in msg
    assert "not a valid gzip file" in msg


@pytest.mark.parametrize(
    "verify_checksum, problem",
    [(False, "truncated gzip stream"), (True, "checksum mismatch")],
)
def test_truncated_gzip(mnist_copy, verify_checksum, problem):
    path = mnist_copy / "mnist" / TRAIN_LABELS
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    msg = _load_error(mnist_copy, verify_checksum=verify_checksum)
    assert str(path) in msg
    assert problem in msg


def test_not_gzip(mnist_copy):
    path = mnist_copy / "mnist" / TRAIN_LABELS
    path.write_bytes(gzip.decompress(path.read_bytes()))  # plain IDX, no gzip
    msg = _load_error(mnist_copy, verify_checksum=False)
    assert str(path) in msg
    assert "not a valid gzip file" in msg


def test_header_too_short(mnist_copy):
    path = mnist_copy / "mnist" / TRAIN_LABELS
    path.write_bytes(gzip.compress(b"\x00\x00\x08"))
    msg = _load_error(mnist_copy, verify_checksum=False)
    assert str(path) in msg
    assert "too short" in msg


def test_wrong_magic_labels(mnist_copy):
    path = mnist_copy / "mnist" / TRAIN_LABELS

    def edit(content):
        content[:4] = struct.pack(">I", 2051)
        return content

    _rewrite_idx(path, edit)
    msg = _load_error(mnist_copy, verify_checksum=False)
    assert str(path) in msg
    assert "magic number" in msg and "expected 2049, got 2051" in msg


def test_wrong_magic_images(real_data, mnist_copy):
    # A label file where the test images should be.
    path = mnist_copy / "mnist" / TEST_IMAGES
    shutil.copyfile(real_data / "mnist" / TEST_LABELS, path)
    msg = _load_error(mnist_copy, verify_checksum=False)
    assert str(path) in msg
    assert "magic number" in msg and "expected 2051, got 2049" in msg


def test_wrong_size(mnist_copy):
    # The header promises one label more than the file holds.
    path = mnist_copy / "mnist" / TRAIN_LABELS

    def edit(content):
        content[4:8] = struct.pack(">I", 60001)
        return content

    _rewrite_idx(path, edit)
    msg = _load_error(mnist_copy, verify_checksum=False)
    assert str(path) in msg
    assert "wrong size" in msg
    assert "60001 labels" in msg and "60009 bytes" in msg and "60008" in msg


def test_wrong_image_shape(mnist_copy):
    path = mnist_copy / "mnist" / TEST_IMAGES

    def edit(content):
        content[8:12] = struct.pack(">I", 27)
        return content

    _rewrite_idx(path, edit)
    msg = _load_error(mnist_copy, verify_checksum=False)
    assert str(path) in msg
    assert "expected 28x28, got 27x28" in msg


def test_label_out_of_range(mnist_copy):
    path = mnist_copy / "mnist" / TRAIN_LABELS

    def edit(content):
        content[8 + 123] = 10
        return content

    _rewrite_idx(path, edit)
    msg = _load_error(mnist_copy, verify_checksum=False)
    assert str(path) in msg
    assert "label values" in msg and "found 10" in msg


def test_images_labels_count_mismatch(mnist_copy):
    # A self-consistent label file that is one label short.
    path = mnist_copy / "mnist" / TRAIN_LABELS

    def edit(content):
        content[4:8] = struct.pack(">I", 59999)
        return content[:-1]

    _rewrite_idx(path, edit)
    msg = _load_error(mnist_copy, verify_checksum=False)
    assert str(path) in msg and str(mnist_copy / "mnist" / TRAIN_IMAGES) in msg
    assert "60000 images" in msg and "59999 labels" in msg


def test_wrong_example_count(real_data, mnist_copy):
    # Consistent test files where the training files should be.
    for kind in ("images", "labels"):
        shutil.copyfile(
            real_data / "mnist" / datafiles.FILES["test", kind],
            mnist_copy / "mnist" / datafiles.FILES["train", kind],
        )
    msg = _load_error(mnist_copy, verify_checksum=False)
    assert str(mnist_copy / "mnist" / TRAIN_IMAGES) in msg
    assert "expected 60000" in msg and "got 10000" in msg
    # With checksums on, the swap is caught as a mismatch first.
    assert "checksum mismatch" in _load_error(mnist_copy)


# --- downloading ------------------------------------------------------------------


def test_load_downloads_missing_files(real_data, tmp_path, monkeypatch, capsys):
    source = tmp_path / "source"
    _copy_files(real_data / "mnist", source)
    monkeypatch.setitem(download.BASE_URLS, "mnist", source.as_uri())
    dest = tmp_path / "dest"

    ds = load_dataset("mnist", dest, n_validation=100)
    assert len(ds.train) == 59900 and len(ds.validation) == 100
    assert len(ds.test) == 10000
    assert sorted(p.name for p in (dest / "mnist").iterdir()) == sorted(FILENAMES)
    for f in FILENAMES:
        assert _md5(dest / "mnist" / f) == datafiles.MD5["mnist"][f]
    err = capsys.readouterr().err
    assert err.count("downloading") == 4
    assert all(f in err for f in FILENAMES)


def test_download_fetches_only_missing_or_bad(real_data, tmp_path, monkeypatch):
    dest = tmp_path / "dest"
    _copy_files(real_data / "fashion_mnist", dest / "fashion_mnist")
    bad = dest / "fashion_mnist" / TEST_LABELS
    _flip_middle_byte(bad)
    # The source only has the one file that needs fetching.
    source = tmp_path / "source"
    _copy_files(real_data / "fashion_mnist", source, [TEST_LABELS])
    monkeypatch.setitem(download.BASE_URLS, "fashion_mnist", source.as_uri() + "/")

    assert download.download("fashion_mnist", dest) == dest / "fashion_mnist"
    for f in FILENAMES:
        assert _md5(dest / "fashion_mnist" / f) == datafiles.MD5["fashion_mnist"][f]
    # Everything is in place now, so nothing is fetched at all.
    monkeypatch.setitem(download.BASE_URLS, "fashion_mnist", "file:///nonexistent/")
    download.download("fashion_mnist", dest)


def test_download_default_dir(real_data, tmp_path, monkeypatch):
    monkeypatch.setenv(datafiles.ENV_VAR, str(tmp_path / "env"))
    source = tmp_path / "source"
    _copy_files(real_data / "mnist", source)
    monkeypatch.setitem(download.BASE_URLS, "mnist", source.as_uri())
    assert download.download("mnist") == tmp_path / "env" / "mnist"
    assert sorted(os.listdir(tmp_path / "env" / "mnist")) == sorted(FILENAMES)


def test_download_bad_checksum(real_data, tmp_path, monkeypatch):
    source = tmp_path / "source"
    _copy_files(real_data / "mnist", source)
    _flip_middle_byte(source / TRAIN_LABELS)
    monkeypatch.setitem(download.BASE_URLS, "mnist", source.as_uri())
    dest = tmp_path / "dest"

    with pytest.raises(DataError) as excinfo:
        load_dataset("mnist", dest)
    msg = str(excinfo.value)
    assert str(dest / "mnist" / TRAIN_LABELS) in msg
    assert "wrong MD5 checksum" in msg
    assert f"got {_md5(source / TRAIN_LABELS)}" in msg
    # No bad file and no temporary file is left behind.
    assert not (dest / "mnist" / TRAIN_LABELS).exists()
    assert not [p for p in (dest / "mnist").iterdir() if p.name != TRAIN_IMAGES]


def test_download_unreachable(tmp_path, monkeypatch):
    monkeypatch.setitem(download.BASE_URLS, "fashion_mnist", "file:///nonexistent/")
    dest = tmp_path / "dest"
    with pytest.raises(DataError) as excinfo:
        load_dataset("fashion_mnist", dest)
    msg = str(excinfo.value)
    assert "download from file:///nonexistent/" in msg and "failed" in msg
    assert str(dest / "fashion_mnist" / TRAIN_IMAGES) in msg
    for hint in [datafiles.ENV_VAR, "data_dir=", "--data-dir", *FILENAMES]:
        assert hint in msg
    assert list((dest / "fashion_mnist").iterdir()) == []


def test_load_split_matches_load_dataset(mnist, real_data):
    from nengo_pc.data import load_split

    test = load_split("mnist", "test", real_data, download=False)
    np.testing.assert_array_equal(test.images, mnist.test.images)
    np.testing.assert_array_equal(test.labels, mnist.test.labels)
    with pytest.raises(ValueError, match="split"):
        load_split("mnist", "validation", real_data)
    with pytest.raises(ValueError, match="name"):
        load_split("cifar", "test", real_data)
