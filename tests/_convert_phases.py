"""``edgekit convert`` with a marker line on stderr as each phase starts, for the Ctrl-C tests.

``python -m tests._convert_phases PHASE ARGS...`` runs ``edgekit ARGS`` through the real command line, printing
``@phase NAME`` once the model is built (``build``), when TensorFlow's converter starts (``conversion``), when it
has taken 2 calibration samples (``calibration``), when the fidelity check starts (``fidelity``) and when the Keras
session is freed (``cleanup``). At PHASE it waits for the test's Ctrl-C, so the signal lands in that phase, not
wherever a sleep happened to end; at ``conversion`` it goes straight on, so Ctrl-C lands inside TensorFlow. At
``cleanup`` it sends itself SIGINT from inside a weakref callback of the garbage collector, where Python swallows the
KeyboardInterrupt: the way a Ctrl-C was once lost while TensorFlow freed its graph.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import weakref


def mark(name: str, phase: str) -> None:
    print(f"@phase {name}", file=sys.stderr, flush=True)
    if name == phase and name not in ("conversion", "cleanup"):
        threading.Event().wait(300)  # Ctrl-C ends the wait (KeyboardInterrupt); none means the test failed


def wrap(module, attr: str, name: str, phase: str, *, after: bool = False) -> None:
    real = getattr(module, attr)

    def marked(*args, **kwargs):
        if not after:
            mark(name, phase)
        out = real(*args, **kwargs)
        if after:
            mark(name, phase)
        return out

    setattr(module, attr, marked)


def main() -> int:
    import converters.tflite
    from converters import calibration
    from converters import prepared as convert  # the float model's side of a conversion
    from edgekit.cli import main as cli

    phase = sys.argv[1]
    wrap(convert, "load_float", "build", phase, after=True)
    wrap(converters.tflite, "_saved_model_converter", "conversion", phase)
    wrap(convert, "run_tflite", "fidelity", phase)
    feed = calibration.Feed.__call__

    def call(self):
        for i, sample in enumerate(feed(self)):
            if i == 2:
                mark("calibration", phase)
            yield sample

    calibration.Feed.__call__ = call
    clear, refs = convert.clear_keras_session, []

    def cleanup():
        mark("cleanup", phase)
        if phase == "cleanup":
            class Garbage:
                pass

            g = Garbage()
            g.cycle = g  # freed by the collector, which calls the callback of the weakref kept below
            refs.append(weakref.ref(g, lambda _: os.kill(os.getpid(), signal.SIGINT)))
            del g
            gc.collect()  # the callback runs here, and the KeyboardInterrupt is raised inside it
        clear()

    convert.clear_keras_session = cleanup
    return cli(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
