"""The one base class for refusals that reach a user.

Services raise subclasses of ``DomainError``; the registry's exception handler turns
them into ``{"error": message}`` with ``status``, and portal views show ``message``.
Every message says what to do next, because for the npm user it is the only line
they will see.
"""


class DomainError(Exception):
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def headers(self) -> dict[str, str]:
        return {}


class NotFound(DomainError):
    status = 404


class AuthenticationRequired(DomainError):
    """401 without a challenge header, so npm shows our text instead of its canned one."""

    status = 401


class PermissionDenied(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class PayloadTooLarge(DomainError):
    status = 413


class RateLimited(DomainError):
    status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
