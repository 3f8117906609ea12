"""The data files on disk: which they are, where they live, what a good one holds.

Both data sets are stored as four gzip-compressed IDX files per data set::

    <data_dir>/mnist/train-images-idx3-ubyte.gz
    <data_dir>/mnist/train-labels-idx1-ubyte.gz
    <data_dir>/mnist/t10k-images-idx3-ubyte.gz
    <data_dir>/mnist/t10k-labels-idx1-ubyte.gz
    <data_dir>/fashion_mnist/...   (the same four file names)

The data directory is, in order of preference, the ``data_dir`` argument, the
directory named by the ``NENGO_PC_DATA`` environment variable, or a per-user
cache directory (see `default_cache_dir`).

Every file is checked before it is used (`read_split`): its MD5 checksum against
the published one, that it is a complete gzip stream, and that its IDX header
(magic number, counts, image size) agrees with its contents. Any problem raises a
`DataError` that names the file, says what is wrong and how to point the loader at
good copies.

This is the bottom layer of the data loading: `nengo_pc.download` fetches missing
files into the directory, and `nengo_pc.data` turns the checked arrays into the
`~nengo_pc.data.Dataset` a user loads. It imports only the standard library and
NumPy, and importing it touches neither the file system nor the network.
"""

import gzip
import hashlib
import os
import pathlib
import struct
import zlib

import numpy as np

__all__ = [
    "CLASSES",
    "COUNTS",
    "DATASETS",
    "DISPLAY_NAMES",
    "ENV_VAR",
    "FILES",
    "IMAGE_SHAPE",
    "MD5",
    "N_CLASSES",
    "DataError",
    "bad_file",
    "check_name",
    "data_dir_and_origin",
    "default_cache_dir",
    "how_to_point",
    "how_to_replace",
    "locate",
    "md5_of_file",
    "missing_message",
    "parse_idx",
    "read_gz",
    "read_split",
    "resolve_data_dir",
]

DATASETS = ("mnist", "fashion_mnist")
#: How tables and figures name each data set.
DISPLAY_NAMES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}
ENV_VAR = "NENGO_PC_DATA"

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

_CHUNK = 1 << 20  # bytes hashed at a time


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


def check_name(name):
    """Raise ValueError unless ``name`` is one of `DATASETS`."""
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(
            f"name must be one of {', '.join(map(repr, DATASETS))}; got {name!r}"
        )


