"""The credentials a JDBC URL carries: taken apart from the redacted URL, never shown."""

from __future__ import annotations

import logging

import pytest

from domain.workload import Credentials, credentials_from_jdbc_url, redact_jdbc_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "jdbc:trino://alice:s3cret@trino.example.com:8443/lake/sales",
            Credentials("alice", "s3cret"),
            id="user info",
        ),
        pytest.param(
            "jdbc:trino://alice@trino.example.com:8443",
            Credentials("alice"),
            id="user info without a password",
        ),
        pytest.param(
            "jdbc:trino://trino.example.com:443?catalog=lake&user=alice&password=s3cret",
            Credentials("alice", "s3cret"),
            id="query parameters",
        ),
        pytest.param(
            "jdbc:trino://bob:old@trino.example.com?user=alice&password=new",
            Credentials("alice", "new"),
            id="both: the query parameters win",
        ),
        pytest.param(
            "jdbc:trino://bob:s3cret@trino.example.com?user=alice",
            Credentials("alice", "s3cret"),
            id="both: user info fills in what the query lacks",
        ),
        pytest.param(
            "jdbc:trino://al%40ice:p%3Ass%2Fw%40rd@trino.example.com"
            "?accessToken=ab%2Bc%3D%3D&extraCredentials=k1%3Av1%3Bk2%3Av2",
            Credentials(
                "al@ice",
                "p:ss/w@rd",
                (("accessToken", "ab+c=="), ("extraCredentials", "k1:v1;k2:v2")),
            ),
            id="percent-encoded",
        ),
        pytest.param(
            "jdbc:trino://trino.example.com?user=alice&password=a+b%20c",
            Credentials("alice", "a+b c"),
            id="a plus stays a plus, as the Trino driver reads it",
        ),
        pytest.param(
            "jdbc:trino://trino.example.com?catalog=lake&accessToken=eyJhbGciOi&SSL=true"
            "&SSLKeyStorePassword=ks-pw&sessionUser=carol",
            Credentials(
                parameters=(
                    ("accessToken", "eyJhbGciOi"),
                    ("SSLKeyStorePassword", "ks-pw"),
                    ("sessionUser", "carol"),
                )
            ),
            id="other secret parameters, by their names",
        ),
        pytest.param(
            "JDBC:TRINO://trino.example.com?USER=alice&Password=s3cret",
            Credentials("alice", "s3cret"),
            id="names in any case",
        ),
        pytest.param(
            "jdbc:trino://alice:pw@[::1]:8080/lake",
            Credentials("alice", "pw"),
            id="IPv6 host",
        ),
    ],
)
def test_credentials_are_taken_from_every_shape_of_url(url: str, expected: Credentials) -> None:
    assert credentials_from_jdbc_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "jdbc:trino://trino.example.com:8080",
        "jdbc:trino://trino.example.com:8080/lake/sales?SSL=true&catalog=lake&schema=sales",
        "jdbc:trino://trino.example.com?timezone=UTC&source=bi&clientTags=a,b",
        "jdbc:trino://trino.example.com?user=&password=",
        "jdbc:trino://:@trino.example.com",
    ],
)
def test_a_url_without_credentials_gives_none(url: str) -> None:
    assert credentials_from_jdbc_url(url) is None


def test_the_redacted_url_and_the_credentials_share_nothing_secret() -> None:
    url = (
        "jdbc:trino://bob:pw-one@trino.example.com:8443/lake"
        "?user=alice&password=pw-two&accessToken=tok-three&SSL=true"
    )

    redacted = redact_jdbc_url(url)
    credentials = credentials_from_jdbc_url(url)

    assert redacted == "jdbc:trino://trino.example.com:8443/lake?SSL=true"
    assert credentials == Credentials("alice", "pw-two", (("accessToken", "tok-three"),))


def test_repr_and_str_show_which_parts_are_set_and_no_value() -> None:
    credentials = Credentials(
        "alice-4f1c", "pw-4f1c", (("accessToken", "tok-4f1c"), ("extraCredentials", "x-4f1c"))
    )

    shown = [
        repr(credentials),
        str(credentials),
        f"{credentials}",
        f"{credentials!r}",
        "%s %r" % (credentials, credentials),  # noqa: UP031 -- the logging module's way
        repr([credentials]),
        repr({"credentials": credentials}),
    ]

    for text in shown:
        assert "4f1c" not in text
    assert repr(credentials) == (
        "Credentials(user=<hidden>, password=<hidden>, "
        "parameters=[accessToken=<hidden>, extraCredentials=<hidden>])"
    )


def test_logging_credentials_logs_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    credentials = Credentials("alice-9e2d", "pw-9e2d")

    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("connecting with %s (%r)", credentials, credentials)

    assert "9e2d" not in caplog.text
    assert "Credentials(user=<hidden>, password=<hidden>)" in caplog.text


def test_scrub_replaces_every_secret_value_in_a_message() -> None:
    credentials = Credentials("alice", "p@ss+1", (("accessToken", "tok-123"),))

    message = "401 for alice with p@ss+1 (p%40ss%2B1), token tok-123; alice again"

    assert credentials.scrub(message) == "401 for *** with *** (***), token ***; *** again"
    assert Credentials().scrub("nothing to hide") == "nothing to hide"
