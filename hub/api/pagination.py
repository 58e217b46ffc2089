"""Relay-style connections with totalCount: opaque offset cursors, `first` capped and validated."""

from __future__ import annotations

import base64
from typing import Generic, TypeVar

import strawberry

T = TypeVar("T")
MAX_FIRST = 500
DEFAULT_FIRST = 50


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


def _edge_cursor(root) -> str:
    return encode_cursor(root.offset)


@strawberry.type
class Edge(Generic[T]):
    # Computed only when selected: pages of hundreds of edges usually do not ask for it.
    cursor: str = strawberry.field(resolver=_edge_cursor)
    node: T
    offset: strawberry.Private[int]


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


MAX_OFFSET = 2**31 - 2  # a cursor's offset: what both databases take as OFFSET; beyond it is no real page


def decode_cursor(cursor: str | None) -> int:
    """The offset a cursor stands for; a ValueError (BAD_USER_INPUT) for anything this module did not make."""
    if cursor is None:
        return -1
    try:
        kind, n = base64.urlsafe_b64decode(cursor.encode("ascii")).decode("ascii").split(":")
        if kind != "o" or not n.isdigit() or not 0 <= int(n) <= MAX_OFFSET:
            raise ValueError
        return int(n)
    except Exception:
        raise ValueError("invalid cursor: use a cursor from this connection's pageInfo or edges") from None


def page_window(first: int | None, after: str | None) -> tuple[int, int]:
    """(offset, limit) for a page; a clear error for a bad `first` or cursor."""
    if first is None:
        first = DEFAULT_FIRST
    if first < 0:
        raise ValueError("`first` must not be negative")
    if first > MAX_FIRST:
        raise ValueError(f"`first` must be at most {MAX_FIRST}")
    return decode_cursor(after) + 1, first
