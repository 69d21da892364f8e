"""The app's data files, installed as the package ``authenticator.resources.data``.

This directory holds no code: ``pyproject.toml`` maps it to that package name so wheels and
editable installs carry the icons, the desktop entry, the AppStream metadata and the autostart
entry. Use the helpers of ``authenticator.resources`` to find a file.
"""
