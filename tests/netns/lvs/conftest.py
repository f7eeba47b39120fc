"""The LVS netns tests share the client / director / real servers lab of `lvs_lab`."""

from .lvs_lab import lab  # noqa: F401
