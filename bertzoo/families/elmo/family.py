"""ELMo's registration with the family registry: how its directories are recognised and read."""

from bertzoo.families.elmo.pretrained_elmo import LOOKED_FOR, elmo_format, load_elmo, save_elmo
from bertzoo.families.registry import Family

FAMILY = Family(name="elmo", detect=elmo_format, load=load_elmo, save=save_elmo, looked_for=LOOKED_FOR)
