"""A ``flatbuffers.Builder`` that writes the same bytes with fewer copies (the staged conversion's final stage)."""

from __future__ import annotations

import flatbuffers
import numpy as np


class LeanBuilder(flatbuffers.Builder):
    """A ``flatbuffers.Builder`` that writes the same bytes with fewer copies: a numpy array goes into the buffer
    without an intermediate ``tobytes()`` copy, and :meth:`Output` is a view, not a copy (callers copy it once).
    The output does not depend on the initial size: flatbuffers align from the end of the buffer."""

    def CreateNumpyVector(self, x):
        if not isinstance(x, np.ndarray) or x.dtype.str[0] == ">" or x.ndim != 1 or not x.flags.c_contiguous:
            return super().CreateNumpyVector(x)
        if x.dtype.kind not in ("b", "i", "u", "f"):
            return super().CreateNumpyVector(x)
        self.StartVector(x.itemsize, x.size, x.dtype.alignment)
        self.head = self.head - x.nbytes
        self.Bytes[self.head:self.head + x.nbytes] = memoryview(x).cast("B")
        self.vectorNumElems = x.size
        return self.EndVector()

    def Output(self):
        if not self.finished:
            return super().Output()
        return memoryview(self.Bytes)[self.head:]
