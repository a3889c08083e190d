"""The HTTP request and response as the protocol layer sees them (independent of the server)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request: header names lower-cased, the raw query string and body."""

    method: str
    path: str
    query_string: str
    headers: dict[str, str]
    body: bytes
    #: Every header as received (names as the client spelled them, repeats kept), for API
    #: Gateway events: REST APIs pass header names through, HTTP APIs lower-case them.
    raw_headers: tuple[tuple[str, str], ...] = ()

    def query_params(self) -> list[tuple[str, str]]:
        """The query string as (name, value) pairs, in order, blank values kept."""
        return parse_qsl(self.query_string, keep_blank_values=True)


@dataclass(slots=True)
class Response:
    """One HTTP response."""

    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
