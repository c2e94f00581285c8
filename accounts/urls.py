from django.urls import path

from accounts import views
from accounts import views_two_factor as tfa

app_name = "accounts"

urlpatterns = [
    path("account/login/", views.login_view, name="login"),
    path("account/login/verify/", tfa.login_verify, name="login-verify"),
    path("account/signup/", views.signup_view, name="signup"),
    path("account/logout/", views.logout_view, name="logout"),
    path("account/packages/", views.my_packages, name="packages"),
    path("account/cli-login/<uuid:login_id>/", views.cli_login, name="cli-login"),
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
    path(
        "account/security/<str:kind>/<int:device_id>/remove/",
        tfa.factor_remove,
        name="factor-remove",
    ),
    path("account/security/recovery-codes/", tfa.recovery_regenerate, name="recovery-regenerate"),
    path("account/security/mode/", tfa.mode_set, name="mode-set"),
    path("account/sudo/", tfa.sudo, name="sudo"),
    path("account/keys/assert/begin/", tfa.key_assert_begin, name="key-assert-begin"),
    path("account/keys/assert/complete/", tfa.key_assert_complete, name="key-assert-complete"),
    path("account/approve/<uuid:challenge_id>/", tfa.web_otp, name="web-otp"),
]
