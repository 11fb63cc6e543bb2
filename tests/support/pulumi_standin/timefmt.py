"""Go's time formats, as the CLI writes them."""

import datetime


def _offset(dt):
    off = dt.utcoffset() or datetime.timedelta(0)
    if off == datetime.timedelta(0):
        return "Z"
    minutes = int(off.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return "%s%02d:%02d" % (sign, minutes // 60, minutes % 60)


def rfc3339nano(dt=None):
    """Go time.RFC3339Nano (what encoding/json writes for a time.Time): trailing zeros of the
    fraction trimmed, `Z` for a zero offset."""
    dt = dt or datetime.datetime.now().astimezone()
    frac = ("%06d" % dt.microsecond).rstrip("0")
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ("." + frac if frac else "") + _offset(dt)


def rfc3339(text):
    """Go time.RFC3339 of a timestamp written by rfc3339nano (whole seconds)."""
    try:
        dt = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return text
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + _offset(dt)


def utc_ms():
    """RFC 3339 UTC with milliseconds (stack history's layout)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
