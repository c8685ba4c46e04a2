"""The built-in targets: one frozen record per target (``targets.records``), keyed by a ``str`` Enum.

Built-in figures come from published benchmark runs (the Raspberry Pi boards' HPL and memory-bandwidth runs in
geerlingguy/top500-benchmark and geerlingguy/sbc-reviews, OpenBLAS issues #4149 and #4581, sci-pi.org.uk's STREAM
page) and the vendors' datasheets (Raspberry Pi, Arm, coral.ai); each record cites its sources and
docs/estimates.md quotes them. ``cpu`` and ``gpu`` describe this machine, so
their figures are read at run time (``targets.hostcpu``). User targets are TOML files (``targets.userfile``)
in ``$EDGEKIT_HOME/targets/`` (default ``~/.edgekit/targets/``) and hold the same fields.

A data table: the figures and the sources they come from, one block per device family (boards, Edge TPUs,
microcontrollers, phones), and the registry that keys them.
"""

from __future__ import annotations

from targets.records import (
    AcceleratorFigures,
    CoreCluster,
    CpuFigures,
    Expected,
    McuFigures,
    Phone,
    Reach,
    Target,
    TargetName,
    phone_cpu,
)

_PI_FACTS = ("HPL and memory-bandwidth runs published in https://github.com/geerlingguy/top500-benchmark and "
             "https://github.com/geerlingguy/sbc-reviews, and OpenBLAS issues #4149 and #4581 "
             "(https://github.com/OpenMathLib/OpenBLAS/issues/4149, /4581)")
_RPI4_SOURCES = (_PI_FACTS + ": 4x Cortex-A72 1.5/1.8 GHz, 8 FP32 flop/cycle/core (4 FP64 in HPL), "
                 "LPDDR4-3200, ~5.5 GB/s STREAM copy (sci-pi.org.uk)",
                 "Arm Cortex-A72: ARMv8.0, no dot product; int8 GEMM widens through SMLAL, about 2x the FP32 "
                 "MAC rate", "BCM2711: 1 MB L2 shared by the 4 cores")
_RPI5_SOURCES = (_PI_FACTS + ": 4x Cortex-A76 2.4 GHz, 16 FP32 flop/cycle/core, 512 KB L2/core, 2 MB L3, "
                 "LPDDR4X-4267, ~4.9-5.7 GB/s tinymembench copy",
                 "Arm Cortex-A76 software optimization guide: two 128-bit SDOT per cycle = 32 int8 MACs/cycle")
_CORAL_SOURCES = ("coral.ai Edge TPU datasheet: 4 TOPS int8 (0.5 W per TOPS)",
                  "coral.ai docs (compiler): about 8 MiB on-chip memory caches parameters; the rest stream from "
                  "the host every inference",
                  "USB 3.0 and PCIe 2.0 x1 both signal at 5 Gb/s with 8b/10b coding: 0.5 GB/s payload")
_A53_SOURCES = ("NXP i.MX 8M: 4x Cortex-A53 1.5 GHz, 64-bit NEON datapath (4 FP32 flop/cycle/core), 1 MB L2, "
                "32-bit LPDDR4",)

RPI4_CPU = CpuFigures(4, 1.8, 8.0, 16.0, 5.5, "4x Cortex-A72 @ 1.8 GHz, NEON, LPDDR4-3200", 1 << 20, "cortex-a72")
RPI5_CPU = CpuFigures(4, 2.4, 16.0, 64.0, 5.3, "4x Cortex-A76 @ 2.4 GHz, NEON + dotprod, LPDDR4X-4267", 2 << 20,
                      "cortex-a76")
