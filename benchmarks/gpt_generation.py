"""GPT-2 generation speed: bertzoo's KV-cached generation vs keras-hub's GPT2CausalLM.generate.

Same architecture (random weights), same batch, prompt length and number of new tokens, greedy and
top-p (p=0.9), measured in one interleaved run (round after round, each implementation in turn) so a
loaded machine disturbs both alike; the figures are medians over rounds, and the ratio is the point.
Neither stops early (no end token). Run:

    python -m benchmarks.gpt_generation --layers 4 --hidden 256 --heads 4 --prompt-length 32 --new-tokens 64
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np


def build(config: dict, seed: int = 0):
    import keras
    import keras_hub

    from bertzoo.families.gpt.gpt_config import GPTConfig
    from bertzoo.families.gpt.gpt_decoder import GPTDecoder

    keras.utils.set_random_seed(seed)
    gpt_config = GPTConfig(variant="gpt2", vocab_size=config["vocab"], max_position_embeddings=config["context"],
                           hidden_size=config["hidden"], num_hidden_layers=config["layers"],
                           num_attention_heads=config["heads"], intermediate_size=4 * config["hidden"])
    decoder = GPTDecoder.from_gpt_config(gpt_config)
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=config["vocab"], num_layers=config["layers"], num_heads=config["heads"],
        hidden_dim=config["hidden"], intermediate_dim=4 * config["hidden"], max_sequence_length=config["context"])
    causal_lm = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
    return decoder, causal_lm


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=50257)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--prompt-length", type=int, default=32)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--output", default=None, help="write the results JSON here")
    args = parser.parse_args(argv)

    import keras_hub

    from bertzoo.families.gpt.gpt_generation import GPTGenerator

    max_length = args.prompt_length + args.new_tokens
    config = dict(layers=args.layers, hidden=args.hidden, heads=args.heads, vocab=args.vocab,
                  context=max(1024, max_length))
    decoder, causal_lm = build(config)
    rng = np.random.default_rng(0)
    prompts = rng.integers(0, args.vocab, (args.batch, args.prompt_length)).astype(np.int32)
    generator = GPTGenerator(decoder, end_id=None)
    compiled = GPTGenerator(decoder, end_id=None, jit_compile=True)
    token_ids = np.zeros((args.batch, max_length), np.int32)
    token_ids[:, : args.prompt_length] = prompts
    padding_mask = np.zeros_like(token_ids, dtype=bool)
    padding_mask[:, : args.prompt_length] = True
    keras_hub_inputs = {"token_ids": token_ids, "padding_mask": padding_mask}
    samplers = {"greedy": ("greedy", {}), "top_p": (keras_hub.samplers.TopPSampler(p=0.9, seed=0),
                                                    {"strategy": "sample", "top_p": 0.9})}

    def ours(options, which=generator):
        return lambda: which.generate_ids(prompts.tolist(), max_length=max_length, **options)

    def theirs(sampler):
        # One GPT2CausalLM per sampler (sharing the backbone), compiled once: its generate function is
        # traced on the first call and reused, as ours is.
        model = keras_hub.models.GPT2CausalLM(backbone=causal_lm.backbone, preprocessor=None)
        model.compile(sampler=sampler)
        return lambda: model.generate(keras_hub_inputs, stop_token_ids=None)

    runs = {}
    for name, (sampler, options) in samplers.items():
        runs[f"bertzoo/{name}"] = ours(options)
        runs[f"bertzoo_xla/{name}"] = ours(options, compiled)
        runs[f"keras_hub/{name}"] = theirs(sampler)
    for run in runs.values():  # compile / trace once
        run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    new_tokens = args.batch * args.new_tokens
    results = {"config": dict(config, batch=args.batch, prompt_length=args.prompt_length, new_tokens=args.new_tokens,
                              rounds=args.rounds),
               "tokens_per_s": {name: new_tokens / statistics.median(t) for name, t in times.items()},
               "note": "one interleaved run on a shared, loaded CPU machine: compare the ratios, not the absolutes"}
    results["speedup_vs_keras_hub"] = {
        f"{ours_name}/{name}": results["tokens_per_s"][f"{ours_name}/{name}"] / results["tokens_per_s"][f"keras_hub/{name}"]
        for name in samplers for ours_name in ("bertzoo", "bertzoo_xla")}
    print(json.dumps(results, indent=2))
    if args.output:
        with open(args.output, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
