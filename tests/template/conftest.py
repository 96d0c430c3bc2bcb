"""Keep hypothesis' cache files out of the working tree (it is shared by parallel work)."""

from __future__ import annotations

import tempfile

from hypothesis import configuration

configuration.set_hypothesis_home_dir(tempfile.mkdtemp(prefix="dad-template-hypothesis-"))
