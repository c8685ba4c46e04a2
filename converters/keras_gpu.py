"""The Keras baseline for ``edgekit bench --target gpu``: what a user would deploy without edgekit.

A zoo model's ``model(x, training=False)`` at batch 1, random weights, on whichever Keras 3 backend is
installed: JAX, PyTorch or TensorFlow. Each backend is one frozen record in ``REGISTRY``, keyed by
``KerasBackend``: the module whose presence marks it installed (found without importing it), the
distributions that carry its version, how to list its GPUs, how to make the call and how to wait for the
device to finish. The timing is the caller's (``edgekit.app.gpu_baseline``), so this module needs nothing
from ``bench/``.

Keras reads ``KERAS_BACKEND`` once, when it is first imported
(https://keras.io/getting_started/#configuring-your-backend), so one process runs one backend; the caller
runs each baseline in a fresh process. ``keras.device("gpu:0")`` places variables and inputs on every
backend (keras.io/api/utils/config_utils). Frameworks are imported only inside functions, and only the
backend asked for (``KERAS_BACKEND``) is probed: with ``KERAS_BACKEND=jax`` TensorFlow is never imported.

One job over 250 lines: one backend registry, each record's GPU listing, call and wait written beside it, and
the one selection over it; apart, a backend's parts would live in two places.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from importlib import metadata

from edgekit.errors import EdgekitError, unknown_name


class KerasBackend(str, Enum):
    JAX = "jax"
    TORCH = "torch"
    TENSORFLOW = "tensorflow"


class Device(str, Enum):
    GPU = "gpu"
    CPU = "cpu"


def as_device(value: Device | str) -> Device:
    """``value`` as a Device; anything else is a UsageError naming the choices."""
    try:
        return Device(value)
    except ValueError:
        raise unknown_name("device", str(value), [d.value for d in Device]) from None


class NoBackendError(EdgekitError):
    """No installed Keras backend can run the baseline on the device asked for."""


@dataclass(frozen=True)
class BackendSpec:
    """One Keras backend: how to tell it is installed, list its GPUs, make the call and wait for it."""

    name: KerasBackend
    module: str  # importable module; found with importlib.util.find_spec, never imported to check
    dists: tuple[str, ...]  # distributions that may carry it, for its version
    install: str  # how to get its GPU build
    gpus: Callable[[], list[str]]  # the GPU names it sees (imports the framework)
    compile: Callable  # keras.Model -> (x -> output): the call as a user would deploy it
    sync: Callable[[object], None]  # wait until the device has produced ``output``
    call: str  # how the call is made, recorded with the result
    execution: str = "compiled"  # "jit" (the baseline), "graph" or "eager" (Keras's per-op overhead, not the GPU's)

    def installed(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    def version(self) -> str | None:
        for dist in self.dists:
            try:
                return metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
        return None


def _jax_gpus() -> list[str]:
    import jax

    try:
        return [d.device_kind for d in jax.devices("gpu")]
    except RuntimeError:  # jax without a GPU plugin: "Unknown backend: 'gpu'"
        return []


def _jax_compile(net) -> Callable:
    import jax

    trainable = [v.value for v in net.trainable_variables]
    frozen = [v.value for v in net.non_trainable_variables]
    fn = jax.jit(lambda t, f, x: net.stateless_call(t, f, x, training=False)[0])
    return lambda x: fn(trainable, frozen, x)


def _jax_sync(out) -> None:
    out.block_until_ready()


def _torch_gpus() -> list[str]:
    import torch

    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def _torch_compile(net) -> Callable:
    import torch

    def call(x):
        with torch.no_grad():
            return net(x, training=False)

    return call


def _torch_sync(out) -> None:
    import torch

    if out.is_cuda:
        torch.cuda.synchronize(out.device)


def _tf_gpus() -> list[str]:
    from converters._tf import tensorflow

    tf = tensorflow()
    return [tf.config.experimental.get_device_details(d).get("device_name", d.name)
            for d in tf.config.list_physical_devices("GPU")]


def _tf_compile(net) -> Callable:
    from converters._tf import tensorflow

    return tensorflow().function(lambda t: net(t, training=False))


def _tf_sync(out) -> None:
    out.numpy()  # copies the output to the host, so waits for the GPU


# Probed in this order when KERAS_BACKEND is not set: TensorFlow last, as its import is by far the slowest.
REGISTRY: dict[KerasBackend, BackendSpec] = {s.name: s for s in (
    BackendSpec(KerasBackend.JAX, "jax", ("jax",), "pip install 'edgekit[gpu]' (jax[cuda12])", _jax_gpus,
                _jax_compile, _jax_sync, "jax.jit(model.stateless_call(..., training=False))", "jit"),
    BackendSpec(KerasBackend.TORCH, "torch", ("torch",), "pip install keras and a CUDA build of torch", _torch_gpus,
                _torch_compile, _torch_sync, "model(x, training=False) under torch.no_grad(), eager", "eager"),
    BackendSpec(KerasBackend.TENSORFLOW, "tensorflow", ("tensorflow", "tensorflow-cpu"),
                "pip install 'tensorflow[and-cuda]'", _tf_gpus, _tf_compile, _tf_sync,
                "tf.function(model(x, training=False))", "graph"),
)}


def probe(spec: BackendSpec, device: Device) -> tuple[list[str], str | None]:
    """The devices ``spec`` can run on, and why there are none (None when there are some)."""
    if not spec.installed():
        return [], f"{spec.name.value}: not installed ({spec.install})"
    if device is Device.CPU:
        return ["cpu"], None
    gpus = spec.gpus()
    return gpus, None if gpus else f"{spec.name.value} {spec.version()}: no GPU devices"


def candidates(requested: str | None, registry: dict[KerasBackend, BackendSpec] | None = None) -> list[BackendSpec]:
    """The backends to try: the one ``requested`` (``KERAS_BACKEND``), or all in the registry's order."""
    registry = REGISTRY if registry is None else registry
    if not requested:
        return list(registry.values())
    try:
        return [registry[KerasBackend(requested.strip().lower())]]
    except ValueError:
        raise unknown_name("Keras backend (KERAS_BACKEND)", requested, [b.value for b in registry]) from None


