"""greeter: say hello."""

from greeter.core import greet

__all__ = ["greet"]
