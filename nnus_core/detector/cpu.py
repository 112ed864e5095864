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
        tail = f" ({', '.join(missing)})" if missing else ""
        return f"{self.model}, {self.cores} cores, ISA {' '.join(self.flags) or 'none of ' + '/'.join(ISA_FLAGS[:2])}{tail}"

    def to_dict(self) -> dict[str, object]:
        return {
            "model": self.model,
            "flags": list(self.flags),
            "cores": self.cores,
            "runtimes": dict(self.runtimes),
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
    return CpuInfo(
        model or platform.processor() or platform.machine(), flags, cpu_threads(), _runtime_versions()
    )
