"""photocull performance harness (``python -m benchmarks.run --help``); not part of the app."""
