"""Text generation with a GPT decoder and its key/value cache: greedy, sampling (temperature, top-k,
top-p) and beam search, stopping at end-of-text.

``generate_ids`` is one TensorFlow graph of core ops (a ``tf.while_loop`` over positions, each step
running the decoder on one new token against the cache), so the same function runs in Python and
inside an exported SavedModel, and greedy output is the same token for token. Prompts are
right-padded into a fixed ``[batch, max_length]`` buffer: positions before a row's prompt length
keep the prompt, later ones are generated. Sampling is reproducible: each step draws with
``tf.random.stateless_categorical`` seeded by ``(seed, position)``.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import tensorflow as tf

from bertzoo.errors import ConfigError

STRATEGIES = ("greedy", "sample", "beam")
_NEG_INF = -1e9


@dataclasses.dataclass(frozen=True)
class GenerationSettings:
    """How to pick each next token.

    Attributes:
        strategy: ``"greedy"`` (argmax), ``"sample"`` (temperature, then top-k, then top-p) or
            ``"beam"`` (``num_beams`` hypotheses, highest total log-probability, no length penalty).
        max_length: total tokens per row, prompt included (a fixed buffer; at most the context).
        temperature, top_k (0: off), top_p (1.0: off): sampling filters.
        num_beams: beam width.
        end_id: generation of a row stops after this token (None: never stops early).
        pad_id: written after a row has ended.
        seed: sampling seed.
        vocabulary_size: only ids below it are generated (the tokenizer's size, when the embedding
            table has more rows, e.g. padded or GPT-1's special tokens); None: every row.
    """

    strategy: str = "greedy"
    max_length: int = 64
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    num_beams: int = 4
    end_id: int | None = None
    pad_id: int = 0
    seed: int = 0
    vocabulary_size: int | None = None

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"generation strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.temperature <= 0:
            raise ConfigError(f"temperature must be positive, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0 or self.num_beams < 1 or self.max_length < 2:
            raise ConfigError("top_k must be >= 0, num_beams >= 1 and max_length >= 2")


def sample_next(logits: tf.Tensor, settings: "GenerationSettings", seed: tf.Tensor) -> tf.Tensor:
    """One token per row: temperature, then top-k (the k best), then top-p (the smallest set of the
    best tokens whose probability reaches p, renormalised), then a draw seeded by ``seed`` ``[2]``.

    Filtering and the draw happen on the sorted candidates (one ``top_k``), then map back to ids.
    """
    logits = tf.cast(logits, tf.float32) / settings.temperature
    if not settings.top_k and settings.top_p >= 1.0:
        return tf.cast(tf.random.stateless_categorical(logits, 1, seed=seed)[:, 0], tf.int32)
    k = settings.top_k or tf.shape(logits)[-1]
    values, indices = tf.math.top_k(logits, k=k)
    if settings.top_p < 1.0:
        before = tf.math.cumsum(tf.nn.softmax(values, axis=-1), axis=-1, exclusive=True)
        values = tf.where(before < settings.top_p, values, _NEG_INF)
    chosen = tf.random.stateless_categorical(values, 1, seed=seed, dtype=tf.int32)
    return tf.gather(indices, chosen, batch_dims=1)[:, 0]


def _write_column(tokens: tf.Tensor, index, values: tf.Tensor) -> tf.Tensor:
    """``tokens[:, index] = values`` without a scatter (a one-hot blend)."""
    column = tf.one_hot(index, tf.shape(tokens)[-1], on_value=True, off_value=False, dtype=tf.bool)
    return tf.where(column, values[..., None], tokens)


def check_prompt_lengths(lengths: Sequence[int], max_length: int, context: int) -> None:
    """Host-side checks with clear messages: a prompt longer than the context or the buffer, an empty one."""
    if max_length > context:
        raise ConfigError(f"max_length {max_length} exceeds the model's context of {context} tokens")
    for row, length in enumerate(lengths):
        if length > context:
            raise ConfigError(f"prompt {row} has {length} tokens, longer than the model's context of {context}")
        if length >= max_length:
            raise ConfigError(f"prompt {row} has {length} tokens: no room to generate within max_length {max_length}")
        if length < 1:
            raise ConfigError(f"prompt {row} is empty: start it with a token (GPT-2: <|endoftext|>)")


def generate_ids(decoder, prompt_ids: tf.Tensor, prompt_lengths: tf.Tensor, settings: GenerationSettings):
    """Continues right-padded prompts ``[batch, <= max_length]`` of ``prompt_lengths`` tokens.

    Returns:
        ``(token_ids [batch, max_length], lengths [batch])``: each row's prompt and continuation
        (``lengths`` counts them; an end-of-text token is not counted, padding follows it).
    """
    if settings.strategy == "beam":
        return _beam_search(decoder, prompt_ids, prompt_lengths, settings)
    max_length = settings.max_length
    prompt_ids = tf.cast(prompt_ids, tf.int32)
    prompt_lengths = tf.cast(prompt_lengths, tf.int32)
    batch = tf.shape(prompt_ids)[0]
    tokens = tf.pad(prompt_ids, [[0, 0], [0, max_length - tf.shape(prompt_ids)[1]]],
                    constant_values=settings.pad_id)
    start = tf.reduce_min(prompt_lengths)
    cache = decoder.initial_cache(batch, max_length)
    # Prefill in one pass over the whole buffer (a static shape, so XLA can compile it): the cache
    # then holds every prompt position; later positions are overwritten before they are attended to.
    _, cache = decoder.decode(tokens, cache, 0)
    end_id = -1 if settings.end_id is None else settings.end_id

    def step(index, tokens, cache, done):
        hidden, cache = decoder.decode(tokens[:, index - 1: index], cache, index - 1)
        logits = _restrict(decoder.logits(hidden[:, 0]), settings)
        if settings.strategy == "greedy":
            chosen = tf.argmax(logits, axis=-1, output_type=tf.int32)
        else:
            chosen = sample_next(logits, settings, tf.stack([tf.constant(settings.seed, tf.int32), index]))
        in_prompt = index < prompt_lengths
        chosen = tf.where(done, settings.pad_id, chosen)
        chosen = tf.where(in_prompt, tokens[:, index], chosen)
        tokens = _write_column(tokens, index, chosen)
        done = done | (~in_prompt & tf.equal(chosen, end_id))
        return index + 1, tokens, cache, done

    def keep_going(index, tokens, cache, done):
        return (index < max_length) & ~tf.reduce_all(done)

    done = tf.zeros([batch], tf.bool)
    _, tokens, _, _ = tf.while_loop(keep_going, step, (start, tokens, cache, done))
    return tokens, _lengths(tokens, prompt_lengths, end_id, settings.pad_id, max_length)


def _restrict(logits, settings: GenerationSettings):
    return logits if settings.vocabulary_size is None else logits[:, : settings.vocabulary_size]


def _lengths(tokens, prompt_lengths, end_id, pad_id, max_length):
    """Tokens before the first generated end-of-text (all of them when there is none)."""
    positions = tf.range(max_length)[None, :]
    generated = positions >= prompt_lengths[:, None]
    ended = generated & tf.equal(tokens, end_id)
    first_end = tf.reduce_min(tf.where(ended, positions, max_length), axis=1)
    return first_end


def _beam_search(decoder, prompt_ids, prompt_lengths, settings: GenerationSettings):
    """Beam search with the cache: ``num_beams`` hypotheses per row; finished beams extend with
    padding at no cost; the highest total log-probability wins."""
    beams, max_length = settings.num_beams, settings.max_length
    prompt_ids = tf.cast(prompt_ids, tf.int32)
    prompt_lengths = tf.cast(prompt_lengths, tf.int32)
    batch = tf.shape(prompt_ids)[0]
    end_id = -1 if settings.end_id is None else settings.end_id
    tokens = tf.pad(prompt_ids, [[0, 0], [0, max_length - tf.shape(prompt_ids)[1]]], constant_values=settings.pad_id)
    tokens = tf.repeat(tokens[:, None], beams, axis=1)  # [batch, beams, max_length]
    start = tf.reduce_min(prompt_lengths)
    cache = decoder.initial_cache(batch * beams, max_length)
    _, cache = decoder.decode(tf.reshape(tokens, [-1, max_length]), cache, 0)
    # Only the first beam is live at the start, so the first expansion does not repeat hypotheses.
    scores = tf.tile(tf.constant([0.0] + [_NEG_INF] * (beams - 1))[None], [batch, 1])
    done = tf.zeros([batch, beams], tf.bool)
    in_prompt_rows = prompt_lengths[:, None]

    def step(index, tokens, cache, scores, done):
        flat = tf.reshape(tokens, [-1, max_length])
        hidden, cache = decoder.decode(flat[:, index - 1: index], cache, index - 1)
        log_probs = tf.nn.log_softmax(_restrict(decoder.logits(hidden[:, 0]), settings), axis=-1)
        vocab = tf.shape(log_probs)[-1]
        log_probs = tf.reshape(log_probs, [batch, beams, vocab])
        # A finished beam continues with padding only, its score unchanged.
        pad_only = tf.one_hot(settings.pad_id, vocab, on_value=0.0, off_value=_NEG_INF)
        log_probs = tf.where(done[..., None], pad_only[None, None], log_probs)
        candidates = tf.reshape(scores[..., None] + log_probs, [batch, beams * vocab])
        best_scores, best = tf.math.top_k(candidates, k=beams)
        source_beam, chosen = best // vocab, best % vocab
        in_prompt = index < in_prompt_rows  # [batch, 1]
        # Inside a row's prompt nothing is chosen: beams keep their places and take the prompt token.
        identity = tf.tile(tf.range(beams)[None], [batch, 1])
        source_beam = tf.where(in_prompt, identity, source_beam)
        scores = tf.where(in_prompt, scores, best_scores)
        tokens = tf.gather(tokens, source_beam, batch_dims=1)
        done = tf.gather(done, source_beam, batch_dims=1)
        chosen = tf.where(in_prompt, tokens[:, :, index], chosen)
        tokens = _write_column(tokens, index, chosen)
        done = done | (~in_prompt & tf.equal(chosen, end_id))
        flat_source = tf.reshape(source_beam + tf.range(batch)[:, None] * beams, [-1])
        cache = tf.gather(cache, flat_source, axis=1)
        return index + 1, tokens, cache, scores, done

    def keep_going(index, tokens, cache, scores, done):
        return (index < max_length) & ~tf.reduce_all(done)

    _, tokens, _, scores, _ = tf.while_loop(keep_going, step, (start, tokens, cache, scores, done))
    best = tf.argmax(scores, axis=1, output_type=tf.int32)
    tokens = tf.gather(tokens, best, batch_dims=1)
    return tokens, _lengths(tokens, prompt_lengths, end_id, settings.pad_id, max_length)


class GPTGenerator:
    """Generation from Python: prompts (strings, or lists of ids) -> continuations.

    Args:
        decoder: a ``GPTDecoder``.
        tokenizer: its tokenizer (needed for string prompts).
        end_id: end-of-text id (GPT-2: ``tokenizer.end_of_text_id``); None never stops early.
        pad_id: written after a row ends (default: ``end_id``, else 0).
        jit_compile: compile generation with XLA (faster on CPU and GPU; float results may differ
            from the uncompiled graph in the last bits, so a near-tie can pick another token).

    Example:
        >>> generator = GPTGenerator(gpt.decoder, gpt.tokenizer, end_id=gpt.end_of_text_id)
        >>> generator.generate(["The meaning of life is"], max_length=32, strategy="sample", top_p=0.9)
    """

    def __init__(self, decoder, tokenizer=None, end_id: int | None = None, pad_id: int | None = None,
                 jit_compile: bool = False):
        self.decoder = decoder
        self.jit_compile = jit_compile
        self.tokenizer = tokenizer
        self.end_id = end_id
        self.pad_id = pad_id if pad_id is not None else (end_id if end_id is not None else 0)
        self._compiled: dict = {}

    def _function(self, settings: GenerationSettings):
        if settings not in self._compiled:
            self._compiled[settings] = tf.function(
                lambda ids, lengths: generate_ids(self.decoder, ids, lengths, settings), reduce_retracing=True,
                jit_compile=self.jit_compile)
        return self._compiled[settings]

    def encode_prompts(self, prompts, allowed_special=None) -> list[list[int]]:
        if prompts and isinstance(prompts[0], str):
            if self.tokenizer is None:
                raise ConfigError("string prompts need a tokenizer (this checkpoint has no tokenizer files); "
                                  "pass token ids instead")
            kwargs = {} if allowed_special is None else {"allowed_special": allowed_special}
            return [list(self.tokenizer.encode(text, **kwargs)) for text in prompts]
        return [[int(i) for i in row] for row in prompts]

    def generate_ids(self, prompts: Sequence[Sequence[int]], **options) -> list[list[int]]:
        """Id prompts -> each row's prompt + continuation ids (end-of-text excluded)."""
        vocabulary_size = None if self.tokenizer is None else min(self.tokenizer.vocabulary_size,
                                                                   self.decoder.vocab_size)
        settings = GenerationSettings(end_id=self.end_id, pad_id=self.pad_id, vocabulary_size=vocabulary_size,
                                      **options)
        lengths = [len(row) for row in prompts]
        check_prompt_lengths(lengths, settings.max_length, self.decoder.max_position_embeddings)
        width = max(lengths)
        padded = np.full((len(prompts), width), self.pad_id, np.int32)
        for row, ids in enumerate(prompts):
            padded[row, : len(ids)] = ids
        tokens, total = self._function(settings)(tf.constant(padded), tf.constant(lengths, tf.int32))
        return [row[:n].tolist() for row, n in zip(tokens.numpy(), total.numpy())]

    def generate(self, prompts, allowed_special=None, **options) -> list:
        """Strings -> continuation texts (prompt excluded); id lists -> prompt + continuation ids."""
        as_text = bool(prompts) and isinstance(prompts[0], str)
        encoded = self.encode_prompts(list(prompts), allowed_special)
        outputs = self.generate_ids(encoded, **options)
        if not as_text:
            return outputs
        return [self.tokenizer.decode(ids[len(prompt):]) for ids, prompt in zip(outputs, encoded)]
