"""Engine tests: make the test node types (engine_testnodes) importable by their executor strings."""

import sys
from pathlib import Path

HERE = str(Path(__file__).parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
