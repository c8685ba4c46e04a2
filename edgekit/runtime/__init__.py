"""The on-device loader: runs a converted ``.tflite`` with numpy plus ai-edge-litert or tflite-runtime."""
