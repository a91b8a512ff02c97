"""Built-in hepml-coffea plugins, installed as ``hepml_plugins``.

They are registered through the ``hepml_coffea`` entry-point group declared in pyproject.toml,
exactly like third-party plugins; hepml-coffea's core never imports them by name.
"""
