"""What is missing on a device, and the command that installs it. Shared by ``edgekit bench --host`` errors and
``edgekit targets check``. The commands are for Raspberry Pi OS and Debian; docs/devices.md has the long form.
"""

from __future__ import annotations

VENV = "~/edgekit-venv"
PYTHON = ("Python 3", "sudo apt-get install -y python3 python3-venv")
NUMPY = ("numpy", f"python3 -m venv {VENV} && {VENV}/bin/pip install numpy ai-edge-litert  "
                  f"(then pass --remote-python {VENV}/bin/python)")
RUNTIME = ("a TFLite runtime (ai-edge-litert or tflite-runtime)",
           f"python3 -m venv {VENV} && {VENV}/bin/pip install numpy ai-edge-litert  "
           f"(then pass --remote-python {VENV}/bin/python; on 32-bit OS images: pip install tflite-runtime "
           "'numpy<2')")
EDGETPU = ("the Edge TPU runtime (libedgetpu.so.1)",
           "echo 'deb https://packages.cloud.google.com/apt coral-edgetpu-stable main' | sudo tee "
           "/etc/apt/sources.list.d/coral-edgetpu.list && curl -fsSL "
           "https://packages.cloud.google.com/apt/doc/apt-key.gpg | sudo gpg --dearmor -o "
           "/etc/apt/trusted.gpg.d/coral-edgetpu.gpg && sudo apt-get update && sudo apt-get install -y "
           "libedgetpu1-std  (then replug the accelerator)")


def missing(what: tuple[str, str], python: str | None = None) -> str:
    """``"<thing> is missing[ for PY]; install it: <command>"``."""
    where = f" for {python}" if python else ""
    return f"{what[0]} is missing{where}; install it: {what[1]}"