# --- locating files ---------------------------------------------------------


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
        If None, ``$NENGO_PC_DATA`` is used if set, else `default_cache_dir`.

    Returns
    -------
    pathlib.Path
        Absolute path (``~`` expanded); it need not exist.
    """
    return data_dir_and_origin(data_dir)[0]


def data_dir_and_origin(data_dir):
    """Return the data directory (as `resolve_data_dir`) and a phrase saying where
    it came from, for error messages."""
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


def locate(root, name):
    """Return the folder expected to hold the four files of ``name``.

    ``root/name`` is the normal layout; ``root`` itself is accepted when it has
    no ``name`` subfolder but holds all four files, i.e. the user pointed
    straight at the data set's folder.
    """
    folder = root / name
    if not folder.is_dir() and all((root / f).is_file() for f in FILES.values()):
        return root
    return folder


# --- error messages ---------------------------------------------------------


def how_to_point(name):
    """Tell how to make the loader use local copies of the files."""
    files = ", ".join(FILES.values())
    return (
        f"put the 4 files ({files}) in a folder <dir>/{name}/ and pass "
        f"data_dir=<dir> to load_dataset, set {ENV_VAR}=<dir> (a directory "
        f"containing mnist/ and fashion_mnist/ subfolders), or use the "
        f"--data-dir command-line option."
    )


def how_to_replace(name):
    """Tell how to replace a bad file of data set ``name``."""
    return (
        f"Replace it with an intact copy: delete it and load again with "
        f"download=True (or call nengo_pc.download.download({name!r})), or "
        + how_to_point(name)
    )


def missing_message(name, root, origin, folder, missing):
    """The message of a `DataError` for files that are missing (and not fetched)."""
    paths = ", ".join(str(folder / f) for f in missing)
    where = f"{folder}" if folder == root else f"{folder} (and {root} itself)"
    return (
        f"Missing {name} data file(s): {paths}. Looked in {where}; the data "
        f"directory {root} comes from {origin}. Downloading is disabled "
        f"(download=False). To use local copies, " + how_to_point(name)
    )


def bad_file(path, name, problem):
    """A `DataError` for a corrupt file: what is wrong and how to replace it."""
    return DataError(f"{path}: {problem}. " + how_to_replace(name), path)


# --- reading and checking files ---------------------------------------------


def md5_of_file(path):
    """The MD5 hex digest of a file, read in chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_gz(path, name, md5):
    """Return the decompressed bytes of ``path``, checking its MD5 if given.

    ``md5`` maps file names to checksums (``MD5[name]``), or is None to skip the
    check.
    """
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(
            f"{path}: cannot read the file ({e}). To use other copies, "
            + how_to_point(name),
            path,
        ) from e

    if md5 is not None:
        expected = md5[path.name]
        got = hashlib.md5(raw, usedforsecurity=False).hexdigest()
        if got != expected:
            raise bad_file(
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
        raise bad_file(
            path, name, f"not a valid gzip file or a truncated gzip stream ({e})"
        ) from e


def parse_idx(path, name, kind, data):
    """Check an IDX header against its data; return the uint8 payload array.

    ``kind`` is ``"images"`` or ``"labels"``. Images come back with shape
    ``(N, 28, 28)``, labels with shape ``(N,)``.
    """
    magic, fmt, header_size = _IDX[kind]
    if len(data) < header_size:
        raise bad_file(
            path,
            name,
            f"decompressed file is {len(data)} bytes, too short for the "
            f"{header_size}-byte IDX {kind} header",
        )
    header = struct.unpack(fmt, data[:header_size])
    if header[0] != magic:
        raise bad_file(
            path,
            name,
            f"wrong IDX magic number for {kind} (expected {magic}, got {header[0]})",
        )

    n = header[1]
    shape = (n,)
    if kind == "images":
        rows, cols = header[2:]
        if (rows, cols) != IMAGE_SHAPE:
            raise bad_file(
                path,
                name,
                f"wrong image size (expected {IMAGE_SHAPE[0]}x{IMAGE_SHAPE[1]}, "
                f"got {rows}x{cols})",
            )
        shape = (n, rows, cols)

    expected_size = header_size + int(np.prod(shape))
    if len(data) != expected_size:
        raise bad_file(
            path,
            name,
            f"wrong size: the header says {n} {kind}, which needs "
            f"{expected_size} bytes decompressed, but the file has {len(data)}",
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def read_split(folder, name, split, md5):
    """Read and check the images and labels of one split from ``folder``.

    Parameters
    ----------
    folder : pathlib.Path
        The folder holding the four files of data set ``name``.
    name : str
        One of `DATASETS`.
    split : str
        ``"train"`` or ``"test"``.
    md5 : dict or None
        ``MD5[name]`` to verify checksums, None to skip that check.

    Returns
    -------
    images, labels : ndarray
        uint8 arrays of shapes ``(N, 28, 28)`` and ``(N,)``, ``N = COUNTS[split]``.
    """
    paths = {kind: folder / FILES[split, kind] for kind in ("labels", "images")}

    # Labels first: they are small, so a broken label file fails fast.
    labels = parse_idx(
        paths["labels"], name, "labels", read_gz(paths["labels"], name, md5)
    )
    if labels.size and labels.max() >= N_CLASSES:
        raise bad_file(
            paths["labels"],
            name,
            f"label values must be in 0..{N_CLASSES - 1}, found {labels.max()}",
        )
    images = parse_idx(
        paths["images"], name, "images", read_gz(paths["images"], name, md5)
    )

    if len(images) != len(labels):
        raise DataError(
            f"{paths['images']} holds {len(images)} images but {paths['labels']} "
            f"holds {len(labels)} labels; the two files do not belong together. "
            + how_to_replace(name),
            paths["images"],
        )
    if len(labels) != COUNTS[split]:
        raise DataError(
            f"{paths['images']} and {paths['labels']}: wrong number of examples "
            f"(expected {COUNTS[split]} for the {split} split, got {len(labels)}). "
            + how_to_replace(name),
            paths["images"],
        )
    return images, labels
