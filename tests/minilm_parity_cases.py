"""The inputs of the MiniLM parity checks, shared by the torch test that generates the reference
arrays and the torch-free test that reads them."""

import pathlib

import numpy as np

from bertzoo.families.bert.checkpoints.encoder_weights import read_encoder_weights
from bertzoo.families.bert.checkpoints.google_checkpoint import write_google_checkpoint
from bertzoo.families.bert.checkpoints.weight_names import pretraining_head_names

SEQ_LENGTH = 32
REFERENCE = pathlib.Path(__file__).parent / "data" / "minilm_reference.npz"

SINGLE_TEXTS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "Café déjà vu: naïve résumé at the Åland coöperative.",
    "北京是中国的首都。",
    "東京タワーは高い。",
    "Mixed 中文 and English, with 漢字 between words.",
    "Punctuation!!! Does it... split? (yes) [maybe] {surely} $100 & 50% off #hashtag @user",
    "Ünïcödé accents ÀÉÎÕÜ and ﬁ ligature, ＦＵＬＬ－ＷＩＤＴＨ text",
    "Привет, как дела? Всё хорошо.",
    "Ελληνικά: ΟΔΟΣ και οδός.",
    "مرحبا بالعالم",
    "emoji 🙂 and symbols © ™ € stay attached?",
    "tabs\tand\nnewlines\r\nand   multiple   spaces",
    "unbelievably antidisestablishmentarianism supercalifragilisticexpialidocious",
    "ALL CAPS SENTENCE SHOUTING LOUDLY",
    "",
    "word " * 40,
    "zero\u200bwidth\u00a0no-break\u2003em space",
]
PAIR_TEXTS = [
    ("What is the capital of France?", "Paris is the capital and most populous city of France."),
    ("A man plays guitar.", "Someone performs music on a stringed instrument."),
    ("short", "a much longer second segment that will need truncation because it goes on and on"),
    ("this first segment is the long one and it keeps going well past the budget", "brief"),
    ("equal length segment one two three four five six seven eight nine ten eleven twelve",
     "equal length segment uno dos tres four five six seven eight nine ten eleven twelve"),
    ("Wie geht's?", "Très bien, merci."),
]


def bertzoo_inputs(bert) -> dict[str, np.ndarray]:
    """The encoder inputs bertzoo's preprocessor makes for all cases (singles, then pairs)."""
    singles = bert.preprocessor(SINGLE_TEXTS)
    pairs = bert.preprocessor(([a for a, _ in PAIR_TEXTS], [b for _, b in PAIR_TEXTS]))
    return {name: np.concatenate([np.asarray(singles[name]), np.asarray(pairs[name])])
            for name in ("input_word_ids", "input_mask", "input_type_ids")}


def reference_inputs(vocab_path: pathlib.Path) -> dict[str, np.ndarray]:
    """The same inputs from the pure-Python implementation of Google's tokenization rules."""
    from reference.google_tokenization import FullTokenizer, load_vocab, pack

    vocab = load_vocab(vocab_path)
    tokenizer = FullTokenizer(vocab, do_lower_case=True)
    special = dict(cls_id=vocab["[CLS]"], sep_id=vocab["[SEP]"], pad_id=vocab["[PAD]"])
    rows = [pack(tokenizer.ids(text), None, SEQ_LENGTH, **special) for text in SINGLE_TEXTS]
    rows += [pack(tokenizer.ids(a), tokenizer.ids(b), SEQ_LENGTH, **special) for a, b in PAIR_TEXTS]
    ids, mask, types = (np.array([row[k] for row in rows], dtype=np.int32) for k in range(3))
    return {"input_word_ids": ids, "input_mask": mask, "input_type_ids": types}


