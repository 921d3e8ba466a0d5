"""photocull: local, honest photo culling with a no-reference image-quality model."""

__version__ = "0.1.0"
