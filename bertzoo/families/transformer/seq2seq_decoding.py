"""In-graph greedy and beam-search decoding for ``TransformerSeq2Seq``, with a decoder cache.

Both loops run a fixed ``max_decode_length`` of positions over fixed-size tensors, so they trace
once, compile with XLA and export in a SavedModel.

Beam search keeps ``beam_size`` alive hypotheses. At each position it ranks the ``2 * beam_size``
best one-token extensions by log-probability; those among the first ``beam_size`` that end in
``eos`` are finished, scored by their log-probability divided by the GNMT length penalty
``((5 + length) / 6) ** alpha`` (Wu et al. 2016; ``length`` counts the generated tokens, ``eos``
included), and the best ``beam_size`` that do not end stay alive. An example is done once
``beam_size`` hypotheses have finished (the rule of fairseq's ``SequenceGenerator``), and its best
finished hypothesis wins; one that finished nothing by ``max_decode_length`` returns its best alive
beam. Only ``eos`` in the top ``beam_size`` may finish (tensor2tensor lets any of the ``2 *
beam_size`` finish), so ``beam_size = 1`` is exactly greedy decoding, for any ``alpha``.

keras-hub 0.32's ``BeamSampler`` has no length penalty and no finished set (it ranks the raw
log-probabilities of fixed-length sequences), so it is not used here.
"""

from __future__ import annotations

import tensorflow as tf

_NEG_INF = -1e9


def length_penalty(length, alpha: float):
    """GNMT's ``((5 + length) / 6) ** alpha``."""
    return tf.pow((5.0 + tf.cast(length, tf.float32)) / 6.0, alpha)


def _after_eos_to_pad(ids, eos_id: int, pad_id: int):
    """Replaces every token after the first ``eos`` with ``pad``."""
    ended_before = tf.cumsum(tf.cast(tf.equal(ids, eos_id), tf.int32), axis=-1, exclusive=True) > 0
    return tf.where(ended_before, tf.cast(pad_id, ids.dtype), ids)


def greedy_decode(model, source_word_ids, source_mask, *, max_decode_length: int, bos_id: int, eos_id: int,
                  pad_id: int = 0):
    """The argmax token at each position until ``eos``.

    Returns:
        int32 ``[batch, max_decode_length]`` generated ids (no ``bos``; ``eos`` kept; ``pad`` after it).
    """
    source_mask = tf.cast(source_mask, tf.int32)
    memory = model.encode(source_word_ids, source_mask, training=False)
    memory_kv = model.memory_keys_values(memory)
    batch = tf.shape(source_word_ids)[0]
    cache = model.initial_cache(batch, max_decode_length)
    ids = tf.fill([batch, max_decode_length], tf.cast(pad_id, tf.int32))
    previous = tf.fill([batch], tf.cast(bos_id, tf.int32))
    finished = tf.zeros([batch], tf.bool)
    positions = tf.range(max_decode_length)

    def body(index, previous, finished, cache, ids):
        logits, cache = model.decode_step(previous, index, memory_kv, source_mask, cache)
        token = tf.argmax(logits, axis=-1, output_type=tf.int32)
        token = tf.where(finished, tf.cast(pad_id, tf.int32), token)
        ids = tf.where(tf.equal(positions, index)[None, :], token[:, None], ids)
        return index + 1, token, finished | tf.equal(token, eos_id), cache, ids

    def not_done(index, previous, finished, cache, ids):
        return tf.logical_not(tf.reduce_all(finished))

    *_, ids = tf.while_loop(not_done, body, (tf.constant(0), previous, finished, cache, ids),
                            maximum_iterations=max_decode_length)
    return tf.ensure_shape(ids, [None, max_decode_length])