def write_google_copy(bert, directory: pathlib.Path, minilm_dir: pathlib.Path) -> pathlib.Path:
    """The MiniLM weights as Google's original release would hold them: bert_config.json saying
    "gelu" (Google's tanh approximation), bert_model.ckpt with TF layouts, cls/ pretraining heads,
    an Adam slot and global_step."""
    directory.mkdir(parents=True, exist_ok=True)
    weights = read_encoder_weights(bert.encoder)
    rng = np.random.default_rng(0)
    hidden, vocab_size = bert.config.hidden_size, bert.config.vocab_size
    shapes = {"cls/predictions/transform/dense/kernel": (hidden, hidden),
              "cls/predictions/transform/dense/bias": (hidden,),
              "cls/predictions/transform/LayerNorm/gamma": (hidden,),
              "cls/predictions/transform/LayerNorm/beta": (hidden,),
              "cls/predictions/output_bias": (vocab_size,),
              "cls/seq_relationship/output_weights": (2, hidden),
              "cls/seq_relationship/output_bias": (2,)}
    assert set(shapes) == set(pretraining_head_names())
    for name, shape in shapes.items():
        weights[name] = rng.normal(scale=0.02, size=shape).astype(np.float32)
    extra = {"global_step": np.array(1000000, dtype=np.int64),
             "bert/pooler/dense/kernel/adam_m": np.zeros((hidden, hidden), np.float32)}
    write_google_checkpoint(weights, str(directory / "bert_model.ckpt"), extra=extra)
    import json

    config = bert.config.replace(hidden_act="gelu_tanh").to_google_dict()
    (directory / "bert_config.json").write_text(json.dumps(config, indent=2))
    (directory / "vocab.txt").write_bytes((minilm_dir / "vocab.txt").read_bytes())
    return directory


MASKED_POSITIONS = [1, 2, 3]  # where the masked-LM head is probed (the first word pieces of each text)
TOP_K = 10


def pretraining_predictions(bert) -> dict[str, np.ndarray]:
    """Masked-LM logits at MASKED_POSITIONS (top TOP_K ids and values) and next-sentence logits of
    a pretrainer built from ``bert`` (its checkpoint's cls/ heads)."""
    from bertzoo.families.bert.checkpoints.pretraining_head_weights import pretrainer_from_pretrained

    pretrainer = pretrainer_from_pretrained(bert)
    inputs = bertzoo_inputs(bert)
    positions = np.tile(np.array(MASKED_POSITIONS, np.int32), (len(inputs["input_word_ids"]), 1))
    outputs = pretrainer(dict(inputs, masked_lm_positions=positions))
    logits = np.asarray(outputs["masked_lm_logits"])
    top_ids = np.argsort(-logits, axis=-1)[..., :TOP_K]
    return {"mlm_logits": logits, "mlm_top_ids": top_ids,
            "mlm_top_logits": np.take_along_axis(logits, top_ids, axis=-1),
            "nsp_logits": np.asarray(outputs["next_sentence_logits"])}


def write_hf_pretraining_copy(google_bert, directory: pathlib.Path, minilm_dir: pathlib.Path) -> pathlib.Path:
    """The same encoder and cls/ heads as a Hugging Face BertForPreTraining directory (gelu_new)."""
    import json

    from bertzoo.families.bert.checkpoints.hf_safetensors import write_hf_safetensors
    from bertzoo.families.bert.checkpoints.pretraining_head_weights import pretrainer_from_pretrained, read_pretraining_head_weights

    directory.mkdir(parents=True, exist_ok=True)
    weights = read_encoder_weights(google_bert.encoder)
    weights.update(read_pretraining_head_weights(pretrainer_from_pretrained(google_bert)))
    write_hf_safetensors(weights, directory / "model.safetensors", prefix="bert.")
    config = json.loads((minilm_dir / "config.json").read_text())
    config.update(hidden_act="gelu_new", architectures=["BertForPreTraining"])
    (directory / "config.json").write_text(json.dumps(config))
    (directory / "vocab.txt").write_bytes((minilm_dir / "vocab.txt").read_bytes())
    return directory
