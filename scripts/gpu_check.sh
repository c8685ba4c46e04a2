#!/usr/bin/env bash
# Verify `edgekit bench --target gpu` on a machine with a GPU (issue 4). Run from the repository root:
#   scripts/gpu_check.sh [PYTHON]
# Prints what LiteRT's GPU accelerator and TensorFlow see, runs the gpu tests, then benchmarks a tiny model
# and MobileNetV2 (fp32) on the GPU with the Keras-on-CUDA baseline when TF sees the GPU. Exit 0 = verified.
set -u
PY=${1:-python}
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
DB=$(mktemp -d)/gpu.db
echo "== nvidia-smi"; nvidia-smi -L 2>&1 | head -3
echo "== LiteRT GPU accelerator"
"$PY" - <<'PY'
from bench.gpu import NoGpuError, compile_for_gpu
try:
    m = compile_for_gpu("tests/data/tiny_fp32.tflite")
    print("LiteRT GPU: ok, fully accelerated:", m.is_fully_accelerated())
except NoGpuError as e:
    print("LiteRT GPU: NOT usable:", e)
PY
echo "== TensorFlow GPU devices"
"$PY" -c "from converters.tf_gpu import tf_gpu_devices; print(tf_gpu_devices())" 2>&1 | tail -1
echo "== tests"
"$PY" -m pytest -q -p no:cacheprovider tests/test_bench_gpu.py -rs 2>&1 | tail -4
echo "== edgekit bench (tiny, gpu)"
"$PY" -m edgekit bench tests/data/tiny_fp32.tflite --target gpu --runs 50 --db "$DB" || exit 1
echo "== edgekit bench (mobilenetv2 fp32: gpu, then cpu for comparison)"
"$PY" -m edgekit bench mobilenetv2 --quant fp32 --target gpu --runs 50 --db "$DB" || exit 1
"$PY" -m edgekit bench mobilenetv2 --quant fp32 --target cpu --threads 4 --runs 20 --db "$DB" || exit 1
"$PY" -m edgekit results --db "$DB"
