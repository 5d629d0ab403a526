#!/usr/bin/env python3
"""Append a dated benchmark record to its section of BENCHMARKS.md.

Usage: record.py "## Section title" "intro paragraph (used only when the section is new)" < record.md

The record goes at the end of its section; other sections are left as they are.
"""
import os
import sys

PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "BENCHMARKS.md")


def main():
    title, intro = sys.argv[1], sys.argv[2]
    record = sys.stdin.read().strip("\n")
    text = open(PATH).read() if os.path.exists(PATH) else "# Benchmarks\n\nRun them with `./dev bench` (or `./dev bench NAME`). Each run appends a dated record to its section.\n"
    marker = "\n" + title + "\n"
    if marker not in text:
        text = text.rstrip("\n") + f"\n\n{title}\n\n{intro}\n"
    start = text.index(marker) + len(marker)
    end = text.find("\n## ", start)
    end = len(text) if end == -1 else end
    text = text[:end].rstrip("\n") + "\n\n" + record + "\n" + text[end:]
    with open(PATH, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
