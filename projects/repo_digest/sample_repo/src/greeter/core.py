def greet(name: str, excited: bool = False) -> str:
    """Return a greeting for `name`."""
    return f"Hello, {name}{'!' if excited else '.'}"
