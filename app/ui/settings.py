"""User preferences stored with QSettings (an ini file per user; tests pass their own)."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from model.scoring import default_backend

__all__ = ["Settings", "BACKENDS", "DEVICES", "SIDECAR_NAMINGS"]

BACKENDS = ("torch", "onnx")
DEVICES = ("auto", "cpu", "cuda")
SIDECAR_NAMINGS = ("replace", "append")  # IMG_1.xmp (Lightroom) / IMG_1.CR2.xmp (darktable)

_DEFAULTS = {
    "model/backend": default_backend(),  # torch where PyTorch is installed, else onnx
    "model/device": "auto",
    "model/checkpoint": "",  # empty = the embedded default model
    "export/sidecar_naming": "replace",
    "cull/auto_advance": False,
    "view/heatmap_opacity": 55,
    "view/show_heatmap": True,
    "view/sort": "name",
    "session/last_folder": "",
}


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

    def _choice(self, key: str, choices: tuple[str, ...]) -> str:
        v = self._get(key)
        return v if v in choices else _DEFAULTS[key]

    @property
    def backend(self) -> str:
        return self._choice("model/backend", BACKENDS)

    @backend.setter
    def backend(self, v: str) -> None:
        if v not in BACKENDS:
            raise ValueError(v)
        self._set("model/backend", v)

    @property
    def device(self) -> str:
        return self._choice("model/device", DEVICES)

    @device.setter
    def device(self, v: str) -> None:
        if v not in DEVICES:
            raise ValueError(v)
        self._set("model/device", v)

    @property
    def checkpoint(self) -> str:
        return self._get("model/checkpoint")

    @checkpoint.setter
    def checkpoint(self, v: str) -> None:
        self._set("model/checkpoint", v or "")

    @property
    def sidecar_naming(self) -> str:
        return self._choice("export/sidecar_naming", SIDECAR_NAMINGS)

    @sidecar_naming.setter
    def sidecar_naming(self, v: str) -> None:
        if v not in SIDECAR_NAMINGS:
            raise ValueError(v)
        self._set("export/sidecar_naming", v)

    @property
    def auto_advance(self) -> bool:
        return self._get("cull/auto_advance")

    @auto_advance.setter
    def auto_advance(self, v: bool) -> None:
        self._set("cull/auto_advance", bool(v))

    @property
    def heatmap_opacity(self) -> int:
        return max(0, min(100, self._get("view/heatmap_opacity")))

    @heatmap_opacity.setter
    def heatmap_opacity(self, v: int) -> None:
        self._set("view/heatmap_opacity", int(v))

    @property
    def show_heatmap(self) -> bool:
        return self._get("view/show_heatmap")

    @show_heatmap.setter
    def show_heatmap(self, v: bool) -> None:
        self._set("view/show_heatmap", bool(v))

    @property
    def sort(self) -> str:
        return self._get("view/sort")

    @sort.setter
    def sort(self, v: str) -> None:
        self._set("view/sort", v)

    @property
    def last_folder(self) -> str:
        return self._get("session/last_folder")

    @last_folder.setter
    def last_folder(self, v: str) -> None:
        self._set("session/last_folder", v)

    def sync(self) -> None:
        self.q.sync()
