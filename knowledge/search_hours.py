"""The search index's opening hours: each document's weekly hours as minute-of-week intervals,
each read on its own place's clock, and the "open now" and "open on Saturday" filters."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

from knowledge.hours import MINUTES_PER_DAY
from knowledge.places import Gazetteer
from knowledge.search_documents import Document

MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY


class OpeningHours:
    """Built once with the index; "open now" is then one vectorised comparison."""

    def __init__(
        self, documents: list[Document], zone: ZoneInfo, gazetteer: Gazetteer | None
    ) -> None:
        self.size = len(documents)
        intervals = [
            (doc_index, i.weekday * MINUTES_PER_DAY + i.opens, i.closes - i.opens)
            for doc_index, doc in enumerate(documents)
            for i in doc.hours
        ]
        table = np.array(intervals, dtype=np.int32).reshape(-1, 3)
        self.doc, self.start = table[:, 0].copy(), table[:, 1].copy()
        self.end = self.start + table[:, 2]
        # ...each on its own place's clock: a California library's 8 pm, asked from Chicago
        self.zones: list[ZoneInfo] = [zone]
        self.zone_of = self._zones_of(documents, gazetteer)[self.doc]
        # ...and, for documents with none, the weekdays their text names, one bit each.
        self.named_days = np.array(
            [sum(1 << day for day in d.days_named) for d in documents], dtype=np.uint8
        )
        self._open_cache: tuple[int, np.ndarray] | None = None

    def _zones_of(self, documents: list[Document], gazetteer: Gazetteer | None) -> np.ndarray:
        """Per document, the index (into self.zones) of the time zone its hours are kept in:
        that of its first address the gazetteer places, else the index's own."""
        codes: dict[str, int] = {}
        of_doc = np.zeros(len(documents), dtype=np.int8)
        if gazetteer is None:
            return of_doc
        for doc_index in np.unique(self.doc).tolist():
            name = gazetteer.first_zone(documents[doc_index].addresses)
            if name is None:
                continue
            if name not in codes:
                codes[name] = len(self.zones)
                self.zones.append(ZoneInfo(name))
            of_doc[doc_index] = codes[name]
        return of_doc

    def _local_minutes(self, moment: datetime) -> np.ndarray:
        """Per interval, the minute of the week `moment` is on that interval's clock."""
        minutes = []
        for zone in self.zones:
            local = moment.astimezone(zone)
            minutes.append(local.weekday() * MINUTES_PER_DAY + local.hour * 60 + local.minute)
        return np.array(minutes, dtype=np.int32)[self.zone_of]

    def open_mask(self, moment: datetime) -> np.ndarray:
        """Documents open at `moment`."""
        key = int(moment.timestamp()) // 60
        if self._open_cache is not None and self._open_cache[0] == key:
            return self._open_cache[1]
        minute = self._local_minutes(moment)
        inside = (self.start <= minute) & (minute < self.end)
        # Sunday-night hours running past midnight wrap into Monday.
        late = minute + MINUTES_PER_WEEK
        wrapped = (self.start <= late) & (late < self.end)
        mask = np.zeros(self.size, dtype=bool)
        mask[self.doc[inside | wrapped]] = True
        self._open_cache = (key, mask)
        return mask

    def open_on_day_mask(self, day: int, moment: datetime) -> np.ndarray:
        """Documents open some time on `day` (0 Monday), or still to open today if it is today."""
        minute = self._local_minutes(moment)
        start = np.full(len(minute), day * MINUTES_PER_DAY, dtype=np.int32)
        today = minute // MINUTES_PER_DAY == day
        start[today] = minute[today]
        end = (day + 1) * MINUTES_PER_DAY
        open_then = (self.start < end) & (self.end > start)
        mask = (self.named_days >> day) & 1 == 1  # "a Saturday morning feeding program"
        mask[self.doc[open_then]] = True
        return mask
