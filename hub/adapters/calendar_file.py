"""The working-day calendar file: the one shipped with the hub (``calendar_cn.txt``) or the office's own
(``HUB_CALENDAR_FILE``)."""

from __future__ import annotations

from pathlib import Path

from hub.domain.calendar import WorkingCalendar

SHIPPED = Path(__file__).with_name("calendar_cn.txt")


def load_calendar(path: Path | None = None) -> WorkingCalendar:
    """The calendar in ``path`` (default: the shipped one); a bad line is a ValueError naming file and line."""
    p = Path(path) if path else SHIPPED
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ValueError(f"cannot read the working-day calendar {p}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"the working-day calendar {p} is not UTF-8 text (byte {e.start}): save it as UTF-8") from None
    return WorkingCalendar.parse(text, source=str(p))
