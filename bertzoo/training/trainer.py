"""One small training loop on ``strategy.run``, used by every bertzoo recipe.

Keras 3.15's ``fit`` fails under ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585), so bertzoo
trains with this loop, in the manner of Model Garden's Orbit: a ``tf.function`` that runs
``steps_per_execution`` steps in an in-graph ``tf.range`` loop, each step a ``strategy.run`` of a
per-replica forward/backward pass and a Keras optimizer update.

Losses are exact under any number of replicas: ``loss_fn`` returns each term as a per-replica
``(sum of weighted losses, sum of weights)``; the weights are summed over all replicas and each
replica's contribution is ``loss_sum / global_weight_sum``, so the replica contributions add up to
the single-device loss and their gradients (summed by the optimizer) to the single-device gradient.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from typing import Callable, Mapping

import keras
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

from bertzoo.errors import TrainingInterrupted, disk_full_error, is_disk_full, signal_name
from bertzoo.training.checkpoint_integrity import (DamagedCheckpointsError, checkpoint_candidates, describe_damage,
                                                   remove_checkpoint_files)
from bertzoo.training.optimization import SyncedLossScaleOptimizer
from bertzoo.training.strategy import describe_batch

LossFn = Callable[[Mapping, Mapping], Mapping[str, tuple]]

_SUM = tf.distribute.ReduceOp.SUM
_SCALAR_METADATA = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")).SerializeToString()


class NonFiniteLossError(ValueError):
    """The training loss became NaN or infinite: the message names the step, the loss terms and the
    last good checkpoint (nothing is saved after the bad step)."""


class Trainer:
    """Builds a model and optimizer under a strategy and trains them on ``(features, labels)`` batches.

    Args:
        strategy: from ``resolve_strategy``.
        build_model: called inside ``strategy.scope()`` (and the mixed-precision policy); returns
            a ``keras.Model`` mapping features to outputs.
        build_optimizer: called inside ``strategy.scope()``; returns a Keras optimizer (e.g.
            ``create_optimizer(...)``). Under ``mixed_float16`` it is wrapped in a
            ``SyncedLossScaleOptimizer`` (a Keras ``LossScaleOptimizer`` is rewrapped as one).
        loss_fn: ``loss_fn(labels, outputs) -> {name: (loss_sum, weight_sum)}`` over one replica's
            examples; the step loss is ``sum(loss_sum / weight_sum summed over all replicas)``.
        global_batch_size: examples per step over all replicas (what the dataset batches to).
        output_dir: checkpoints go to ``output_dir/checkpoints``, TensorBoard logs to
            ``output_dir/logs``, final figures to ``output_dir/metrics.json``. Under multi-worker
            training every worker gets the same (shared) directory: only the chief writes there,
            the others checkpoint into a temporary directory they delete, and all resume from the
            chief's checkpoints.
        metrics_fn: optional ``metrics_fn(labels, outputs) -> {name: (value_sum, count)}``, summed
            over replicas and steps since the last log, reported as ``value_sum / count``.
        steps_per_execution: training steps per ``tf.function`` call (an in-graph loop).
        accumulation_steps: split each replica's batch into this many micro-batches, run one after
            the other, and apply their summed gradient once: the same update as the whole batch
            (exactly, the losses being sums over examples), with a fraction of the activation memory.
        log_every: steps between progress lines and TensorBoard scalars.
        checkpoint_every: steps between checkpoints (a final one is always written).
        max_checkpoints: checkpoints kept.
        jit_compile: compile each replica's forward and backward pass with XLA.
        mixed_precision: ``None``, ``"mixed_bfloat16"`` (CPU/TPU) or ``"mixed_float16"`` (GPU, with
            dynamic loss scaling).
        deterministic: seed everything and enable TensorFlow op determinism (reproducible runs).
        seed: random seed (Keras, TensorFlow, NumPy, Python) set before the model is built;
            ``deterministic`` uses 0 when none is given.
        checkpoint_iterator: save the input iterator's state when the strategy allows (single
            device); otherwise a resumed run skips the batches already trained on.
        on_log: optional ``on_log(step, logs)`` called on the host at each log step.
        verbose: print progress.

    Faults (none loses more than the work since the last checkpoint):
        - resuming takes the newest checkpoint that restores; damaged ones are named (file,
          variable) and skipped, and ``DamagedCheckpointsError`` names them all when none is good;
        - SIGTERM / SIGINT during ``train`` save a checkpoint after the current step (every worker of
          a cluster at the same step), write ``metrics.json`` and raise ``TrainingInterrupted``
          (the CLI exits with its ``exit_status``, 128 + the signal); ``BERTZOO_SIGNAL_AT_STEP=N[:SIG]``
          sends the signal after step N (a drill);
        - a full disk while checkpointing removes the partial files and raises ``DiskFullError``
          naming the path, the free space and the intact previous checkpoint;
        - a non-finite loss, or non-finite weights about to be checkpointed, raise
          ``NonFiniteLossError`` naming the step, the loss terms and the last good checkpoint.

    Example:
        >>> trainer = Trainer(strategy, build_model, lambda: create_optimizer(1e-4, 1000, 100),
        ...                   pretraining_loss_terms, global_batch_size=32, output_dir="out")
        >>> final = trainer.train(dataset, steps=1000)
    """

    def __init__(
        self,
        strategy: tf.distribute.Strategy,
        build_model: Callable[[], keras.Model],
        build_optimizer: Callable[[], keras.optimizers.Optimizer],
        loss_fn: LossFn,
        *,
        global_batch_size: int,
        output_dir: str | os.PathLike,
        metrics_fn: LossFn | None = None,
        steps_per_execution: int = 1,
        accumulation_steps: int = 1,
        log_every: int = 100,
        checkpoint_every: int = 1000,
        max_checkpoints: int = 3,
        jit_compile: bool = False,
        mixed_precision: str | None = None,
        deterministic: bool = False,
        seed: int | None = None,
        checkpoint_iterator: bool = True,
        on_log: Callable[[int, dict], None] | None = None,
        verbose: bool = True,
    ):
        for name, value in (("steps_per_execution", steps_per_execution), ("accumulation_steps", accumulation_steps),
                            ("log_every", log_every),
                            ("checkpoint_every", checkpoint_every), ("max_checkpoints", max_checkpoints)):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if mixed_precision not in (None, "float32", "mixed_float16", "mixed_bfloat16"):
            raise ValueError("mixed_precision must be None, 'float32', 'mixed_bfloat16' or 'mixed_float16', "
                             f"got {mixed_precision!r}")
        self.strategy = strategy
        self.loss_fn = loss_fn
        self.metrics_fn = metrics_fn
        self.global_batch_size = global_batch_size
        # A string, joined with os.path.join and written with tf.io.gfile: gs:// (or any filesystem
        # TensorFlow knows) works as well as a local path; pathlib would turn gs://b into gs:/b.
        self.output_dir = os.fspath(output_dir)
        self.steps_per_execution = steps_per_execution
        self.accumulation_steps = accumulation_steps
        self.log_every = log_every
        self.checkpoint_every = checkpoint_every
        self.max_checkpoints = max_checkpoints
        self.jit_compile = jit_compile
        self.mixed_precision = mixed_precision
        self.checkpoint_iterator = checkpoint_iterator
        self.on_log = on_log
        self.is_chief = is_chief(strategy)
        self._multi_worker = _worker_count(strategy) > 1
        self.verbose = verbose and self.is_chief
        self.history: list[dict] = []

        self.per_replica_batch_size = describe_batch(strategy, global_batch_size)
        if self.per_replica_batch_size % accumulation_steps:
            raise ValueError(f"the per-replica batch of {self.per_replica_batch_size} does not split into "
                             f"{accumulation_steps} equal micro-batches (accumulation_steps); use a multiple of "
                             f"{accumulation_steps} per replica")
        if deterministic:
            seed = 0 if seed is None else seed
            tf.config.experimental.enable_op_determinism()
        if seed is not None:
            keras.utils.set_random_seed(seed)

        with strategy.scope():
            with global_dtype_policy(mixed_precision):
                self.model = build_model()
            optimizer = build_optimizer()
            if isinstance(optimizer, keras.optimizers.LossScaleOptimizer) and not isinstance(
                    optimizer, SyncedLossScaleOptimizer):
                optimizer = SyncedLossScaleOptimizer(optimizer.inner_optimizer, initial_scale=optimizer.initial_scale,
                                                     dynamic_growth_steps=optimizer.dynamic_growth_steps)
            elif mixed_precision == "mixed_float16" and not isinstance(optimizer, SyncedLossScaleOptimizer):
                optimizer = SyncedLossScaleOptimizer(optimizer)
            self.optimizer = optimizer
            self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step",
                                    aggregation=tf.VariableAggregation.ONLY_FIRST_REPLICA)
        forward = self._forward
        self._compiled_forward = tf.function(forward, jit_compile=True) if jit_compile else forward
        self._train_loop = None

    # ----------------------------------------------------------------------------------------------
    # The graph: a per-replica step, and a loop of them.

    def _forward(self, features, labels):
        outputs = self.model(features, training=True)
        # Losses and metrics in float32, whatever the compute dtype under mixed precision.
        outputs = tf.nest.map_structure(_to_float32, outputs)
        loss_terms = dict(self.loss_fn(labels, outputs))
        metric_terms = dict(self.metrics_fn(labels, outputs)) if self.metrics_fn else {}
        return loss_terms, metric_terms

    def _replica_step(self, batch):
        features, labels = self._unpack(batch, self.per_replica_batch_size, "per-replica")
        if self.accumulation_steps > 1:
            return self._accumulating_replica_step(features, labels)
        context = tf.distribute.get_replica_context()
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            loss_terms, metric_terms = self._compiled_forward(features, labels)
            if not loss_terms:
                raise ValueError("loss_fn returned no loss terms")
            loss_sums = {name: tf.cast(term[0], tf.float32) for name, term in loss_terms.items()}
            weight_sums = {name: tf.stop_gradient(tf.cast(term[1], tf.float32)) for name, term in loss_terms.items()}
            global_weight_sums = context.all_reduce(_SUM, weight_sums)
            losses = {name: tf.math.divide_no_nan(loss_sums[name], global_weight_sums[name]) for name in loss_sums}
            loss = tf.add_n(list(losses.values()))
            scaled_loss = self.optimizer.scale_loss(loss)
        gradients = tape.gradient(scaled_loss, variables)
        self._apply(gradients, variables)
        return self._step_outputs(losses, metric_terms)

    def _accumulating_replica_step(self, features, labels):
        """Splits the replica's batch into ``accumulation_steps`` micro-batches run one after the other.

        Exact: each loss term's gradient is accumulated unnormalised, and divided by the term's
        weight sum over all micro-batches and replicas at the end, which is the gradient of the
        whole batch's loss. Memory: one gradient buffer per loss term (two for masked LM + NSP).
        """
        steps = self.accumulation_steps
        variables = self.model.trainable_variables
        micro = tf.nest.map_structure(
            lambda t: tf.reshape(t, tf.concat([[steps, self.per_replica_batch_size // steps], tf.shape(t)[1:]], 0)),
            (features, labels))

        def micro_step(index):
            micro_features, micro_labels = tf.nest.map_structure(lambda t: t[index], micro)
            with tf.GradientTape(persistent=True) as tape:
                loss_terms, metric_terms = self._compiled_forward(micro_features, micro_labels)
                if not loss_terms:
                    raise ValueError("loss_fn returned no loss terms")
                loss_sums = {name: tf.cast(term[0], tf.float32) for name, term in loss_terms.items()}
                scaled = {name: self.optimizer.scale_loss(value) for name, value in loss_sums.items()}
            # One gradient per term (a structure as target would give each the gradient of their sum).
            gradients = {name: tape.gradient(value, variables) for name, value in scaled.items()}
            del tape
            if not unused_known:
                unused.update(i for i in range(len(variables))
                              if all(grads[i] is None for grads in gradients.values()))
                unused_known.append(True)
            # Dense buffers: sparse embedding gradients (IndexedSlices) cannot be summed across loop steps.
            gradients = {name: [tf.zeros_like(v) if g is None else tf.convert_to_tensor(g)
                                for g, v in zip(grads, variables)]
                         for name, grads in gradients.items()}
            weight_sums = {name: tf.cast(term[1], tf.float32) for name, term in loss_terms.items()}
            metrics = {name: (tf.cast(value_sum, tf.float32), tf.cast(count, tf.float32))
                       for name, (value_sum, count) in metric_terms.items()}
            return gradients, loss_sums, weight_sums, metrics

        unused: set[int] = set()  # variables outside every loss term's graph (decided while tracing)
        unused_known: list[bool] = []
        totals = micro_step(0)
        for index in tf.range(1, steps):
            totals = tf.nest.map_structure(tf.add, totals, micro_step(index))
        gradients, loss_sums, weight_sums, metric_terms = totals
        global_weight_sums = tf.distribute.get_replica_context().all_reduce(_SUM, weight_sums)
        losses = {name: tf.math.divide_no_nan(loss_sums[name], global_weight_sums[name]) for name in loss_sums}
        combined = [None if i in unused else
                    tf.add_n([tf.math.divide_no_nan(gradients[name][i], global_weight_sums[name])
                              for name in gradients])
                    for i in range(len(variables))]
        self._apply(combined, variables)
        return self._step_outputs(losses, metric_terms)

    def _apply(self, gradients, variables) -> None:
        # Variables outside the loss's graph (the pooler under a span or tagging head) get no update.
        # Sparse embedding gradients are made dense, as Google's AdamWeightDecayOptimizer sees them:
        # the rows of words absent from a batch still have their moments decayed (Keras would skip
        # them), and the update is the same with or without gradient accumulation.
        used = [(tf.convert_to_tensor(gradient), variable)
                for gradient, variable in zip(gradients, variables) if gradient is not None]
        self.optimizer.apply([gradient for gradient, _ in used], [variable for _, variable in used])

    @staticmethod
    def _step_outputs(losses: dict, metric_terms: dict) -> dict:
        outputs = {"loss": tf.add_n(list(losses.values()))}
        outputs.update({f"loss/{name}": value for name, value in losses.items()})
        for name, (value_sum, count) in metric_terms.items():
            outputs[f"{name}/sum"] = tf.cast(value_sum, tf.float32)
            outputs[f"{name}/count"] = tf.cast(count, tf.float32)
        return outputs

    def _make_train_loop(self):
        strategy = self.strategy

        def one_step(iterator):
            per_replica = strategy.run(self._replica_step, args=(next(iterator),))
            return {name: strategy.reduce(_SUM, value, axis=None) for name, value in per_replica.items()}

        multi_worker = self._multi_worker

        @tf.function
        def train_loop(iterator, num_steps, stop_signal):
            """Runs ``num_steps`` steps; returns their summed outputs, the first non-finite step (-1:
            none) and that step's outputs, and the stop signal any worker had when the call began
            (so that every worker of a cluster stops after the same step)."""
            totals = one_step(iterator)
            first_bad = tf.where(tf.math.is_finite(totals["loss"]), -1, 0)
            bad_outputs = totals
            for i in tf.range(1, num_steps):
                outputs = one_step(iterator)
                bad = tf.logical_and(first_bad < 0, tf.logical_not(tf.math.is_finite(outputs["loss"])))
                first_bad = tf.where(bad, i, first_bad)
                bad_outputs = {name: tf.where(bad, outputs[name], bad_outputs[name]) for name in bad_outputs}
                totals = {name: totals[name] + outputs[name] for name in totals}
            if multi_worker:
                asked = strategy.run(lambda: tf.cast(stop_signal > 0, tf.int32))
                any_asked = strategy.reduce(_SUM, asked, axis=None) > 0
                stop_signal = tf.where(tf.logical_and(any_asked, stop_signal == 0), int(signal.SIGTERM), stop_signal)
            return totals, first_bad, bad_outputs, stop_signal

        return train_loop

    def _unpack(self, batch, batch_size: int, which: str):
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise ValueError(f"each dataset element must be a (features, labels) pair; got {type(batch).__name__}"
                             f" {tf.nest.map_structure(lambda t: getattr(t, 'shape', t), batch)}")
        for leaf in tf.nest.flatten(batch):
            shape = getattr(leaf, "shape", None)
            size = shape[0] if shape is not None and shape.rank else None
            if size != batch_size:
                raise ValueError(
                    f"dataset batch size is {size}, expected the {which} batch size {batch_size}"
                    + (" (an unknown batch size: batch with drop_remainder=True)" if size is None else ""))
        return batch[0], batch[1]

    # ----------------------------------------------------------------------------------------------
    # The host loop.

    def train(self, dataset, steps: int) -> dict:
        """Trains until ``steps`` steps are done, resuming from the latest checkpoint in ``output_dir``.

        Args:
            dataset: a ``tf.data.Dataset`` of ``(features, labels)`` batched to the global batch
                size (``drop_remainder=True``, repeated), or a function ``(tf.distribute.InputContext)
                -> tf.data.Dataset`` batched to the per-replica batch size.
            steps: the total number of steps (including steps done before a resume).

        Returns:
            The final figures, also written to ``output_dir/metrics.json``.
        """
        is_function = callable(dataset) and not isinstance(dataset, tf.data.Dataset)
        if not is_function:
            self._unpack(dataset.element_spec, self.global_batch_size, "global")
        self._build(dataset, is_function)

        checkpoint_dir = os.path.join(self.output_dir, "checkpoints")
        iterator, checkpoint, latest, use_saved_iterator, skip = self._restore(dataset, is_function, checkpoint_dir)
        write_dir = checkpoint_dir if self.is_chief else tempfile.mkdtemp(prefix="bertzoo_worker_")
        manager = tf.train.CheckpointManager(checkpoint, write_dir, max_to_keep=self.max_checkpoints)
        if latest:
            how = "iterator state restored" if use_saved_iterator else f"skipped {skip} batches of the dataset"
            self._print(f"resuming from {latest} at step {int(self.step.numpy())} ({how})")

        writer = (tf.summary.create_file_writer(os.path.join(self.output_dir, "logs")) if self.is_chief
                  else tf.summary.create_noop_writer())
        if self._train_loop is None:
            self._train_loop = self._make_train_loop()

        step = int(self.step.numpy())
        run_start_step = step
        started = time.perf_counter()
        last_saved = step if latest else None
        self._last_good = latest  # what a rerun would resume from (restored, or saved by this run)
        if step >= steps:
            self._print(f"already trained {step} steps (asked for {steps}); nothing to do")
        stop = _StopSignals()
        stop.install()
        try:
            self._run_loop(iterator, manager, writer, stop, steps, step, latest, run_start_step, started,
                           last_saved)
        finally:
            stop.uninstall()
            if not self.is_chief:
                shutil.rmtree(write_dir, ignore_errors=True)
        return self._final

    def _run_loop(self, iterator, manager, writer, stop, steps, step, latest, run_start_step, started, last_saved):
        window = _Window()
        first_log = last_log = None
        drill = _preemption_drill()
        while step < steps:
            num_steps = min(self.steps_per_execution, steps - step,
                            _to_next_multiple(step, self.log_every), _to_next_multiple(step, self.checkpoint_every))
            tic = time.perf_counter()
            try:
                totals, first_bad, bad_outputs, stop_agreed = self._train_loop(
                    iterator, tf.constant(num_steps, tf.int32), tf.constant(stop.signal_number, tf.int32))
            except tf.errors.OutOfRangeError:
                raise ValueError(f"the dataset ran out of batches after step {step}; "
                                 f"repeat() it to cover {steps} steps") from None
            totals = {name: float(value) for name, value in totals.items()}
            first_bad = int(first_bad)
            if first_bad >= 0:
                terms = ", ".join(f"{name.removeprefix('loss/')} {float(value):.4g}"
                                  for name, value in bad_outputs.items() if name.startswith("loss/"))
                good = self._last_good
                raise NonFiniteLossError(
                    f"the loss is not finite at step {step + first_bad + 1} "
                    f"(loss {float(bad_outputs['loss']):.4g}: {terms}); training stopped. Last good checkpoint: "
                    + (f"{good} (a rerun resumes from it; try a lower --learning-rate)" if good else
                       "none (no checkpoint was written before; try a lower --learning-rate)"))
            step += num_steps
            self.step.assign(step)
            window.add(totals, num_steps, time.perf_counter() - tic)
            if drill and step >= drill[0]:
                os.kill(os.getpid(), drill[1])  # handled by _StopSignals before the next line runs
                drill = None

            if step % self.log_every == 0 or step == steps:
                logs = self._log(step, steps, window, writer)
                first_log = first_log or logs
                last_log = logs
                window = _Window()
            # A cluster stops on the agreed signal only (every worker after the same step); one
            # process also on a signal that came during the call just made.
            signal_number = int(stop_agreed) if self._multi_worker else int(stop_agreed) or stop.signal_number
            if step % self.checkpoint_every == 0 or step == steps or signal_number:
                if last_saved != step:
                    self._save(manager, step)
                    last_saved = step
                    self._print(f"checkpoint saved at step {step}: {manager.latest_checkpoint}")
            if signal_number and step < steps:
                writer.flush()
                self._finish(step, run_start_step, latest, started, first_log, last_log,
                             interrupted_by=signal_name(signal_number))
                raise TrainingInterrupted(signal_number, step, manager.latest_checkpoint)
        if last_saved != step:
            self._save(manager, step)
        writer.flush()
        self._finish(step, run_start_step, latest, started, first_log, last_log)

    def _finish(self, step, run_start_step, latest, started, first_log, last_log, interrupted_by=None) -> None:
        wall_time = time.perf_counter() - started
        run_steps = step - run_start_step
        final = {
            "steps": step,
            "steps_this_run": run_steps,
            "resumed_from_step": run_start_step if latest else None,
            "global_batch_size": self.global_batch_size,
            "num_replicas": self.strategy.num_replicas_in_sync,
            "per_replica_batch_size": self.per_replica_batch_size,
            "wall_time_s": wall_time,
            "steps_per_s": run_steps / wall_time if wall_time > 0 else None,
            "examples_per_s": run_steps * self.global_batch_size / wall_time if wall_time > 0 else None,
            "first_logged": first_log,
            "last_logged": last_log,
        }
        if interrupted_by:
            final["interrupted_by"] = interrupted_by
        if last_log:
            final.update({name: value for name, value in last_log.items()
                          if name not in ("step", "steps_per_s", "examples_per_s")})
        self._final = final
        if self.is_chief:
            _write_json_atomically(os.path.join(self.output_dir, "metrics.json"), final)

    def _save(self, manager: tf.train.CheckpointManager, step: int) -> None:
        """Saves a checkpoint at ``step``; a full disk removes the partial files and keeps the previous ones.

        Weights that are not finite are never saved: the loss check sees a step's weights only at
        the next step, so the update of the last step before a checkpoint is checked here.
        """
        previous = self._last_good
        bad = [variable.path for variable in self.model.trainable_variables
               if not bool(tf.reduce_all(tf.math.is_finite(tf.cast(variable.value, tf.float32))))]
        if bad:
            raise NonFiniteLossError(
                f"the update of step {step} made {len(bad)} weights not finite (NaN or Inf), e.g. {bad[0]}; "
                "training stopped without saving them. Last good checkpoint: "
                + (f"{previous} (a rerun resumes from it; try a lower --learning-rate)" if previous else
                   "none (no checkpoint was written before; try a lower --learning-rate)"))
        try:
            manager.save(checkpoint_number=step)
        except Exception as error:
            if not is_disk_full(error):
                raise
            remove_checkpoint_files(os.path.join(manager.directory, f"ckpt-{step}"))
            kept = (f"the previous checkpoint {previous} is intact (a rerun resumes from it)" if previous
                    else "no earlier checkpoint exists")
            raise disk_full_error(os.path.join(manager.directory, f"ckpt-{step}"), error, kept) from error
        self._last_good = manager.latest_checkpoint

    def _restore(self, dataset, is_function: bool, checkpoint_dir: str):
        """Restores the newest good checkpoint in ``checkpoint_dir`` (none: a fresh start).

        Returns ``(iterator, checkpoint, restored prefix or None, iterator state restored, batches skipped)``.
        A damaged checkpoint is reported by file and the next older one tried; when every one is
        damaged, ``DamagedCheckpointsError`` names them all.
        """
        can_save_iterator = self.checkpoint_iterator and not is_function and _is_single_device(self.strategy)
        # Keras 3 seed-generator states (dropout) are model variables that the model's checkpoint
        # dependencies miss; saved explicitly so a resumed run draws the same dropout masks.
        random_states = [variable.value for variable in self.model.variables
                         if variable.path.endswith("seed_generator_state")]
        candidates = checkpoint_candidates(checkpoint_dir)
        damaged: list[str] = []
        for prefix in candidates or [None]:
            if prefix is None:
                start_step, saved_iterator = 0, False
            else:
                try:
                    start_step, saved_iterator = _read_checkpoint_header(prefix)
                except Exception as error:
                    damaged.append(describe_damage(prefix, error))
                    continue
            use_saved_iterator = can_save_iterator and (prefix is None or saved_iterator)
            skip = 0 if use_saved_iterator else start_step
            iterator = self._make_iterator(dataset, is_function, skip, plain=can_save_iterator)
            objects = {"model": self.model, "optimizer": self.optimizer, "step": self.step,
                       "random_states": random_states}
            if use_saved_iterator:
                objects["iterator"] = iterator
            checkpoint = tf.train.Checkpoint(**objects)
            if prefix is not None:
                try:
                    checkpoint.restore(prefix).assert_existing_objects_matched().expect_partial()
                except Exception as error:
                    damaged.append(describe_damage(prefix, error))
                    continue
            if damaged:
                self._warn("warning: " + "; ".join(damaged) + f". Resuming from the newest good checkpoint, {prefix}")
            return iterator, checkpoint, prefix, use_saved_iterator, skip
        raise DamagedCheckpointsError(
            f"no checkpoint in {checkpoint_dir} can be restored: " + "; ".join(damaged)
            + ". Move the damaged files away to start over, or restore them from a copy")

    def _build(self, dataset, is_function: bool) -> None:
        """Creates the model's and optimizer's variables (before a checkpoint is restored into them)."""
        with self.strategy.scope():
            if not self.model.built or not self.model.trainable_variables:
                if is_function:
                    example = next(iter(dataset(tf.distribute.InputContext(
                        num_replicas_in_sync=self.strategy.num_replicas_in_sync))))
                else:
                    example = next(iter(dataset.take(1)))
                features, _ = self._unpack(example, tf.nest.flatten(example)[0].shape[0], "example")
                self.model(features, training=False)
            self.optimizer.build(self.model.trainable_variables)

    def _make_iterator(self, dataset, is_function: bool, skip: int, plain: bool):
        if is_function:
            def dataset_fn(context):
                return dataset(context).skip(skip) if skip else dataset(context)
            return iter(self.strategy.distribute_datasets_from_function(dataset_fn))
        if skip:
            dataset = dataset.skip(skip)
        if plain:
            # One device: the plain tf.data iterator, whose state tf.train.Checkpoint can save.
            return iter(dataset)
        return iter(self.strategy.experimental_distribute_dataset(dataset))

    def _log(self, step: int, steps: int, window: "_Window", writer) -> dict:
        logs = {"step": step}
        for name, value in window.totals.items():
            if name.endswith("/count"):
                continue
            if name.endswith("/sum"):
                base = name[: -len("/sum")]
                count = window.totals[f"{base}/count"]
                logs[base] = value / count if count else float("nan")
            else:
                logs[name] = value / window.steps
        logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.optimizer.learning_rate))
        logs["steps_per_s"] = window.steps / window.seconds if window.seconds else float("nan")
        logs["examples_per_s"] = logs["steps_per_s"] * self.global_batch_size
        with writer.as_default(step=step):
            for name, value in logs.items():
                if name != "step":
                    write_scalar(name, value)
        terms = "  ".join(f"{name.removeprefix('loss/')} {value:.4f}" for name, value in logs.items()
                          if name not in ("step", "loss", "learning_rate", "steps_per_s", "examples_per_s"))
        self._print(f"step {step}/{steps}  loss {logs['loss']:.4f}  {terms}  lr {logs['learning_rate']:.3g}  "
                    f"{logs['steps_per_s']:.2f} steps/s  {logs['examples_per_s']:.1f} examples/s")
        self.history.append(logs)
        if self.on_log:
            self.on_log(step, logs)
        return logs

    def _print(self, message: str) -> None:
        if self.verbose:
            print(message, flush=True)

    def _warn(self, message: str) -> None:
        if self.is_chief:
            print(message, file=sys.stderr, flush=True)


class _StopSignals:
    """While installed (in the main thread), SIGTERM and SIGINT ask the loop to checkpoint and stop
    instead of ending the process; a third signal while stopping ends it the usual way."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.signal_number = 0
        self._previous: dict = {}
        self._count = 0

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for number in self.SIGNALS:
            self._previous[number] = signal.signal(number, self._handle)

    def uninstall(self) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    def _handle(self, number, frame) -> None:
        self._count += 1
        if self._count > 2:  # asked three times: stop waiting for the checkpoint
            self.uninstall()
            signal.raise_signal(number)
            return
        if not self.signal_number:
            self.signal_number = int(number)
            print(f"{signal_name(number)} received: saving a checkpoint after the current step, then stopping",
                  file=sys.stderr, flush=True)


