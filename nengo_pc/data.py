"""Loading MNIST and Fashion-MNIST from their original IDX gzip files.

Both data sets are stored as four gzip-compressed IDX files per data set::

    <data_dir>/mnist/train-images-idx3-ubyte.gz
    <data_dir>/mnist/train-labels-idx1-ubyte.gz
    <data_dir>/mnist/t10k-images-idx3-ubyte.gz
    <data_dir>/mnist/t10k-labels-idx1-ubyte.gz
    <data_dir>/fashion_mnist/...   (the same four file names)

The data directory is, in order of preference, the ``data_dir`` argument, the
directory named by the ``NENGO_PC_DATA`` environment variable, or a per-user
cache directory (see `.default_cache_dir`). Missing files are downloaded there
unless ``download=False``.

Every file is checked before it is used: its MD5 checksum against the
published one, that it is a complete gzip stream, and that its IDX header
(magic number, counts, image size) agrees with its contents. Any problem
raises a `.DataError` that names the file, says what is wrong and how to
point the loader at good copies.

This module imports only the standard library and NumPy, and importing it
touches neither the file system nor the network.
"""

import gzip
import hashlib
import http.client
import numbers
import os
import pathlib
import struct
import sys
import tempfile
import urllib.request
import zlib
from dataclasses import dataclass

import numpy as np

DATASETS = ("mnist", "fashion_mnist")
#: How tables and figures name each data set.
DISPLAY_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
ENV_VAR = "NENGO_PC_DATA"

# Base URLs of the four files of each data set. The original MNIST page
# (http://yann.lecun.com/exdb/mnist/) often refuses downloads, so we use the
# mirror that torchvision uses. Kept in a module-level dict so that tests (and
# users behind a proxy) can point the downloader elsewhere, e.g. ``file://``.
BASE_URLS = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "fashion_mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}

# File names, keyed by (split, kind). The order is the order of download.
FILES = {
    ("train", "images"): "train-images-idx3-ubyte.gz",
    ("train", "labels"): "train-labels-idx1-ubyte.gz",
    ("test", "images"): "t10k-images-idx3-ubyte.gz",
    ("test", "labels"): "t10k-labels-idx1-ubyte.gz",
}

# MD5 of the canonical .gz files (as published with the data sets).
MD5 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}

CLASSES = {
    "mnist": tuple(str(i) for i in range(10)),
    "fashion_mnist": (
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
    ),
}

N_CLASSES = 10
IMAGE_SHAPE = (28, 28)
COUNTS = {"train": 60000, "test": 10000}

# IDX header layout: magic number, struct format and header size in bytes.
_IDX = {
    "images": (2051, ">IIII", 16),
    "labels": (2049, ">II", 8),
}

_DOWNLOAD_TIMEOUT = 60  # seconds, per network operation
_CHUNK = 1 << 20  # bytes read from the network at a time


class DataError(RuntimeError):
    """A data file is missing, corrupt, or could not be downloaded.

    The message names the file, says what is wrong and how to fix it.

    Parameters
    ----------
    message : str
        Full description of the problem.
    path : path-like, optional
        The file (or directory) concerned, kept for programmatic use.
    """

    def __init__(self, message, path=None):
        super().__init__(message)
        self.path = None if path is None else pathlib.Path(path)


# eq=False keeps identity comparison and hashing: the generated __eq__ would
# compare arrays elementwise, which has no single truth value, and hashing
# would fail on the arrays.
@dataclass(frozen=True, eq=False, repr=False)
class Split:
    """Images and labels of one part of a data set (train, validation or test).

    Parameters
    ----------
    images : ndarray
        Pixel intensities as float32 in [0, 1], shape ``(N, 784)`` when
        flattened or ``(N, 28, 28)`` otherwise.
    labels : ndarray
        Class indices as int64 in ``0..9``, shape ``(N,)``.
    """

    images: np.ndarray
    labels: np.ndarray

    def __post_init__(self):
        if len(self.images) != len(self.labels):
            raise ValueError(
                f"images and labels must have the same length, got "
                f"{len(self.images)} images and {len(self.labels)} labels"
            )

    def __len__(self):
        return len(self.labels)

    def __repr__(self):
        return (
            f"{type(self).__name__}(n={len(self)}, "
            f"images={self.images.shape} {self.images.dtype}, "
            f"labels={self.labels.shape} {self.labels.dtype})"
        )

    def one_hot(self, dtype=np.float32):
        """Return the labels as one-hot rows.

        Parameters
        ----------
        dtype : dtype, optional
            Data type of the result.

        Returns
        -------
        ndarray
            Shape ``(N, 10)``; row ``i`` is 1 at ``labels[i]`` and 0 elsewhere.
        """
        return np.eye(N_CLASSES, dtype=dtype)[self.labels]

    def subset(self, n):
        """Return the first ``n`` examples.

        Parameters
        ----------
        n : int
            Number of examples, ``1 <= n <= len(self)``.

        Returns
        -------
        Split
            A split whose arrays are views of this split's first ``n`` rows.
        """
        _check_int("n", n, 1, len(self))
        return Split(self.images[:n], self.labels[:n])


