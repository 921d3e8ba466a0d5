"""User preferences stored with QSettings (an ini file per user; tests pass their own)."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from photocull.model.scoring import BACKENDS

__all__ = ["Settings", "BACKENDS", "DEVICES", "SIDECAR_NAMINGS", "ORGANIZE_CHOICES"]

DEVICES = ("auto", "cpu", "cuda")
SIDECAR_NAMINGS = ("replace", "append")  # IMG_1.xmp (Lightroom) / IMG_1.CR2.xmp (darktable)
ORGANIZE_CHOICES = ("none", "move", "copy")  # the Export dialog's "Photos" choice

_DEFAULTS = {
    "model/backend": "auto",  # photocull.model.scoring.default_backend: torch on CUDA, else onnx
    "model/device": "auto",
    "model/checkpoint": "",  # empty = the embedded default model
    "export/sidecar_naming": "replace",
    "export/lists": True,
    "export/xmp": False,
    "export/organize": "none",
    "cull/auto_advance": False,
    "view/heatmap_opacity": 55,
    "view/show_heatmap": True,
    "view/sort": "name",
    "session/last_folder": "",
}


class _Pref:
    """One typed preference of :class:`Settings`. Reading falls back to the default (also for a
    stored value outside ``choices``) and clamps to ``bounds``; writing refuses a value outside
    ``choices`` and stores it as the default's type (None as "" for text)."""

    def __init__(self, key: str, choices: tuple[str, ...] | None = None,
                 bounds: tuple[int, int] | None = None):
        self.key, self.choices, self.bounds = key, choices, bounds

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        value = obj._get(self.key)
        if self.choices is not None and value not in self.choices:
            return _DEFAULTS[self.key]
        if self.bounds is not None:
            value = max(self.bounds[0], min(self.bounds[1], value))
        return value

    def __set__(self, obj, value) -> None:
        if self.choices is not None and value not in self.choices:
            raise ValueError(value)
        kind = type(_DEFAULTS[self.key])
        obj._set(self.key, "" if value is None and kind is str else kind(value))


class Settings:
    """Typed access to the preferences; every value falls back to a documented default."""

    def __init__(self, qsettings: QSettings | None = None):
        self.q = qsettings if qsettings is not None else QSettings(
            QSettings.Format.IniFormat, QSettings.Scope.UserScope, "photocull", "photocull")

    def _get(self, key: str):
        default = _DEFAULTS[key]
        value = self.q.value(key, default)
        if isinstance(default, bool):
            return value in (True, "true", "1", 1)
        if isinstance(default, int):
            try:
                return int(value)
            except (TypeError, ValueError):
                return default
        return str(value) if value is not None else default

    def _set(self, key: str, value) -> None:
        self.q.setValue(key, value)

    backend = _Pref("model/backend", BACKENDS)
    device = _Pref("model/device", DEVICES)
    checkpoint = _Pref("model/checkpoint")
    sidecar_naming = _Pref("export/sidecar_naming", SIDECAR_NAMINGS)
    export_lists = _Pref("export/lists")
    export_xmp = _Pref("export/xmp")
    export_organize = _Pref("export/organize", ORGANIZE_CHOICES)
    auto_advance = _Pref("cull/auto_advance")
    heatmap_opacity = _Pref("view/heatmap_opacity", bounds=(0, 100))
    show_heatmap = _Pref("view/show_heatmap")
    sort = _Pref("view/sort")
    last_folder = _Pref("session/last_folder")

    def sync(self) -> None:
        self.q.sync()
