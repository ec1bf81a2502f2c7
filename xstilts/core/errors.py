"""The errors a user can fix, each with the exit code the command line uses for it."""
from __future__ import annotations


class XstiltsError(Exception):
    """An anticipated error: printed as one line naming what to fix, no traceback."""
    exit_code = 1