@dataclass(frozen=True)
class Dataset:
    """A loaded data set.

    Parameters
    ----------
    name : str
        One of `.DATASETS`.
    train : Split
        Training examples (without those moved to ``validation``).
    validation : Split or None
        Held-out training examples, or None when ``n_validation == 0``.
    test : Split
        The 10000 test examples.
    classes : tuple of str
        Class names, indexed by label.
    """

    name: str
    train: Split
    validation: Split | None
    test: Split
    classes: tuple[str, ...]


def default_cache_dir():
    """Return the per-user directory where downloaded data is kept.

    This is ``$XDG_CACHE_HOME/nengo_pc`` if ``XDG_CACHE_HOME`` is set to an
    absolute path, otherwise ``~/.cache/nengo_pc``. The directory is not created.

    Returns
    -------
    pathlib.Path
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says relative values must be ignored.
    if xdg and os.path.isabs(xdg):
        return pathlib.Path(xdg) / "nengo_pc"
    return pathlib.Path.home() / ".cache" / "nengo_pc"


def resolve_data_dir(data_dir=None):
    """Return the data directory to use.

    Parameters
    ----------
    data_dir : path-like, optional
        Directory containing ``mnist/`` and ``fashion_mnist/`` subfolders.
        If None, ``$NENGO_PC_DATA`` is used if set, else `.default_cache_dir`.

    Returns
    -------
    pathlib.Path
        Absolute path (``~`` expanded); it need not exist.
    """
    return _resolve_data_dir(data_dir)[0]


def load_dataset(
    name="mnist",
    data_dir=None,
    *,
    flatten=True,
    n_validation=0,
    validation_seed=0,
    download=True,
    verify_checksum=True,
):
    """Load MNIST or Fashion-MNIST.

    Parameters
    ----------
    name : str, optional
        ``"mnist"`` or ``"fashion_mnist"``.
    data_dir : path-like, optional
        Directory containing a ``<name>/`` subfolder with the four IDX ``.gz``
        files (a directory holding the four files directly is accepted too).
        Defaults to ``$NENGO_PC_DATA``, else `.default_cache_dir`.
    flatten : bool, optional
        If True, images have shape ``(N, 784)``, else ``(N, 28, 28)``.
    n_validation : int, optional
        Number of training examples to hold out as a validation split,
        in ``[0, 59999]``. They are chosen by a random permutation seeded with
        ``validation_seed``; the rest stay in the train split, in file order.
    validation_seed : int, optional
        Seed for choosing the validation examples.
    download : bool, optional
        If True, missing files are downloaded into the data directory.
    verify_checksum : bool, optional
        If True, each file's MD5 must match the published one. Set to False
        only to read modified copies; the structural checks always run.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        If an argument is invalid.
    DataError
        If a file is missing (and cannot be downloaded) or is corrupt.
    """
    _check_name(name)
    _check_int("n_validation", n_validation, 0, COUNTS["train"] - 1)
    _check_int("validation_seed", validation_seed, 0, None)

    folder = _ready_folder(name, data_dir, download)
    md5 = MD5[name] if verify_checksum else None
    train = _load_split(folder, name, "train", md5, flatten)
    test = _load_split(folder, name, "test", md5, flatten)
    train, validation = _split_validation(train, n_validation, validation_seed)
    return Dataset(
        name=name,
        train=train,
        validation=validation,
        test=test,
        classes=CLASSES[name],
    )


def load_split(name="mnist", split="test", data_dir=None, *, flatten=True,
               download=True, verify_checksum=True):
    """Load one split (``"train"`` or ``"test"``) without reading the other.

    Arguments as in `load_dataset`; use this where only the test images are needed
    (a GUI model, say), since reading the training set takes most of a full load.

    Returns
    -------
    Split
    """
    _check_name(name)
    if split not in ("train", "test"):
        raise ValueError(f"split: {split!r} is not one of 'train', 'test'")
    folder = _ready_folder(name, data_dir, download)
    return _load_split(folder, name, split, MD5[name] if verify_checksum else None,
                       flatten)


def _ready_folder(name, data_dir, download):
    """The folder holding the four files of ``name``, fetching missing ones."""
    root, origin = _resolve_data_dir(data_dir)
    folder = _locate(root, name)
    missing = [f for f in FILES.values() if not (folder / f).is_file()]
    if missing:
        if not download:
            message = _missing_message(name, root, origin, folder, missing)
            raise DataError(message, folder)
        # Only fetch what is missing, so that files the user put there are never
        # replaced.
        _fetch_all(name, folder, missing)
    return folder


def download(name, data_dir=None):
    """Download the four files of a data set into ``<data_dir>/<name>/``.

    Files that are already there with the right checksum are kept; missing
    or corrupt ones are fetched again. Each file is written to a temporary
    file in the same directory, checked, and only then moved into place, so
    an interrupted or bad download never leaves a partial file behind.

    Parameters
    ----------
    name : str
        ``"mnist"`` or ``"fashion_mnist"``.
    data_dir : path-like, optional
        As in `.load_dataset`.

    Returns
    -------
    pathlib.Path
        The folder holding the four files.

    Raises
    ------
    DataError
        If a download fails or its checksum does not match.
    """
    _check_name(name)
    folder = resolve_data_dir(data_dir) / name
    todo = [
        f
        for f in FILES.values()
        if not (folder / f).is_file() or _md5_of_file(folder / f) != MD5[name][f]
    ]
    _fetch_all(name, folder, todo)
    return folder


# --- argument checks --------------------------------------------------------


def _check_name(name):
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(
            f"name must be one of {', '.join(map(repr, DATASETS))}; got {name!r}"
        )


def _check_int(param, value, low, high):
    # bool is an int subclass, but passing True almost certainly is a mistake.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(
            f"{param} must be an int, got {value!r} ({type(value).__name__})"
        )
    if value < low or (high is not None and value > high):
        bounds = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{param} must be in {bounds}, got {value}")


# --- locating files and error messages --------------------------------------


def _resolve_data_dir(data_dir):
    """Return the data directory and a phrase saying where it came from."""
    if data_dir is not None:
        path, origin = os.fspath(data_dir), "the data_dir argument"
    elif os.environ.get(ENV_VAR):
        path, origin = os.environ[ENV_VAR], f"the {ENV_VAR} environment variable"
    else:
        path = default_cache_dir()
        origin = f"the default cache directory ({ENV_VAR} is not set)"
    # Absolute paths make error messages unambiguous, e.g. for relative
    # NENGO_PC_DATA values as used in CI.
    return pathlib.Path(path).expanduser().absolute(), origin


def _locate(root, name):
    """Return the folder expected to hold the four files of ``name``.

    ``root/name`` is the normal layout; ``root`` itself is accepted when it has
    no ``name`` subfolder but holds all four files, i.e. the user pointed
    straight at the data set's folder.
    """
    folder = root / name
    if not folder.is_dir() and all((root / f).is_file() for f in FILES.values()):
        return root
    return folder


def _how_to_point(name):
    """Tell how to make the loader use local copies of the files."""
    files = ", ".join(FILES.values())
    return (
        f"put the 4 files ({files}) in a folder <dir>/{name}/ and pass "
        f"data_dir=<dir> to load_dataset, set {ENV_VAR}=<dir> (a directory "
        f"containing mnist/ and fashion_mnist/ subfolders), or use the "
        f"--data-dir command-line option."
    )


def _how_to_replace(name):
    return (
        f"Replace it with an intact copy: delete it and load again with "
        f"download=True (or call nengo_pc.data.download({name!r})), or "
        + _how_to_point(name)
    )


def _missing_message(name, root, origin, folder, missing):
    paths = ", ".join(str(folder / f) for f in missing)
    where = f"{folder}" if folder == root else f"{folder} (and {root} itself)"
    return (
        f"Missing {name} data file(s): {paths}. Looked in {where}; the data "
        f"directory {root} comes from {origin}. Downloading is disabled "
        f"(download=False). To use local copies, " + _how_to_point(name)
    )


def _bad_file(path, name, problem):
    return DataError(f"{path}: {problem}. " + _how_to_replace(name), path)


# --- reading and checking files ---------------------------------------------


def _md5_of_file(path):
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_gz(path, name, md5):
    """Return the decompressed bytes of ``path``, checking its MD5 if given."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(
            f"{path}: cannot read the file ({e}). To use other copies, "
            + _how_to_point(name),
            path,
        ) from e

    if md5 is not None:
        expected = md5[path.name]
        got = hashlib.md5(raw, usedforsecurity=False).hexdigest()
        if got != expected:
            raise _bad_file(
                path,
                name,
                f"MD5 checksum mismatch (expected {expected}, got {got}); the "
                f"file is corrupt, truncated or not the original",
            )

    try:
        return gzip.decompress(raw)
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        # BadGzipFile: wrong header or CRC; EOFError: stream cut short;
        # zlib.error: corrupt deflate data.
        raise _bad_file(
            path, name, f"not a valid gzip file or a truncated gzip stream ({e})"
        ) from e


