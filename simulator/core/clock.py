"""The one source of time: a virtual clock that only moves when told to.

Server mode moves it from wall time times a speed factor (see `Pacer`); tests and the control
plane pause it and advance it. Nothing else in the simulator reads the wall clock.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Clock:
    now: float  # virtual epoch seconds
    speed: float = 1.0
    paused: bool = False

    def reset(self, now: float, speed: float = 1.0, paused: bool = False) -> None:
        """Back to `now` at `speed` (a reset or a snapshot load: the clock keeps its identity)."""
        self.now, self.speed, self.paused = float(now), float(speed), paused

    @property
    def now_ms(self) -> int:
        return int(self.now * 1000)

    def set_speed(self, speed: float) -> None:
        if not speed > 0:
            raise ValueError("speed must be > 0")
        self.speed = float(speed)

    def to_json(self) -> dict[str, object]:
        return {"now": self.now, "nowMs": self.now_ms, "speed": self.speed, "paused": self.paused}


class Pacer:
    """Maps wall time to the virtual time the world should have reached.

    The caller passes wall readings in (monotonic seconds), so the pacer itself never reads a
    clock and stays testable. Pausing or changing speed re-anchors, so virtual time never jumps.
    """

    def __init__(self, clock: Clock, wall: float) -> None:
        self.clock = clock
        self.reanchor(wall)

    def reanchor(self, wall: float) -> None:
        self._wall0 = wall
        self._virt0 = self.clock.now
        self._speed = self.clock.speed
        self._last = self.clock.now

    def target(self, wall: float) -> float:
        clock = self.clock
        # Someone else moved the clock (a control-plane advance, a snapshot load) or changed its
        # speed: go on from where it is now, at its new speed, without jumping or stalling.
        if clock.paused or clock.speed != self._speed or clock.now != self._last:
            self.reanchor(wall)
        if clock.paused:
            return clock.now
        self._last = max(clock.now, self._virt0 + (wall - self._wall0) * clock.speed)
        return self._last

    def behind(self, wall: float) -> float:
        """Virtual seconds the clock trails the time `wall` asks for; 0 while it keeps up, is
        paused, or was moved since the last `target` (the pacer goes on from there). Read-only:
        a reader (the metrics) may ask at any moment without disturbing the pacing."""
        clock = self.clock
        if clock.paused or clock.speed != self._speed or clock.now < self._virt0:
            return 0.0
        return max(0.0, self._virt0 + (wall - self._wall0) * self._speed - clock.now)
