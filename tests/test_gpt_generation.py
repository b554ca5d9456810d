"""GPT generation: the KV cache equals full recomputation, each strategy behaves as defined, bad
prompts fail clearly, and the exported SavedModel (core ops only) generates from raw prompts exactly
as Python does."""

import numpy as np
import pytest
import tensorflow as tf

import bertzoo
from bertzoo.export.gpt_generation_serving import export_generation
from bertzoo.families.gpt.gpt_generation import GenerationSettings, GPTGenerator, sample_next
from gpt_cases import write_checkpoint


@pytest.fixture(scope="module")
def gpt(tmp_path_factory):
    return bertzoo.load_pretrained(write_checkpoint("hf_gpt2", tmp_path_factory.mktemp("gpt") / "hf"), seq_length=8)


def recomputed_greedy(decoder, prompt, max_length, end_id=None):
    """Greedy decoding without a cache: the whole prefix through the decoder at every step."""
    ids = list(prompt)
    while len(ids) < max_length:
        x = np.array([ids], np.int32)
        hidden = decoder({"input_word_ids": x, "input_mask": np.ones_like(x), "input_type_ids": 0 * x})
        ids.append(int(np.argmax(decoder.logits(hidden["sequence_output"][:, -1]))))
        if ids[-1] == end_id:
            return ids[:-1]
    return ids


def test_cached_greedy_equals_recomputation(gpt):
    generator = GPTGenerator(gpt.decoder, end_id=None, pad_id=0)
    prompts = [[5, 6, 7], [9, 10, 11, 12, 13, 14], [200]]
    assert generator.generate_ids(prompts, max_length=20) == [recomputed_greedy(gpt.decoder, p, 20) for p in prompts]


def test_generation_stops_at_end_of_text(gpt):
    # Make the end-of-text id the greedy choice after a while: find where greedy goes, call that the end.
    free = GPTGenerator(gpt.decoder, end_id=None).generate_ids([[5, 6, 7]], max_length=12)[0]
    end_id = free[6]
    stopped = GPTGenerator(gpt.decoder, end_id=end_id, pad_id=0).generate_ids([[5, 6, 7]], max_length=12)[0]
    assert stopped == free[: free.index(end_id, 3)]


def reference_beam_search(decoder, prompt, max_length, beams):
    """Beam search by recomputation: every hypothesis through the whole decoder at each step."""
    hypotheses = [(0.0, list(prompt))]
    while len(hypotheses[0][1]) < max_length:
        candidates = []
        for score, ids in hypotheses:
            x = np.array([ids], np.int32)
            hidden = decoder({"input_word_ids": x, "input_mask": np.ones_like(x), "input_type_ids": 0 * x})
            log_probs = tf.nn.log_softmax(decoder.logits(hidden["sequence_output"][:, -1])).numpy()[0]
            candidates += [(score + log_probs[token], ids + [token]) for token in range(len(log_probs))]
        candidates.sort(key=lambda item: -item[0])
        hypotheses = candidates[:beams]
    return hypotheses[0][1]


def test_beam_search_equals_recomputed_beam_search(gpt):
    generator = GPTGenerator(gpt.decoder, end_id=None)
    prompts = [[5, 6, 7], [9, 10, 11, 12]]
    greedy = generator.generate_ids(prompts, max_length=10)
    assert generator.generate_ids(prompts, max_length=10, strategy="beam", num_beams=1) == greedy
    beams = generator.generate_ids(prompts, max_length=10, strategy="beam", num_beams=3)
    assert beams == [reference_beam_search(gpt.decoder, prompt, 10, 3) for prompt in prompts]
    assert beams != greedy  # the test would not tell beam search from greedy otherwise


