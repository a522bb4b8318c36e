"""The unireward exception tree.

Every error raised on purpose by unireward derives from :class:`UniRewardError`::

    UniRewardError
    ├── ConfigurationError (ValueError)      bad options, unknown task, bad registration
    │   └── UnknownTaskError (KeyError)      a task name with no registered scorer
    ├── GroundTruthError (ValueError)        a ground truth that cannot be used (names the
    │                                        field; raised only with errors="raise")
    ├── InputError (ValueError)              a record or input file that cannot be read
    ├── MissingExtraError (ImportError)      an optional dependency is not installed
    ├── ScoringDeadlineError (TimeoutError)  a per-item deadline was hit
    │                                        (only with raise_on_error)
    └── RemoteRewardError                    the reward-model server could not be used
        ├── RemoteConnectionError            connection refused / dropped
        ├── RemoteTimeoutError (TimeoutError)
        ├── RemoteStatusError                an HTTP error status (carries status_code)
        └── RemoteProtocolError              a response that does not have the expected shape

Untrusted model output never raises: it is recorded in
:attr:`unireward.RewardResult.status` and :attr:`~unireward.RewardResult.reason`. A bad
ground truth is recorded too (status ``ground_truth_error``) unless ``errors="raise"``.
Bad configuration always raises.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ConfigurationError",
    "GroundTruthError",
    "InputError",
    "MissingExtraError",
    "RemoteConnectionError",
    "RemoteProtocolError",
    "RemoteRewardError",
    "RemoteStatusError",
    "RemoteTimeoutError",
    "ScoringDeadlineError",
    "UniRewardError",
    "UnknownTaskError",
]


class UniRewardError(Exception):
    """Base class of every error unireward raises on purpose."""


class ConfigurationError(UniRewardError, ValueError):
    """An option, registration or call that cannot work as given."""


class UnknownTaskError(ConfigurationError, KeyError):
    """A task name for which no scorer is registered."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else "unknown task"


class GroundTruthError(UniRewardError, ValueError):
    """A ground truth that cannot be used for its task."""


class InputError(UniRewardError, ValueError):
    """A record or input file that cannot be read."""


class MissingExtraError(UniRewardError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""


class ScoringDeadlineError(UniRewardError, TimeoutError):
    """A per-item scoring deadline was hit (raised only with ``raise_on_error=True``)."""


class RemoteRewardError(UniRewardError):
    """The reward-model server could not be used.

    Attributes:
        request: a description of the request that failed (URL, number of texts), if known.
    """

    def __init__(self, message: str, *, request: Any = None) -> None:
        super().__init__(message)
        self.request = request


class RemoteConnectionError(RemoteRewardError):
    """The server could not be reached, or dropped the connection."""


class RemoteTimeoutError(RemoteRewardError, TimeoutError):
    """The server did not answer within the timeout."""


class RemoteStatusError(RemoteRewardError):
    """The server answered with an HTTP error status."""

    def __init__(self, message: str, *, status_code: int, request: Any = None) -> None:
        super().__init__(message, request=request)
        self.status_code = status_code


class RemoteProtocolError(RemoteRewardError):
    """The server's answer does not have the expected shape."""


def missing_extra(package: str, extra: str) -> MissingExtraError:
    """Build the error for a missing optional dependency.

    >>> str(missing_extra("torch", "torch"))
    "unireward needs 'torch' for this feature: pip install 'unireward[torch]'"
    """
    return MissingExtraError(
        f"unireward needs {package!r} for this feature: pip install 'unireward[{extra}]'"
    )
