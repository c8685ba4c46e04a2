"""The peer row beside LiteRT's GPU figures: torchvision's own MobileNet v2, ResNet-50 and VGG-16 in eager
PyTorch, as a PyTorch user would run them. edgekit builds none of it, so it checks edgekit's numbers from
outside: random weights (``weights=None``), batch 1, ``torch.no_grad()``, and ``torch.cuda.synchronize()``
after each call so that each timed call ends when the GPU has finished.

    python -m edgekit.app.torch_peer --models mobilenetv2,resnet50,vgg16 [--device cuda|cpu] [--runs 100]

prints one JSON object per model, one per line; a model that fails prints ``{"model", "error"}`` and the others
go on. Each phase (import, build, compile: the first call, warmup, timed) prints its time to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys

from edgekit.app.gpu_baseline import MAX_SECONDS, PhaseClock, time_phases

TORCHVISION = {"mobilenetv2": "mobilenet_v2", "resnet50": "resnet50", "vgg16": "vgg16"}  # edgekit's zoo name -> its


def peer_call(model: str, *, device: str, phase=None):
    """torchvision's ``model`` on ``device`` as a synchronised callable, and what ran it."""
    import torch
    import torchvision

    if model not in TORCHVISION:
        raise ValueError(f"no torchvision peer for {model!r}; choose from: {', '.join(TORCHVISION)}")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"torch {torch.__version__} sees no CUDA GPU")
    if phase is not None:
        phase("import")
    net = getattr(torchvision.models, TORCHVISION[model])(weights=None).eval().to(device)
    x = torch.randn(1, 3, 224, 224, device=device)
    if phase is not None:
        phase("build")

    def run() -> None:
        with torch.no_grad():
            net(x)
        if device == "cuda":
            torch.cuda.synchronize()

    name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
    return run, {"framework": f"torchvision {torchvision.__version__} on torch {torch.__version__} ({name})",
                 "backend_version": torch.__version__, "torchvision_version": torchvision.__version__,
                 "execution": "eager", "target": "gpu" if device == "cuda" else "cpu", "device_name": name,
                 "call": f"torchvision.models.{TORCHVISION[model]}(weights=None).eval()(x) under torch.no_grad()"
                         + (", then torch.cuda.synchronize()" if device == "cuda" else "")}


def peer(model: str, *, device: str, runs: int, warmup: int, min_seconds: float,
         max_seconds: float = MAX_SECONDS) -> dict:
    """Time one torchvision model; the same record as ``edgekit.app.gpu_baseline.keras_baseline``."""
    from bench.provenance import provenance

    clock = PhaseClock()
    run, info = peer_call(model, device=device, phase=clock)
    return {**provenance(), **info, "model": model, "measured": True, "batch": 1,
            **time_phases(run, clock, runs=runs, warmup=warmup, min_seconds=min_seconds, max_seconds=max_seconds,
                          sensor="gpu" if device == "cuda" else "cpu")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m edgekit.app.torch_peer", description=__doc__.splitlines()[0])
    p.add_argument("--models", default=",".join(TORCHVISION))
    p.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--min-seconds", type=float, default=0.5)
    p.add_argument("--max-seconds", type=float, default=MAX_SECONDS)
    args = p.parse_args(argv)
    failed = 0
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        print(f"model {model}", file=sys.stderr, flush=True)
        try:
            doc = peer(model, device=args.device, runs=args.runs, warmup=args.warmup, min_seconds=args.min_seconds,
                       max_seconds=args.max_seconds)
        except Exception as err:  # one model fails alone, with its reason (ImportError, CUDA errors, ...)
            doc, failed = {"model": model, "error": f"{type(err).__name__}: {err}".splitlines()[0]}, failed + 1
        sys.stdout.write(json.dumps(doc) + "\n")
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
