"""FLOPs of a BERT encoder per sequence, the matmul ceiling measured on this machine, and the
clock-based peak (information only: a virtual machine may report another CPU than the one it runs on)."""

from __future__ import annotations

import dataclasses
import os
import platform
import time

# The precisions whose matmuls run in bfloat16: Keras's mixed policy and bfloat16 weights.
BFLOAT16_PRECISIONS = ("mixed_bfloat16", "bfloat16")

# FLOPs per cycle per core for one fused multiply-add pipeline layout (2 FLOPs per FMA lane).
# Zen 4 executes AVX-512 on two 256-bit FMA pipes ("double pumped"): 2 x 8 fp32 lanes x 2 = 32.
# VDPBF16PS does two bf16 products per fp32 lane, so bf16 doubles it (64). Intel server cores with
# two 512-bit FMA units reach 64 fp32 (128 bf16); AMX tiles are far beyond that (1024 bf16).
_FP32_PER_CYCLE = {"zen_avx512": 32, "intel_avx512": 64, "avx2_fma": 32, "sse": 8}
# Maximum boost clocks (GHz) of CPUs whose /proc/cpuinfo shows only the base (TSC) clock, as
# virtual machines do: (vendor, family, model) -> (name, GHz).
_MAX_BOOST_GHZ = {("AuthenticAMD", "25", "17"): ("Zen 4 EPYC 9004 (Genoa), max boost", 3.7)}


@dataclasses.dataclass(frozen=True)
class CpuPeak:
    """The theoretical peak of this machine: ``cores * ghz * flops_per_cycle``, per precision."""

    cpu: str
    cores: int
    ghz: float
    fp32_flops_per_cycle: int
    bf16_flops_per_cycle: int
    derivation: str

    def gflops(self, precision: str) -> float:
        """Peak GFLOP/s for ``float32`` or ``mixed_bfloat16`` / ``bfloat16`` (bf16 matmuls)."""
        per_cycle = self.bf16_flops_per_cycle if precision in BFLOAT16_PRECISIONS else self.fp32_flops_per_cycle
        return self.cores * self.ghz * per_cycle


def encoder_flops_per_sequence(hidden_size: int, num_layers: int, intermediate_size: int, seq_length: int) -> int:
    """Forward FLOPs (2 per multiply-add) of the encoder's matmuls for one sequence.

    Per layer: Q, K, V and output projections ``4 * 2*S*H^2``, feed-forward ``2 * 2*S*H*I``, attention
    scores and context ``2 * 2*S^2*H``; plus the pooler ``2*H^2``. Embedding lookups, LayerNorm,
    softmax and GELU are elementwise (under 1% at BERT-Base, seq 128) and not counted.
    """
    s, h, i = seq_length, hidden_size, intermediate_size
    per_layer = 8 * s * h * h + 4 * s * h * i + 4 * s * s * h
    return num_layers * per_layer + 2 * h * h


def train_flops_per_sequence(forward_flops: int) -> int:
    """Forward + backward: the backward pass costs two forwards (gradients of inputs and of weights)."""
    return 3 * forward_flops


def _cpuinfo() -> dict[str, str]:
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


def _max_clock(info: dict[str, str]) -> tuple[float, str]:
    """The highest clock a core may run at, and where the figure comes from."""
    try:
        with open("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq") as file:
            return int(file.read()) / 1e6, "cpufreq cpuinfo_max_freq"
    except (OSError, ValueError):
        pass
    known = _MAX_BOOST_GHZ.get((info.get("vendor_id"), info.get("cpu family"), info.get("model")))
    if known:
        return known[1], f"{known[0]}; /proc/cpuinfo says {info.get('cpu MHz')} MHz, the base clock"
    return float(info.get("cpu MHz", "0") or 0) / 1000 or 1.0, "/proc/cpuinfo cpu MHz (may be the base clock)"