def _parse_idx(path, name, kind, data):
    """Check an IDX header against its data; return the uint8 payload array.

    Images come back with shape ``(N, 28, 28)``, labels with shape ``(N,)``.
    """
    magic, fmt, header_size = _IDX[kind]
    if len(data) < header_size:
        raise _bad_file(
            path,
            name,
            f"decompressed file is {len(data)} bytes, too short for the "
            f"{header_size}-byte IDX {kind} header",
        )
    header = struct.unpack(fmt, data[:header_size])
    if header[0] != magic:
        raise _bad_file(
            path,
            name,
            f"wrong IDX magic number for {kind} (expected {magic}, got {header[0]})",
        )

    n = header[1]
    shape = (n,)
    if kind == "images":
        rows, cols = header[2:]
        if (rows, cols) != IMAGE_SHAPE:
            raise _bad_file(
                path,
                name,
                f"wrong image size (expected {IMAGE_SHAPE[0]}x{IMAGE_SHAPE[1]}, "
                f"got {rows}x{cols})",
            )
        shape = (n, rows, cols)

    expected_size = header_size + int(np.prod(shape))
    if len(data) != expected_size:
        raise _bad_file(
            path,
            name,
            f"wrong size: the header says {n} {kind}, which needs "
            f"{expected_size} bytes decompressed, but the file has {len(data)}",
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def _load_split(folder, name, split, md5, flatten):
    """Read, check and convert the images and labels of one split."""
    paths = {kind: folder / FILES[split, kind] for kind in ("labels", "images")}

    # Labels first: they are small, so a broken label file fails fast.
    labels = _parse_idx(
        paths["labels"], name, "labels", _read_gz(paths["labels"], name, md5)
    )
    if labels.size and labels.max() >= N_CLASSES:
        raise _bad_file(
            paths["labels"],
            name,
            f"label values must be in 0..{N_CLASSES - 1}, found {labels.max()}",
        )
    images = _parse_idx(
        paths["images"], name, "images", _read_gz(paths["images"], name, md5)
    )

    if len(images) != len(labels):
        raise DataError(
            f"{paths['images']} holds {len(images)} images but {paths['labels']} "
            f"holds {len(labels)} labels; the two files do not belong together. "
            + _how_to_replace(name),
            paths["images"],
        )
    if len(labels) != COUNTS[split]:
        raise DataError(
            f"{paths['images']} and {paths['labels']}: wrong number of examples "
            f"(expected {COUNTS[split]} for the {split} split, got {len(labels)}). "
            + _how_to_replace(name),
            paths["images"],
        )

    pixels = images.astype(np.float32)
    # Divide (rather than multiply by 1/255) so that 255 maps to exactly 1.0.
    np.divide(pixels, np.float32(255), out=pixels)
    if flatten:
        pixels = pixels.reshape(len(pixels), -1)
    return Split(pixels, labels.astype(np.int64))


def _split_validation(train, n_validation, seed):
    """Move ``n_validation`` randomly chosen examples out of ``train``."""
    if n_validation == 0:
        return train, None
    order = np.random.default_rng(seed).permutation(len(train))
    val_idx = order[:n_validation]
    # Sorting keeps the remaining training examples in their file order.
    train_idx = np.sort(order[n_validation:])
    return (
        Split(train.images[train_idx], train.labels[train_idx]),
        Split(train.images[val_idx], train.labels[val_idx]),
    )


# --- downloading ------------------------------------------------------------


def _fetch_all(name, folder, filenames):
    """Download ``filenames`` of data set ``name`` into ``folder``."""
    if not filenames:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(
            f"{folder}: cannot create the directory to download {name} into "
            f"({e}). To use local copies instead, " + _how_to_point(name),
            folder,
        ) from e
    for filename in filenames:
        _fetch(name, filename, folder / filename)


def _fetch(name, filename, dest):
    """Download one file to ``dest`` atomically and check its MD5."""
    url = BASE_URLS[name].rstrip("/") + "/" + filename
    print(f"nengo_pc: downloading {url} -> {dest}", file=sys.stderr, flush=True)

    # A temporary file in the destination folder, so that os.replace is an
    # atomic rename on the same file system.
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{filename}.", suffix=".part", dir=dest.parent
        )
    except OSError as e:
        raise DataError(
            f"{dest.parent}: cannot write the download there ({e}). To use "
            f"local copies instead, " + _how_to_point(name),
            dest.parent,
        ) from e
    tmp = pathlib.Path(tmp)
    try:
        digest = hashlib.md5(usedforsecurity=False)
        try:
            with os.fdopen(fd, "wb") as out, urllib.request.urlopen(
                url, timeout=_DOWNLOAD_TIMEOUT
            ) as response:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
        except (OSError, http.client.HTTPException, ValueError) as e:
            # OSError covers URLError, HTTPError and timeouts; ValueError an
            # unusable URL in BASE_URLS.
            raise DataError(
                f"{dest}: download from {url} failed ({e}). If this machine "
                f"cannot reach that address, get the files elsewhere and "
                + _how_to_point(name),
                dest,
            ) from e

        got, expected = digest.hexdigest(), MD5[name][filename]
        if got != expected:
            raise DataError(
                f"{dest}: the file downloaded from {url} has the wrong MD5 "
                f"checksum (expected {expected}, got {got}) and was deleted. "
                f"Try again later, or " + _how_to_point(name),
                dest,
            )
        os.replace(tmp, dest)
    finally:
        # Never leave a partial or bad download behind.
        tmp.unlink(missing_ok=True)


