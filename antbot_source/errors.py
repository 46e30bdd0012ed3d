"""Errors the connector raises, each with the exit code the `antbot` command gives for it."""


class AntBotError(Exception):
    """Base class: an AntBot call failed in a way the user must hear about."""

    exit_code = 5


class AuthError(AntBotError):
    """Bad credentials, or a token the API refuses twice."""

    exit_code = 3


class UnreachableError(AntBotError):
    """The host cannot be reached (DNS, refused connection, timeouts after retries)."""

    exit_code = 4


class ApiError(AntBotError):
    """The API answered with an error: an HTTP error status or HTTP 200 carrying `error`."""

    exit_code = 5

    def __init__(self, message: str, status_code: int | None = None, body: object = None):
        super().__init__(message)
        self.status_code = status_code
        self.body = body
