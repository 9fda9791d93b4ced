"""Loudness and speech activity of one channel, as ``level`` events about 10 per second.

Loudness is the RMS level of each window in dBFS (0 dBFS is a full-scale
square wave; digital silence is reported as ``FLOOR_DBFS``). Speech activity is
deliberately simple and explainable: a window is speech when it is clearly
above the channel's own noise floor. The floor follows quiet windows down at
once and rises only slowly, so a long stretch of talk does not become "noise".
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from agent_assist.events import Channel, Level

__all__ = ["FLOOR_DBFS", "LevelMeter", "dbfs"]

FLOOR_DBFS = -100.0
_FULL_SCALE = 32768.0


def dbfs(samples: npt.NDArray[np.int16]) -> float:
    """RMS level of int16 ``samples`` in dBFS, never below ``FLOOR_DBFS``."""
    x = samples.astype(np.float64)
    return _dbfs(float(np.dot(x, x)), x.size)


def _dbfs(sum_sq: float, count: int) -> float:
    power = sum_sq / count / (_FULL_SCALE * _FULL_SCALE) if count else 0.0
    return max(FLOOR_DBFS, 10.0 * math.log10(power)) if power > 0 else FLOOR_DBFS


class LevelMeter:
    """Turns a channel's samples into :class:`Level` events, one per ``interval`` seconds.

    Keyword arguments:
        margin_db: how far above the noise floor a window must be to count as speech.
        min_speech_dbfs: quieter than this is never speech (dBFS).
        hangover: seconds a speech decision is held after the level drops, so
            the short gaps between words do not flicker.
        floor_rise_db_per_s: how fast the noise floor may climb.
    """

    def __init__(
        self,
        *,
        channel: Channel,
        rate: int,
        interval: float = 0.1,
        margin_db: float = 10.0,
        min_speech_dbfs: float = -55.0,
        hangover: float = 0.3,
        floor_rise_db_per_s: float = 1.0,
    ) -> None:
        self.channel: Channel = channel
        self.rate = rate
        self.interval = interval
        self.margin_db = margin_db
        self.min_speech_dbfs = min_speech_dbfs
        self.hangover = hangover
        self.floor_rise_db_per_s = floor_rise_db_per_s
        self._window = max(1, round(rate * interval))
        self._sum_sq = 0.0
        self._count = 0
        self._noise_floor: float | None = None
        self._speech_until = -math.inf

    @property
    def noise_floor(self) -> float | None:
        """Current noise-floor estimate in dBFS (None before the first window)."""
        return self._noise_floor

    def reset(self) -> None:
        """Forget the partial window and held speech (after a gap in the audio)."""
        self._sum_sq = 0.0
        self._count = 0
        self._speech_until = -math.inf

    def feed(self, samples: npt.NDArray[np.int16], t_start: float) -> list[Level]:
        """Add mono samples whose first one is at call time ``t_start`` (s).

        Returns a Level for every window completed, stamped with the window's end time.
        """
        out: list[Level] = []
        x = samples.astype(np.float64)
        pos = 0
        while pos < x.size:
            take = min(self._window - self._count, x.size - pos)
            part = x[pos : pos + take]
            self._sum_sq += float(np.dot(part, part))
            self._count += take
            pos += take
            if self._count == self._window:
                t_end = t_start + pos / self.rate
                out.append(self._close_window(t_end))
        return out

    def _close_window(self, t_end: float) -> Level:
        level = _dbfs(self._sum_sq, self._count)
        self._sum_sq = 0.0
        self._count = 0
        floor = self._noise_floor
        if floor is None or level < floor:
            floor = level
        else:
            floor = min(level, floor + self.floor_rise_db_per_s * self.interval)
        self._noise_floor = floor
        if level >= self.min_speech_dbfs and level >= floor + self.margin_db:
            self._speech_until = t_end + self.hangover
        speech = t_end <= self._speech_until + 1e-9
        return Level(t=round(t_end, 3), channel=self.channel, dbfs=round(level, 1), speech=speech)
