"""Hilum's desktop viewer (PySide6). The only package that imports Qt.

Importing ``viewer`` itself does not import Qt, so that ``viewer.entry`` can hand headless
sub-commands to the engine without paying for (or needing) a display stack.
"""
