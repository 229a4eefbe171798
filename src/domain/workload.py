"""The workload a user submits: where the tables live, their DDL, the queries and their weight.

The JDBC URL is split on the way in. The workload keeps it redacted (`redact_jdbc_url`): only
the host, port, catalog, schema and a few harmless connection settings, so the stored task, the
logs, the LLM and the result never see a credential. What redaction drops is what the service
needs to log in to the user's Trino, and is taken apart as `Credentials`
(`credentials_from_jdbc_url`), a value that never shows itself and that the application keeps
apart from the task, encrypted, only while the task runs.

>>> url = "jdbc:trino://u:secret@host:8080/lake?user=u&password=p&SSL=true"
>>> redact_jdbc_url(url)
'jdbc:trino://host:8080/lake?SSL=true'
>>> credentials_from_jdbc_url(url)
Credentials(user=<hidden>, password=<hidden>)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

__all__ = [
    "DEFAULT_TARGET_SCHEMA",
    "AnalysisOptions",
    "Credentials",
    "DdlStatement",
    "Query",
    "Workload",
    "catalog_from_jdbc_url",
    "check_jdbc_url",
    "credentials_from_jdbc_url",
    "redact_jdbc_url",
]

DEFAULT_TARGET_SCHEMA = "optimized"

# Connection settings that carry no secret. Everything else (user, password, accessToken,
# extraCredentials, key store passwords, Kerberos settings, session properties…) is dropped:
# an allow-list cannot leak a credential whose name we did not foresee.
_SAFE_PARAMETERS = frozenset(
    {"catalog", "schema", "ssl", "sslverification", "timezone", "source", "clienttags"}
)


_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")

# The shape nearly every submitted URL has, and for which taking it apart changes nothing: a
# lower-case host, a port from 1, a plain path, and only harmless parameters whose names and
# values URL encoding leaves as they are, no user info, no fragment. Such a URL is its own
# redaction and carries no credentials, which a match proves without the parsing (the port's
# range is checked apart). Anything else, a credential above all, takes the general path.
_SAFE_PAIR = (
    rf"(?i:{'|'.join(sorted(_SAFE_PARAMETERS))})"  # the names, in any case
    r"=[A-Za-z0-9_.~-]*"  # a value that `quote_plus` keeps as it is
)
_CLEAN_URL = re.compile(
    r"jdbc:trino://"
    r"[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?"  # host
    r"(?::(?P<port>[1-9][0-9]{0,4}))?"
    r"(?:/[A-Za-z0-9_.~/-]*)?"  # path
    rf"(?:\?{_SAFE_PAIR}(?:&{_SAFE_PAIR})*)?",
    re.ASCII,  # or `(?i:ssl)` would match `ſsl`, a name the allow-list does not hold
)


def _is_clean(url: str) -> bool:
    """Whether `url` (already stripped) is its own redaction and carries no credentials."""
    match = _CLEAN_URL.fullmatch(url)
    return match is not None and (match["port"] is None or int(match["port"]) <= 65535)


def _parts(url: str) -> tuple[str, SplitResult]:
    prefix = "jdbc:"
    if url.lower().startswith(prefix):
        return url[: len(prefix)], urlsplit(url[len(prefix) :])
    return "", urlsplit(url)


def check_jdbc_url(url: str) -> None:
    """Raise `ValueError` when the URL cannot be taken apart (so neither redacted nor used):
    a control character, an unclosed `[` of an IPv6 address, a port that is not a number from 0
    to 65535, characters a host may not hold, or no host at all. The message never quotes the
    URL, which may hold a password.

    >>> check_jdbc_url("jdbc:trino://[::1")
    Traceback (most recent call last):
    ...
    ValueError: the URL cannot be parsed (an unclosed '[' or invalid characters in the host)
    """
    if _is_clean(url):
        return
    _check_by_parsing(url)


def _check_by_parsing(url: str) -> None:
    if _CONTROL_CHARACTER.search(url):
        raise ValueError("the URL holds a control character")
    try:
        _, parts = _parts(url.strip())
    except ValueError:
        raise ValueError(
            "the URL cannot be parsed (an unclosed '[' or invalid characters in the host)"
        ) from None
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise ValueError("the URL's port is not a number from 0 to 65535") from None
    if not parts.hostname:
        raise ValueError("the URL names no host")


def redact_jdbc_url(url: str) -> str:
    """Drop user info and every query parameter not known to be harmless."""
    url = url.strip()
    if _is_clean(url):
        return url
    return _redact_by_parsing(url)


def _redact_by_parsing(url: str) -> str:
    prefix, parts = _parts(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    kept = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name.lower() in _SAFE_PARAMETERS
    ]
    return prefix + urlunsplit((parts.scheme, netloc, parts.path, urlencode(kept), ""))


@dataclass(frozen=True, slots=True, repr=False)
class Credentials:
    """What a JDBC URL carries to log in: the user, the password, and every other connection
    parameter that redaction drops (`accessToken`, `extraCredentials`, key store passwords…),
    by their names in the URL. All of it counts as secret, since a parameter whose name we do
    not know may hold one. `repr` and `str` name only the parts that are set, never a value.

    >>> Credentials("alice", "s3cr3t", (("accessToken", "eyJhbGciOi"),))
    Credentials(user=<hidden>, password=<hidden>, parameters=[accessToken=<hidden>])
    """

    user: str | None = None
    password: str | None = None
    parameters: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        parts = [f"{name}=<hidden>" for name in ("user", "password") if getattr(self, name)]
        if self.parameters:
            names = ", ".join(f"{name}=<hidden>" for name, _ in self.parameters)
            parts.append(f"parameters=[{names}]")
        return f"Credentials({', '.join(parts)})"

    def __str__(self) -> str:
        return self.__repr__()

    def scrub(self, text: str) -> str:
        """`text` with every secret value in it, as is or percent-encoded, replaced by `***`:
        for a message that may quote what a connection attempt was given.

        >>> Credentials("alice", "pw+1").scrub("login alice:pw%2B1 refused")
        'login ***:*** refused'
        """
        values = {self.user, self.password, *(value for _, value in self.parameters)}
        secrets = {form for value in values if value for form in (value, quote(value, safe=""))}
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


def _query_parameters(query: str) -> list[tuple[str, str]]:
    """`name=value` pairs, percent-decoded. Unlike `parse_qsl`, `+` stays a plus: the Trino
    driver reads the query with `URI.getQuery()`, which decodes only percent escapes, and a
    password may well hold a `+`."""
    pairs = []
    for piece in query.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def credentials_from_jdbc_url(url: str) -> Credentials | None:
    """The credentials a Trino JDBC URL carries, or None when it carries none.

    User info (`user:password@host`) and the query parameters `user` and `password` give the
    login; when both are present the query parameters win, as they are what the Trino driver
    reads. Every other parameter that `redact_jdbc_url` drops is kept in `parameters`, so that
    the redacted URL and these credentials together connect like the original URL. Empty
    values count as absent.
    """
    url = url.strip()
    if _is_clean(url):
        return None
    return _credentials_by_parsing(url)


def _credentials_by_parsing(url: str) -> Credentials | None:
    _, parts = _parts(url)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    parameters: list[tuple[str, str]] = []
    for name, value in _query_parameters(parts.query):
        key = name.lower()
        if key in _SAFE_PARAMETERS or not value:
            continue
        if key == "user":
            user = value
        elif key == "password":
            password = value
        else:
            parameters.append((name, value))
    if not (user or password or parameters):
        return None
    return Credentials(user or None, password or None, tuple(parameters))


def catalog_from_jdbc_url(url: str) -> str | None:
    """The catalog a Trino JDBC URL names: `?catalog=` first, else the first path segment."""
    _, parts = _parts(url.strip())
    for name, value in parse_qsl(parts.query):
        if name.lower() == "catalog" and value:
            return value
    segments = [s for s in parts.path.split("/") if s]
    return segments[0] if segments else None


@dataclass(frozen=True, slots=True)
class DdlStatement:
    statement: str


@dataclass(frozen=True, slots=True)
class Query:
    """One query of the workload. Its weight is how often it runs times how long it takes."""

    queryid: str
    query: str
    runquantity: int = 1
    executiontime: float | None = None

    @property
    def weight(self) -> float:
        seconds = self.executiontime if self.executiontime is not None else 1.0
        return float(self.runquantity) * float(seconds)


@dataclass(frozen=True, slots=True)
class AnalysisOptions:
    target_schema: str = DEFAULT_TARGET_SCHEMA
    use_llm: bool = True
    verify: bool = True
    # store the results of the heaviest repeated aggregate queries no rollup answers
    store_results: bool = True
    # store a large fact with the dimension columns its queries read (off: see denormalize)
    denormalize: bool = False


@dataclass(frozen=True, slots=True)
class Workload:
    """A redacted workload: safe to store, log and show."""

    url: str
    ddl: tuple[DdlStatement, ...]
    queries: tuple[Query, ...]
    options: AnalysisOptions = field(default_factory=AnalysisOptions)

    @classmethod
    def from_request(
        cls,
        url: str,
        ddl: tuple[DdlStatement, ...],
        queries: tuple[Query, ...],
        options: AnalysisOptions | None = None,
    ) -> Workload:
        """Build a workload from raw input, redacting the URL."""
        return cls(redact_jdbc_url(url), ddl, queries, options or AnalysisOptions())

    @property
    def catalog(self) -> str | None:
        return catalog_from_jdbc_url(self.url)

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "ddl": [{"statement": d.statement} for d in self.ddl],
            "queries": [
                {
                    "queryid": q.queryid,
                    "query": q.query,
                    "runquantity": q.runquantity,
                    "executiontime": q.executiontime,
                }
                for q in self.queries
            ],
            "options": {
                "target_schema": self.options.target_schema,
                "use_llm": self.options.use_llm,
                "verify": self.options.verify,
                "store_results": self.options.store_results,
                "denormalize": self.options.denormalize,
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Workload:
        options = data.get("options") or {}
        return cls(
            url=data["url"],
            ddl=tuple(DdlStatement(d["statement"]) for d in data["ddl"]),
            queries=tuple(
                Query(
                    queryid=q["queryid"],
                    query=q["query"],
                    runquantity=q.get("runquantity", 1),
                    executiontime=q.get("executiontime"),
                )
                for q in data["queries"]
            ),
            options=AnalysisOptions(**options),
        )
