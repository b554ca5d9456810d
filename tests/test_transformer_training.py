"""The Transformer's training pieces: schedule, label smoothing, checkpoint averaging, and learning."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from bertzoo.families.transformer.seq2seq_decoding import beam_search, greedy_decode
from bertzoo.families.transformer.transformer_config import TransformerConfig
from bertzoo.families.transformer.transformer_seq2seq import TransformerSeq2Seq
from bertzoo.training import (
    Trainer,
    TransformerSchedule,
    average_checkpoints,
    label_smoothed_cross_entropy,
    last_checkpoints,
    resolve_strategy,
    transformer_adam,
)

PAD, BOS, EOS = 0, 2, 3


@pytest.mark.parametrize("d_model,warmup", [(512, 4000), (1024, 4000), (32, 50)])
def test_schedule_equals_the_papers_formula(d_model, warmup):
    schedule = TransformerSchedule(d_model, warmup)
    for step in (1, 10, warmup // 2, warmup - 1, warmup, warmup + 1, 10 * warmup, 100_000):
        expected = d_model ** -0.5 * min(step ** -0.5, step * warmup ** -1.5)
        assert float(schedule(step - 1)) == pytest.approx(expected, rel=1e-6)  # iterations count from 0
    assert TransformerSchedule.from_config(schedule.get_config()).get_config() == schedule.get_config()


def test_optimizer_is_the_papers_adam():
    optimizer = transformer_adam(TransformerSchedule(512))
    assert (optimizer.beta_1, optimizer.beta_2, optimizer.epsilon) == (0.9, 0.98, 1e-9)


def _numpy_label_smoothed_loss(labels, logits, weights, smoothing):
    vocab = logits.shape[-1]
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    total = 0.0
    for index in np.ndindex(labels.shape):
        target = np.full(vocab, smoothing / (vocab - 1))
        target[labels[index]] = 1 - smoothing
        kl = sum(q * (np.log(q) - log_probs[index][k]) for k, q in enumerate(target) if q > 0)
        total += weights[index] * kl
    return total, weights.sum()


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_label_smoothing_equals_numpy(smoothing):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 5, 11)).astype("float32") * 3
    labels = rng.integers(0, 11, (3, 5))
    weights = (rng.random((3, 5)) > 0.3).astype("float32")  # padding excluded
    loss_sum, weight_sum = label_smoothed_cross_entropy(labels, logits, weights, smoothing=smoothing)
    expected_sum, expected_weights = _numpy_label_smoothed_loss(labels, logits, weights, smoothing)
    assert float(loss_sum) == pytest.approx(expected_sum, rel=1e-5)
    assert float(weight_sum) == expected_weights
    # A prediction equal to the smoothed target costs nothing.
    target = np.full((1, 11), smoothing / 10)
    target[0, 4] = 1 - smoothing
    perfect = np.log(target).astype("float32") if smoothing else np.where(target > 0, 30.0, 0.0).astype("float32")
    assert float(label_smoothed_cross_entropy(np.array([4]), perfect, smoothing=smoothing)[0]) == \
        pytest.approx(0.0, abs=1e-5)


def test_checkpoint_averaging_equals_the_numpy_mean(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    optimizer = keras.optimizers.Adam()
    optimizer.build(model.trainable_variables)
    step = tf.Variable(0, dtype=tf.int64)
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(model=model, optimizer=optimizer, step=step),
                                         tmp_path / "checkpoints", max_to_keep=5)
    rng = np.random.default_rng(0)
    saved = []
    for number in range(5):
        model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
        step.assign(number * 10)
        saved.append(model.get_weights())
        manager.save(checkpoint_number=number * 10)
    paths = last_checkpoints(tmp_path / "checkpoints", 3)
    assert [path.rsplit("-", 1)[1] for path in paths] == ["20", "30", "40"]
    averaged = average_checkpoints(paths, str(tmp_path / "averaged" / "ckpt"))
    restored = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dense(2)])
    restored_step = tf.Variable(0, dtype=tf.int64)
    tf.train.Checkpoint(model=restored, step=restored_step).restore(averaged).expect_partial() \
        .assert_existing_objects_matched()
    for got, *values in zip(restored.get_weights(), *saved[2:]):
        np.testing.assert_allclose(got, np.mean(values, axis=0), rtol=1e-6, atol=1e-7)
    assert int(restored_step.numpy()) == 40  # non-float values come from the newest checkpoint
    with pytest.raises(FileNotFoundError, match="no checkpoints"):
        last_checkpoints(tmp_path, 2)


def _reverse_task(rng, count, min_length=2, max_length=5, seq_length=7):
    """Digits 4..13, target = source reversed; packed as the recipe packs them."""
    source = np.zeros((count, seq_length), "int32")
    decoder_inputs = np.zeros((count, seq_length), "int32")
    labels = np.zeros((count, seq_length), "int32")
    for row in range(count):
        digits = rng.integers(4, 14, rng.integers(min_length, max_length + 1))
        n = len(digits)
        source[row, :n + 1] = list(digits) + [EOS]
        decoder_inputs[row, :n + 1] = [BOS] + list(digits[::-1])
        labels[row, :n + 1] = list(digits[::-1]) + [EOS]
    features = {"source_word_ids": source, "source_mask": (source > 0).astype("int32"),
                "target_word_ids": decoder_inputs}
    return features, {"labels": labels, "label_weights": (labels > 0).astype("float32")}


def _train_reverse(tmp_path, steps):
    rng = np.random.default_rng(0)
    features, labels = _reverse_task(rng, 4096)
    config = TransformerConfig.preset("tiny", vocab_size=14, max_length=8, dropout_rate=0.0)

    def loss_fn(labels, logits):
        return {"xent": label_smoothed_cross_entropy(labels["labels"], logits, labels["label_weights"], 0.1)}

    trainer = Trainer(resolve_strategy("cpu"),
                      lambda: TransformerSeq2Seq.from_transformer_config(config),
                      lambda: transformer_adam(TransformerSchedule(32, warmup_steps=100)),
                      loss_fn, global_batch_size=64, output_dir=str(tmp_path), log_every=50,
                      checkpoint_every=1000, steps_per_execution=25, seed=0, verbose=False)
    dataset = tf.data.Dataset.from_tensor_slices((features, labels)).shuffle(4096, seed=0).repeat() \
        .batch(64, drop_remainder=True)
    trainer.train(dataset, steps=steps)
    return trainer


def _held_out_exact_match(model, decode, count=200):
    features, labels = _reverse_task(np.random.default_rng(1), count)
    ids = decode(model, features["source_word_ids"], features["source_mask"]).numpy()
    return np.mean([(ids[row] == labels["labels"][row]).all() for row in range(count)]), ids


_SETTINGS = dict(max_decode_length=7, bos_id=BOS, eos_id=EOS)


def _greedy(model, source, mask):
    return tf.function(lambda s, m: greedy_decode(model, s, m, **_SETTINGS))(source, mask)


def test_transformer_starts_learning_to_reverse_digit_sequences(tmp_path):
    """The default-run version: 200 steps take the loss down and most held-out decodes right."""
    trainer = _train_reverse(tmp_path, steps=200)
    losses = [logs["loss"] for logs in trainer.history]
    assert losses[-1] < 0.25 * losses[0], losses
    exact, greedy = _held_out_exact_match(trainer.model, _greedy)
    assert exact >= 0.5, f"only {exact:.0%} of held-out sequences reversed exactly after 200 steps"
    # On a trained model (decodes that end), beam search with beam 1 is greedy decoding.
    features, _ = _reverse_task(np.random.default_rng(1), 200)
    beam_1, _ = beam_search(trainer.model, features["source_word_ids"], features["source_mask"], beam_size=1,
                            alpha=0.6, **_SETTINGS)
    np.testing.assert_array_equal(beam_1.numpy(), greedy)


@pytest.mark.slow
def test_transformer_learns_to_reverse_digit_sequences_near_perfectly(tmp_path):
    trainer = _train_reverse(tmp_path, steps=1500)
    exact, _ = _held_out_exact_match(trainer.model, _greedy)
    assert exact >= 0.97, f"only {exact:.0%} of held-out sequences reversed exactly"
    exact, _ = _held_out_exact_match(trainer.model, lambda model, source, mask: beam_search(
        model, source, mask, beam_size=4, alpha=0.6, **_SETTINGS)[0])
    assert exact >= 0.97, f"beam search: only {exact:.0%} of held-out sequences reversed exactly"


@pytest.mark.slow
def test_training_and_decoding_compile_with_xla(tmp_path):
    """The jit_compile switch both ways: the same losses and weights, the same decodes."""
    features, labels = _reverse_task(np.random.default_rng(0), 256)
    config = TransformerConfig.preset("tiny", vocab_size=14, max_length=8, dropout_rate=0.0)
    results = {}
    for jit in (False, True):
        def loss_fn(labels, logits):
            return {"xent": label_smoothed_cross_entropy(labels["labels"], logits, labels["label_weights"], 0.1)}

        trainer = Trainer(resolve_strategy("cpu"), lambda: TransformerSeq2Seq.from_transformer_config(config),
                          lambda: transformer_adam(TransformerSchedule(32, warmup_steps=10)), loss_fn,
                          global_batch_size=32, output_dir=str(tmp_path / str(jit)), log_every=1, jit_compile=jit,
                          seed=0, verbose=False)
        dataset = tf.data.Dataset.from_tensor_slices((features, labels)).repeat().batch(32, drop_remainder=True)
        trainer.train(dataset, steps=3)
        source, mask = features["source_word_ids"][:16], features["source_mask"][:16]
        decoded = tf.function(lambda s, m: beam_search(trainer.model, s, m, beam_size=3, **_SETTINGS),
                              jit_compile=jit)(source, mask)
        results[jit] = ([logs["loss"] for logs in trainer.history], trainer.model.get_weights(), decoded)
    # Losses after updates agree; weights are not compared elementwise: Adam with epsilon 1e-9 turns
    # float-rounding differences in near-zero gradients into full-size (+-lr) updates.
    np.testing.assert_allclose(results[True][0], results[False][0], rtol=1e-4)
    np.testing.assert_array_equal(results[True][2][0].numpy(), results[False][2][0].numpy())
    np.testing.assert_allclose(results[True][2][1].numpy(), results[False][2][1].numpy(), atol=1e-3)
