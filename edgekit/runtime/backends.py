"""TFLite interpreter backends, tried in order: ai_edge_litert, tflite_runtime, tensorflow.lite.

Each backend is found by name and imported only when chosen, so the device path needs numpy and one
runtime alone. ``tensorflow.lite`` is last and only reached when the others are missing.
"""

from __future__ import annotations

import importlib
import platform
from dataclasses import dataclass
from enum import Enum
from types import ModuleType

from edgekit.errors import EdgekitError, UsageError, unknown_name


class BackendName(str, Enum):
    AUTO = "auto"
    LITERT = "ai_edge_litert"
    TFLITE_RUNTIME = "tflite_runtime"
    TENSORFLOW = "tensorflow"


# Module that holds ``Interpreter`` and ``load_delegate``, and the distribution whose version we report.
_MODULES = {
    BackendName.LITERT: ("ai_edge_litert.interpreter", "ai-edge-litert"),
    BackendName.TFLITE_RUNTIME: ("tflite_runtime.interpreter", "tflite-runtime"),
    BackendName.TENSORFLOW: ("tensorflow.lite", "tensorflow"),
}
ORDER = (BackendName.LITERT, BackendName.TFLITE_RUNTIME, BackendName.TENSORFLOW)
BACKEND_NAMES = tuple(b.value for b in BackendName)


class BackendMissingError(EdgekitError):
    """No TFLite runtime could be imported."""


@dataclass(frozen=True)
class Backend:
    name: BackendName
    version: str
    module: ModuleType  # has Interpreter, load_delegate and (except tensorflow) OpResolverType

    @property
    def Interpreter(self):
        return self.module.Interpreter

    def resolver(self, xnnpack: bool):
        """The op resolver argument: the default one, or builtin kernels without XNNPACK."""
        kinds = getattr(self.module, "OpResolverType", None) or getattr(
            getattr(self.module, "experimental", None), "OpResolverType", None)
        if kinds is None:
            return {}
        return {"experimental_op_resolver_type":
                kinds.AUTO if xnnpack else kinds.BUILTIN_WITHOUT_DEFAULT_DELEGATES}


def _version(dist: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def _why(name: BackendName, err: ImportError) -> str:
    text = str(err)
    if name is BackendName.TFLITE_RUNTIME and ("numpy" in text.lower() or "_ARRAY_API" in text):
        return ("tflite_runtime failed to import; it is built against numpy<2 "
                f"(pip install 'numpy<2' or use ai-edge-litert): {text.splitlines()[0] if text else ''}")
    return f"{name.value}: {text.splitlines()[0] if text else type(err).__name__}"


def _import(name: BackendName) -> Backend:
    module_name, dist = _MODULES[name]
    module = importlib.import_module(module_name)
    return Backend(name, _version(dist), module)


def get_backend(name: str | BackendName = "auto") -> Backend:
    """The first importable backend (``auto``), or the one named; raise with every reason it failed."""
    try:
        wanted = BackendName(str(getattr(name, "value", name)))
    except ValueError:
        raise unknown_name("backend", str(name), BACKEND_NAMES) from None
    reasons = []
    for candidate in ORDER if wanted is BackendName.AUTO else (wanted,):
        try:
            return _import(candidate)
        except ImportError as err:
            reasons.append(_why(candidate, err))
        except Exception as err:  # a broken install can raise anything on import
            reasons.append(f"{candidate.value}: {type(err).__name__}: {err}")
    raise BackendMissingError("no TFLite runtime could be imported (" + "; ".join(reasons) +
                              "); install one with: pip install ai-edge-litert")


EDGETPU_LIBRARY = {"Linux": "libedgetpu.so.1", "Darwin": "libedgetpu.1.dylib", "Windows": "edgetpu.dll"}


def load_delegate(backend: Backend, delegate: str | None):
    """Load a named delegate; only ``edgetpu`` is known. None gives no delegate."""
    if delegate is None:
        return None
    if delegate != "edgetpu":
        raise unknown_name("delegate", delegate, ("edgetpu",))
    library = EDGETPU_LIBRARY.get(platform.system(), "libedgetpu.so.1")
    loader = getattr(backend.module, "load_delegate", None) or backend.module.experimental.load_delegate
    try:
        return loader(library)
    except (ValueError, OSError) as err:
        raise UsageError(f"the Edge TPU delegate {library} could not be loaded ({str(err).splitlines()[0]}); "
                         "install the Edge TPU runtime: on Debian/Ubuntu/Raspberry Pi OS add Coral's apt "
                         "repository (https://coral.ai/software/#debian-packages) and "
                         "'apt-get install libedgetpu1-std', and plug the accelerator in") from None
