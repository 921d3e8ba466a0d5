"""Qt-free culling engine: scan, decode, cache, score, thumbnails, decisions, CLI.

Modules are imported explicitly (``from photocull.app.core import engine``); importing this
package imports nothing heavy.
"""
