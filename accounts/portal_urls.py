from django.urls import path, re_path

from accounts.views import auth as views
from accounts.views import settings as account
from accounts.views import two_factor as tfa

app_name = "accounts"

urlpatterns = [
    path("account/login/", views.login_view, name="login"),
    path("account/login/verify/", tfa.login_verify, name="login-verify"),
    path("account/signup/", views.signup_view, name="signup"),
    path("account/logout/", views.logout_view, name="logout"),
    path("account/cli-login/<uuid:login_id>/", views.cli_login, name="cli-login"),
    path("account/settings/", account.account_settings, name="settings"),
    path("account/email/verify/<str:token>/", account.email_verify_view, name="email-verify"),
    path(
        "account/email/verify-again/", account.email_verification_resend, name="email-verify-resend"
    ),
    path("account/password/reset/", account.password_reset, name="password-reset"),
    path("account/password/reset/sent/", account.password_reset_sent, name="password-reset-sent"),
    path(
        "account/password/reset/<uidb64>/<token>/",
        account.password_reset_confirm,
        name="password-reset-confirm",
    ),
    path(
        "account/password/reset/done/",
        account.password_reset_complete,
        name="password-reset-complete",
    ),
    path("account/security/", tfa.security, name="security"),
    path("account/security/app/", tfa.totp_add, name="totp-add"),
    path("account/security/keys/add/", tfa.key_add, name="key-add"),
    path(
        "account/security/keys/register/begin/", tfa.key_register_begin, name="key-register-begin"
    ),
    path(
        "account/security/keys/register/complete/",
        tfa.key_register_complete,
        name="key-register-complete",
    ),
    path("account/security/keys/<int:device_id>/enrolled/", tfa.key_enrolled, name="key-enrolled"),
    path("account/security/enroll/confirm/", tfa.enroll_confirm, name="enroll-confirm"),
    re_path(
        r"^account/security/(?P<kind>totp|key)/(?P<device_id>[0-9]+)/remove/$",
        tfa.factor_remove,
        name="factor-remove",
    ),
    path("account/security/recovery-codes/", tfa.recovery_regenerate, name="recovery-regenerate"),
    path("account/security/mode/", tfa.mode_set, name="mode-set"),
    path("account/sudo/", tfa.sudo, name="sudo"),
    path("account/keys/assert/begin/", tfa.key_assert_begin, name="key-assert-begin"),
    path("account/keys/assert/complete/", tfa.key_assert_complete, name="key-assert-complete"),
    # The id is written without dashes: npm prints UUIDs in its error output as "***".
    re_path(r"^account/approve/(?P<challenge_id>[0-9a-f]{32})/$", tfa.web_otp, name="web-otp"),
]
