#!/usr/bin/env bash
# The GPU check (issues 16 and 21): `edgekit bench --target gpu` (LiteRT's GPU accelerator), the Keras baseline,
# torchvision's peer and the same models on the CPU, on a machine with an NVIDIA GPU but no TensorFlow and no
# network (such as the device machine: Python 3.12 with PyTorch, torchvision and JAX for CUDA). Two steps, from
# the repository root:
#
#   scripts/gpu_check.sh prepare [--dry-run] [--gl] [--models "..."]
#       HERE (network, TensorFlow): download the cp312 wheels the GPU machine lacks into .whl/, convert the
#       models to .tflite and pack them small (bench/carry.py) into .gpucheck/. Both folders are git-ignored:
#       carry them along (the device tool: carry [".whl", ".gpucheck"]). --gl also fetches the Vulkan/EGL
#       loader packages into .gl/ (see the device documentation), unpacked by `run` when present.
#   scripts/gpu_check.sh run [--out DIR] [--python PY] [--runs N] [--backends "jax torch"] [--models "..."]
#                            [--budget SECONDS] [--cpu-only] [--no-install] [--no-tests]
#       THERE: install the wheels into a private folder, run the gpu tests, then, most telling first: each model
#       on the GPU (LiteRT fp32), on the CPU (LiteRT fp32 at 1 thread and all cores), the Keras baseline on JAX
#       (jit), torchvision in eager PyTorch, LiteRT fp16 on the GPU, Keras on torch (eager).
#       Every step has its own time limit (`timeout`, its process group killed); one that runs past it fails with
#       that reason and the next step runs. The whole run keeps within --budget (default 420 s: 7 minutes on a
#       16-core H100/H200 machine, steps sized from a run on an H200): a step gets at most the time left, and
#       one with none left is skipped and named. Each step's time is printed and kept.
#       Everything (results.json, report.md, steps.tsv, every step's JSON and log, run.log) goes into ONE
#       archive, DIR/gpu-check.tar.gz (DIR defaults to $OUT, else gpu-check/), written even when a step fails.
#       --cpu-only skips the GPU and runs the baselines on the CPU: the script's logic, checked anywhere.
#       A software Vulkan driver (Mesa's lavapipe) serves as a GPU: its rows are marked emulated.
#
# Exit status: 0 only when every step passed; each failure is named in report.md with its one-line reason.
set -euo pipefail

MODELS=(mobilenetv2 resnet50 vgg16)
QUANTS=(fp32 fp16)
# What the GPU machine lacks (its python3 has numpy, typer, rich, absl-py, h5py, ml-dtypes, flatbuffers,
# protobuf, tqdm, typing-extensions, packaging, pytest, pytest-benchmark): pinned to what the tests ran with.
WHEELS=(ai-edge-litert==2.3.0 keras==3.15.1 namex==0.1.0 optree==0.20.0 backports.strenum==1.2.8
        nvidia-ml-py==13.615.71)  # NVML: the energy of each GPU row (bench.energy)
PLATFORMS=(manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64)
CARRY_LIMIT_MIB=60
GL_DEBS=(libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)

die() { echo "gpu_check: $*" >&2; exit 2; }
[ -f pyproject.toml ] && [ -d bench ] || die "run it from the repository root"

