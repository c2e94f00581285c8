"""The portal's package page and the home page."""

import pytest

from tests.registry.helpers import publish


@pytest.mark.django_db
def test_package_page_shows_versions_tags_maintainers_and_escaped_readme(client, alice_token):
    readme = "# Hello\n<script>alert('x')</script>\n"
    publish(client, alice_token, "paged", "1.0.0", extra_files={"README.md": readme})
    publish(client, alice_token, "paged", "1.1.0", extra_files={"README.md": readme})

    page = client.get("/package/paged/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "1.1.0" in html and "1.0.0" in html
    assert "alice" in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "npm install paged" in html


@pytest.mark.django_db
def test_restricted_package_page_is_hidden_from_others(client, alice, alice_token, carol):
    publish(client, alice_token, "@alice/private-page", "1.0.0")

    assert client.get("/package/@alice/private-page/").status_code == 404
    client.force_login(carol)
    assert client.get("/package/@alice/private-page/").status_code == 404
    client.force_login(alice)
    assert client.get("/package/@alice/private-page/").status_code == 200


@pytest.mark.django_db
def test_home_lists_public_packages_only(client, alice_token):
    publish(client, alice_token, "shown-on-home", "1.0.0")
    publish(client, alice_token, "@alice/not-on-home", "1.0.0")

    html = client.get("/").content.decode()

    assert "shown-on-home" in html
    assert "not-on-home" not in html


@pytest.mark.django_db
def test_my_packages_lists_what_i_maintain(client, alice, alice_token, bob):
    publish(client, alice_token, "mine-a", "1.0.0")

    client.force_login(alice)
    assert "mine-a" in client.get("/account/packages/").content.decode()
    client.force_login(bob)
    assert "mine-a" not in client.get("/account/packages/").content.decode()
