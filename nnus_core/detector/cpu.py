"""What the CPU this process runs on can do: its vector ISA, cores, and a signature to cache choices by."""

from __future__ import annotations

import hashlib
import os
import platform
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path

# The flags that change which precision and kernels a CNN runtime can use (Linux cpuinfo names).
ISA_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx_vnni",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)
BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # native bf16 arithmetic; without them bf16 is emulated (slow)
INT8_DOT_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")  # one-instruction int8 dot products
# Runtimes whose version changes the speed of a model: part of the signature.
RUNTIME_PACKAGES = ("openvino", "onnxruntime", "nncf")

# oneDNN's dispatcher cap, which OpenVINO's CPU plugin and PyTorch obey: with
# ONEDNN_MAX_CPU_ISA=AVX2 a CPU with AVX-512 runs the kernels an AVX2-only CPU would (the benches'
# `--max-isa avx2`). Each cap and the flags it leaves usable; ONNX Runtime ignores the cap.
ISA_CAPS: dict[str, tuple[str, ...]] = {
    "AVX2": ("avx2", "fma"),
    "AVX2_VNNI": ("avx2", "fma", "avx_vnni"),
    "AVX512_CORE": ("avx2", "fma", "avx512f", "avx512bw", "avx512vl"),
    "AVX512_CORE_VNNI": ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni"),
    "AVX512_CORE_BF16": ("avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16"),
}


def cap_environment(cap: str) -> dict[str, str]:
    """Environment variables that cap OpenVINO's and PyTorch's kernels at `cap` (one of ISA_CAPS,
    any case). FFmpeg, OpenCV and numpy keep the CPU's full ISA: their share of a frame is small."""
    name = cap.strip().upper()
    if name not in ISA_CAPS:
        raise ValueError(f"unknown ISA cap {cap!r}: one of {', '.join(ISA_CAPS)}")
    aten = "avx2" if name.startswith("AVX2") else "avx512"
    return {"ONEDNN_MAX_CPU_ISA": name, "DNNL_MAX_CPU_ISA": name, "ATEN_CPU_CAPABILITY": aten}


def isa_cap() -> str:
    """The oneDNN ISA cap set in the environment (upper case, e.g. `AVX2`), or "" for none."""
    from nnus_core.settings import get_settings

    return get_settings().isa_cap


def cpu_threads() -> int:
    """Threads for inference: every core the process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class CpuInfo:
    """The CPU as the runtime choice sees it: model name, the ISA flags that matter, usable cores."""

    model: str
    flags: tuple[str, ...]  # the subset of ISA_FLAGS present, in ISA_FLAGS order
    cores: int
    runtimes: tuple[tuple[str, str], ...] = ()  # (package, version) of the installed runtimes
    cap: str = ""  # the oneDNN ISA cap in force (`isa_cap`): `flags` are then what it leaves

    @property
    def onnxruntime_comparable(self) -> bool:
        """False under an ISA cap: ONNX Runtime ignores it and would still use the full ISA."""
        return not self.cap

    @property
    def has_bf16(self) -> bool:
        return any(f in self.flags for f in BF16_FLAGS)

    @property
    def has_int8_dot(self) -> bool:
        return any(f in self.flags for f in INT8_DOT_FLAGS)

    @property
    def has_avx512(self) -> bool:
        return "avx512f" in self.flags

    @property
    def has_amx(self) -> bool:
        return "amx_tile" in self.flags

    def signature(self) -> str:
        """A short hash of what makes a measured choice valid: CPU model, ISA, cores, runtimes."""
        text = "|".join(
            [
                self.model,
                ",".join(self.flags),
                str(self.cores),
                ",".join(f"{p}={v}" for p, v in self.runtimes),
                *([f"cap={self.cap}"] if self.cap else []),
            ]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def describe(self) -> str:
        """One line: model, cores and ISA, e.g. `AMD EPYC, 2 cores, ISA avx2 fma (no AVX-512, no bf16)`."""
        missing = []
        if not self.has_avx512:
            missing.append("no AVX-512")
        if not self.has_bf16:
            missing.append("no bf16")
        if not self.has_int8_dot:
            missing.append("no VNNI")
        if not self.has_amx:
            missing.append("no AMX")
        if self.cap:
            missing.append(f"capped at {self.cap} by ONEDNN_MAX_CPU_ISA")
        tail = f" ({', '.join(missing)})" if missing else ""
        return f"{self.model}, {self.cores} cores, ISA {' '.join(self.flags) or 'none of ' + '/'.join(ISA_FLAGS[:2])}{tail}"

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "flags": list(self.flags),
            "cores": self.cores,
            "runtimes": dict(self.runtimes),
            "cap": self.cap,
            "signature": self.signature(),
        }


def parse_cpuinfo(text: str) -> tuple[str, tuple[str, ...]]:
    """(model name, ISA flags of ISA_FLAGS present) from the text of /proc/cpuinfo."""
    model, flags = "", set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    return model, tuple(f for f in ISA_FLAGS if f in flags)


def _runtime_versions() -> tuple[tuple[str, str], ...]:
    out = []
    for pkg in RUNTIME_PACKAGES:
        try:
            out.append((pkg, metadata.version(pkg)))
        except metadata.PackageNotFoundError:
            continue
    return tuple(out)


@lru_cache(maxsize=1)
def read_cpu(cpuinfo: str = "/proc/cpuinfo") -> CpuInfo:
    """The CPU this process runs on (Linux: /proc/cpuinfo; elsewhere the platform's name, no flags)."""
    try:
        model, flags = parse_cpuinfo(Path(cpuinfo).read_text())
    except OSError:
        model, flags = "", ()
    cap = isa_cap()
    if cap in ISA_CAPS:
        flags = tuple(f for f in flags if f in ISA_CAPS[cap])
    elif cap:  # AMX caps and unknown names: everything the CPU has
        cap = ""
    return CpuInfo(
        model or platform.processor() or platform.machine(), flags, cpu_threads(), _runtime_versions(), cap
    )