def select_backend(device: Device | str, *, requested: str | None = None,
                   registry: dict[KerasBackend, BackendSpec] | None = None) -> tuple[BackendSpec, str]:
    """The first backend that can run on ``device``, and the device's name.

    Args:
        device: ``"gpu"`` or ``"cpu"``.
        requested: a backend name; None reads ``KERAS_BACKEND`` (unset: try each installed one in turn).
        registry: the backends to choose from (tests pass their own).

    Raises:
        UsageError: ``requested`` names no backend edgekit knows.
        NoBackendError: none installed, or none sees a GPU; the message names each one looked for.
    """
    device = as_device(device)
    specs = candidates(os.environ.get("KERAS_BACKEND") if requested is None else requested, registry)
    if importlib.util.find_spec("keras") is None:
        raise NoBackendError("Keras 3 is not installed, so there is no Keras baseline: pip install 'edgekit[gpu]'")
    reasons = []
    for spec in specs:
        devices, why = probe(spec, device)
        if devices:
            return spec, devices[0]
        reasons.append(why)
    if not any(s.installed() for s in specs):
        looked = ", ".join(s.name.value for s in specs)
        raise NoBackendError(f"no Keras backend is installed (looked for {looked}): pip install 'edgekit[gpu]' "
                             "for JAX with CUDA, or set KERAS_BACKEND to one you have")
    raise NoBackendError(f"no Keras backend sees a {device.value.upper()}: " + "; ".join(reasons))


def keras_call(model: str, *, device: Device | str = Device.GPU, backend: str | None = None,
               phase: Callable[[str], None] | None = None) -> tuple[Callable[[], None], dict]:
    """A zoo model's call on ``device`` (random weights, batch 1) as a synchronised callable, and what ran it.

    Sets ``KERAS_BACKEND`` before Keras is imported; in a process where Keras already runs another backend it
    refuses (Keras cannot switch), so call it in a fresh process. ``phase(name)`` is called as each step ends
    ("import": Keras and the backend, "build": the model and its input), so a caller can time them.
    """
    import numpy as np

    device = as_device(device)
    spec, device_name = select_backend(device, requested=backend)
    loaded = sys.modules.get("keras")
    if loaded is not None and loaded.backend.backend() != spec.name.value:
        raise NoBackendError(f"Keras already runs the {loaded.backend.backend()} backend in this process and cannot "
                             f"switch to {spec.name.value}; run the baseline in a fresh process")
    os.environ["KERAS_BACKEND"] = spec.name.value
    from edgekit.models import build
    from edgekit.models._keras import keras

    k = keras()
    if phase is not None:
        phase("import")
    scope = f"{device.value}:0"
    with k.device(scope):
        net = build(model)
        x = k.ops.convert_to_tensor(np.random.default_rng(0).standard_normal((1, *net.input_shape[1:]), np.float32))
        fn = spec.compile(net)
    if phase is not None:
        phase("build")

    def run() -> None:
        with k.device(scope):
            spec.sync(fn(x))

    info = {"keras_backend": spec.name.value, "backend_version": spec.version(), "keras_version": k.__version__,
            "target": device.value, "device_name": device_name, "call": spec.call, "execution": spec.execution,
            "framework": f"keras {k.__version__} on {spec.name.value} {spec.version()} ({device_name})"}
    return run, info


def describe(device: Device | str = Device.GPU) -> str:
    """One phrase naming each backend looked for and what it sees, for a "no GPU" message."""
    specs = candidates(os.environ.get("KERAS_BACKEND"))
    parts = []
    for spec in specs:
        devices, why = probe(spec, as_device(device))
        parts.append(f"{spec.name.value} {spec.version()}: {', '.join(devices)}" if devices else why)
    return "Keras backends: " + "; ".join(parts)
