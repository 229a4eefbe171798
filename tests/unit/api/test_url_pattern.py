"""The JDBC URL pattern the OpenAPI document states promises no more than the service keeps:
every URL it allows can be taken apart, redacted and read for credentials."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.workload import check_jdbc_url, credentials_from_jdbc_url, redact_jdbc_url
from entrypoints.api.schemas import JDBC_URL_PATTERN, NewTaskRequest


@settings(max_examples=300, deadline=None)
@given(url=st.from_regex(JDBC_URL_PATTERN, fullmatch=True))
def test_every_url_the_pattern_allows_can_be_taken_apart(url: str) -> None:
    check_jdbc_url(url)
    redact_jdbc_url(url)
    credentials_from_jdbc_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "jdbc:trino://trino.example.com:443?catalog=lake&user=alice&password=s3cr3t-pw",
        "jdbc:trino://alice:pw@h:8080/lake/sales?SSL=true",
        "JDBC:TRINO://h",
        "jdbc:trino://[::1]:8080/lake",
        "jdbc:trino://[2001:db8::1]/lake",
        "jdbc:trino://[::ffff:192.0.2.1]:443",
        "jdbc:trino://10.0.0.7:65535",
        "jdbc:trino://h:8080/lake?extraCredentials=a:b;c:d&clientTags=x,y",
    ],
)
def test_real_urls_match_the_pattern(url: str) -> None:
    assert re.fullmatch(JDBC_URL_PATTERN, url)


@pytest.mark.parametrize(
    "url",
    [
        "jdbc:trino://[::1",
        "jdbc:trino://[1.2]:8080",
        "jdbc:trino://h:65536",
        "jdbc:trino://h:http",
        "jdbc:trino://:8080",
        "jdbc:trino://h\x00",
        "jdbc:trino://h/\x00",
        "jdbc:trino://h/a b",
        "jdbc:trino://ho\uff03st",
        "jdbc:postgresql://h",
    ],
)
def test_urls_that_cannot_be_taken_apart_do_not_match(url: str) -> None:
    assert not re.fullmatch(JDBC_URL_PATTERN, url)


def test_the_openapi_document_carries_the_pattern() -> None:
    schema = NewTaskRequest.model_json_schema()

    assert schema["properties"]["url"]["pattern"] == JDBC_URL_PATTERN