def cpu_peak(ghz: float | None = None) -> CpuPeak:
    """This CPU's peak: usable cores x the maximum clock (``ghz`` if given) x FLOPs per cycle from the
    vendor and the SIMD flags in ``/proc/cpuinfo``."""
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    clock, clock_source = (ghz, "given") if ghz else _max_clock(info)
    amd = info.get("vendor_id") == "AuthenticAMD"
    if "avx512f" in flags:
        layout = "zen_avx512" if amd else "intel_avx512"
    elif {"avx2", "fma"} <= flags:
        layout = "avx2_fma"
    else:
        layout = "sse"
    fp32 = _FP32_PER_CYCLE[layout]
    if "amx_bf16" in flags:
        bf16, bf16_how = 1024, "AMX bf16 tiles"
    elif "avx512_bf16" in flags:
        bf16, bf16_how = 2 * fp32, "avx512_bf16 (VDPBF16PS: 2 bf16 products per fp32 lane)"
    else:
        bf16, bf16_how = fp32, "no bf16 instructions (bf16 runs at fp32 speed at best)"
    derivation = (f"{cores} cores x {clock:.2f} GHz ({clock_source}) x "
                  f"{fp32} fp32 FLOP/cycle ({layout}: FMA pipes x SIMD lanes x 2) = "
                  f"{cores * clock * fp32:.0f} GFLOP/s fp32; bf16 x{bf16 // fp32} with {bf16_how} = "
                  f"{cores * clock * bf16:.0f} GFLOP/s")
    return CpuPeak(cpu=info.get("model name", platform.processor()), cores=cores, ghz=clock,
                   fp32_flops_per_cycle=fp32, bf16_flops_per_cycle=bf16, derivation=derivation)


# The matmuls whose best rate is the run's ceiling: a large square product, and BERT-Base's
# feed-forward at batch 8 x 128 tokens ([1024, 768] x [768, 3072]) and its output projection
# ([1024, 3072] x [3072, 768]).
CEILING_SHAPES = ((2048, 2048, 2048), (1024, 768, 3072), (1024, 3072, 768))


def measure_matmul_gflops(precision: str, shape: tuple[int, int, int] = (2048, 2048, 2048),
                          seconds: float = 1.0, jit_compile: bool = False) -> float:
    """The GFLOP/s TensorFlow's own matmul reaches here on ``[m, k] x [k, n]`` (``shape = (m, k, n)``),
    in float32 or bfloat16 (``mixed_bfloat16`` or ``bfloat16``), inputs already on the device, one element read back;
    by oneDNN in a graph, or compiled by XLA (``jit_compile``)."""
    import tensorflow as tf

    m, k, n = shape
    dtype = tf.bfloat16 if precision in BFLOAT16_PRECISIONS else tf.float32
    a = tf.cast(tf.random.normal((m, k)), dtype)
    b = tf.cast(tf.random.normal((k, n)), dtype)
    # One element back: no copy timed.
    matmul = tf.function(lambda: tf.matmul(a, b)[0, 0], jit_compile=jit_compile)
    for _ in range(3):
        matmul().numpy()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        matmul().numpy()
        calls += 1
    return calls * 2 * m * k * n / (time.perf_counter() - start) / 1e9


def measure_matmul_ceiling(precision: str, seconds: float = 1.0) -> dict[str, float]:
    """GFLOP/s of each ``CEILING_SHAPES`` matmul in ``precision``, by oneDNN in a graph (keyed
    ``"MxKxN"``) and compiled by XLA (``"MxKxN xla"``): the practical ceiling an encoder's throughput
    is compared with is their maximum. Which path is faster depends on the CPU and the shape (on an
    AVX2 host without AVX-512, XLA's was the faster on some shapes)."""
    return {f"{'x'.join(map(str, shape))}{' xla' if jit_compile else ''}":
            round(measure_matmul_gflops(precision, shape, seconds, jit_compile), 1)
            for jit_compile in (False, True) for shape in CEILING_SHAPES}
