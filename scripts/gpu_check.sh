#!/usr/bin/env bash
# The GPU check (issue 16): `edgekit bench --target gpu` (LiteRT's GPU accelerator), the Keras baseline and the
# same models on the CPU, on a machine with an NVIDIA GPU but no TensorFlow and no network (such as the
# device machine: Python 3.12 with PyTorch and JAX for CUDA). Two steps, from the repository root:
#
#   scripts/gpu_check.sh prepare [--dry-run] [--gl]
#       HERE (network, TensorFlow): download the cp312 wheels the GPU machine lacks into .whl/, convert the
#       models to .tflite and pack them small (bench/carry.py) into .gpucheck/. Both folders are git-ignored:
#       carry them along (the device tool: carry [".whl", ".gpucheck"]). --gl also fetches the Vulkan/EGL
#       loader packages into .gl/ (see the device documentation), unpacked by `run` when present.
#   scripts/gpu_check.sh run [--out DIR] [--python PY] [--runs N] [--backends "jax torch"] [--models "..."]
#                            [--cpu-only] [--no-install]
#       THERE: install the wheels into a private folder, run the gpu tests, then each packed model on the GPU
#       (LiteRT), the Keras baseline on each backend named, and each model on the CPU (1 thread and all
#       cores). Writes DIR/results.json, DIR/report.md and the logs (DIR defaults to $OUT, else gpu-check/).
#       --cpu-only skips the GPU and runs the baseline on the CPU: the script's logic, checked anywhere.
#
# Exit status: 0 only when every step passed; each failure is named in report.md with its one-line reason.
set -euo pipefail

MODELS=(mobilenetv2 resnet50 vgg16)
QUANTS=(fp32 fp16)
# What the GPU machine lacks (its python3 has numpy, typer, rich, absl-py, h5py, ml-dtypes, flatbuffers,
# protobuf, tqdm, typing-extensions, packaging, pytest, pytest-benchmark): pinned to what the tests ran with.
WHEELS=(ai-edge-litert==2.3.0 keras==3.15.1 namex==0.1.0 optree==0.20.0 backports.strenum==1.2.8)
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
            *) die "prepare: unknown option $1 (allowed: --dry-run, --gl, --python PY)" ;;
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
# step NAME CMD...: run CMD, log its status, carry on; the script's exit status counts the failures.
step() {
    local name=$1 rc=0
    shift
    echo "== $name"
    "$@" || rc=$?
    printf '%s\t%s\n' "$name" "$rc" >>"$STATUS"
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

# baseline_one MODEL BACKEND DEVICE JSON: the Keras baseline in its own process (edgekit.app.gpu_baseline).
baseline_one() {
    local request
    request=$(printf '{"model": "%s", "backend": "%s", "device": "%s", "runs": %s, "warmup": 3, "min_seconds": 1}' \
        "$1" "$2" "$3" "$RUNS")
    "$PY" -m edgekit.app.gpu_baseline <<<"$request" >"$4" 2>"$4.err" || { tail -1 "$4.err"; return 1; }
    ! grep -q '"error":' "$4" || { cat "$4"; return 1; }
}

run_tests() {
    # pipefail (set above) makes the pipeline's status pytest's, not tee's
    "$PY" -m pytest -q -p no:cacheprovider -rs tests/test_bench_gpu.py tests/test_keras_baseline.py \
        tests/test_bench_carry.py 2>&1 | tee "$DIR/pytest.log"
}

run() {
    local cpu_only=0 install=1 backends="jax torch"
    DIR=${OUT:-gpu-check}; PY=python3; RUNS=50
    while [ $# -gt 0 ]; do
        case $1 in
            --out) DIR=$2; shift ;;
            --python) PY=$2; shift ;;
            --runs) RUNS=$2; shift ;;
            --backends) backends=$2; shift ;;
            --models) read -r -a MODELS <<<"$2"; shift ;;
            --cpu-only) cpu_only=1 ;;
            --no-install) install=0 ;;
            *) die "run: unknown option $1 (allowed: --out DIR, --python PY, --runs N, --backends LIST, --models LIST, --cpu-only, --no-install)" ;;
        esac
        shift
    done
    ls .gpucheck/*.tflite.gz >/dev/null 2>&1 || die "no packed models in .gpucheck/: run 'scripts/gpu_check.sh prepare' first and carry .gpucheck"
    mkdir -p "$DIR"
    DIR=$(cd "$DIR" && pwd)
    WORK=$(mktemp -d)
    STATUS=$DIR/steps.tsv
    : >"$STATUS"
    mkdir -p "$WORK/json" "$WORK/models"
    export TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
    if [ $install = 1 ]; then
        ls .whl/*.whl >/dev/null 2>&1 || die "no wheels in .whl/: run 'scripts/gpu_check.sh prepare' and carry .whl"
        "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" .whl/*.whl
        export PYTHONPATH="$PYTHONPATH:$WORK/site"
    fi
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
    echo "== GPU: $(head -1 "$DIR/gpu.txt")"

    local gz stem m b q device=gpu
    for gz in .gpucheck/*.tflite.gz; do
        stem=$(basename "$gz" .tflite.gz)
        step "unpack $stem" "$PY" -m bench.carry unpack "$gz" "$WORK/models/$stem.tflite"
        cp ".gpucheck/$stem.tflite.json" "$WORK/models/" 2>/dev/null || true
    done
    step "pytest" run_tests
    if [ $cpu_only = 0 ]; then
        for m in "${MODELS[@]}"; do for q in "${QUANTS[@]}"; do
            step "litert-gpu_${m}_$q" bench_one gpu "$WORK/models/${m}_$q.tflite" "$WORK/json/litert-gpu_${m}_$q.json"
        done; done
    else
        device=cpu
    fi
    for m in "${MODELS[@]}"; do for b in $backends; do
        step "keras-$b-${device}_$m" baseline_one "$m" "$b" "$device" "$WORK/json/keras-${b}-${device}_$m.json"
    done; done
    for m in "${MODELS[@]}"; do for q in "${QUANTS[@]}"; do
        step "litert-cpu_${m}_$q" bench_one cpu "$WORK/models/${m}_$q.tflite" "$WORK/json/litert-cpu_${m}_$q.json" \
            --threads "1,$(nproc)"
    done; done
    step "report" "$PY" -m edgekit.app.gpu_report "$WORK/json" "$DIR" --gpu "$DIR/gpu.txt" --steps "$STATUS" \
        $([ $cpu_only = 1 ] && echo --cpu-only)
    rm -rf "$WORK"
    echo "wrote $DIR/results.json and $DIR/report.md"
    if [ ${#FAILED[@]} -gt 0 ]; then
        echo "gpu_check: ${#FAILED[@]} step(s) failed: ${FAILED[*]}" >&2
        exit 1
    fi
}

case ${1:-} in
    prepare) shift; prepare "$@" ;;
    run) shift; run "$@" ;;
    *) die "usage: scripts/gpu_check.sh prepare [--dry-run] [--gl] | run [--out DIR] [--python PY] [--runs N] [--backends LIST] [--models LIST] [--cpu-only] [--no-install]" ;;
esac
