"""The JDBC URL's fast path: a URL of the common clean shape is checked, redacted and searched
for credentials without being taken apart. It must answer exactly as taking it apart does, for
every URL, and never let a credential through."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain import workload
from domain.workload import (
    check_jdbc_url,
    credentials_from_jdbc_url,
    redact_jdbc_url,
)

prefixes = st.sampled_from(
    ["jdbc:trino://", "JDBC:trino://", "jdbc:TRINO://", "jdbc:trino:/", "trino://", ""]
)
user_info = st.one_of(st.just(""), st.text(alphabet="ab:%@+", max_size=6).map(lambda t: t + "@"))
hosts = st.text(alphabet="aZ09.-_[]:ſK%\u212a", max_size=12)
ports = st.one_of(
    st.just(""),
    st.sampled_from(["", "0", "1", "443", "0443", "65535", "65536", "99999", "123456", "x"]).map(
        lambda port: ":" + port
    ),
)
paths = st.one_of(st.just(""), st.text(alphabet="ab/.~-%+ @:;", max_size=8).map("/".__add__))
KELVIN_KEY = "\u212aey"  # folds to `key` when matched without re.ASCII
names = st.sampled_from(
    ["catalog", "Catalog", "SSL", "ſsl", KELVIN_KEY, "user", "password", "accessToken", ""]
)
values = st.text(alphabet="aZ09_.~-+%/= @", max_size=6)
pairs = st.tuples(names, st.one_of(st.none(), values)).map(
    lambda pair: pair[0] if pair[1] is None else f"{pair[0]}={pair[1]}"
)
queries = st.one_of(st.just(""), st.lists(pairs, max_size=4).map(lambda p: "?" + "&".join(p)))
fragments = st.one_of(st.just(""), st.text(alphabet="ab#=", max_size=4).map("#".__add__))
spaces = st.sampled_from(["", " ", "\t", "\n"])


@st.composite
def urls(draw: st.DrawFn) -> str:
    return "".join(
        draw(part)
        for part in (spaces, prefixes, user_info, hosts, ports, paths, queries, fragments, spaces)
    )


@st.composite
def nearly_clean_urls(draw: st.DrawFn) -> str:
    """The clean shape with at most a detail or two off: where the fast path could go wrong."""
    host = draw(st.from_regex(r"[a-z0-9][a-z0-9.-]{0,8}", fullmatch=True))
    port = draw(st.sampled_from(["", ":1", ":443", ":0443", ":65535", ":65536", ":0", ":"]))
    path = draw(st.sampled_from(["", "/", "/lake", "/lake/sales", "/a+b", "/a%20b", "//x"]))
    safe = st.sampled_from(["catalog", "schema", "SSL", "sslVerification", "timeZone", "ſsl"])
    value = st.text(alphabet="aZ09_.~-+%/ ", max_size=5)
    pairs = draw(st.lists(st.tuples(safe, value), max_size=3))
    query = ("?" + "&".join(f"{name}={text}" for name, text in pairs)) if pairs else ""
    return f"jdbc:trino://{host}{port}{path}{query}"


def outcome(function: Callable[[str], object], url: str) -> tuple[str, object]:
    try:
        return "answer", function(url)
    except ValueError as exc:
        return "refused", str(exc)


@settings(max_examples=2000)
@given(url=st.one_of(urls(), nearly_clean_urls()))
@example(url="jdbc:trino://trino.example.com:443?catalog=lake")
@example(url="jdbc:trino://host:8080/lake/sales?SSL=true&catalog=x&schema=")
@example(url="jdbc:trino://host:65536?catalog=lake")
@example(url="jdbc:trino://host?ſsl=secret")
@example(url="jdbc:trino://host\n")
def test_the_fast_path_answers_as_taking_the_url_apart_does(url: str) -> None:
    assert outcome(check_jdbc_url, url) == outcome(workload._check_by_parsing, url)
    if outcome(check_jdbc_url, url)[0] == "refused":
        return
    stripped = url.strip()
    assert outcome(redact_jdbc_url, url) == outcome(workload._redact_by_parsing, stripped)
    assert outcome(credentials_from_jdbc_url, url) == outcome(
        workload._credentials_by_parsing, stripped
    )


@settings(max_examples=500)
@given(
    prefix=st.sampled_from(["jdbc:trino://", "JDBC:trino://"]),
    host=st.from_regex(r"[a-z][a-z0-9.-]{0,10}[a-z0-9]", fullmatch=True),
    where=st.sampled_from(["user info", "password", "accessToken", "SSLKeyStorePassword"]),
    secret=st.from_regex(r"S3CR3T[A-Za-z0-9_.~-]{4,12}", fullmatch=True),
    safe=st.sampled_from(["", "catalog=lake&", "SSL=true&"]),
)
def test_a_url_carrying_a_credential_is_never_its_own_redaction(
    prefix: str, host: str, where: str, secret: str, safe: str
) -> None:
    # given a URL of the clean shape but for one credential
    if where == "user info":
        url = f"{prefix}alice:{secret}@{host}:443/lake?{safe}schema=s"
    else:
        url = f"{prefix}{host}:443/lake?{safe}{where}={secret}"

    # then the redaction drops it, and it is found among the credentials
    assert secret not in redact_jdbc_url(url)
    credentials = credentials_from_jdbc_url(url)
    assert credentials is not None
    assert secret in (credentials.password, *(value for _, value in credentials.parameters))
