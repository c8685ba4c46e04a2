"""Device identity on recorded /proc/cpuinfo and device-tree texts (fast tier: no TensorFlow, no device).

The texts follow the published formats: Raspberry Pi OS 64-bit on a Pi 4 and a Pi 5 (the kernel prints
Features, CPU implementer/part, then Revision/Serial/Model), a Jetson (Linux for Tegra), the Coral Dev Board
(Mendel), an x86 host, and a Debian arm64 userland under qemu-user, which sees the x86 host's cpuinfo.
"""

from __future__ import annotations

import pytest

from bench.machine import cpuinfo, identity
from edgekit.errors import UsageError
from targets.identity import IdentityError, check, describe, measured_target
from targets.registry import get_target


def _arm(features: str, implementer: str, part: str, variant: str = "0x0", extra: str = "") -> str:
    core = (f"BogoMIPS\t: 108.00\nFeatures\t: {features}\nCPU implementer\t: {implementer}\n"
            f"CPU architecture: 8\nCPU variant\t: {variant}\nCPU part\t: {part}\nCPU revision\t: 3\n\n")
    return "".join(f"processor\t: {i}\n{core}" for i in range(4)) + extra


PI4_CPUINFO = _arm("fp asimd evtstrm crc32 cpuid", "0x41", "0xd08",
                   extra="Hardware\t: BCM2835\nRevision\t: c03114\nSerial\t\t: 100000002a5b6c7d\n"
                         "Model\t\t: Raspberry Pi 4 Model B Rev 1.4\n")
PI5_CPUINFO = _arm("fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop "
                   "asimddp", "0x41", "0xd0b", variant="0x4",
                   extra="Revision\t: d04170\nSerial\t\t: 5a1b2c3d4e5f6a7b\n"
                         "Model\t\t: Raspberry Pi 5 Model B Rev 1.0\n")
JETSON_XAVIER_CPUINFO = _arm("fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm dcpop",
                             "0x4e", "0x004")
JETSON_NANO_CPUINFO = _arm("fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid", "0x41", "0xd07")
CORAL_CPUINFO = _arm("fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid", "0x41", "0xd03")
X86_CPUINFO = "".join(
    f"processor\t: {i}\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\n"
    "model name\t: AMD EPYC 7B13 64-Core Processor\ncpu MHz\t\t: 2449.998\n"
    "flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse "
    "sse2 ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid "
    "extd_apicid tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt aes "
    "xsave avx f16c rdrand hypervisor lahf_lm cmp_legacy cr8_legacy abm sse4a misalignsse 3dnowprefetch "
    "osvw topoext invpcid_single ssbd ibrs ibpb stibp vmmcall fsgsbase bmi1 avx2 smep bmi2 erms invpcid "
    "rdseed adx smap clflushopt clwb sha_ni xsaveopt xsavec xgetbv1 xsaves clzero xsaveerptr rdpru\n\n"
    for i in range(2))

# (cpuinfo, device-tree model, platform.machine())
DEVICES = {
    "pi4": (PI4_CPUINFO, "Raspberry Pi 4 Model B Rev 1.4", "aarch64"),
    "pi5": (PI5_CPUINFO, "Raspberry Pi 5 Model B Rev 1.0", "aarch64"),
    "jetson-xavier": (JETSON_XAVIER_CPUINFO, "NVIDIA Jetson Xavier NX Developer Kit", "aarch64"),
    "jetson-nano": (JETSON_NANO_CPUINFO, "NVIDIA Jetson Nano Developer Kit", "aarch64"),
    "coral": (CORAL_CPUINFO, "Freescale i.MX8MQ Phanbell", "aarch64"),
    "x86": (X86_CPUINFO, "", "x86_64"),
    "qemu": (X86_CPUINFO, "", "aarch64"),  # an arm64 userland under qemu-user: the host's cpuinfo
}


def _facts(name: str, tmp_path, binfmt: dict | None = None) -> dict:
    text, model, machine = DEVICES[name]
    where = tmp_path / "binfmt"
    where.mkdir(exist_ok=True)
    for entry, body in (binfmt or {}).items():
        (where / entry).write_text(body)
    return {"identity": identity(cpuinfo(text), model=model, machine=machine, binfmt_dir=str(where))}


def test_a_pi4_is_read_as_a_cortex_a72_raspberry_pi_4(tmp_path):
    who = _facts("pi4", tmp_path)["identity"]
    assert (who["board"], who["implementer"], who["part"], who["core"]) == (
        "Raspberry Pi 4 Model B Rev 1.4", "0x41", "0xd08", "Cortex-A72")
    assert who["emulated"] is False and who["isa"] == ["asimd"]
    check(get_target("rpi4"), _facts("pi4", tmp_path), "pi@pi4")  # accepted: no exception
    assert measured_target(get_target("auto"), _facts("pi4", tmp_path), "pi4").key == "rpi4"