A53_CPU = CpuFigures(4, 1.5, 4.0, 8.0, 3.2, "4x Cortex-A53 @ 1.5 GHz, NEON, LPDDR4", 1 << 20, "cortex-a53")
EDGE_TPU_USB = AcceleratorFigures(4.0, 8 << 20, 0.5, "USB 3.0")
# The Raspberry Pi 4 adds a per-inference host cost over a desktop host (its USB 3 controller, a VL805, sits
# behind a PCIe 2.0 x1 lane): fitted on the three pycoral RPi 4 rows (MobileNet v1, v2, Inception v1), see
# targets.fit; the value is targets.fit_params.CURRENT's rpi4_usb_host_overhead_ms.
EDGE_TPU_USB_ON_RPI4 = AcceleratorFigures(4.0, 8 << 20, 0.5, "USB 3.0 (Raspberry Pi 4 host)", host_overhead_ms=1.99)
EDGE_TPU_PCIE = AcceleratorFigures(4.0, 8 << 20, 0.5, "PCIe 2.0 x1")
# Board names as the device tree gives them (raspberrypi/linux arch/arm/boot/dts/broadcom/bcm2711-rpi-*.dts,
# bcm2712-rpi-*.dts "model" properties; Coral Dev Board: "Freescale i.MX8MQ Phanbell"); CPU parts from the Arm
# TRMs (MIDR_EL1 PartNum): Cortex-A72 0xd08, Cortex-A76 0xd0b, Cortex-A53 0xd03.
RPI4_ID = Expected(("Raspberry Pi 4", "Raspberry Pi 400", "Raspberry Pi Compute Module 4"), ("0xd08",),
                   "Cortex-A72")
RPI5_ID = Expected(("Raspberry Pi 5", "Raspberry Pi 500", "Raspberry Pi Compute Module 5"), ("0xd0b",),
                   "Cortex-A76")
IMX8MQ_ID = Expected(("i.MX8MQ", "i.MX 8MQ", "Phanbell"), ("0xd03",), "Cortex-A53")

# STM32L4R5ZI (the MLPerf Tiny reference board, NUCLEO-L4R5ZI): SRAM1 192 KB + SRAM2 64 KB + SRAM3 384 KB lie
# back to back from 0x20000000, so all 640 KB can hold one arena.
CORTEX_M4_MCU = McuFigures("cortex-m4", "STM32L4R5ZI class (NUCLEO-L4R5ZI)", 120.0, 640 << 10, 640 << 10, 2 << 20,
                           "single precision", True)
# STM32H743: 1 MB of SRAM in several blocks (128 KB DTCM, 512 KB AXI SRAM, 288 KB D2 SRAM1-3, 64 KB SRAM4...);
# the largest contiguous one, the AXI SRAM, bounds the arena.
CORTEX_M7_MCU = McuFigures("cortex-m7", "STM32H743 class (NUCLEO-H743ZI)", 480.0, 1 << 20, 512 << 10, 2 << 20,
                           "double precision", True)
_M4_SOURCES = ("ST DS12023 (STM32L4R5xx datasheet): Cortex-M4 with FPU up to 120 MHz, 2 MB flash, 640 KB SRAM",
               "ST RM0432 memory map: SRAM1 (192 KB), SRAM2 (64 KB) and SRAM3 (384 KB) contiguous from 0x20000000",
               "MLPerf Tiny v0.5 closed reference system: NUCLEO-L4R5ZI, TFLM v2.3.1 with CMSIS-NN "
               "(mlcommons/tiny_results_v0.5 closed/reference)")
_M7_SOURCES = ("ST DS12110 (STM32H742xI/G STM32H743xI/G datasheet): Cortex-M7 with double-precision FPU up to "
               "480 MHz, 2 MB flash, 1 MB RAM",
               "ST RM0433 memory map: 512 KB AXI SRAM is the largest contiguous block (DTCM 128 KB, SRAM1-3 "
               "288 KB, SRAM4 64 KB are separate)",
               "CMSIS-NN (Lai et al., 2018, arXiv:1801.06601): int8 kernels for Cortex-M4/M7 with the DSP extension")

# Phones. Clock rates: Google's Pixel hardware tech specs (support.google.com/pixelphone/answer/7158570); cores and
# memory: Qualcomm's Snapdragon product briefs (qualcomm.com). Per-cycle rates: Arm's software optimization guides
# for the Cortex-A53/A55/A73/A75/A76 (ASIMD pipes x width; dot product on ARMv8.2 cores); Kryo (Snapdragon 821,
# Qualcomm's own design) is assumed to match the Cortex-A73. memory_gbps is half the LPDDR peak (assumed: no
# public STREAM figure for these phones). docs/android.md and docs/estimates.md explain the figures.
def _c(core: str, count: int, ghz: float) -> CoreCluster:
    fp32, int8 = {"Kryo": (8.0, 16.0), "Cortex-A53": (4.0, 8.0), "Cortex-A55": (8.0, 32.0),
                  "Cortex-A73": (8.0, 16.0), "Cortex-A75": (8.0, 32.0), "Cortex-A76": (16.0, 64.0)}[core]
    return CoreCluster(core, count, ghz, fp32, int8)


