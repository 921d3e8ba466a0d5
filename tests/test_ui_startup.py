"""GUI start-up where no window can open: a clear message and exit code 2, not Qt's abort (134)."""
import os
import subprocess
import sys

import pytest

from photocull.app import ui


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the X11/Wayland checks are Linux-only")
def test_no_display_is_a_clear_error_with_exit_code_2(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, "-m", "photocull.app.main", "gui"], capture_output=True, text=True,
                          env={**env, "HOME": str(tmp_path)}, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "no display" in proc.stderr and "photocull rank" in proc.stderr


def test_platform_problem_rules(monkeypatch, tmp_path):
    if not sys.platform.startswith("linux"):
        assert ui.platform_problem({}) is None
        return
    assert "no display" in ui.platform_problem({})
    assert ui.platform_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert ui.platform_problem({"WAYLAND_DISPLAY": "wayland-0"}) is None
    monkeypatch.setattr(ui, "_xcb_plugin", lambda: tmp_path / "libqxcb.so")  # the plugin cannot load
    problem = ui.platform_problem({"DISPLAY": ":0"})
    assert "X11 platform plugin cannot load" in problem and "libxcb-cursor0" in problem
    assert "libxcb-cursor0" in ui.platform_problem({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"})

