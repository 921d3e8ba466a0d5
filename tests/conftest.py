"""Fixtures shared by the whole suite: an isolated cache per test and the shared data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

import fakes


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch) -> Path:
    """Every test gets its own photocull cache (``$PHOTOCULL_CACHE_DIR``) under its tmp dir, so no
    test reads or writes the user's cache."""
    path = tmp_path / "cache"
    monkeypatch.setenv("PHOTOCULL_CACHE_DIR", str(path))
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared training/evaluation data (clive/, pristine/); see :func:`fakes.shared_data`."""
    return fakes.shared_data()


@pytest.fixture(scope="session")
def kodak(shared_data) -> Path:
    """The Kodak24 pristine photos (kodim01.webp ... kodim24.webp)."""
    return fakes.kodak()


@pytest.fixture
def env(tmp_path):
    """(tmp_path, GUI Settings kept in tmp_path/settings.ini) for the GUI tests."""
    from PySide6.QtCore import QSettings

    from photocull.app.ui.settings import Settings

    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    return tmp_path, settings


@pytest.fixture
def make_window(qtbot, env):
    """``make(scorer=None, explainer_factory=None, **bridge_kw)``: a shown MainWindow on an
    EngineBridge with ``scorer`` (default :class:`fakes.LaplacianScorer`); all closed, with their
    threads, at the end of the test."""
    from photocull.app.ui.bridge import EngineBridge
    from photocull.app.ui.mainwindow import MainWindow

    tmp_path, settings = env
    windows = []

    def make(scorer=None, explainer_factory=None, **kw):
        scorer = scorer or fakes.LaplacianScorer()
        bridge = EngineBridge(settings, scorer_factory=lambda: scorer, explainer_factory=explainer_factory,
                              cache_path=tmp_path / "cache" / "c.sqlite3", batch_size=4, **kw)
        w = MainWindow(settings, bridge)
        qtbot.addWidget(w)
        w.show()
        w.activateWindow()
        qtbot.waitActive(w)
        windows.append(w)
        return w

    yield make
    for w in windows:
        w.close()
        assert not w.registry.threads()
