"""Server-Sent Events read line by line (the WHATWG event-stream format, the subset we serve)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SSEMessage:
    data: str
    id: str | None = None
    event: str | None = None


class SSEDecoder:
    """Feed it lines without their newline; it returns a message at each blank line."""

    def __init__(self) -> None:
        self._data: list[str] = []
        self._id: str | None = None
        self._event: str | None = None

    def feed(self, line: str) -> SSEMessage | None:
        if not line:
            if not self._data:
                self._event = None
                return None
            message = SSEMessage("\n".join(self._data), self._id, self._event)
            self._data, self._event = [], None
            return message
        if line.startswith(":"):
            return None  # a comment: the server's keep-alive
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "event":
            self._event = value
        return None