def test_sampling_filters_and_reproducibility(gpt):
    logits = tf.constant([[3.0, 2.0, 1.0, 0.0, -1.0]] * 400)
    probabilities = tf.nn.softmax(logits[0]).numpy()  # 0.64, 0.23, 0.09, ...
    assert probabilities[0] < 0.8 < probabilities[:2].sum()

    def drawn(**options):
        settings = GenerationSettings(strategy="sample", **options)
        return np.bincount(sample_next(logits, settings, tf.constant([1, 2])).numpy(), minlength=5) / 400

    unfiltered = drawn()
    assert unfiltered[2:].sum() > 0.05  # every token can be drawn
    for options in ({"top_k": 2}, {"top_p": 0.8}):  # both keep exactly the two best tokens
        frequencies = drawn(**options)
        assert frequencies[2:].sum() == 0 and abs(frequencies[0] - probabilities[0] / probabilities[:2].sum()) < 0.07
    assert drawn(temperature=0.05)[0] == 1.0
    generator = GPTGenerator(gpt.decoder, end_id=None)
    options = dict(max_length=16, strategy="sample", top_k=20, top_p=0.9, temperature=0.8)
    first = generator.generate_ids([[5, 6, 7]], seed=3, **options)
    assert generator.generate_ids([[5, 6, 7]], seed=3, **options) == first
    assert any(generator.generate_ids([[5, 6, 7]], seed=s, **options) != first for s in (4, 5, 6))
    # top_k=1 is greedy whatever the temperature.
    assert generator.generate_ids([[5, 6, 7]], max_length=16, strategy="sample", top_k=1, temperature=5.0) == \
        generator.generate_ids([[5, 6, 7]], max_length=16)


def test_bad_prompts_fail_clearly(gpt):
    generator = GPTGenerator(gpt.decoder, gpt.tokenizer, end_id=gpt.end_of_text_id)
    with pytest.raises(bertzoo.ConfigError, match="prompt 0 has 40 tokens, longer than the model's context of 32"):
        generator.generate_ids([list(range(40))], max_length=32)
    with pytest.raises(bertzoo.ConfigError, match="max_length 64 exceeds the model's context of 32"):
        generator.generate_ids([[1, 2]], max_length=64)
    with pytest.raises(ValueError, match="<\\|startoftext\\|>"):
        generator.generate(["hello"], allowed_special={"<|startoftext|>"}, max_length=16)
    # <|endoftext|> in a prompt is text unless allowed.
    assert generator.encode_prompts(["<|endoftext|>"]) != [[gpt.end_of_text_id]]
    assert generator.encode_prompts(["<|endoftext|>"], allowed_special="all") == [[gpt.end_of_text_id]]


def test_exported_savedmodel_generates_as_python(gpt, tmp_path):
    directory = export_generation(gpt, tmp_path / "generate", max_length=24)  # audits its ops
    assert not bertzoo.export.audit_core_ops(directory)
    served = tf.saved_model.load(str(directory)).signatures["serving_default"]
    prompts = ["the theater", " he said", "in the\n\nrain"]
    outputs = served(prompt=tf.constant(prompts))
    generator = GPTGenerator(gpt.decoder, gpt.tokenizer, end_id=gpt.end_of_text_id)
    expected = generator.generate_ids(generator.encode_prompts(prompts), max_length=24)
    for row, ids in enumerate(expected):
        length = int(outputs["lengths"][row])
        assert outputs["token_ids"][row, :length].numpy().tolist() == ids
    texts = [t.decode("utf-8") for t in outputs["text"].numpy()]
    assert texts == generator.generate(prompts, max_length=24)
    with pytest.raises(tf.errors.InvalidArgumentError, match="a prompt is too long"):
        served(prompt=tf.constant(["a" * 40]))


@pytest.mark.slow
def test_generate_command(gpt, tmp_path, capsys):
    from bertzoo.cli import main

    bertzoo.save_pretrained(gpt, tmp_path / "model")
    assert main(["generate", "--pretrained", str(tmp_path / "model"), "--prompt", "the theater", "--prompt", " he",
                 "--max-length", "16", "--output", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    records = [__import__("json").loads(line) for line in (tmp_path / "out" / "generations.jsonl").read_text().splitlines()]
    generator = GPTGenerator(gpt.decoder, gpt.tokenizer, end_id=gpt.end_of_text_id)
    assert [r["continuation"] for r in records] == generator.generate(["the theater", " he"], max_length=16)
    assert f"the theater\u2502{records[0]['continuation']}" in printed
    assert main(["generate", "--pretrained", str(tmp_path / "model"), "--prompt", "x" * 40, "--max-length", "16"]) == 2
    assert "prompt 0 has 40 tokens, longer than the model's context of 32" in capsys.readouterr().err
