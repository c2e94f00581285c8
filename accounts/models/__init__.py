from accounts.models.orgs import Invitation, Membership, Org, Team, TeamMember
from accounts.models.users import (
    OTPChallenge,
    RecoveryCode,
    SecurityEvent,
    Token,
    User,
    WebLogin,
    username_validator,
)

__all__ = [
    "Invitation",
    "Membership",
    "OTPChallenge",
    "Org",
    "RecoveryCode",
    "SecurityEvent",
    "Team",
    "TeamMember",
    "Token",
    "User",
    "WebLogin",
    "username_validator",
]
