"""What happens to vehicles, as data: the core publishes, pushes and the dashboard listen."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Kinds match the push types of the reference.
STATUS, LOCATION, ALERT, FAULT, COMPONENTS = "status", "location", "alert", "fault", "components"
KINDS = (STATUS, LOCATION, ALERT, FAULT, COMPONENTS)


@dataclass(frozen=True, slots=True)
class Event:
    t: float  # virtual epoch seconds
    row: int  # fleet row
    kind: str
    # kind-specific: alert {"code", "alertStatus"}, fault {"code", "faultStatus"},
    # components {"type", "status"}, status {"reason"}, location {}
    data: dict[str, Any] = field(default_factory=dict)


Listener = Callable[[Event], None]


class Bus:
    """Synchronous fan-out: listeners must not block (they queue work of their own)."""

    def __init__(self) -> None:
        self.listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        self.listeners.remove(listener)

    def publish(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)
