"""Data files shipped with photocull: the embedded default model, the icon, the desktop entry.

A package only so that ``importlib.resources.files("photocull.resources")`` finds them in a
wheel, an editable install and the PyInstaller bundle alike (see ``photocull.model.paths``)."""
