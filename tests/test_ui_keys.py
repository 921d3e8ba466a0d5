"""GUI: F toggles full screen, ? lists the keyboard shortcuts."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def test_full_screen_and_shortcut_overlay(qtbot, make_window):
    w = make_window()
    w.act_full_screen.trigger()
    assert w.windowState() & w.windowState().WindowFullScreen and w.act_full_screen.isChecked()
    w.act_full_screen.trigger()
    assert not w.windowState() & w.windowState().WindowFullScreen and not w.act_full_screen.isChecked()
    w.show_shortcuts()
    text = w.shortcuts_box.text()
    for key, what in (("P", "Pick"), ("X", "Reject"), ("6", "Red label"), ("F", "Full screen"),
                      ("Ctrl+Shift+K", "best of each burst")):
        assert any(line.startswith(key + " ") and what in line for line in text.splitlines()), (key, text)
    w.shortcuts_box.close()
