"""The error of `xstilts grid`, `claim` and `collect`: planning, queueing, running or collecting."""
from __future__ import annotations

from xstilts.core.errors import XstiltsError


class GridError(XstiltsError, RuntimeError):
    """The grid could not be planned, queued or run; the message says what to do."""
    exit_code = 4
