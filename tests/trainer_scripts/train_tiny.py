"""Trains a tiny classifier with bertzoo's Trainer; run as a subprocess by tests/test_trainer.py.

    python train_tiny.py --strategy cpu --output OUT --steps 12 --weights OUT/weights.npz

With BERTZOO_TEST_KILL_AT_STEP=N in the environment the process SIGKILLs itself right after
logging step N (no cleanup, like a preempted machine). Deterministic: same command, same weights.
"""

from __future__ import annotations

import argparse
import os
import signal

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from bertzoo.training import Trainer, create_optimizer, resolve_strategy  # noqa: E402

GLOBAL_BATCH_SIZE = 8


def build_model(dropout: float) -> keras.Model:
    inputs = keras.Input((6,), name="features")
    hidden = keras.layers.Dense(16, activation="tanh", name="hidden")(inputs)
    hidden = keras.layers.Dropout(dropout, name="dropout")(hidden)
    hidden = keras.layers.LayerNormalization(name="layer_norm")(hidden)
    logits = keras.layers.Dense(3, name="classifier")(hidden)
    return keras.Model(inputs, logits)


def classification_loss(labels, logits):
    label_ids, weights = labels
    losses = keras.losses.sparse_categorical_crossentropy(label_ids, logits, from_logits=True)
    return {"classification": (tf.reduce_sum(losses * weights), tf.reduce_sum(weights))}


def make_dataset() -> tf.data.Dataset:
    rng = np.random.default_rng(7)
    features = rng.normal(size=(200, 6)).astype("float32")
    label_ids = rng.integers(0, 3, size=200).astype("int32")
    weights = rng.integers(0, 3, size=200).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices((features, (label_ids, weights)))
    dataset = dataset.shuffle(200, seed=3).repeat().batch(GLOBAL_BATCH_SIZE, drop_remainder=True)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--strategy", default="cpu")
    parser.add_argument("--output", required=True)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--checkpoint-every", type=int, default=4)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--weights", required=True, help="where the chief writes the final weights (.npz)")
    args = parser.parse_args()
    kill_at_step = int(os.environ.get("BERTZOO_TEST_KILL_AT_STEP", "0"))

    def on_log(step: int, logs: dict) -> None:
        if step == kill_at_step:
            os.kill(os.getpid(), signal.SIGKILL)

    strategy = resolve_strategy(args.strategy)
    trainer = Trainer(
        strategy, lambda: build_model(args.dropout),
        lambda: create_optimizer(1e-2, num_train_steps=args.steps, warmup_steps=2),
        classification_loss, global_batch_size=GLOBAL_BATCH_SIZE, output_dir=args.output,
        log_every=1, checkpoint_every=args.checkpoint_every, deterministic=True, seed=11, on_log=on_log)
    trainer.train(make_dataset(), steps=args.steps)
    if trainer.is_chief:
        np.savez(args.weights, *trainer.model.get_weights())


if __name__ == "__main__":
    main()
