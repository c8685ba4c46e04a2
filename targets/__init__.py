"""One definition per target (cpu, gpu, rpi4, rpi5, coral-usb, coral-devboard).

Each holds the hardware figures as data, how the target is reached (local or ssh), and its estimator.
No TensorFlow here.
"""