PREEMPTION_DRILL_VARIABLE = "BERTZOO_SIGNAL_AT_STEP"


def _preemption_drill() -> tuple[int, int] | None:
    """``BERTZOO_SIGNAL_AT_STEP=N[:SIGNAL]``: the trainer sends itself SIGTERM (or SIGINT, ...) once
    step N is done, a preemption drill at a chosen step (tests, and checking a job's restart setup)."""
    value = os.environ.get(PREEMPTION_DRILL_VARIABLE)
    if not value:
        return None
    step, _, name = value.partition(":")
    try:
        number = int(signal.Signals[name.upper() if name.upper().startswith("SIG") else f"SIG{name.upper()}"]
                     if name else signal.SIGTERM)
        return int(step), number
    except (KeyError, ValueError):
        raise ValueError(f"{PREEMPTION_DRILL_VARIABLE}={value!r}: expected STEP or STEP:SIGNAL, "
                         "e.g. 20 or 20:SIGINT") from None


def _worker_count(strategy: tf.distribute.Strategy) -> int:
    resolver = getattr(strategy, "cluster_resolver", None)
    try:
        spec = resolver.cluster_spec().as_dict() if resolver is not None else {}
    except (ValueError, RuntimeError):
        return 1
    return sum(len(tasks) for job, tasks in spec.items() if job in ("chief", "worker"))