def beam_search(model, source_word_ids, source_mask, *, max_decode_length: int, bos_id: int, eos_id: int,
                pad_id: int = 0, beam_size: int = 4, alpha: float = 0.6, return_all: bool = False):
    """Beam search with the GNMT length penalty (the paper: beam 4, alpha 0.6).

    Returns:
        int32 ``[batch, max_decode_length]`` best sequences (no ``bos``; ``eos`` kept; ``pad`` after),
        and float32 ``[batch]`` their scores (log-probability / length penalty). With
        ``return_all``, ``[batch, beam_size, max_decode_length]`` and ``[batch, beam_size]``, best first.
    """
    if beam_size < 1:
        raise ValueError(f"beam_size must be at least 1, got {beam_size}")
    length = max_decode_length
    source_mask = tf.cast(source_mask, tf.int32)
    batch = tf.shape(source_word_ids)[0]
    memory = model.encode(source_word_ids, source_mask, training=False)

    def tile(tensor):  # [batch, ...] -> [batch * beam, ...], each example's copies together
        return tf.repeat(tensor, beam_size, axis=0)

    memory_kv = [(tile(key), tile(value)) for key, value in model.memory_keys_values(memory)]
    tiled_mask = tile(source_mask)
    cache = model.initial_cache(batch * beam_size, length)
    vocab = model.vocab_size

    alive_seq = tf.zeros([batch, beam_size, length], tf.int32)
    alive_log_probs = tf.tile(tf.constant([[0.0] + [_NEG_INF] * (beam_size - 1)]), [batch, 1])
    finished_seq = tf.zeros([batch, beam_size, length], tf.int32)
    finished_scores = tf.fill([batch, beam_size], 2 * _NEG_INF)
    finished_flags = tf.zeros([batch, beam_size], tf.bool)
    positions = tf.range(length)

    def gather_beams(tensor, indices):  # tensor [batch, k, ...], indices [batch, n] -> [batch, n, ...]
        return tf.gather(tensor, indices, batch_dims=1)

    def body(index, alive_seq, alive_log_probs, finished_seq, finished_scores, finished_flags, cache):
        previous = tf.where(tf.equal(index, 0), tf.fill([batch * beam_size], tf.cast(bos_id, tf.int32)),
                            tf.reshape(tf.gather(alive_seq, tf.maximum(index - 1, 0), axis=2), [-1]))
        logits, cache = model.decode_step(previous, index, memory_kv, tiled_mask, cache)
        log_probs = tf.nn.log_softmax(tf.reshape(logits, [batch, beam_size, vocab]))
        candidates = tf.reshape(alive_log_probs[:, :, None] + log_probs, [batch, beam_size * vocab])
        top_log_probs, top_indices = tf.math.top_k(candidates, k=2 * beam_size)
        top_beams = top_indices // vocab
        top_tokens = top_indices % vocab
        here = tf.equal(positions, index)[None, None, :]
        top_seq = tf.where(here, top_tokens[:, :, None], gather_beams(alive_seq, top_beams))
        # Finishing: eos among the first beam_size candidates, of examples not yet done; the
        # extensions of the placeholder beams (log-probability _NEG_INF) are not hypotheses.
        is_eos = tf.equal(top_tokens, eos_id)
        in_beam = tf.range(2 * beam_size)[None, :] < beam_size
        done = tf.reduce_all(finished_flags, axis=1, keepdims=True)
        ends = is_eos & in_beam & (top_log_probs > _NEG_INF / 2) & tf.logical_not(done)

        # Alive: the best beam_size extensions that do not end in eos.
        alive_candidates = top_log_probs + tf.cast(is_eos, tf.float32) * _NEG_INF
        new_alive_log_probs, alive_pick = tf.math.top_k(alive_candidates, k=beam_size)
        new_alive_seq = gather_beams(top_seq, alive_pick)
        source_beams = gather_beams(top_beams, alive_pick)  # [batch, beam]
        flat_sources = tf.reshape(source_beams + tf.range(batch)[:, None] * beam_size, [-1])
        cache = tf.nest.map_structure(lambda tensor: tf.gather(tensor, flat_sources), cache)

        # Finished: the old finished set and the hypotheses that end here, best beam_size kept.
        new_scores = tf.where(ends, top_log_probs / length_penalty(index + 1, alpha), 2 * _NEG_INF)
        all_seq = tf.concat([finished_seq, top_seq], axis=1)
        all_scores = tf.concat([finished_scores, new_scores], axis=1)
        all_flags = tf.concat([finished_flags, ends], axis=1)
        finished_scores, finished_pick = tf.math.top_k(all_scores, k=beam_size)
        finished_seq = gather_beams(all_seq, finished_pick)
        finished_flags = gather_beams(all_flags, finished_pick)
        return index + 1, new_alive_seq, new_alive_log_probs, finished_seq, finished_scores, finished_flags, cache

    def continue_search(index, alive_seq, alive_log_probs, finished_seq, finished_scores, finished_flags, cache):
        return tf.logical_not(tf.reduce_all(finished_flags))

    state = (tf.constant(0), alive_seq, alive_log_probs, finished_seq, finished_scores, finished_flags, cache)
    _, alive_seq, alive_log_probs, finished_seq, finished_scores, finished_flags, _ = tf.while_loop(
        continue_search, body, state, maximum_iterations=length)

    any_finished = tf.reduce_any(finished_flags, axis=1)
    sequences = tf.where(any_finished[:, None, None], finished_seq, alive_seq)
    scores = tf.where(any_finished[:, None], finished_scores, alive_log_probs / length_penalty(length, alpha))
    sequences = _after_eos_to_pad(sequences, eos_id, pad_id)
    sequences = tf.ensure_shape(sequences, [None, beam_size, length])
    if return_all:
        return sequences, scores
    return sequences[:, 0], scores[:, 0]
