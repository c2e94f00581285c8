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
    "OTPChallenge",
    "RecoveryCode",
    "SecurityEvent",
    "Token",
    "User",
    "WebLogin",
    "username_validator",
]
