"""Errors every part of bertzoo raises for bad input, so callers catch one type per kind of fault."""


class ConfigError(ValueError):
    """A config file or value that bertzoo cannot honour; the message names the field."""
