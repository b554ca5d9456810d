"""ELMo's enclosure: the biLM of allenai/bilm-tf (Peters et al. 2018), everything specific to it.

- ``elmo_config``: ``ElmoConfig`` from bilm-tf's ``options.json``;
- ``elmo_tokenizer``, ``elmo_preprocessor``: words -> character ids (bilm-tf's conventions) and the
  fixed-length ``<S> words </S>`` inputs;
- ``character_encoder``, ``elmo_lstm``, ``elmo_encoder``: the character CNN, the projected biLSTM
  (stateful as the original, or not) and the encoder meeting the contract;
- ``elmo_weights``: ``weights.hdf5``; ``pretrained_elmo``: the bundle, its loader and writer;
  ``family``: the registry entry; ``presets``: the official downloads;
- ``elmo_language_model``: the pretraining objective (forward and backward LM losses).

Imports only shared layers and text; never heads, models, training, export or recipes.
"""

from bertzoo.families.elmo.elmo_config import ElmoConfig
from bertzoo.families.elmo.elmo_encoder import ElmoEncoder
from bertzoo.families.elmo.elmo_preprocessor import ElmoPreprocessor
from bertzoo.families.elmo.elmo_tokenizer import ElmoTokenizer, word_char_ids
from bertzoo.families.elmo.pretrained_elmo import PretrainedElmo, load_elmo, save_elmo

__all__ = ["ElmoConfig", "ElmoEncoder", "ElmoPreprocessor", "ElmoTokenizer", "PretrainedElmo", "load_elmo",
           "save_elmo", "word_char_ids"]
