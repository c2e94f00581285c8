"""Refusals raised by the registry's services; see ``portal.errors``."""

from portal.errors import Conflict, DomainError, NotFound, PermissionDenied


class InvalidPackageName(DomainError):
    pass


class InvalidVersion(DomainError):
    pass


class InvalidTag(DomainError):
    pass


class InvalidPayload(DomainError):
    """The publish (or metadata) document is malformed."""


class InvalidTarball(DomainError):
    """The tarball is not a safe, well-formed npm package."""


class ManifestMismatch(DomainError):
    """The manifest in the request disagrees with the tarball's package.json."""


class PackageNotFound(NotFound):
    pass


class VersionNotFound(NotFound):
    pass


class VersionExists(PermissionDenied):
    pass


class UnpublishRefused(PermissionDenied):
    pass


class StaleRevision(Conflict):
    pass


class DependencySourceRefused(PermissionDenied):
    pass