prepare() {
    local dry=0 gl=0 py=${PYTHON:-python}
    while [ $# -gt 0 ]; do
        case $1 in
            --dry-run) dry=1 ;;
            --gl) gl=1 ;;
            --python) py=$2; shift ;;
            --models) read -r -a MODELS <<<"$2"; shift ;;
            *) die "prepare: unknown option $1 (allowed: --dry-run, --gl, --python PY, --models LIST)" ;;
        esac
        shift
    done
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
    local plat=() p
    for p in "${PLATFORMS[@]}"; do plat+=(--platform "$p"); done
    local fetch=("$py" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp
                 "${plat[@]}" -d .whl "${WHEELS[@]}")
    local tmp m q
    tmp=$(mktemp -d)
    if [ $dry = 1 ]; then
        echo "would download into .whl/: ${WHEELS[*]}"
        echo "  ${fetch[*]}"
        for m in "${MODELS[@]}"; do for q in "${QUANTS[@]}"; do
            echo "would convert: $py -m edgekit convert $m --$q -o $tmp/${m}_$q.tflite --force"
            echo "  and pack:    $py -m bench.carry pack $tmp/${m}_$q.tflite .gpucheck/${m}_$q.tflite.gz"
        done; done
        [ $gl = 0 ] || echo "would apt-get download into .gl/: ${GL_DEBS[*]}"
        rm -rf "$tmp"
        return 0
    fi
    mkdir -p .whl .gpucheck
    "${fetch[@]}"
    for m in "${MODELS[@]}"; do for q in "${QUANTS[@]}"; do
        echo "== convert $m $q"
        "$py" -m edgekit convert "$m" "--$q" -o "$tmp/${m}_$q.tflite" --force >/dev/null
        "$py" -m bench.carry pack "$tmp/${m}_$q.tflite" ".gpucheck/${m}_$q.tflite.gz"
        cp "$tmp/${m}_$q.tflite.json" ".gpucheck/${m}_$q.tflite.json" 2>/dev/null || true  # the sidecar
        rm -f "$tmp/${m}_$q.tflite"
    done; done
    rm -rf "$tmp"
    if [ $gl = 1 ]; then
        local o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
        mkdir -p .gl /tmp/amd64/partial
        apt-get "${o[@]}" update -qq
        (cd .gl && apt-get "${o[@]}" download "${GL_DEBS[@]}")
    fi
    ls -la .whl .gpucheck
    local kib
    kib=$(du -sk .whl .gpucheck $([ -d .gl ] && echo .gl) | awk '{s += $1} END {print s}')
    echo "to carry: $((kib / 1024)) MiB (limit ${CARRY_LIMIT_MIB} MiB): .whl .gpucheck$([ -d .gl ] && echo ' .gl')"
    [ $((kib / 1024)) -lt $CARRY_LIMIT_MIB ] || die "the carried folders are over ${CARRY_LIMIT_MIB} MiB"
}

FAILED=()
BUDGET_S=420   # the whole run, on a 16-core H100/H200 machine
RESERVE_S=25   # kept for the report and the archive
# Per-step limits in seconds, from an H200 run (LiteRT init 0.4-2.5 s, a round 3-6 s, 6 rounds; JAX: import 5 s,
# build 8 s, XLA compile 9 s; Keras import 5 s) with about 2x headroom.
# Each can be set from the environment (tests/test_gpu_check_script.py makes one step time out).
LIMIT_SETUP=${LIMIT_SETUP:-60} LIMIT_UNPACK=${LIMIT_UNPACK:-30} LIMIT_PYTEST=${LIMIT_PYTEST:-120}
LIMIT_LITERT_GPU=${LIMIT_LITERT_GPU:-60} LIMIT_LITERT_CPU=${LIMIT_LITERT_CPU:-90} LIMIT_KERAS=${LIMIT_KERAS:-90}
LIMIT_PEER=${LIMIT_PEER:-120} LIMIT_REPORT=${LIMIT_REPORT:-20}
# edgekit bench's loop: 6 rounds (the least with a 95% interval), no extra rounds for noisy ones (--budget 1)
GPU_LOOP=(--rounds 6 --budget 1 --min-seconds 0.2)
CPU_LOOP=(--rounds 6 --budget 1 --min-seconds 0.1)

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# step NAME LIMIT CMD...: run CMD (a command or a function of this script) in its own process group under
# `timeout`, with at most LIMIT seconds and never past the run's budget; log its exit status, seconds and,
# when it did not finish, why. The script's exit status counts the failures.
step() {
    local name=$1 limit=$2 rc=0 reason="" t0 secs left
    shift 2
    left=$(( BUDGET_S - RESERVE_S - (SECONDS - RUN_START) ))
    if [ "$left" -lt 5 ]; then
        reason="skipped: no time left of the run's ${BUDGET_S} s budget"
        printf '%s\t%s\t%s\t%s\n' "$name" 125 0 "$reason" >>"$STATUS"
        FAILED+=("$name")
        echo "!! $name $reason"
        return 0
    fi
    [ "$limit" -le "$left" ] || limit=$left
    echo "== $name (limit ${limit} s)"
    t0=$(now)
    timeout -k 5 "$limit" bash -c '"$@"' _ "$@" || rc=$?
    secs=$(since "$t0")
    case $rc in
        0) ;;
        124|137) reason="timed out: still running after its limit of ${limit} s (its last lines are in its .err or log)" ;;
        *) reason="" ;;
    esac
    printf '%s\t%s\t%s\t%s\n' "$name" "$rc" "$secs" "$reason" >>"$STATUS"
    echo "-- $name: exit $rc in ${secs} s${reason:+ ($reason)}"
    if [ $rc -ne 0 ]; then
        FAILED+=("$name")
        echo "!! $name failed (exit $rc)"
    fi
    return 0
}


