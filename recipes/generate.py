"""Recipe `bertzoo generate`: continue prompts with a GPT (greedy, sampling or beam search).

Loads any GPT checkpoint (OpenAI's, Hugging Face's, bertzoo's), tokenizes the prompts, generates with
the KV cache until end-of-text or `max_length` tokens, and prints each continuation; with --output
also writes `generations.jsonl` (prompt, continuation, token ids) there. With --export it also writes
a SavedModel that does the same from raw prompts in core TensorFlow ops (`export_generation`).
"""

from __future__ import annotations

import json
import pathlib
from typing import Sequence

from bertzoo.errors import ConfigError
from bertzoo.families.gpt.gpt_generation import GPTGenerator
from bertzoo.pretrained import load_pretrained


def read_prompts(prompts: Sequence[str] | None, prompts_file: str | None) -> list[str]:
    """``--prompt`` values, then the lines of ``--prompts-file`` (``\\n`` in a line is a newline)."""
    found = list(prompts or [])
    if prompts_file:
        path = pathlib.Path(prompts_file)
        if not path.is_file():
            raise FileNotFoundError(f"--prompts-file {path}: no such file")
        found += [line.replace("\\n", "\n") for line in path.read_text(encoding="utf-8").splitlines() if line]
    if not found:
        raise ConfigError("no prompts: pass --prompt TEXT (repeatable) or --prompts-file FILE")
    return found


def run(*, pretrained: str, prompts: Sequence[str] | None = None, prompts_file: str | None = None,
        max_length: int = 64, strategy: str = "greedy", temperature: float = 1.0, top_k: int = 0,
        top_p: float = 1.0, num_beams: int = 4, seed: int = 0, allowed_special: str | None = None,
        output: str | None = None, export: str | None = None, verbose: bool = True) -> list[dict]:
    """Generates a continuation for each prompt; returns ``[{prompt, continuation, token_ids}]``."""
    texts = read_prompts(prompts, prompts_file)
    gpt = load_pretrained(pretrained, seq_length=min(max_length, 128))
    if gpt.family != "gpt":
        raise ConfigError(f"--pretrained {pretrained} is a {gpt.family} model; generation needs a GPT")
    if gpt.tokenizer is None:
        raise ConfigError(f"--pretrained {pretrained} has no tokenizer files, so text prompts cannot be encoded")
    generator = GPTGenerator(gpt.decoder, gpt.tokenizer, end_id=gpt.end_of_text_id)
    special = None if allowed_special is None else (
        "all" if allowed_special == "all" else {name.strip() for name in allowed_special.split(",")})
    encoded = generator.encode_prompts(texts, special)
    options = dict(max_length=max_length, strategy=strategy, temperature=temperature, top_k=top_k, top_p=top_p,
                   num_beams=num_beams, seed=seed)
    outputs = generator.generate_ids(encoded, **options)
    results = []
    for text, prompt_ids, ids in zip(texts, encoded, outputs):
        continuation = gpt.tokenizer.decode(ids[len(prompt_ids):])
        results.append({"prompt": text, "continuation": continuation, "token_ids": ids})
        if verbose:
            print(f"{text}\u2502{continuation}", flush=True)
    if output:
        out_dir = pathlib.Path(output)
        out_dir.mkdir(parents=True, exist_ok=True)
        with open(out_dir / "generations.jsonl", "w", encoding="utf-8") as f:
            for record in results:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
    if export:
        from bertzoo.export.gpt_generation_serving import export_generation

        export_generation(gpt, export, **options)
        if verbose:
            print(f"wrote {export} (SavedModel: serving_default(prompt) -> text, token_ids, lengths)", flush=True)
    return results
