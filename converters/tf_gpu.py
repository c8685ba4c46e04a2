"""The Keras-on-TensorFlow-CUDA baseline for ``edgekit bench --target gpu``: what a user would deploy
without edgekit. TensorFlow is imported only inside these functions; the timing is the caller's
(``edgekit.app.gpu_baseline``), so this module needs nothing from ``bench/``."""

from __future__ import annotations

from collections.abc import Callable


def tf_gpu_devices() -> tuple[list[str], str | None]:
    """TensorFlow's GPU device names, and why there are none (None when TF imported fine)."""
    try:
        from converters._tf import tensorflow

        tf = tensorflow()
    except ImportError:
        return [], "TensorFlow is not installed (pip install 'edgekit[gpu]')"
    devices = [d.name for d in tf.config.list_physical_devices("GPU")]
    return devices, None if devices else f"TensorFlow {tf.__version__} sees no GPU devices"


def keras_gpu_call(model: str) -> tuple[Callable[[], None], str]:
    """A zoo model's ``model(x, training=False)`` on TF's first GPU (random weights, batch 1) as a
    synchronised call, and the framework's name and version."""
    import numpy as np

    from converters._tf import tensorflow
    from edgekit.models import build

    tf = tensorflow()
    with tf.device("/GPU:0"):
        net = build(model)
        x = tf.constant(np.random.default_rng(0).standard_normal((1, *net.input_shape[1:])).astype(np.float32))
        fn = tf.function(lambda t: net(t, training=False))

    def run() -> None:
        with tf.device("/GPU:0"):
            fn(x).numpy()  # .numpy() waits for the GPU

    return run, f"tensorflow {tf.__version__} (Keras, CUDA)"
