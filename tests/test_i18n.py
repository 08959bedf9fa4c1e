from django.urls import reverse


def test_the_ui_is_norwegian_whatever_the_browser_asks(client, db, settings):
    settings.LANGUAGE_CODE = "nb"  # the project's default (tests run in English otherwise)
    r = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert r["Content-Language"] == "nb"
    assert "Logg inn" in r.content.decode()


def test_the_switcher_chooses_english(client, db, settings):
    settings.LANGUAGE_CODE = "nb"
    r = client.post(reverse("set_language"), {"language": "en", "next": "/accounts/login/"})
    assert r.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    r = client.get(reverse("login"))
    assert r["Content-Language"] == "en"
    assert "Log in" in r.content.decode()


def test_404_and_403_are_the_apps_pages_in_norwegian_with_a_way_back(
    charlie_client, sue_client, project, case, settings
):
    settings.LANGUAGE_CODE = "nb"
    home = reverse("coding:project-list")
    outsider = charlie_client.get(reverse("coding:case-detail", args=[case.pk]))
    assert outsider.status_code == 404
    html = outsider.content.decode()
    assert 'class="topbar"' in html and "Fant ikke siden" in html
    assert f'href="{home}"' in html and "Tilbake til prosjektene" in html
    assert "Not Found" not in html

    refused = sue_client.get(reverse("coding:case-edit", args=[project.pk, case.pk]))
    assert refused.status_code == 403
    html = refused.content.decode()
    assert 'class="topbar"' in html and "Ikke tillatt" in html and f'href="{home}"' in html
    assert "403 Forbidden" not in html