_PIXEL_SPECS = "Google Pixel tech specs, https://support.google.com/pixelphone/answer/7158570"
_ARM_GUIDES = ("Arm Cortex-A53/A55/A73/A75/A76 software optimization guides (developer.arm.com): ASIMD pipes and "
               "widths give the FP32 and int8 (SDOT on ARMv8.2 cores) per-cycle rates")
_TF_ROWS = ("TensorFlow Lite performance benchmarks, https://github.com/tensorflow/tensorflow/blob/master/"
            "tensorflow/lite/g3doc/performance/benchmarks.md and guide/hosted_models.md (Android 10)")
_AOSP_PLATFORM = ("ro.board.platform: TARGET_BOARD_PLATFORM in AOSP's device/google/{marlin,wahoo,crosshatch,bonito,"
                  "coral} BoardConfig files (https://android.googlesource.com/device/google/); ro.soc.model "
                  "(Android 12+): Qualcomm's part number")
_XNN_ROWS = "google/XNNPACK README.md, mobile phones tables (2020-03-27), https://github.com/google/XNNPACK"
PIXEL_CPU = phone_cpu((_c("Kryo", 2, 2.15), _c("Kryo", 2, 1.6)), 14.9, 1 << 20)
PIXEL2_CPU = phone_cpu((_c("Cortex-A73", 4, 2.35), _c("Cortex-A53", 4, 1.9)), 14.9, 2 << 20)
PIXEL3_CPU = phone_cpu((_c("Cortex-A75", 4, 2.5), _c("Cortex-A55", 4, 1.6)), 14.9, 2 << 20)
PIXEL3A_CPU = phone_cpu((_c("Cortex-A75", 2, 2.0), _c("Cortex-A55", 6, 1.7)), 7.5, 1 << 20)
PIXEL4_CPU = phone_cpu((_c("Cortex-A76", 1, 2.84), _c("Cortex-A76", 3, 2.42), _c("Cortex-A55", 4, 1.78)), 17.0,
                       2 << 20)
