#!/usr/bin/env python3
"""Render a terminal capture with ANSI colours (`tmux capture-pane -e -p`) as an SVG image.

    tmux capture-pane -e -p -t SESSION > capture.ansi
    python3 scripts/ansi_to_svg.py capture.ansi assets/screenshots/tui-mid-run.svg [--title TEXT]

Standard library only. Understands what tmux writes: SGR sequences for the 16 ANSI colours,
the 256-colour and 24-bit forms, bold, dim, italic, underline, reverse and their resets. Each cell is
one character wide (the workbench draws no wide characters). Text stays text in the SVG, so it can
be selected and searched; box-drawing lines, block elements (gauges, half-block images) and braille
dots (the charts) are drawn as shapes, so they join up and show the same with any font.
"""
import argparse
import html
import re
import sys

# The xterm defaults, close to what most terminals show for the 16 ANSI colours.
PALETTE16 = [
    "#000000", "#cd3131", "#0dbc79", "#e5e510", "#2472c8", "#bc3fbc", "#11a8cd", "#e5e5e5",
    "#666666", "#f14c4c", "#23d18b", "#f5f543", "#3b8eea", "#d670d6", "#29b8db", "#ffffff",
]
FOREGROUND, BACKGROUND = "#d4d4d4", "#1e1e1e"
CELL_W, CELL_H, FONT_SIZE = 8.6, 17, 14
SGR = re.compile(r"\x1b\[([0-9;:]*)m")
OTHER_ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|\][^\x07]*\x07|[()][A-Z0-9])")


