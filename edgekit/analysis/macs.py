"""Multiply-accumulate counts, by the MobileNet papers' convention.

One MAC is one multiply-accumulate of a convolution or dense kernel. Biases, batch norm, activations,
pooling and adds are not MACs; they are counted separately as elementwise ops. Shapes are per sample.
"""

from __future__ import annotations

from math import prod


def conv_macs(out_spatial: tuple[int, ...], out_channels: int, kernel: tuple[int, ...], in_channels: int,
              groups: int = 1) -> int:
    """A standard (optionally grouped, any stride) convolution: every output value is one kernel dot product."""
    return prod(out_spatial) * out_channels * prod(kernel) * (in_channels // groups)


def depthwise_macs(out_spatial: tuple[int, ...], in_channels: int, kernel: tuple[int, ...],
                   depth_multiplier: int = 1) -> int:
    """A depthwise convolution: each output channel sees one input channel."""
    return prod(out_spatial) * in_channels * depth_multiplier * prod(kernel)


def pointwise_macs(out_spatial: tuple[int, ...], out_channels: int, in_channels: int) -> int:
    """A 1x1 convolution."""
    return conv_macs(out_spatial, out_channels, (1, 1), in_channels)


def dense_macs(rows: int, units: int, in_features: int) -> int:
    """A fully connected layer applied to ``rows`` vectors (1 for a flat input)."""
    return rows * units * in_features


def transpose_conv_macs(in_spatial: tuple[int, ...], in_channels: int, kernel: tuple[int, ...],
                        out_channels: int) -> int:
    """A transposed convolution: each input value is scattered through the whole kernel."""
    return prod(in_spatial) * in_channels * prod(kernel) * out_channels
