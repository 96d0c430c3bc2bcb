"""Studio runs (issue 8): Run / Stop / Run from here on the qasync loop, live status on the canvas,
execution context, node outcomes, input forms and inbox, artifact browser, run log.

`RunController(main_window)` adds the docks, the Run menu and toolbar; the window keeps it as
`window.runs`.
"""

from dad_studio.ui.run.controller import FLUSH_MS, RunController
from dad_studio.ui.run.session import RunSession, project_dirs

__all__ = ["FLUSH_MS", "RunController", "RunSession", "project_dirs"]
