"""Recipe `bertzoo convert SRC DST`: any supported checkpoint -> bertzoo's own format, verified.

After writing, the converted checkpoint is read back and run on a probe text; the largest
difference from the source encoder's output is printed (and must be 0: the weights are copied).
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

import bertzoo

PROBE_LENGTH = 16  # fits every BERT's position table, even tiny test models
PROBE_TEXTS = ["The quick brown fox jumps over the lazy dog.", "BERT reads text in both directions."]


def run(source: str, destination: str, overwrite: bool = False, do_lower_case: bool | None = None) -> dict:
    """Converts ``source`` to bertzoo's format in ``destination``; returns a summary dict."""
    print(f"reading {source} ...", flush=True)
    bert = bertzoo.load_pretrained(source, seq_length=PROBE_LENGTH, do_lower_case=do_lower_case)
    config = bert.config
    print(f"  format: {bert.format}; {config.num_hidden_layers} layers, hidden {config.hidden_size}, "
          f"{config.num_attention_heads} heads, vocab {config.vocab_size}, activation {config.hidden_act}, "
          f"{'uncased' if config.do_lower_case else 'cased'}")
    if bert.pretraining_weights:
        print(f"  pretraining heads: {len(bert.pretraining_weights)} weights kept (cls/...)")
    if bert.unused_weights:
        print(f"  not used: {len(bert.unused_weights)} entries (optimizer slots, buffers, ...)")
    out = bertzoo.save_pretrained(bert, destination, overwrite=overwrite)
    print(f"wrote {out}", flush=True)

    reloaded = bertzoo.load_pretrained(out, seq_length=PROBE_LENGTH)
    inputs = bert.preprocessor(PROBE_TEXTS)
    difference = float(np.max(np.abs(
        np.asarray(bert.encoder(inputs)["sequence_output"])
        - np.asarray(reloaded.encoder(reloaded.preprocessor(PROBE_TEXTS))["sequence_output"]))))
    print(f"verified: reloaded encoder output differs by {difference:.3g} (max abs)")
    summary = {
        "source": str(source),
        "source_format": bert.format,
        "destination": str(out),
        "config": config.to_dict(),
        "pretraining_head_weights": len(bert.pretraining_weights),
        "unused_weights": list(bert.unused_weights),
        "verification_max_abs_difference": difference,
    }
    (pathlib.Path(out) / "conversion.json").write_text(json.dumps(summary, indent=2) + "\n")
    if difference != 0.0:
        raise RuntimeError(f"converted checkpoint does not reproduce the source (max abs diff {difference})")
    return summary
