"""Entry point of the packaged app: the same `dad-studio` command as the console script."""

import sys

from dad_studio.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
