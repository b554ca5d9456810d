"""bertzoo's speed against KerasHub and Hugging Face (torch) on this machine, and against the matmul ceiling.

    python -m benchmarks.run            # the full table (about 10 minutes on 2 quiet cores)
    python -m benchmarks.run --quick    # small config, batch 8: a minute or two

Measures, in one process on the same shapes and random inputs: encoder inference throughput,
a fine-tuning train step, and tokenization + packing of real sentences. Implementations of one
comparison run interleaved (A/B/C, A/B/C, ...) after warm-up and the median repetition is reported,
so ratios are taken under the same machine load. The reference for "how close to the hardware" is
TensorFlow's own matmul, measured in the same run per precision at the start and at the end (the
higher figure is the ceiling); the clock-based peak is printed for information only. Prints a Markdown
table and writes every record to a JSON file (``benchmarks/results/`` by default). See
benchmarks/README.md for the method.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import pathlib
import platform
import sys
import time

import keras
import tensorflow as tf

from benchmarks import flops, models, timing, tokenization
from bertzoo.families.bert.bert_config import BertConfig

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
TASKS = ("inference", "train", "tokenize")
BASELINE = "keras_hub"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; ``--quick`` narrows the defaults to one small, fast comparison."""
    def names(text: str) -> list[str]:
        return [name.strip() for name in text.split(",") if name.strip()]

    def numbers(text: str) -> list[int]:
        return [int(name) for name in names(text)]

    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="small config, batch 8, graph + xla, 3 repetitions (overrides the defaults below)")
    parser.add_argument("--tasks", type=names, default=list(TASKS), help=f"comma-separated, of {TASKS}")
    parser.add_argument("--configs", type=names, default=["base", "small"], help="BertConfig presets")
    parser.add_argument("--batches", type=numbers, default=[8, 32],
                        help="inference batch sizes; the modes other than graph run for the last config at "
                             "the first batch size only")
    parser.add_argument("--train-batches", type=numbers, default=[8], help="train batch sizes")
    parser.add_argument("--seq-length", type=int, default=128)
    parser.add_argument("--precisions", type=names, default=list(models.PRECISIONS),
                        help=f"of {models.PRECISIONS}; bfloat16 (weights stored in bfloat16, as one serves a "
                             "model) is measured in inference only")
    parser.add_argument("--modes", type=names, default=list(models.MODES),
                        help="eager, graph (tf.function), xla (jit_compile=True); training runs graph and xla "
                             "of these; torch runs eager")
    parser.add_argument("--impls", type=names, default=list(models.IMPLS), help=f"of {models.IMPLS}")
    parser.add_argument("--tokenizers", type=names, default=list(tokenization.TOKENIZERS),
                        help=f"of {tuple(tokenization.TOKENIZERS)}")
    parser.add_argument("--sentences", type=int, default=40_000,
                        help="sentences to tokenize per pass (rounded down to whole batches)")
    parser.add_argument("--tokenize-batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3, help="timed repetitions (median reported)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls first (tracing, compiling)")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="shortest timed repetition")
    parser.add_argument("--ceiling-seconds", type=float, default=2.0,
                        help="seconds per matmul shape when measuring the ceiling (at the start and the end)")
    parser.add_argument("--cpu-ghz", type=float, default=None, help="clock for the peak (default: cpufreq's maximum, a known part's boost, "
                             "or /proc/cpuinfo)")
    parser.add_argument("--output", type=pathlib.Path, default=None,
                        help="JSON file to write (default: benchmarks/results/<date>-<time>.json)")
    args = parser.parse_args(argv)
    if args.quick:
        defaults = parser.parse_args([])
        for name, value in dict(configs=["small"], batches=[8], modes=["graph", "xla"], min_seconds=0.5,
                                sentences=10_000, ceiling_seconds=0.5).items():
            if getattr(args, name) == getattr(defaults, name):
                setattr(args, name, value)
    unknown = (set(args.tasks) - set(TASKS)) | (set(args.impls) - set(models.IMPLS)) | (
        set(args.modes) - set(models.MODES)) | (set(args.tokenizers) - set(tokenization.TOKENIZERS)) | (
        set(args.precisions) - set(models.PRECISIONS))
    if unknown:
        parser.error(f"unknown choices: {sorted(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark, prints the tables, writes the JSON file; returns the exit status."""
    args = parse_args(argv)
    # Each comparison makes new tf.functions by design; TensorFlow would warn about "retracing".
    tf.get_logger().setLevel("ERROR")
    impls = [impl for impl in args.impls if impl != "hf_torch" or models.torch_available()]
    if len(impls) < len(args.impls):
        print("torch/transformers not installed (the `parity` extra): hf_torch skipped", flush=True)
    peak = flops.cpu_peak(args.cpu_ghz)
    machine = describe_machine(peak, args.precisions, seconds=args.ceiling_seconds)
    print(f"{machine['cpu']}, load average {machine['load_average_start']}\n"
          f"TensorFlow matmul (GFLOP/s, per shape): {machine['matmul_gflops_start']}\n"
          f"peak, for information: {peak.derivation}", flush=True)
    started = time.perf_counter()
    records: list[dict] = []
    if "inference" in args.tasks:
        records += run_inference(args, impls)
    if "train" in args.tasks:
        records += run_training(args, impls)
    if "tokenize" in args.tasks:
        tokenize_records, machine["sentences"] = run_tokenization(args)
        records += tokenize_records
    machine["matmul_gflops_end"] = {p: flops.measure_matmul_ceiling(p, args.ceiling_seconds) for p in args.precisions}
    machine["ceiling_gflops"] = ceiling = {
        p: max([*machine["matmul_gflops_start"][p].values(), *machine["matmul_gflops_end"][p].values()])
        for p in args.precisions}
    machine["peak_note"] = peak_note(peak, ceiling)
    add_fractions(records, ceiling, peak)
    add_ratios(records)
    machine["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    machine["wall_seconds"] = round(time.perf_counter() - started, 1)
    command = "python -m benchmarks.run " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"\n`{command}` on {machine['cpu']} ({peak.cores} cores), load average "
          f"{machine['load_average_start']} -> {machine['load_average_end']}, {machine['wall_seconds']} s")
    print("ceiling (best TensorFlow matmul, start and end of the run): "
          + ", ".join(f"{p} {g} GFLOP/s" for p, g in ceiling.items()))
    print(f"{machine['peak_note']}\n")
    if "sentences" in machine:
        print(f"tokenization text: {machine['sentences']}\n")
    print(summary_table(records))
    print()
    print(records_table(records))
    output = args.output or RESULTS / f"{datetime.datetime.now():%Y%m%d-%H%M%S}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({"command": command, "machine": machine, "args": _jsonable(vars(args)),
                                  "records": records}, indent=1) + "\n")
    print(f"\nwrote {output}")
    return 0


