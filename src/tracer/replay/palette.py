"""The colours the replay draws terminal output in: xterm's standard palette, as RGB.

Terminal output names colours by number (SGR 30–37, 90–97, ``38;5;N``). Left as numbers, Textual draws the first
16 through its theme's ANSI colours (Monokai-like: blue comes out purple, yellow orange, red pink). The replay
shows a terminal, so it gives every indexed colour the RGB value xterm gives it: the 16 colours of xterm's
default resources (``XTerm*color0``–``color15``), then the 6×6×6 cube and the grey ramp (``256colres.h``).
"""

from __future__ import annotations

from functools import cache

from rich.color import Color, ColorType
from rich.color_triplet import ColorTriplet
from rich.style import Style
from rich.text import Span, Text

#: xterm's 16 standard colours (black, red, green, yellow, blue, magenta, cyan, white; then the bright ones).
XTERM_16: tuple[tuple[int, int, int], ...] = (
    (0, 0, 0),
    (205, 0, 0),
    (0, 205, 0),
    (205, 205, 0),
    (0, 0, 238),
    (205, 0, 205),
    (0, 205, 205),
    (229, 229, 229),
    (127, 127, 127),
    (255, 0, 0),
    (0, 255, 0),
    (255, 255, 0),
    (92, 92, 255),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 255),
)


def _cube(n: int) -> tuple[int, int, int]:
    if n >= 232:  # grey ramp
        level = 8 + 10 * (n - 232)
        return (level, level, level)
    n -= 16
    steps = (0, 95, 135, 175, 215, 255)
    return (steps[n // 36], steps[n // 6 % 6], steps[n % 6])


@cache
def indexed(n: int) -> Color:
    """Colour number ``n`` (0–255) as xterm draws it, as an RGB colour."""
    r, g, b = XTERM_16[n] if n < 16 else _cube(n)
    return Color.from_triplet(ColorTriplet(r, g, b))


def _rgb(color: Color | None) -> Color | None:
    if color is None or color.number is None or color.type not in (ColorType.STANDARD, ColorType.EIGHT_BIT):
        return color
    return indexed(color.number)


@cache
def rgb_style(style: Style) -> Style:
    """``style`` with its indexed colours (foreground and background) turned into xterm's RGB values."""
    color, bgcolor = _rgb(style.color), _rgb(style.bgcolor)
    if color is style.color and bgcolor is style.bgcolor:
        return style
    return style + Style.from_color(color, bgcolor)


def rgb_text(text: Text) -> Text:
    """``text`` (e.g. from :class:`rich.ansi.AnsiDecoder`) with its indexed colours in xterm's RGB values; changed
    in place and returned."""
    if isinstance(text.style, Style):
        text.style = rgb_style(text.style)
    text.spans = [
        Span(span.start, span.end, rgb_style(span.style)) if isinstance(span.style, Style) else span
        for span in text.spans
    ]
    return text


__all__ = ["XTERM_16", "indexed", "rgb_style", "rgb_text"]