def color256(n):
    if n < 16:
        return PALETTE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[(n // 6) % 6], steps[n % 6])
    gray = 8 + (n - 232) * 10
    return "#%02x%02x%02x" % (gray, gray, gray)


class Style:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = self.bg = None
        self.bold = self.dim = self.italic = self.underline = self.reverse = False

    def key(self):
        return (self.fg, self.bg, self.bold, self.dim, self.italic, self.underline, self.reverse)

    def apply(self, params):
        codes = [int(p) if p else 0 for p in re.split("[;:]", params)] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 2:
                self.dim = True
            elif c == 3:
                self.italic = True
            elif c == 4:
                self.underline = True
            elif c == 7:
                self.reverse = True
            elif c == 22:
                self.bold = self.dim = False
            elif c == 23:
                self.italic = False
            elif c == 24:
                self.underline = False
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37:
                self.fg = PALETTE16[c - 30]
            elif 90 <= c <= 97:
                self.fg = PALETTE16[c - 90 + 8]
            elif 40 <= c <= 47:
                self.bg = PALETTE16[c - 40]
            elif 100 <= c <= 107:
                self.bg = PALETTE16[c - 100 + 8]
            elif c == 39:
                self.fg = None
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 1 < len(codes):
                if codes[i + 1] == 5 and i + 2 < len(codes):
                    value = color256(codes[i + 2])
                    i += 2
                elif codes[i + 1] == 2 and i + 4 < len(codes):
                    value = "#%02x%02x%02x" % tuple(codes[i + 2:i + 5])
                    i += 4
                else:
                    value = None
                if c == 38:
                    self.fg = value
                else:
                    self.bg = value
                i += 1
            i += 1


def parse(text):
    """Lines of (character, style key) cells."""
    lines = []
    style = Style()
    for raw in text.rstrip("\n").split("\n"):
        cells = []
        pos = 0
        while pos < len(raw):
            m = SGR.match(raw, pos)
            if m:
                style.apply(m.group(1))
                pos = m.end()
                continue
            m = OTHER_ESCAPE.match(raw, pos)
            if m:
                pos = m.end()
                continue
            cells.append((raw[pos], style.key()))
            pos += 1
        lines.append(cells)
    return lines


def colours(key):
    fg, bg, bold, dim, italic, underline, reverse = key
    fg, bg = fg or FOREGROUND, bg
    if reverse:
        fg, bg = (bg or BACKGROUND), fg
    if bold and fg in PALETTE16[:8]:
        fg = PALETTE16[PALETTE16.index(fg) + 8]
    return fg, bg


# Box-drawing characters as the arms that leave the cell's centre: left, right, up, down.
BOX_ARMS = {
    "─": "lr", "│": "ud", "┌": "rd", "┐": "ld", "└": "ru", "┘": "lu", "├": "udr", "┤": "udl",
    "┬": "lrd", "┴": "lru", "┼": "lrud", "╭": "rd", "╮": "ld", "╰": "ru", "╯": "lu",
}
# Block elements as (x0, y0, x1, y1) fractions of the cell.
BLOCKS = {"█": (0, 0, 1, 1), "▀": (0, 0, 1, 0.5), "▄": (0, 0.5, 1, 1), "▌": (0, 0, 0.5, 1), "▐": (0.5, 0, 1, 1)}
BLOCKS.update({chr(0x2590 - i): (0, 0, (8 - i) / 8, 1) for i in range(1, 8)})  # ▏ .. ▉: left eighths
# Braille dots: bit -> (column, row) of the 2x4 grid.
BRAILLE = [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 3), (1, 3)]


def shape(ch, x, y, fg):
    """SVG for a character drawn as a shape, or None to draw it as text."""
    if ch in BOX_ARMS:
        cx, cy = x + CELL_W / 2, y + CELL_H / 2
        ends = {"l": (x, cy), "r": (x + CELL_W, cy), "u": (cx, y), "d": (cx, y + CELL_H)}
        path = " ".join(f"M{cx:.1f} {cy:.1f}L{ends[a][0]:.1f} {ends[a][1]:.1f}" for a in BOX_ARMS[ch])
        return f'<path d="{path}" stroke="{fg}" stroke-width="1.2" stroke-linecap="square"/>'
    if ch in BLOCKS:
        x0, y0, x1, y1 = BLOCKS[ch]
        return (f'<rect x="{x + x0 * CELL_W:.1f}" y="{y + y0 * CELL_H:.1f}" width="{(x1 - x0) * CELL_W:.1f}" '
                f'height="{(y1 - y0) * CELL_H:.1f}" fill="{fg}"/>')
    code = ord(ch) - 0x2800
    if 0 < code < 256:
        dots = []
        for bit, (col, row) in enumerate(BRAILLE):
            if code & (1 << bit):
                dots.append(f'<circle cx="{x + (col + 0.5) * CELL_W / 2:.1f}" cy="{y + (row + 0.5) * CELL_H / 4:.1f}" r="1.3"/>')
        return f'<g fill="{fg}">{"".join(dots)}</g>'
    if code == 0:
        return ""
    return None


def render(lines, title):
    cols = max((len(l) for l in lines), default=0)
    width, height = cols * CELL_W + 20, len(lines) * CELL_H + 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{html.escape(title)}">',
        f"<title>{html.escape(title)}</title>",
        f'<rect width="100%" height="100%" fill="{BACKGROUND}" rx="6"/>',
        '<g font-family="\'DejaVu Sans Mono\', Menlo, Consolas, \'Liberation Mono\', monospace" '
        f'font-size="{FONT_SIZE}px" xml:space="preserve">',
    ]
    for row, cells in enumerate(lines):
        y = 10 + row * CELL_H
        col = 0
        while col < len(cells):
            key = cells[col][1]
            end = col
            while end < len(cells) and cells[end][1] == key:
                end += 1
            fg, bg = colours(key)
            x = 10 + col * CELL_W
            if bg:
                out.append(f'<rect x="{x:.1f}" y="{y}" width="{(end - col) * CELL_W:.1f}" height="{CELL_H}" fill="{bg}"/>')
            # Runs of text between the characters drawn as shapes.
            start = col
            for i in range(col, end + 1):
                drawn = shape(cells[i][0], 10 + i * CELL_W, y, fg) if i < end else None
                if i == end or drawn is not None:
                    text = "".join(c for c, _ in cells[start:i])
                    if text.strip():
                        out.append(text_element(text, 10 + start * CELL_W, y, fg, key))
                    if drawn:
                        out.append(drawn)
                    start = i + 1
            col = end
    out.append("</g></svg>")
    return "\n".join(out) + "\n"


def text_element(text, x, y, fg, key):
    attrs = [f'x="{x:.1f}"', f'y="{y + CELL_H - 4}"', f'fill="{fg}"', f'textLength="{len(text) * CELL_W:.1f}"',
             'lengthAdjust="spacingAndGlyphs"']
    _, _, bold, dim, italic, underline, _ = key
    if bold:
        attrs.append('font-weight="bold"')
    if dim:
        attrs.append('opacity="0.6"')
    if italic:
        attrs.append('font-style="italic"')
    if underline:
        attrs.append('text-decoration="underline"')
    return f"<text {' '.join(attrs)}>{html.escape(text)}</text>"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture", help="the output of `tmux capture-pane -e -p`")
    parser.add_argument("svg", help="the SVG file to write")
    parser.add_argument("--title", default="workbench", help="the image's title (for screen readers)")
    args = parser.parse_args()
    with open(args.capture, encoding="utf-8") as f:
        lines = parse(f.read())
    with open(args.svg, "w", encoding="utf-8") as f:
        f.write(render(lines, args.title))
    print(f"wrote {args.svg}: {max((len(l) for l in lines), default=0)}x{len(lines)} cells", file=sys.stderr)


if __name__ == "__main__":
    main()
