"""ebmzoo: a plugin-style model zoo for energy-based models on PyTorch."""

from ebmzoo.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]
