"""One definition per target (cpu, gpu, rpi4, rpi5, coral-usb, coral-devboard, cortex-m4, cortex-m7, and auto:
the device given with --host, as what it is), plus the user's TOML targets (``targets.registry``).

Each holds the hardware figures as data, how the target is served (``Target.method``: here, on its GPU, over
ssh, estimated, or in TFLite Micro), and its estimator.
No TensorFlow here.
"""
