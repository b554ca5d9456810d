"""GPT checkpoints with seeded random weights, read by bertzoo, against transformers' GPT2Model and
OpenAIGPTModel loading the same Hugging Face directories (the `parity` extra: torch + transformers).

Also (re)writes tests/data/gpt_reference.npz, the reference outputs the default run compares every
checkpoint format against (tests/test_gpt_checkpoints.py) without torch.
"""

import numpy as np
import pytest

import bertzoo
from gpt_cases import GPT1_CONFIG, GPT2_CONFIG, REFERENCE, inputs, write_checkpoint

pytestmark = pytest.mark.parity
TOLERANCE = 1e-5


def transformers_outputs(kind, directory, batch):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    model_class = transformers.GPT2Model if kind == "hf_gpt2" else transformers.OpenAIGPTModel
    model = model_class.from_pretrained(str(directory)).eval()
    with torch.no_grad():
        result = model(input_ids=torch.tensor(batch["input_word_ids"], dtype=torch.long),
                       attention_mask=torch.tensor(batch["input_mask"], dtype=torch.long), output_hidden_states=True)
    return [h.numpy() for h in result.hidden_states]


@pytest.mark.parametrize("kind,config", [("hf_gpt2", GPT2_CONFIG), ("hf_openai_gpt", GPT1_CONFIG)])
def test_bertzoo_equals_transformers(kind, config, tmp_path):
    directory = write_checkpoint(kind, tmp_path / kind)
    batch = inputs(300)
    hidden_states = transformers_outputs(kind, directory, batch)
    gpt = bertzoo.load_pretrained(directory, seq_length=8)
    outputs = gpt.encoder(batch)
    real = batch["input_mask"].astype(bool)
    ours = [outputs["embedding_output"]] + list(outputs["encoder_outputs"])
    assert len(ours) == len(hidden_states) == config.num_hidden_layers + 1
    for layer, (mine, theirs) in enumerate(zip(ours, hidden_states)):
        difference = np.abs(np.asarray(mine) - theirs)[real].max()
        assert difference <= TOLERANCE, f"layer {layer} differs by {difference:.2e}"
    last_real = real.sum(axis=1) - 1
    np.testing.assert_allclose(outputs["pooled_output"], hidden_states[-1][np.arange(3), last_real], atol=TOLERANCE)
    # The checked-in reference the default run uses.
    arrays = dict(np.load(REFERENCE)) if REFERENCE.is_file() else {}
    prefix = "gpt2" if kind == "hf_gpt2" else "gpt1"
    for layer, theirs in enumerate(hidden_states):
        arrays[f"{prefix}/hidden_{layer}"] = theirs.astype(np.float32)
    np.savez_compressed(REFERENCE, **arrays)