def test_a_pi5_is_a_cortex_a76_with_dot_product_and_not_a_pi4(tmp_path):
    facts = _facts("pi5", tmp_path)
    assert facts["identity"]["core"] == "Cortex-A76" and "asimddp" in facts["identity"]["isa"]
    check(get_target("rpi5"), facts, "pi5")
    assert measured_target(get_target("auto"), facts, "pi5").key == "rpi5"
    with pytest.raises(IdentityError, match=r"^pi5 is a Raspberry Pi 5 Model B Rev 1.0 \(Cortex-A76\), not a "
                                            r"Raspberry Pi 4 Model B; use --target auto to measure it as itself$"):
        check(get_target("rpi4"), facts, "pi5")
    with pytest.raises(IdentityError, match="not a Raspberry Pi 5"):
        check(get_target("rpi5"), _facts("pi4", tmp_path), "pi4")


@pytest.mark.parametrize(("device", "said"), [
    ("jetson-xavier", "is a NVIDIA Jetson Xavier NX Developer Kit (NVIDIA Carmel)"),
    ("jetson-nano", "is a NVIDIA Jetson Nano Developer Kit (Cortex-A57)"),
    ("coral", "is a Freescale i.MX8MQ Phanbell (Cortex-A53)"),
    ("x86", "is a generic x86_64 (AMD EPYC 7B13 64-Core Processor)"),
    ("qemu", "is a generic aarch64 (emulated under qemu)"),
])
def test_other_machines_are_refused_as_a_pi4_with_one_line_naming_both(device, said, tmp_path):
    with pytest.raises(IdentityError) as info:
        check(get_target("rpi4"), _facts(device, tmp_path), "root@host")
    text = str(info.value)
    assert isinstance(info.value, UsageError) and "\n" not in text
    assert text == f"root@host {said}, not a Raspberry Pi 4 Model B; use --target auto to measure it as itself"


def test_auto_classifies_each_machine(tmp_path):
    auto = get_target("auto")
    got = {d: measured_target(auto, _facts(d, tmp_path), d).key for d in DEVICES}
    assert got == {"pi4": "rpi4", "pi5": "rpi5", "jetson-xavier": "aarch64", "jetson-nano": "aarch64",
                   "coral": "aarch64", "x86": "x86_64", "qemu": "aarch64"}
    check(get_target("coral-devboard"), _facts("coral", tmp_path), "coral")  # the Dev Board is itself


def test_qemu_user_is_seen_from_cpuinfo_or_from_binfmt(tmp_path):
    who = _facts("qemu", tmp_path)["identity"]
    assert who["emulated"] is True and who["emulator"] == "qemu-user"
    assert who["isa"] == [] and who["emulation_signs"] == ["aarch64 userland, x86 /proc/cpuinfo"]
    # a newer qemu that fakes an Arm cpuinfo is still caught by its binfmt_misc handler
    handler = {"qemu-aarch64": "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POF\n"}
    faked = _facts("pi4", tmp_path, binfmt=handler)["identity"]
    assert faked["emulated"] is True and faked["emulation_signs"] == ["binfmt_misc qemu-aarch64"]
    with pytest.raises(IdentityError, match="emulated under qemu"):
        check(get_target("rpi4"), {"identity": faked}, "pi")
    # an x86 host that merely has the handler registered runs x86 code natively
    assert _facts("x86", tmp_path, binfmt=handler)["identity"]["emulated"] is False
    assert _facts("pi4", tmp_path, binfmt={"qemu-aarch64": "disabled\n"})["identity"]["emulated"] is False


def test_targets_without_a_board_accept_any_real_device_but_no_emulator(tmp_path):
    coral_usb = get_target("coral-usb")  # the USB Accelerator plugs into any Linux host
    check(coral_usb, _facts("x86", tmp_path), "laptop")
    with pytest.raises(IdentityError, match="emulated"):
        check(coral_usb, _facts("qemu", tmp_path), "emu")


def test_a_board_without_device_tree_is_judged_by_its_cpu_part(tmp_path):
    facts = {"identity": identity(cpuinfo(PI4_CPUINFO.split("Hardware")[0]), model="", machine="aarch64",
                                  binfmt_dir=str(tmp_path))}
    assert facts["identity"]["board"] is None
    check(get_target("rpi4"), facts, "container-on-a-pi")
    assert describe(facts["identity"]) == "a generic aarch64 (Cortex-A72)"


def test_this_machine_reads_its_own_identity():
    who = identity()
    assert who["machine"] and isinstance(who["emulated"], bool) and isinstance(who["isa"], list)