PHONES = (
    Target(TargetName.PIXEL, "Google Pixel (Snapdragon 821)", Reach.ADB, PIXEL_CPU,
           sources=(_PIXEL_SPECS + ": 2x 2.15 GHz + 2x 1.6 GHz Kryo", "Snapdragon 821: LPDDR4-1866, 2x 32-bit "
                    "(29.8 GB/s peak), 1 MB L2 (big cores)", _ARM_GUIDES, _XNN_ROWS, _AOSP_PLATFORM),
           phone=Phone("Snapdragon 821", "Adreno 530", 29.8, ("Pixel", "Pixel XL"), ("msm8996", "MSM8996"))),
    Target(TargetName.PIXEL2, "Google Pixel 2 (Snapdragon 835)", Reach.ADB, PIXEL2_CPU,
           sources=(_PIXEL_SPECS + ": 4x 2.35 GHz + 4x 1.9 GHz", "Snapdragon 835: Kryo 280 (Cortex-A73 and "
                    "Cortex-A53 derived), LPDDR4X-1866 4x 16-bit (29.8 GB/s peak), 2 MB L2 (big cores)",
                    _ARM_GUIDES, _XNN_ROWS, _AOSP_PLATFORM),
           phone=Phone("Snapdragon 835", "Adreno 540", 29.8, ("Pixel 2", "Pixel 2 XL"), ("msm8998", "MSM8998"))),
    Target(TargetName.PIXEL3, "Google Pixel 3 (Snapdragon 845)", Reach.ADB, PIXEL3_CPU,
           sources=(_PIXEL_SPECS + ": 4x 2.5 GHz + 4x 1.6 GHz", "Snapdragon 845: Kryo 385 (Cortex-A75 and "
                    "Cortex-A55 derived), LPDDR4X-1866 4x 16-bit (29.8 GB/s peak), 2 MB L3", _ARM_GUIDES, _TF_ROWS,
                    _AOSP_PLATFORM),
           phone=Phone("Snapdragon 845", "Adreno 630", 29.8, ("Pixel 3", "Pixel 3 XL"), ("sdm845", "SDM845"))),
    Target(TargetName.PIXEL3A, "Google Pixel 3a (Snapdragon 670)", Reach.ADB, PIXEL3A_CPU,
           sources=(_PIXEL_SPECS + ": 2x 2.0 GHz + 6x 1.7 GHz", "Snapdragon 670: Kryo 360 (Cortex-A75 and "
                    "Cortex-A55 derived), LPDDR4X-1866 2x 16-bit (14.9 GB/s peak), 1 MB L3", _ARM_GUIDES, _XNN_ROWS,
                    _AOSP_PLATFORM),
           phone=Phone("Snapdragon 670", "Adreno 615", 14.9, ("Pixel 3a", "Pixel 3a XL"), ("sdm670", "SDM670"))),
    Target(TargetName.PIXEL4, "Google Pixel 4 (Snapdragon 855)", Reach.ADB, PIXEL4_CPU,
           sources=(_PIXEL_SPECS + ": 1x 2.84 GHz + 3x 2.42 GHz + 4x 1.78 GHz", "Snapdragon 855: Kryo 485 "
                    "(Cortex-A76 and Cortex-A55 derived), LPDDR4X-2133 4x 16-bit (34.1 GB/s peak), 2 MB L3",
                    _ARM_GUIDES, _TF_ROWS, _AOSP_PLATFORM),
           phone=Phone("Snapdragon 855", "Adreno 640", 34.1, ("Pixel 4", "Pixel 4 XL"), ("msmnile", "SM8150"))),
)

REGISTRY: dict[TargetName, Target] = {
    t.name: t
    for t in (
        Target(TargetName.CPU, "this machine's CPU", Reach.LOCAL, None),
        Target(TargetName.GPU, "this machine's GPU (LiteRT GPU accelerator)", Reach.LOCAL, None),
        Target(TargetName.RPI4, "Raspberry Pi 4 Model B", Reach.SSH, RPI4_CPU, sources=_RPI4_SOURCES,
               expected=RPI4_ID),
        Target(TargetName.RPI5, "Raspberry Pi 5", Reach.SSH, RPI5_CPU, sources=_RPI5_SOURCES,
               expected=RPI5_ID),
        Target(TargetName.CORAL_USB, "Coral USB Accelerator (Edge TPU over USB 3) on a Raspberry Pi 4",
               Reach.SSH, RPI4_CPU, EDGE_TPU_USB_ON_RPI4, delegate="edgetpu", sources=_CORAL_SOURCES + _RPI4_SOURCES),
        Target(TargetName.CORAL_DEVBOARD, "Coral Dev Board (Edge TPU on PCIe, 4x Cortex-A53)", Reach.SSH,
               A53_CPU, EDGE_TPU_PCIE, delegate="edgetpu", sources=_CORAL_SOURCES + _A53_SOURCES,
               expected=IMX8MQ_ID),
        Target(TargetName.CORTEX_M4, "Arm Cortex-M4 microcontroller (STM32L4R5 class), TFLite Micro", Reach.MCU,
               None, sources=_M4_SOURCES, mcu=CORTEX_M4_MCU),
        Target(TargetName.CORTEX_M7, "Arm Cortex-M7 microcontroller (STM32H743 class), TFLite Micro", Reach.MCU,
               None, sources=_M7_SOURCES, mcu=CORTEX_M7_MCU),
        Target(TargetName.AUTO, "the device given with --host, measured as what it is", Reach.SSH, None),
        *PHONES,
        Target(TargetName.ANDROID, "the phone given with --serial, measured over adb as what it is", Reach.ADB,
               None),
    )
}

ALIASES = {"rpi": TargetName.RPI4, "coral": TargetName.CORAL_USB}
TARGET_NAMES: tuple[str, ...] = tuple(t.value for t in TargetName)

