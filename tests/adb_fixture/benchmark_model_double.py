"""edgekit's TEST DOUBLE of LiteRT's benchmark_model (never a phone's speed): runs ai-edge-litert on the pushed model
and prints the real tool's output format (tensorflow lite/tools/benchmark, as quoted in tensorflow#42507 and
tensorflow#73862), with a mark that makes edgekit label its results emulated."""

import os
import sys
import time

args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
if os.environ.get("EDGEKIT_DOUBLE_LOG"):  # the tests watch the runs to interrupt or unplug mid-run
    with open(os.environ["EDGEKIT_DOUBLE_LOG"], "a") as log:
        log.write(" ".join(sys.argv[1:]) + "\n")
time.sleep(float(os.environ.get("EDGEKIT_DOUBLE_SLEEP_S", "0")))  # a slow phone, so that a run can be cut
print("INFO: STARTING!")
print("INFO: edgekit-test-double: not LiteRT's benchmark_model")
if args.get("use_gpu") == "true":  # a double has no GPU delegate: it fails as a binary built without one would
    print("ERROR: edgekit-test-double has no GPU delegate")
    sys.exit(1)
try:
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    t0 = time.perf_counter()
    interp = Interpreter(model_path=args["graph"], num_threads=int(args.get("num_threads", 1)))
    interp.allocate_tensors()
except Exception as err:  # the real tool prints its error and exits 1
    print(f"ERROR: Failed to load model: {err}".splitlines()[0])
    sys.exit(1)
init = (time.perf_counter() - t0) * 1e6
for d in interp.get_input_details():
    interp.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))


def timed(n):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        interp.invoke()
        out.append((time.perf_counter() - t) * 1e6)
    return out


warm = timed(max(1, int(args.get("warmup_runs", 1))))
runs = timed(max(1, int(args.get("num_runs", 50))))
s = sorted(runs)
avg = sum(runs) / len(runs)
print(f"INFO: count={len(warm)} curr={warm[-1]:.0f} p5={min(warm):.0f} median={warm[len(warm) // 2]:.0f} "
      f"p95={max(warm):.0f}")
print(f"INFO: count={len(runs)} first={runs[0]:.0f} curr={runs[-1]:.0f} min={s[0]:.0f} max={s[-1]:.0f} avg={avg:g} "
      f"std=0 p5={s[0]:.0f} median={s[len(s) // 2]:.0f} p95={s[-1]:.0f}")
print(f"INFO: Inference timings in us: Init: {init:.0f}, First inference: {warm[0]:.0f}, "
      f"Warmup (avg): {sum(warm) / len(warm):g}, Inference (avg): {avg:g}")
print("INFO: Peak memory footprint (MB): init=1.5 overall=9.25")