def describe_machine(peak: flops.CpuPeak, precisions: list[str], seconds: float = 1.0) -> dict:
    """The CPU, the matmul ceiling measured now (per precision and shape), the clock-based peak and how
    it was derived, library versions, the load."""
    import keras_hub

    versions = {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
                "keras_hub": keras_hub.__version__}
    if models.torch_available():
        import torch
        import transformers

        versions.update(torch=torch.__version__, transformers=transformers.__version__)
    load = [round(x, 2) for x in os.getloadavg()]
    return {
        "cpu": peak.cpu, "cores": peak.cores, "ghz": peak.ghz,
        "matmul_gflops_start": {p: flops.measure_matmul_ceiling(p, seconds) for p in precisions},
        "peak_gflops": {p: round(peak.gflops(p), 1) for p in precisions}, "peak_derivation": peak.derivation,
        "load_average_start": load, "versions": versions,
    }


def peak_note(peak: flops.CpuPeak, ceiling: dict[str, float]) -> str:
    """What the clock-based peak is worth next to the measured ceiling."""
    above = [p for p, gflops in ceiling.items() if gflops > peak.gflops(p)]
    if above:
        return (f"The clock-based peak ({', '.join(f'{p} {peak.gflops(p):.0f}' for p in above)} GFLOP/s) is below "
                f"what the matmul measured: the CPU model and clock this machine reports are not the hardware's, "
                f"so the peak is not a bound here; percentages use the measured ceiling.")
    shares = ", ".join(f"{p} {100 * g / peak.gflops(p):.0f}%" for p, g in ceiling.items())
    return f"The measured ceiling is {shares} of the clock-based peak; percentages use the measured ceiling."


def add_fractions(records: list[dict], ceiling: dict[str, float], peak: flops.CpuPeak) -> None:
    """``fraction_of_ceiling`` (the reference) and ``fraction_of_peak`` (information) of each record
    with a FLOP count."""
    for record in records:
        if "gflops" in record:
            record["fraction_of_ceiling"] = round(record["gflops"] / ceiling[record["precision"]], 4)
            record["fraction_of_peak"] = round(record["gflops"] / peak.gflops(record["precision"]), 4)


