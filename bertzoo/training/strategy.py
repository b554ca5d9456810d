"""Picking the `tf.distribute.Strategy` for `--strategy {auto,cpu,mirrored,multiworker,tpu}`, in one place.

Every recipe calls ``resolve_strategy(args.strategy, args.tpu)`` before it builds anything, then
``describe_batch(strategy, global_batch_size)`` to check and print how the batch splits over replicas.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from typing import Callable

import tensorflow as tf

from bertzoo.native_log_filter import unfiltered_stderr

logger = logging.getLogger(__name__)

STRATEGY_NAMES = ("auto", "cpu", "mirrored", "multiworker", "tpu")
# Seconds to wait for every worker of TF_CONFIG to join (BERTZOO_WORKER_TIMEOUT overrides).
DEFAULT_WORKER_TIMEOUT = 600
# Set by Colab's older TPU runtimes (a TPU node reached over gRPC) to the TPU's host:port.
COLAB_TPU_ADDR = "COLAB_TPU_ADDR"

# One strategy object per kind and process (see resolve_strategy).
_CREATED: dict[tuple, tf.distribute.Strategy] = {}


class TPUNotFoundError(RuntimeError):
    """``--strategy tpu`` was asked for, but no TPU answered."""


def resolve_strategy(
    name: str = "auto",
    tpu: str | None = None,
    *,
    tpu_resolver_factory: Callable[..., tf.distribute.cluster_resolver.ClusterResolver] | None = None,
    cluster_resolver: tf.distribute.cluster_resolver.ClusterResolver | None = None,
) -> tf.distribute.Strategy:
    """The distribution strategy for a ``--strategy`` name, printing what it found.

    - ``tpu``: ``TPUClusterResolver(tpu)``, connect, initialise the TPU system, ``TPUStrategy``; no
      TPU -> ``TPUNotFoundError`` naming every place it looked. Without ``tpu``, it looks where
      ``tpu_addresses`` says: Colab's older TPU runtimes (a TPU reached over gRPC at
      ``COLAB_TPU_ADDR``), then ``"local"`` (TPU VMs, Colab's current TPU runtimes).
    - ``mirrored``: ``MirroredStrategy`` over the local GPUs or, without GPUs, over the logical CPU
      devices (two logical CPUs give two replicas).
    - ``multiworker``: ``MultiWorkerMirroredStrategy`` from ``TF_CONFIG`` (checked first, so a
      malformed one fails with the field named), or from ``cluster_resolver`` (e.g. TensorFlow's
      ``SlurmClusterResolver`` or ``SimpleClusterResolver``).
    - ``cpu``: ``OneDeviceStrategy("/cpu:0")``.
    - ``auto``: a TPU if one answers, else ``mirrored`` with more than one GPU, else the default
      single-device strategy.

    ``mirrored``, ``multiworker`` and TPU strategies are created once per process and returned
    again on later calls: every ``MirroredStrategy`` numbers its collective ops from the same start,
    so two of them in one process can pair up different all-reduces (measured here: "Shape mismatch
    in the collective instance 101"), and a TPU system or a cluster is set up once per process. A
    TPU found once is what a later call without ``tpu`` gets, wherever it was found (a notebook
    resolves Colab's TPU once; the recipes it calls then ask for ``"tpu"`` or ``"auto"``).

    Args:
        name: one of ``auto``, ``cpu``, ``mirrored``, ``multiworker``, ``tpu``.
        tpu: TPU name or address for ``TPUClusterResolver``; ``None``: see ``tpu_addresses``.
        tpu_resolver_factory: builds the cluster resolver from ``tpu=``; defaults to
            ``tf.distribute.cluster_resolver.TPUClusterResolver`` (tests inject a fake).
        cluster_resolver: for ``multiworker``, a cluster resolver to use instead of ``TF_CONFIG``.

    Example:
        >>> strategy = resolve_strategy("cpu")
        strategy: OneDeviceStrategy on /cpu:0
    """
    if name not in STRATEGY_NAMES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGY_NAMES)}")
    factory = tpu_resolver_factory or tf.distribute.cluster_resolver.TPUClusterResolver
    addresses = tpu_addresses(tpu)

    if name in ("tpu", "auto"):
        created = [address for address in ([tpu] if tpu else _created_tpus()) if ("tpu", address) in _CREATED]
        if created:
            return _announce(_CREATED["tpu", created[0]], f"TPUStrategy on TPU {created[0]!r} (created earlier)")
    if name == "tpu":
        resolver, address = _connect_first_tpu(addresses, factory)
        return _announce(_remember_tpu(_tpu_strategy(resolver), address), f"TPUStrategy on TPU {address!r}")
    if name == "mirrored":
        return _mirrored()
    if name == "multiworker":
        return _multi_worker(cluster_resolver)
    if name == "cpu":
        return _announce(tf.distribute.OneDeviceStrategy("/cpu:0"), "OneDeviceStrategy on /cpu:0")

    # auto
    try:
        resolver, address = _connect_first_tpu(addresses, factory)
    except TPUNotFoundError as error:
        # Where it looked and what each place answered is long; it is for -v (INFO), not every run.
        logger.info("strategy auto: no TPU (%s); looking for GPUs", error)
    else:
        return _announce(_remember_tpu(_tpu_strategy(resolver), address), f"auto found TPU {address!r}: TPUStrategy")
    gpus = tf.config.list_logical_devices("GPU")
    if len(gpus) > 1:
        print(f"strategy auto: found {len(gpus)} GPUs")
        return _mirrored()
    device = gpus[0].name if gpus else "/cpu:0"
    return _announce(tf.distribute.get_strategy(),
                     f"auto found no TPU and {len(gpus)} GPU(s): default strategy on {device}")


def describe_batch(strategy: tf.distribute.Strategy, global_batch_size: int) -> int:
    """Checks that the global batch splits evenly over the replicas; prints and returns the per-replica batch.

    Args:
        strategy: the strategy the model trains under.
        global_batch_size: examples per step over all replicas (what the dataset batches to).
    """
    replicas = strategy.num_replicas_in_sync
    if global_batch_size <= 0 or global_batch_size % replicas:
        raise ValueError(
            f"global batch size {global_batch_size} does not divide over {replicas} replicas "
            f"({type(strategy).__name__}); use a multiple of {replicas}")
    per_replica = global_batch_size // replicas
    print(f"batch: global {global_batch_size} = {replicas} replica(s) x {per_replica} per replica")
    return per_replica


def _announce(strategy: tf.distribute.Strategy, what: str) -> tf.distribute.Strategy:
    print(f"strategy: {what} ({strategy.num_replicas_in_sync} replica(s) in sync)")
    return strategy


def tpu_addresses(tpu: str | None = None) -> list[str]:
    """Where ``resolve_strategy`` looks for a TPU, in order.

    ``tpu`` if given; else, on Colab's older TPU runtimes (TPU nodes reached over gRPC, which set
    ``COLAB_TPU_ADDR`` to ``host:port``), ``grpc://$COLAB_TPU_ADDR``, then ``"local"`` (a TPU VM:
    Cloud TPU VMs and Colab's current TPU runtimes).

    Example:
        >>> tpu_addresses()                      # on a TPU VM, or without a TPU
        ['local']
        >>> tpu_addresses("grpc://10.0.0.2:8470")
        ['grpc://10.0.0.2:8470']
    """
    if tpu:
        return [tpu]
    colab_address = os.environ.get(COLAB_TPU_ADDR, "").strip()
    if colab_address:
        return [colab_address if "://" in colab_address else f"grpc://{colab_address}", "local"]
    return ["local"]


def _created_tpus() -> list[str]:
    return [key[1] for key in _CREATED if key[0] == "tpu"]


def _connect_first_tpu(addresses: list[str], factory: Callable) -> tuple:
    """The first of ``addresses`` where a TPU answers, as ``(resolver, address)``; none -> ``TPUNotFoundError``
    naming each address and what it said."""
    failures = []
    for address in addresses:
        try:
            return _connect_tpu(address, factory), address
        except TPUNotFoundError as error:
            failures.append(str(error))
    raise TPUNotFoundError("; ".join(failures))


def _connect_tpu(tpu: str, factory: Callable) -> tf.distribute.cluster_resolver.ClusterResolver:
    """Resolves, connects to and initialises the TPU system; any failure -> ``TPUNotFoundError``."""
    try:
        resolver = factory(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError, RuntimeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise TPUNotFoundError(f"no TPU found at {tpu!r}: {first_line}") from error
    return resolver


def _tpu_strategy(resolver) -> tf.distribute.Strategy:
    return tf.distribute.TPUStrategy(resolver)


def _remember_tpu(strategy: tf.distribute.Strategy, tpu: str) -> tf.distribute.Strategy:
    if isinstance(strategy, tf.distribute.TPUStrategy):
        _CREATED["tpu", tpu] = strategy
    return strategy


def _mirrored() -> tf.distribute.Strategy:
    gpus = tf.config.list_logical_devices("GPU")
    devices = [device.name for device in (gpus or tf.config.list_logical_devices("CPU"))]
    what = f"{len(gpus)} GPU(s)" if gpus else f"{len(devices)} logical CPU device(s) (no GPU)"
    key = ("mirrored", tuple(devices))
    if key not in _CREATED:
        _CREATED[key] = tf.distribute.MirroredStrategy(devices=devices)
    else:
        what += ", created earlier"
    return _announce(_CREATED[key], f"MirroredStrategy over {what}")


def _multi_worker(resolver: tf.distribute.cluster_resolver.ClusterResolver | None = None) -> tf.distribute.Strategy:
    if resolver is not None:
        config = {"cluster": resolver.cluster_spec().as_dict(),
                  "task": {"type": resolver.task_type, "index": resolver.task_id}}
        where = f"{type(resolver).__name__}, task {resolver.task_type}:{resolver.task_id}"
    else:
        config = check_tf_config(os.environ.get("TF_CONFIG"))
        if config is None:
            where = "no TF_CONFIG: a single local worker"
        else:
            task = config["task"]
            workers = sum(len(hosts) for hosts in config["cluster"].values())
            where = f"task {task['type']}:{task['index']} of {workers}"
    if ("multiworker",) not in _CREATED:
        timeout = float(os.environ.get("BERTZOO_WORKER_TIMEOUT", DEFAULT_WORKER_TIMEOUT))
        # MultiWorkerMirroredStrategy() blocks, holding the GIL, until every worker of TF_CONFIG has
        # joined; a worker that never starts would hang the job. A watchdog process ends it after
        # `timeout` seconds, naming the workers that do not answer.
        # Its message goes to the unfiltered stderr: the CLI's filter thread cannot forward it while
        # this process blocks.
        watchdog = subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(timeout),
                                     json.dumps(config or {})], stderr=unfiltered_stderr())
        try:
            _CREATED["multiworker",] = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
        finally:
            watchdog.kill()
            watchdog.wait()
    return _announce(_CREATED["multiworker",], f"MultiWorkerMirroredStrategy, {where}")


_WATCHDOG = """
import json, os, signal, socket, sys, time
parent, timeout, config = int(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3])
time.sleep(timeout)
silent = []
for job, hosts in config.get("cluster", {}).items():
    for index, address in enumerate(hosts):
        if [job, index] == [config["task"]["type"], config["task"]["index"]]:
            continue
        host, port = address.rsplit(":", 1)
        try:
            socket.create_connection((host, int(port)), timeout=2).close()
        except OSError:
            silent.append(f"{job}:{index} at {address}")
print(f"bertzoo: error: the workers of TF_CONFIG did not all join within {timeout:.0f} s "
      f"(BERTZOO_WORKER_TIMEOUT); not answering: {', '.join(silent) or 'none (check their logs)'}. "
      "Start every worker with the same cluster and its own task index.", file=sys.stderr, flush=True)
os.kill(parent, signal.SIGKILL)
"""


def check_tf_config(text: str | None) -> dict | None:
    """Parses and checks ``TF_CONFIG``; a malformed one raises ``ValueError`` naming the field.

    Args:
        text: the ``TF_CONFIG`` environment variable (``None`` or empty: not set).
    """
    if not text:
        return None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise ValueError("TF_CONFIG must be a JSON object with 'cluster' and 'task'")
    cluster = config.get("cluster")
    if not isinstance(cluster, dict) or not cluster:
        raise ValueError("TF_CONFIG['cluster'] must be a non-empty object of job name -> list of 'host:port'")
    for job, hosts in cluster.items():
        if not isinstance(hosts, list) or not hosts:
            raise ValueError(f"TF_CONFIG['cluster'][{job!r}] must be a non-empty list of 'host:port'")
        for host in hosts:
            if not isinstance(host, str) or ":" not in host:
                raise ValueError(f"TF_CONFIG['cluster'][{job!r}] entry {host!r} is not 'host:port'")
    task = config.get("task")
    if not isinstance(task, dict):
        raise ValueError("TF_CONFIG['task'] must be an object with 'type' and 'index'")
    if task.get("type") not in cluster:
        raise ValueError(f"TF_CONFIG['task']['type'] is {task.get('type')!r}; "
                         f"expected one of the cluster's jobs {sorted(cluster)}")
    index = task.get("index")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(cluster[task["type"]]):
        raise ValueError(f"TF_CONFIG['task']['index'] is {index!r}; expected an integer in "
                         f"[0, {len(cluster[task['type']])}) for job {task['type']!r}")
    return config
