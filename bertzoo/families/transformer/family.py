"""The Transformer's registration with the family registry."""

from bertzoo.families.registry import Family
from bertzoo.families.transformer.pretrained_transformer import (
    LOOKED_FOR,
    load_transformer,
    save_transformer,
    transformer_format,
)

FAMILY = Family(name="transformer", detect=transformer_format, load=load_transformer, save=save_transformer,
                looked_for=LOOKED_FOR)