def run_inference(args: argparse.Namespace, impls: list[str]) -> list[dict]:
    """Encoder forward passes: every impl x mode of one (config, precision, batch) interleaved."""
    records = []
    for config_name in args.configs:
        config = BertConfig.preset(config_name)
        forward_flops = flops.encoder_flops_per_sequence(
            config.hidden_size, config.num_hidden_layers, config.intermediate_size, args.seq_length)
        for precision in args.precisions:
            encoders = {impl: models.build_encoder(impl, config, precision) for impl in impls}
            for batch in args.batches:
                data = models.random_batch(config, batch, args.seq_length)
                modes = _modes_at(config_name, batch, args.configs, args.batches, args.modes)
                candidates = {(impl, mode): models.inference_step(impl, encoders[impl], data, mode, precision)
                              for impl in impls for mode in models.modes_of(impl, modes)}
                records += _measure("inference", config_name, batch, precision, candidates, forward_flops, args)
                del candidates  # the steps hold traced functions and XLA executables
            del encoders
            _release()
    return records


def run_training(args: argparse.Namespace, impls: list[str]) -> list[dict]:
    """Fine-tuning steps (classifier, AdamW): every impl x mode of one shape interleaved."""
    records = []
    train_modes = [mode for mode in models.TRAIN_MODES if mode in args.modes] or ["graph"]
    for config_name in args.configs:
        config = BertConfig.preset(config_name)
        step_flops = flops.train_flops_per_sequence(flops.encoder_flops_per_sequence(
            config.hidden_size, config.num_hidden_layers, config.intermediate_size, args.seq_length))
        for precision in [p for p in args.precisions if p in models.TRAIN_PRECISIONS]:
            for batch in args.train_batches:
                data = models.random_batch(config, batch, args.seq_length)
                modes = _modes_at(config_name, batch, args.configs, args.train_batches, train_modes)
                candidates = {(impl, mode): models.build_train_step(impl, config, data, mode, precision)
                              for impl in impls for mode in models.modes_of(impl, modes)}
                records += _measure("train", config_name, batch, precision, candidates, step_flops, args)
                del candidates
                _release()
    return records


def run_tokenization(args: argparse.Namespace) -> tuple[list[dict], dict]:
    """Tokenization + packing of the same real sentences by each tokenizer, interleaved, at steady
    state (one iterator per tokenizer, a whole untimed pass first), and each ``tf.data`` pipeline's
    start-up on its own; also returns the text's length mix."""
    sentences = tokenization.load_sentences(args.sentences)
    # Whole batches, so that every pass over the repeated data is the same sentences.
    sentences = sentences[:len(sentences) - len(sentences) % args.tokenize_batch] or sentences
    impls = [impl for impl in args.tokenizers if tokenization.available(impl)]
    if len(impls) < len(args.tokenizers):
        print("the `tokenizers` package is not installed: hf_tokenizers skipped", flush=True)
    mix = tokenization.length_mix(sentences, args.seq_length)
    print(f"[tokenize] {len(sentences)} sentences ({mix}), seq {args.seq_length}: {', '.join(impls)}", flush=True)
    candidates = {impl: tokenization.tokenization_step(impl, sentences, args.seq_length, args.tokenize_batch)
                  for impl in impls}
    seconds = timing.time_interleaved(candidates, repeats=args.repeats, warmup=max(args.warmup, 1),
                                      min_seconds=args.min_seconds)
    records = []
    for impl in impls:
        rate = len(sentences) / seconds[impl]
        startup = tokenization.first_batch_seconds(candidates[impl], repeats=args.repeats)
        records.append({"impl": impl, "task": "tokenize", "config": "bert-base-uncased vocab",
                        "batch": args.tokenize_batch, "seq_length": args.seq_length, "precision": None,
                        "mode": tokenization.TOKENIZERS[impl].how, "jit_compile": False,
                        "google_exact": tokenization.TOKENIZERS[impl].google_exact,
                        "sentences_per_second": round(rate, 1),
                        "first_batch_ms": None if startup is None else round(1e3 * startup, 1)})
        started = "" if startup is None else f", a fresh iterator's first batch in {1e3 * startup:,.0f} ms"
        print(f"    {impl:>18}: {rate:10,.0f} sentences/s{started}", flush=True)
    return records, mix


def _measure(task: str, config_name: str, batch: int, precision: str, candidates: dict, flops_per_sequence: int,
             args: argparse.Namespace) -> list[dict]:
    names = {f"{impl}/{mode}": step for (impl, mode), step in candidates.items()}
    print(f"[{task}] {config_name} batch {batch} seq {args.seq_length} {precision}: {', '.join(names)}", flush=True)
    started = time.perf_counter()
    seconds = timing.time_interleaved(names, repeats=args.repeats, warmup=args.warmup, min_seconds=args.min_seconds)
    print(f"    ({time.perf_counter() - started:.0f} s, load average {os.getloadavg()[0]:.2f})", flush=True)
    records = []
    for (impl, mode) in candidates:
        rate = batch / seconds[f"{impl}/{mode}"]
        gflops = rate * flops_per_sequence / 1e9
        records.append({
            "impl": impl, "task": task, "config": config_name, "batch": batch, "seq_length": args.seq_length,
            "precision": precision, "mode": mode, "jit_compile": mode == "xla",
            "sequences_per_second": round(rate, 3), "flops_per_sequence": flops_per_sequence,
            "gflops": round(gflops, 2)})
        print(f"    {impl:>10} {mode:>5}: {rate:8.2f} seq/s  {gflops:7.1f} GFLOP/s", flush=True)
    return records


