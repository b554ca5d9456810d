"""Where a step spends its time, op by op, from TensorFlow's profiler.

    python -m benchmarks.op_profile --impl bertzoo --config small --precision mixed_bfloat16
    python -m benchmarks.op_profile --impl keras_hub --task train

Runs a few steps under ``tf.profiler``, reads the trace (``*.xplane.pb``) and prints the op types
that took longest, then the matmul ops' share of the step and their own rate against the matmul
ceiling measured there and then: what keeps a step below the ceiling is the other ops' time, or the
matmuls' own shortfall on small shapes.

Durations are summed over TensorFlow's threads: ops running side by side both count, each slowed by
the other (on 2 cores a train step's two backward matmuls of a layer run together and each reads
about twice its own time). ``--serial`` runs one op at a time (``inter_op_parallelism_threads=1``),
so each op's time is its own and the sum is close to the wall clock.
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import tempfile

import tensorflow as tf
from tensorflow.tsl.profiler.protobuf import xplane_pb2

from benchmarks import flops, models
from bertzoo.families.bert.bert_config import BertConfig


def op_times(step: models.Step, steps: int = 3) -> dict[str, tuple[float, int]]:
    """Milliseconds and number of calls per op type, per step, over ``steps`` profiled steps."""
    step()
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for _ in range(steps):
            step()
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        space.ParseFromString(next(pathlib.Path(logdir).rglob("*.xplane.pb")).read_bytes())
    milliseconds: collections.Counter = collections.Counter()
    calls: collections.Counter = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name  # "scope/op_name:OpType"
                if ":" in name and "::" not in name:
                    op_type = name.rsplit(":", 1)[1]
                    milliseconds[op_type] += event.duration_ps / 1e9 / steps
                    calls[op_type] += 1
    return {op: (ms, calls[op] // steps) for op, ms in milliseconds.most_common()}


def matmul_milliseconds(times: dict[str, tuple[float, int]]) -> float:
    """Milliseconds per step in matmul ops (oneDNN's fused, plain and batched matmuls, or TensorFlow's)."""
    return sum(ms for op_type, (ms, _) in times.items() if "MatMul" in op_type)


def step_flops(config: BertConfig, task: str, batch: int, seq_length: int) -> int:
    """The encoder's matmul FLOPs in one step (a train step: forward and backward)."""
    forward = flops.encoder_flops_per_sequence(config.hidden_size, config.num_hidden_layers,
                                               config.intermediate_size, seq_length)
    return batch * (flops.train_flops_per_sequence(forward) if task == "train" else forward)


def main(argv: list[str] | None = None) -> None:
    """Prints the top op types of one implementation's inference or train step."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.op_profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--impl", choices=("bertzoo", "keras_hub"), default="bertzoo")
    parser.add_argument("--task", choices=("inference", "train"), default="inference")
    parser.add_argument("--config", default="small")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--mode", choices=("graph", "xla"), default="graph")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--serial", action="store_true", help="one op at a time: per-op times are the op's own")
    args = parser.parse_args(argv)
    if args.serial:
        tf.config.threading.set_inter_op_parallelism_threads(1)
    config = BertConfig.preset(args.config)
    batch = models.random_batch(config, args.batch, args.seq_length)
    if args.task == "train":
        step = models.build_train_step(args.impl, config, batch, args.mode, args.precision)
    else:
        encoder = models.build_encoder(args.impl, config, args.precision)
        step = models.inference_step(args.impl, encoder, batch, args.mode, args.precision)
    times = op_times(step)
    print(f"{args.impl} {args.task} {args.config} batch {args.batch} {args.precision} {args.mode}: "
          f"{sum(ms for ms, _ in times.values()):.1f} op-ms per step")
    for op_type, (ms, count) in list(times.items())[:args.top]:
        print(f"  {op_type:<32} {ms:9.2f} ms  {count:5d} calls")
    # Why a step is below the ceiling: the matmuls' own rate, and the share of the rest.
    total, matmuls = sum(ms for ms, _ in times.values()), matmul_milliseconds(times)
    if matmuls:
        work = step_flops(config, args.task, args.batch, args.seq_length)
        ceiling = max(flops.measure_matmul_ceiling(args.precision, seconds=0.5).values())
        rate = work / (matmuls / 1e3) / 1e9
        print(f"matmul ops {matmuls:.1f} ms ({100 * matmuls / total:.0f}% of op time) at {rate:.0f} GFLOP/s, "
              f"{100 * rate / ceiling:.0f}% of this run's ceiling ({ceiling:.0f} GFLOP/s); the other ops "
              f"{total - matmuls:.1f} ms")


if __name__ == "__main__":
    main()
