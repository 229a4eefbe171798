"""The lab's Trino over HTTPS with a password, beside its plain HTTP door.

`scripts/services/trino.sh` serves HTTPS with a self-signed certificate for 127.0.0.1 and
localhost and one user, `lab`, whose password is checked by Trino's file authenticator; plain
HTTP keeps taking the user from `X-Trino-User` without a password. `DBANALYSIS_TEST_TRINO_HTTPS`
(`host:port`), `DBANALYSIS_TEST_TRINO_CA` (the certificate to trust, PEM) and
`DBANALYSIS_TEST_TRINO_PASSWORD` name it, `DBANALYSIS_TEST_TRINO` the plain HTTP door (all set
by `scripts/test-services.sh`); without them the tests are skipped on a developer box and fail
in CI.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
import trino
from trino.exceptions import HttpError, TrinoConnectionError

pytestmark = pytest.mark.integration

TEST_TRINO = "DBANALYSIS_TEST_TRINO"
TEST_TRINO_HTTPS = "DBANALYSIS_TEST_TRINO_HTTPS"
TEST_TRINO_CA = "DBANALYSIS_TEST_TRINO_CA"
TEST_TRINO_PASSWORD = "DBANALYSIS_TEST_TRINO_PASSWORD"
LAB_USER = "lab"


@dataclass(frozen=True)
class HttpsServer:
    host: str
    port: int
    ca: str
    password: str


def required(*names: str) -> list[str]:
    """The values of the environment variables, or a skip (a failure in CI) when one is unset."""
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        reason = f"{', '.join(missing)} not set: no Trino to run the TLS tests on"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is an error, not a skip)", pytrace=False)
        pytest.skip(reason)
    return [os.environ[name] for name in names]


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


@pytest.fixture(autouse=True)
def no_ca_bundle_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override a session's `verify`
    (psf/requests#3829), and the trino client passes `verify` on its session: with either set,
    `verify=<ca path>` would silently trust that bundle instead. The tests say what they trust."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


@pytest.fixture(scope="module")
def https_server() -> HttpsServer:
    address, ca, password = required(TEST_TRINO_HTTPS, TEST_TRINO_CA, TEST_TRINO_PASSWORD)
    return HttpsServer(*split_address(address), ca=ca, password=password)


@pytest.fixture(scope="module")
def http_address() -> tuple[str, int]:
    (address,) = required(TEST_TRINO)
    return split_address(address)


def run(connection: trino.dbapi.Connection, sql: str) -> list[list[object]]:
    try:
        cursor = connection.cursor()
        cursor.execute(sql)
        return cursor.fetchall()
    finally:
        connection.close()


def connect_https(
    server: HttpsServer,
    password: str | None,
    verify: bool | str,
    host: str | None = None,
) -> trino.dbapi.Connection:
    auth = None if password is None else trino.auth.BasicAuthentication(LAB_USER, password)
    return trino.dbapi.connect(
        host=host or server.host,
        port=server.port,
        user=LAB_USER,
        http_scheme="https",
        auth=auth,
        verify=verify,
        max_attempts=1,  # the failures under test are not transient: no retries, no back-off
        request_timeout=30,
    )


@pytest.mark.parametrize("name", ["address", "localhost"])
def test_the_right_password_over_https_runs_a_query_as_its_user(
    https_server: HttpsServer, name: str
) -> None:
    # given a client that trusts the lab's certificate and knows the lab user's password,
    # connecting by the address given or by the certificate's other name
    host = https_server.host if name == "address" else "localhost"
    connection = connect_https(https_server, https_server.password, https_server.ca, host)
    # when it runs a query
    rows = run(connection, "SELECT 1, current_user")
    # then Trino answers, as the user the password belongs to
    assert rows == [[1, LAB_USER]]


def test_a_wrong_password_is_refused_with_an_authentication_error(
    https_server: HttpsServer,
) -> None:
    # given a client that trusts the certificate but sends a wrong password
    connection = connect_https(https_server, https_server.password + "-wrong", https_server.ca)
    # when it runs a query, then Trino refuses it as unauthenticated
    with pytest.raises(HttpError, match="401"):
        run(connection, "SELECT 1")


def test_no_password_over_https_is_refused_with_an_authentication_error(
    https_server: HttpsServer,
) -> None:
    # given a client over HTTPS that names its user but sends no password
    connection = connect_https(https_server, None, https_server.ca)
    # when it runs a query, then Trino asks for credentials
    with pytest.raises(HttpError, match="401"):
        run(connection, "SELECT 1")


def test_a_client_that_does_not_trust_the_certificate_fails_with_a_tls_error(
    https_server: HttpsServer,
) -> None:
    # given a client with the right password that trusts only the default CA store (requests'
    # own bundle; the system's when REQUESTS_CA_BUNDLE names it): not the lab's certificate
    connection = connect_https(https_server, https_server.password, True)
    # when it runs a query, then the TLS handshake fails on the self-signed certificate
    with pytest.raises(TrinoConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        run(connection, "SELECT 1")


def test_plain_http_on_the_lab_port_still_works_without_a_password(
    http_address: tuple[str, int],
) -> None:
    # given a client over plain HTTP with a user and no password
    connection = trino.dbapi.connect(*http_address, user="anyone", max_attempts=1)
    # when it runs a query, then Trino takes the user from the request as before
    assert run(connection, "SELECT 1, current_user") == [[1, "anyone"]]