# bench_one TARGET FILE JSON [ARGS...]: one `edgekit bench` run, JSON to a file, its one-line error kept.
bench_one() {
    local target=$1 file=$2 json=$3
    shift 3
    "$PY" -m edgekit bench "$file" --target "$target" --runs "$RUNS" --json --db "$WORK/results.db" "$@" \
        >"$json" 2>"$json.err" || { tail -1 "$json.err"; return 1; }
}

# baseline_one MODEL BACKEND DEVICE JSON: the Keras baseline in its own process (edgekit.app.gpu_baseline); each
# phase's time goes to its .err as it ends, so a step that hangs shows where.
baseline_one() {
    local request
    request=$(printf '{"model": "%s", "backend": "%s", "device": "%s", "runs": %s, "warmup": 3, "min_seconds": 1, "max_seconds": 20}' \
        "$1" "$2" "$3" "$RUNS")
    "$PY" -m edgekit.app.gpu_baseline <<<"$request" >"$4" 2>"$4.err" || { tail -1 "$4.err"; return 1; }
    grep '^phase ' "$4.err" | tr '\n' ' '; echo
    ! grep -q '"error":' "$4" || { cat "$4"; return 1; }
}

# peer DEVICE JSON: torchvision's models in eager PyTorch (edgekit.app.torch_peer), one JSON line each.
peer() {
    "$PY" -m edgekit.app.torch_peer --models "$MODELS_CSV" --device "$1" --runs 100 --warmup 10 \
        >"$2" 2>"$2.err" || { grep -h '"error"' "$2" || tail -1 "$2.err"; return 1; }
}

run_tests() {
    set -o pipefail  # the pipeline's status is pytest's, not tee's
    "$PY" -m pytest -q -p no:cacheprovider -rs tests/test_bench_gpu.py tests/test_keras_baseline.py \
        tests/test_bench_carry.py tests/test_gpu_report.py tests/test_torch_peer.py 2>&1 | tee "$DIR/pytest.log"
}

install_wheels() {
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" .whl/*.whl
}

# archive: everything this run wrote, in one file (the device machine sends back what is under $OUT)
archive() {
    tar -czf "$ARCHIVE.tmp" -C "$DIR" . && mv "$ARCHIVE.tmp" "$ARCHIVE"
    rm -rf "$WORK" "$DIR"
    echo "archive: $ARCHIVE ($(du -k "$ARCHIVE" | cut -f1) KiB): results.json, report.md, steps.tsv, run.log, json/"
}