def random_shifts(images, image_shape, max_shift, rng):
    """Translate every image by a random whole number of pixels, padding with zeros.

    Data augmentation for convolutional networks: each image moves by ``(dy, dx)``
    drawn uniformly from ``[-max_shift, max_shift]`` per axis.

    Parameters
    ----------
    images : ndarray
        Flattened images, shape ``(N, prod(image_shape))``.
    image_shape : tuple
        ``(height, width, channels)``.
    max_shift : int
        Largest shift in pixels (>= 0; 0 returns the images unchanged).
    rng : numpy.random.Generator

    Returns
    -------
    ndarray
        Shifted images, same shape and dtype.
    """
    if isinstance(max_shift, bool) or not isinstance(max_shift, (int, np.integer)) \
            or max_shift < 0:
        raise ValueError(f"max_shift: must be an integer >= 0, got {max_shift!r}")
    if max_shift == 0:
        return images
    h, w, c = image_shape
    if max_shift >= min(h, w):
        raise ValueError(f"max_shift: must be smaller than the image ({h}x{w}), "
                         f"got {max_shift}")
    n, s = len(images), max_shift
    padded = np.pad(images.reshape(n, h, w, c), ((0, 0), (s, s), (s, s), (0, 0)))
    dy, dx = rng.integers(0, 2 * s + 1, size=(2, n))
    rows = dy[:, None] + np.arange(h)[None, :]  # (n, h)
    cols = dx[:, None] + np.arange(w)[None, :]  # (n, w)
    shifted = padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]
    return shifted.reshape(n, -1)
