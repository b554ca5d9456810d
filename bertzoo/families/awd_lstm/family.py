"""AWD-LSTM's registration with the family registry."""

from bertzoo.families.awd_lstm.pretrained_awd_lstm import LOOKED_FOR, awd_lstm_format, load_awd_lstm, save_awd_lstm
from bertzoo.families.registry import Family

FAMILY = Family(name="awd_lstm", detect=awd_lstm_format, load=load_awd_lstm, save=save_awd_lstm,
                looked_for=LOOKED_FOR)
