"""Data only: icons and the shipped default model. Located with importlib.resources by viewer."""
