"""The npm protocol's account routes: who am I, logging in (web and legacy), logging out,
the profile and tokens. Mounted by registry.npm_urls among the other npm routes."""

from django.urls import re_path

from accounts import api

urlpatterns = [
    re_path(r"^-/whoami$", api.WhoAmI.as_view()),
    re_path(r"^-/v1/login$", api.WebLoginStart.as_view()),
    re_path(r"^-/v1/done$", api.WebLoginDone.as_view()),
    re_path(r"^-/v1/otp/(?P<secret>[A-Za-z0-9]+)$", api.WebOTPDone.as_view()),
    re_path(
        r"^-/user/org\.couchdb\.user:(?P<username>[^/]+)/-rev/(?P<rev>[^/]+)$",
        api.CouchUser.as_view(),
    ),
    re_path(r"^-/user/org\.couchdb\.user:(?P<username>[^/]+)$", api.CouchUser.as_view()),
    re_path(r"^-/user/token/(?P<token>[^/]+)$", api.Logout.as_view()),
    re_path(r"^-/npm/v1/user$", api.Profile.as_view()),
    re_path(r"^-/npm/v1/tokens$", api.Tokens.as_view()),
    re_path(r"^-/npm/v1/tokens/token/(?P<ident>[^/]+)$", api.TokenRevoke.as_view()),
]
