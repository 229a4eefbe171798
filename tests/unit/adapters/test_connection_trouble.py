"""What went wrong reaching Trino, as the statistics finding tells it: told by the error's
type, so that digits in a message — a port such as 40123 — never turn a timeout into a
refused login."""

from __future__ import annotations

import requests
from hypothesis import given
from hypothesis import strategies as st
from trino.exceptions import HttpError, TrinoAuthError, TrinoConnectionError, TrinoQueryError

from adapters.trino.statistics import connection_trouble


@given(port=st.integers(1, 65535))
def test_the_kind_of_trouble_does_not_depend_on_the_port(port: int) -> None:
    where = f"HTTPSConnectionPool(host='127.0.0.1', port={port})"
    assert (
        connection_trouble(requests.exceptions.ReadTimeout(f"{where}: Read timed out."))
        == "the server did not answer in time"
    )
    assert (
        connection_trouble(
            requests.exceptions.ConnectionError(f"{where}: Max retries exceeded: refused")
        )
        == "the server could not be reached"
    )
    assert (
        connection_trouble(requests.exceptions.SSLError(f"{where}: CERTIFICATE_VERIFY_FAILED"))
        == "TLS failed"
    )


def test_a_refused_login_is_told_apart_from_other_http_errors() -> None:
    assert connection_trouble(HttpError("error 401: b'Invalid credentials'")) == (
        "the login was refused"
    )
    assert connection_trouble(TrinoAuthError("no token")) == "the login was refused"
    assert connection_trouble(HttpError("error 502: bad gateway")) == (
        "the server could not be reached"
    )


def test_a_statement_that_fails_is_no_trouble_with_the_connection() -> None:
    assert connection_trouble(ValueError("port=40123 has 401 in it")) is None
    assert connection_trouble(TrinoQueryError({"message": "no such table"})) is None


def test_the_cause_the_client_wrapped_is_what_tells() -> None:
    wrapped = TrinoConnectionError("failed to execute: port=40123: Read timed out.")
    wrapped.__context__ = requests.exceptions.ReadTimeout("port=40123: Read timed out.")
    assert connection_trouble(wrapped) == "the server did not answer in time"
