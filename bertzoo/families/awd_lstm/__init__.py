"""AWD-LSTM's enclosure (ULMFiT, Howard & Ruder 2018): everything specific to it.

- ``awd_lstm_config``: ``AwdLstmConfig`` (fastai's sizes and dropouts);
- ``awd_lstm_encoder``: ``AwdLstmEncoder`` meeting the encoder contract (shared LSTM and dropout blocks
  from ``bertzoo.layers``); ``awd_lstm_language_model``: the tied next-word model (its pretraining
  objective);
- ``fastai_tokenizer``: fastai's text rules, word split and ``itos`` vocabulary; the preprocessor;
- ``fastai_weights``: fastai's state-dict names and files; ``pretrained_awd_lstm``: the bundle and
  both directory formats; ``family``: the registry entry; ``presets``: catalogue entries.
The ULMFiT classifier is a task model (``bertzoo.models.ulmfit_classifier``); its three training
techniques live in ``bertzoo.training.transfer_learning`` for every family.
"""

from bertzoo.families.awd_lstm.awd_lstm_config import CLASSIFIER_DROPOUTS, LANGUAGE_MODEL_DROPOUTS, AwdLstmConfig
from bertzoo.families.awd_lstm.awd_lstm_encoder import AwdLstmEncoder
from bertzoo.families.awd_lstm.awd_lstm_language_model import AwdLstmLanguageModel
from bertzoo.families.awd_lstm.fastai_tokenizer import AwdLstmPreprocessor, AwdLstmTokenizer, make_vocabulary
from bertzoo.families.awd_lstm.pretrained_awd_lstm import PretrainedAwdLstm, load_awd_lstm, save_awd_lstm

__all__ = ["AwdLstmConfig", "AwdLstmEncoder", "AwdLstmLanguageModel", "AwdLstmPreprocessor", "AwdLstmTokenizer",
           "CLASSIFIER_DROPOUTS", "LANGUAGE_MODEL_DROPOUTS", "PretrainedAwdLstm", "load_awd_lstm", "make_vocabulary",
           "save_awd_lstm"]
