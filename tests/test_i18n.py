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