class _Window:
    """Sums of the step outputs since the last log."""

    def __init__(self):
        self.totals: dict[str, float] = {}
        self.steps = 0
        self.seconds = 0.0

    def add(self, totals: dict, steps: int, seconds: float) -> None:
        for name, value in totals.items():
            self.totals[name] = self.totals.get(name, 0.0) + value
        self.steps += steps
        self.seconds += seconds


def _to_float32(tensor):
    return tf.cast(tensor, tf.float32) if tensor.dtype.is_floating else tensor


def write_scalar(name: str, value: float) -> None:
    """``tf.summary.scalar`` without the tensorboard package: the same event, tagged for the scalars plugin."""
    tf.summary.write(name, tf.constant(value, tf.float32), metadata=_SCALAR_METADATA)


def read_scalars(log_dir: str | os.PathLike) -> dict[str, list[tuple[int, float]]]:
    """The scalars the trainer (``write_scalar``) logged under ``log_dir``: name -> ``[(step, value), ...]``.

    Reads every event file under ``log_dir`` (its subdirectories too, e.g. ``logs/eval``), through
    ``tf.io.gfile`` (local or gs://), sorted by step; a step logged twice (a resumed run) keeps the
    last value. For plots without TensorBoard.

    Example:
        >>> curves = read_scalars("out/sst2/logs")
        >>> steps, losses = zip(*curves["loss"])
    """
    root = os.fspath(log_dir)
    files = sorted(os.path.join(directory, name) for directory, _, names in tf.io.gfile.walk(root)
                   for name in names if ".tfevents." in name)
    scalars: dict[str, dict[int, float]] = {}
    for path in files:
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.HasField("tensor"):
                    number = float(tf.make_ndarray(value.tensor))
                elif value.HasField("simple_value"):
                    number = float(value.simple_value)
                else:
                    continue
                scalars.setdefault(value.tag, {})[int(event.step)] = number
    return {name: sorted(values.items()) for name, values in scalars.items()}


