"""GPT's registration with the family registry: how its directories are recognised and read."""

from bertzoo.families.gpt.pretrained_gpt import LOOKED_FOR, gpt_format, load_gpt, save_gpt
from bertzoo.families.registry import Family

FAMILY = Family(name="gpt", detect=gpt_format, load=load_gpt, save=save_gpt, looked_for=LOOKED_FOR)
