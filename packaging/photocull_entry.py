"""PyInstaller entry script of the standalone build: ``photocull.app.main.main`` (CLI, or the GUI with no args)."""
import sys

from photocull.app.main import main

if __name__ == "__main__":
    sys.exit(main())
