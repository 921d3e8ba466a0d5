"""Exceptions raised by the model package."""


class ModelLoadError(RuntimeError):
    """A model, its weights or its config could not be found, read or matched.

    The message always says which file/repo was involved and what to do about it.
    """
