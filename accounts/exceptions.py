"""Refusals raised by account services; see ``portal.errors``."""

from portal.errors import AuthenticationRequired, Conflict, DomainError, PermissionDenied


class InvalidCredentials(AuthenticationRequired):
    pass


class InvalidToken(AuthenticationRequired):
    pass


class SignupClosed(PermissionDenied):
    pass


class UsernameTaken(Conflict):
    pass


class InvalidAccountData(DomainError):
    pass


class WebLoginExpired(DomainError):
    status = 404


class SecondFactorInvalid(AuthenticationRequired):
    pass
