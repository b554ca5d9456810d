"""Recipes: one short program per task, composing the library; the `bertzoo` CLI runs them.

Installed as ``bertzoo.recipes`` (see setup.cfg's ``package_dir``).
"""