def _to_next_multiple(step: int, every: int) -> int:
    return every - step % every


def _read_checkpoint_header(path: str) -> tuple[int, bool]:
    """The step a checkpoint was saved at, and whether it holds an input iterator."""
    # The reader itself, not tf.train.load_checkpoint: that one asks isdir() first, which some
    # filesystems (TensorFlow's ram://) answer True for a checkpoint prefix.
    reader = tf.compat.v1.train.NewCheckpointReader(path)
    names = reader.get_variable_to_shape_map()
    step = int(reader.get_tensor("step/.ATTRIBUTES/VARIABLE_VALUE"))
    return step, any(name.startswith("iterator/") for name in names)


def _is_single_device(strategy: tf.distribute.Strategy) -> bool:
    """One device, no cluster: batches can come from a plain (checkpointable) tf.data iterator."""
    return (isinstance(strategy, tf.distribute.OneDeviceStrategy)
            or type(strategy).__name__ == "_DefaultDistributionStrategy")


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this worker writes checkpoints, summaries and metrics (always, without a cluster)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    if resolver is None or task_type is None or task_type == "chief":
        return True
    try:
        has_chief = "chief" in resolver.cluster_spec().as_dict()
    except (ValueError, RuntimeError):
        has_chief = False
    return task_type == "worker" and resolver.task_id == 0 and not has_chief


@contextlib.contextmanager
def global_dtype_policy(name: str | None):
    """Sets Keras's global dtype policy (None: leaves it) while a model is built, then restores the previous one."""
    if name is None:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _write_json_atomically(path: str, value: dict) -> None:
    """Writes JSON beside ``path`` and renames it into place, through ``tf.io.gfile`` (local or gs://)."""
    directory = os.path.dirname(path)
    if directory:
        tf.io.gfile.makedirs(directory)
    temporary = f"{path}.tmp-{os.getpid()}"
    try:
        with tf.io.gfile.GFile(temporary, "w") as file:
            file.write(json.dumps(value, indent=2) + "\n")
    except Exception as error:
        with contextlib.suppress(Exception):
            tf.io.gfile.remove(temporary)
        if is_disk_full(error):
            raise disk_full_error(path, error, f"the previous {os.path.basename(path)} is intact") from error
        raise
    tf.io.gfile.rename(temporary, path, overwrite=True)
