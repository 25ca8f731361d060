"""ebmzoo: a plugin-style model zoo for energy-based models on PyTorch."""

from ebmzoo.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl", "load_pretrained"]


def __getattr__(name: str) -> object:
    # The zoo imports torch; load it on first use so that `import ebmzoo` stays quick.
    if name == "load_pretrained":
        from ebmzoo.zoo import load_pretrained

        return load_pretrained
    raise AttributeError(f"module 'ebmzoo' has no attribute {name!r}")
