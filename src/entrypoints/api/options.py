"""What the HTTP layer is configured with, taken from the settings by the composition roots."""

from __future__ import annotations

from dataclasses import dataclass

from entrypoints.settings import Settings

__all__ = ["DEFAULT_MAX_REQUEST_BYTES", "ApiOptions"]

DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ApiOptions:
    """`api_keys` empty: no key is asked for. `cors_allow_origins` empty: no cross-origin
    browser request is allowed (no CORS header is ever sent)."""

    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    api_keys: tuple[str, ...] = ()
    cors_allow_origins: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiOptions:
        return cls(
            max_request_bytes=settings.max_request_bytes,
            api_keys=settings.api_key_list(),
            cors_allow_origins=settings.cors_origin_list(),
        )
