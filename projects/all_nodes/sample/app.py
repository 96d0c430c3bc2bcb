def main() -> None:
    print("hello from the sample app")
