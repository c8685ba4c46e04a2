"""The result of a cost analysis: a model total and one row per layer (or TFLite op)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class LayerCost:
    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    macs: int | None  # None: not counted (a custom op), ``note`` says why
    elementwise_ops: int = 0
    note: str = ""

    def to_dict(self) -> dict:
        out = {"name": self.name, "type": self.type, "output_shape": list(self.output_shape),
               "params": self.params, "macs": self.macs, "elementwise_ops": self.elementwise_ops}
        return {**out, "note": self.note} if self.note else out


ACTIVATION_METHOD = (
    "liveness over the graph in execution order, batch 1: a tensor is allocated when its op runs and freed "
    "after its last consumer; the peak is the largest sum of live tensors while any one op runs (inputs and "
    "outputs together, no in-place reuse). Weights are not counted."
)


@dataclass(frozen=True)
class CostReport:
    """What a network costs. ``weight_bytes`` is the float32 size of the parameters (4 bytes each)."""

    model: str
    source: str  # "zoo", "keras", "tflite" or "savedmodel"
    input_shape: tuple[int, ...]
    params: int
    trainable_params: int | None  # None for a .tflite: a flatbuffer has no notion of trainable
    macs: int
    weight_bytes: int
    activation_peak_bytes: int
    elementwise_ops: int
    layers: tuple[LayerCost, ...] = field(default=())
    file_bytes: int | None = None
    stored_weight_bytes: int | None = None  # bytes the weights take in the file, at their stored dtype
    activation_method: str = ACTIVATION_METHOD
    not_counted: tuple[str, ...] = ()  # ops whose MACs are not in ``macs`` (custom ops), one entry per op

    @property
    def macs_note(self) -> str:
        """'' when every op is counted; else what the MAC total leaves out."""
        if not self.not_counted:
            return ""
        names = sorted(set(self.not_counted))
        n = len(self.not_counted)
        return f"{n} op{'s' if n > 1 else ''} not counted ({', '.join(names)})"

    def to_dict(self, layers: bool = True) -> dict:
        out = asdict(self)
        out["input_shape"] = list(self.input_shape)
        out["layers"] = [layer.to_dict() for layer in self.layers] if layers else []
        out["not_counted"] = list(self.not_counted)
        if self.not_counted:
            out["macs_note"] = self.macs_note
        return out
