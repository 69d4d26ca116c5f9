"""File templates used by ``bussdcc new-plugin`` (``string.Template`` syntax: ``$name``).

Files end in ``.tmpl`` so no tool mistakes them for code of this package; ``package/`` is
renamed to the new plugin's import package when the skeleton is written.
"""
