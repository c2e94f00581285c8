from accounts.models.users import (
    OTPChallenge,
    RecoveryCode,
    SecondFactorUse,
    SecurityEvent,
    Token,
    User,
    WebLogin,
    username_validator,
)

__all__ = [
    "OTPChallenge",
    "RecoveryCode",
    "SecondFactorUse",
    "SecurityEvent",
    "Token",
    "User",
    "WebLogin",
    "username_validator",
]
