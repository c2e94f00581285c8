from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("account/login/", views.login_view, name="login"),
    path("account/signup/", views.signup_view, name="signup"),
    path("account/logout/", views.logout_view, name="logout"),
    path("account/packages/", views.my_packages, name="packages"),
    path("account/cli-login/<uuid:login_id>/", views.cli_login, name="cli-login"),
]
