"""Convolutional layers: `ConvLayer`, the description of one, and `conv2d`, its numpy
reference.

A `ConvLayer` is part of an `~nengo_pc.arch.Architecture` (its ``conv`` layers, in
front of the dense ones); `conv2d` is what `~nengo_pc.arch.Architecture.linear`
computes for such a layer, the reference every execution path (NengoDL's
``nengo.Convolution``, Keras' ``Conv2D``, the predictive-coding numerics) must agree
with. Shapes are channels last, kernels in Keras layout
``(kh, kw, in_channels, filters)``.
"""

import dataclasses

import numpy as np

__all__ = ["PADDINGS", "ConvLayer", "conv2d"]

#: Padding modes of convolutional layers (TensorFlow / Keras / Nengo semantics).
PADDINGS = ("valid", "same")


def _pair(name, value):
    """``value`` as a pair of positive ints (an int means the same in both axes)."""
    try:
        pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    except TypeError:
        pair = (value,)
    if len(pair) != 2 or any(
        isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in pair
    ):
        raise ValueError(
            f"{name}: must be an integer >= 1 or a pair of them, got {value!r}")
    return tuple(int(v) for v in pair)


@dataclasses.dataclass(frozen=True)
class ConvLayer:
    """A 2-D convolutional layer (channels last), like ``tf.keras.layers.Conv2D``.

    Its output goes through the architecture's hidden nonlinearity, like a dense
    hidden layer's. Its bias is one value per filter, shared by all positions.

    Parameters
    ----------
    filters : int
        Number of output channels.
    kernel_size : int or (int, int)
        Kernel height and width.
    strides : int or (int, int)
        Step between kernel positions, vertically and horizontally.
    padding : str
        ``"valid"`` (no padding) or ``"same"`` (zero padding so that the output has
        ``ceil(input / stride)`` positions, the extra row/column at the bottom/right,
        as in TensorFlow).
    """

    filters: int
    kernel_size: tuple = (3, 3)
    strides: tuple = (1, 1)
    padding: str = "valid"

    def __post_init__(self):
        filters = self.filters
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) \
                or filters < 1:
            raise ValueError(f"filters: must be an integer >= 1, got {self.filters!r}")
        object.__setattr__(self, "filters", int(self.filters))
        object.__setattr__(self, "kernel_size", _pair("kernel_size", self.kernel_size))
        object.__setattr__(self, "strides", _pair("strides", self.strides))
        if self.padding not in PADDINGS:
            raise ValueError(
                f"padding: {self.padding!r} is not one of {', '.join(PADDINGS)}")

    def output_shape(self, input_shape):
        """Output ``(height, width, filters)`` for an ``(height, width, channels)`` input.

        Raises ValueError (naming ``input_shape``) if the kernel does not fit.
        """
        out = []
        for size, k, s in zip(input_shape[:2], self.kernel_size, self.strides):
            n = -(-size // s) if self.padding == "same" else (size - k) // s + 1
            if n < 1:
                raise ValueError(
                    f"input_shape: a {self.kernel_size} kernel does not fit a "
                    f"{tuple(input_shape)} input"
                )
            out.append(n)
        return (out[0], out[1], self.filters)

    def pads(self, input_shape):
        """Zero padding ``((top, bottom), (left, right))`` for an input shape."""
        if self.padding == "valid":
            return ((0, 0), (0, 0))
        out = self.output_shape(input_shape)
        pads = []
        for size, n, k, s in zip(input_shape[:2], out[:2], self.kernel_size, self.strides):
            total = max((n - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)

    def to_dict(self):
        """JSON-serialisable form."""
        return {"filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding}


def conv2d(x, kernel, strides=(1, 1), pads=((0, 0), (0, 0)), chunk_bytes=2 ** 26):
    """Cross-correlation of images ``x`` ``(N, H, W, C)`` with ``kernel`` (Keras layout).

    The numpy reference of a `ConvLayer` (``tf.nn.conv2d`` semantics): the patches
    are gathered with a strided view and contracted with one matrix product, a
    chunk of images at a time so the patch matrix stays below ``chunk_bytes``.

    Returns
    -------
    ndarray
        ``(N, H_out, W_out, filters)``, in the result type of ``x`` and ``kernel``.
    """
    kh, kw, c_in, c_out = kernel.shape
    if any(p for pair in pads for p in pair):
        x = np.pad(x, ((0, 0), *pads, (0, 0)))
    n, h, w, _ = x.shape
    oh, ow = (h - kh) // strides[0] + 1, (w - kw) // strides[1] + 1
    dtype = np.result_type(x, kernel)
    out = np.empty((n, oh, ow, c_out), dtype=dtype)
    flat_kernel = kernel.reshape(kh * kw * c_in, c_out)
    step = max(1, int(chunk_bytes // max(1, oh * ow * kh * kw * c_in * dtype.itemsize)))
    for start in range(0, n, step):
        windows = np.lib.stride_tricks.sliding_window_view(
            x[start:start + step], (kh, kw), axis=(1, 2)
        )[:, ::strides[0], ::strides[1]][:, :oh, :ow]
        # (n, oh, ow, C, kh, kw) -> (n, oh, ow, kh, kw, C): the kernel's order
        patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, kh * kw * c_in)
        out[start:start + step] = (patches @ flat_kernel).reshape(-1, oh, ow, c_out)
    return out