def add_ratios(records: list[dict]) -> None:
    """``vs_baseline``: throughput over KerasHub's in the same shape and mode (over its best mode for
    torch's eager); for a tokenizer, over KerasHub's BERT preprocessor (else bertzoo's own path)."""
    def shape(record):
        return record["task"], record["config"], record["batch"], record["precision"]

    for record in records:
        rate_key = "sentences_per_second" if record["task"] == "tokenize" else "sequences_per_second"
        if record["task"] == "tokenize":
            tokenizers = {r["impl"]: r for r in records if r["task"] == "tokenize"}
            baselines = [tokenizers[name] for name in (BASELINE, "bertzoo") if name in tokenizers][:1]
        else:
            peers = [r for r in records if shape(r) == shape(record) and r["impl"] == BASELINE]
            same_mode = [r for r in peers if r["mode"] == record["mode"]]
            baselines = same_mode or sorted(peers, key=lambda r: -r[rate_key])[:1]
        record["vs_baseline"] = round(record[rate_key] / baselines[0][rate_key], 3) if baselines else None


def summary_table(records: list[dict]) -> str:
    """Per shape: each impl's best mode, and bertzoo's best over KerasHub's best."""
    rows = ["| task | config | batch | precision | bertzoo best (seq/s) | KerasHub best | HF torch | "
            "bertzoo / KerasHub | bertzoo % of ceiling |", "|" + "---|" * 9]
    shapes = sorted({(r["task"], r["config"], r["batch"], r["precision"]) for r in records if r["task"] != "tokenize"},
                    key=lambda s: (TASKS.index(s[0]), s[1], _precision_order(s[3]), s[2]))
    for shape in shapes:
        best = {}
        for record in records:
            if (record["task"], record["config"], record["batch"], record["precision"]) == shape:
                if record["sequences_per_second"] > best.get(record["impl"], {}).get("sequences_per_second", 0):
                    best[record["impl"]] = record

        def cell(impl):
            record = best.get(impl)
            return f"{record['sequences_per_second']:.2f} ({record['mode']})" if record else "-"

        ratio = (f"{best['bertzoo']['sequences_per_second'] / best[BASELINE]['sequences_per_second']:.2f}"
                 if "bertzoo" in best and BASELINE in best else "-")
        ceiling = f"{100 * best['bertzoo']['fraction_of_ceiling']:.1f}%" if "bertzoo" in best else "-"
        rows.append(f"| {' | '.join(map(str, shape))} | {cell('bertzoo')} | {cell(BASELINE)} | "
                    f"{cell('hf_torch')} | {ratio} | {ceiling} |")
    return "\n".join(rows)


def _precision_order(precision: str) -> int:
    return models.PRECISIONS.index(precision) if precision in models.PRECISIONS else len(models.PRECISIONS)


def records_table(records: list[dict]) -> str:
    """Every record: throughput, ratio to the baseline, achieved GFLOP/s and fraction of the ceiling."""
    rows = ["| task | config | batch | precision | impl | mode | per second | vs baseline | GFLOP/s | % ceiling |",
            "|" + "---|" * 10]
    for r in records:
        rate = r.get("sequences_per_second", r.get("sentences_per_second"))
        unit = "seq" if "sequences_per_second" in r else "sentences"
        ceiling = f"{100 * r['fraction_of_ceiling']:.1f}%" if "fraction_of_ceiling" in r else "-"
        rows.append(f"| {r['task']} | {r['config']} | {r['batch']} | {r['precision'] or '-'} | {r['impl']} | "
                    f"{r['mode']} | {rate:,.2f} {unit} | {r['vs_baseline'] if r['vs_baseline'] else '-'} | "
                    f"{r.get('gflops', '-')} | {ceiling} |")
    return "\n".join(rows)


def _modes_at(config_name: str, batch: int, configs: list[str], batches: list[int],
              modes: list[str]) -> tuple[str, ...]:
    """Every mode for the last config at the first batch size; elsewhere graph alone (if asked
    for), which keeps the full run near 10 minutes."""
    if config_name == configs[-1] and batch == batches[0]:
        return tuple(modes)
    return tuple([mode for mode in modes if mode == "graph"] or modes)


def _release() -> None:
    keras.backend.clear_session()
    gc.collect()


def _jsonable(values: dict) -> dict:
    return {name: str(value) if isinstance(value, pathlib.Path) else value for name, value in values.items()}


if __name__ == "__main__":
    sys.exit(main())