run() {
    local cpu_only=0 install=1 tests=1 backends="jax torch" out
    out=${OUT:-gpu-check}; PY=python3; RUNS=20
    while [ $# -gt 0 ]; do
        case $1 in
            --out) out=$2; shift ;;
            --python) PY=$2; shift ;;
            --runs) RUNS=$2; shift ;;
            --backends) backends=$2; shift ;;
            --models) read -r -a MODELS <<<"$2"; shift ;;
            --budget) BUDGET_S=$2; shift ;;
            --cpu-only) cpu_only=1 ;;
            --no-install) install=0 ;;
            --no-tests) tests=0 ;;
            *) die "run: unknown option $1 (allowed: --out DIR, --python PY, --runs N, --backends LIST, --models LIST, --budget SECONDS, --cpu-only, --no-install, --no-tests)" ;;
        esac
        shift
    done
    ls .gpucheck/*.tflite.gz >/dev/null 2>&1 || die "no packed models in .gpucheck/: run 'scripts/gpu_check.sh prepare' first and carry .gpucheck"
    [ $install = 0 ] || ls .whl/*.whl >/dev/null 2>&1 || die "no wheels in .whl/: run 'scripts/gpu_check.sh prepare' and carry .whl"
    RUN_START=$SECONDS
    mkdir -p "$out"
    ARCHIVE=$(cd "$out" && pwd)/gpu-check.tar.gz
    WORK=$(mktemp -d)
    DIR=$(mktemp -d)  # what the archive holds
    STATUS=$DIR/steps.tsv
    : >"$STATUS"
    mkdir -p "$DIR/json" "$WORK/models"
    exec > >(tee -a "$DIR/run.log") 2>&1
    trap 'archive' EXIT
    # No XLA_PYTHON_CLIENT_PREALLOCATE here: each step is its own process, and the baseline runs JAX as a user
    # does (the H200 run that set it hung in the JAX step; the same call without it finished in 22 s).
    export TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
    [ $install = 0 ] || export PYTHONPATH="$PYTHONPATH:$WORK/site"
    MODELS_CSV=$(IFS=,; echo "${MODELS[*]}")
    export PY RUNS WORK DIR MODELS_CSV
    export -f bench_one baseline_one peer run_tests install_wheels
    echo "== PYTHONPATH for every step and its children: $PYTHONPATH"
    if [ -d .gl ] && [ $cpu_only = 0 ]; then
        local f
        for f in .gl/*.deb; do dpkg -x "$f" /; done
        ldconfig
    fi
    if command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$DIR/gpu.txt" 2>&1 || true
    else
        echo "no nvidia-smi on PATH" >"$DIR/gpu.txt"
    fi
    echo "== GPU: $(head -1 "$DIR/gpu.txt"); $(nproc) cores; budget ${BUDGET_S} s"

    [ $install = 0 ] || step "install" "$LIMIT_SETUP" install_wheels
    local gz stem m b q device=gpu peer_device=cuda j=$DIR/json
    for gz in .gpucheck/*.tflite.gz; do
        stem=$(basename "$gz" .tflite.gz)
        step "unpack $stem" "$LIMIT_UNPACK" "$PY" -m bench.carry unpack "$gz" "$WORK/models/$stem.tflite"
        cp ".gpucheck/$stem.tflite.json" "$WORK/models/" 2>/dev/null || true
    done
    [ $tests = 0 ] || step "pytest" "$LIMIT_PYTEST" run_tests
    [ $cpu_only = 0 ] || { device=cpu; peer_device=cpu; }
    if [ $cpu_only = 0 ]; then
        for m in "${MODELS[@]}"; do
            step "litert-gpu_${m}_fp32" "$LIMIT_LITERT_GPU" bench_one gpu "$WORK/models/${m}_fp32.tflite" \
                "$j/litert-gpu_${m}_fp32.json" "${GPU_LOOP[@]}"
        done
    fi
    for m in "${MODELS[@]}"; do
        step "litert-cpu_${m}_fp32" "$LIMIT_LITERT_CPU" bench_one cpu "$WORK/models/${m}_fp32.tflite" \
            "$j/litert-cpu_${m}_fp32.json" --threads "1,$(nproc)" "${CPU_LOOP[@]}" --runs 5
    done
    for m in "${MODELS[@]}"; do for b in $backends; do
        [ "$b" = jax ] || continue
        step "keras-jax-${device}_$m" "$LIMIT_KERAS" baseline_one "$m" jax "$device" "$j/keras-jax-${device}_$m.json"
    done; done
    if "$PY" -c "import torchvision" 2>/dev/null; then
        step "torchvision-${device}_peer" "$LIMIT_PEER" peer "$peer_device" "$j/torchvision-${device}_peer.json"
    else
        echo "== torchvision-${device}_peer: not run, $PY has no torchvision (the peer row needs it)"
    fi
    if [ $cpu_only = 0 ]; then
        for m in "${MODELS[@]}"; do for q in "${QUANTS[@]}"; do
            [ "$q" != fp32 ] || continue
            step "litert-gpu_${m}_$q" "$LIMIT_LITERT_GPU" bench_one gpu "$WORK/models/${m}_$q.tflite" \
                "$j/litert-gpu_${m}_$q.json" "${GPU_LOOP[@]}"
        done; done
    fi
    for m in "${MODELS[@]}"; do for b in $backends; do
        [ "$b" != jax ] || continue
        step "keras-$b-${device}_$m" "$LIMIT_KERAS" baseline_one "$m" "$b" "$device" "$j/keras-$b-${device}_$m.json"
    done; done
    RESERVE_S=0 step "report" "$LIMIT_REPORT" "$PY" -m edgekit.app.gpu_report "$j" "$DIR" --gpu "$DIR/gpu.txt" \
        --steps "$STATUS" $([ $cpu_only = 1 ] && echo --cpu-only)
    [ ! -f "$DIR/report.md" ] || cat "$DIR/report.md"
    echo "== run took $((SECONDS - RUN_START)) s (budget ${BUDGET_S} s)"
    if [ ${#FAILED[@]} -gt 0 ]; then
        echo "gpu_check: ${#FAILED[@]} step(s) failed: ${FAILED[*]}" >&2
        exit 1
    fi
}

case ${1:-} in
    prepare) shift; prepare "$@" ;;
    run) shift; run "$@" ;;
    *) die "usage: scripts/gpu_check.sh prepare [--dry-run] [--gl] [--models LIST] | run [--out DIR] [--python PY] [--runs N] [--backends LIST] [--models LIST] [--budget SECONDS] [--cpu-only] [--no-install] [--no-tests]" ;;
esac
