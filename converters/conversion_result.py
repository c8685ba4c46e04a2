"""What a conversion produced (:class:`ConversionResult`), and its JSON form, which ``--json`` prints and a
conversion in a child process (``converters.isolated``) hands back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from converters.edgetpu import EdgeTPUReport
from converters.fidelity import Fidelity


@dataclass(frozen=True)
class ConversionResult:
    """What a conversion produced. ``float_bytes`` is the float32 size of the weights (params x 4)."""

    path: Path
    sidecar_path: Path
    quant: str  # the quantization's tag, e.g. int8 or int8_floatio: "quant" as in edgekit bench and the study
    size_bytes: int
    float_bytes: int
    seconds: float  # this run, end to end (a cache hit is fast)
    conversion_seconds: float  # the original conversion, as recorded in the sidecar
    cached: bool
    fidelity: Fidelity | None
    metadata: dict
    edgetpu: EdgeTPUReport | None = None
    per_layer: tuple[dict, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    @property
    def peak_rss_mb(self) -> int | None:
        """The converting process's peak resident memory, MB, as the sidecar records it (None before issue 22)."""
        return self.metadata.get("conversion_peak_rss_mb")

    def to_dict(self) -> dict:
        return {"path": str(self.path), "sidecar": str(self.sidecar_path), "quant": self.quant,
                "size_bytes": self.size_bytes, "float_bytes": self.float_bytes,
                "size_ratio": round(self.size_bytes / self.float_bytes, 4) if self.float_bytes else None,
                "seconds": round(self.seconds, 3), "conversion_seconds": self.conversion_seconds,
                "cached": self.cached, "peak_rss_mb": self.peak_rss_mb,
                "fidelity": self.fidelity.to_dict() if self.fidelity else None,
                "edgetpu": self.edgetpu.to_dict() if self.edgetpu else None, "per_layer": list(self.per_layer),
                "warnings": list(self.warnings), "metadata": self.metadata}

    @classmethod
    def from_dict(cls, doc: dict) -> ConversionResult:
        """The result :meth:`to_dict` wrote."""
        tpu = doc["edgetpu"]
        return cls(Path(doc["path"]), Path(doc["sidecar"]), doc["quant"], doc["size_bytes"], doc["float_bytes"],
                   doc["seconds"], doc["conversion_seconds"], doc["cached"],
                   Fidelity(**doc["fidelity"]) if doc["fidelity"] else None, doc["metadata"],
                   EdgeTPUReport(**{**tpu, "operators": tuple(tpu["operators"])}) if tpu else None,
                   tuple(doc["per_layer"]), tuple(doc["warnings"]))
