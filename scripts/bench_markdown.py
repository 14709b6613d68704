"""Writes a benchmark's section into a Markdown file, between its start and end markers."""
import os


def write_section(path, start, end, text):
    """Replaces the section from `start` to `end` in `path` with `text` (which holds both markers), or appends it."""
    existing = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n"
    if start in existing:
        head, rest = existing.split(start, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        existing = head + text + tail
    else:
        existing = existing.rstrip("\n") + "\n\n" + text
    with open(path, "w") as handle:
        handle.write(existing)


def publish(lines, path, start, end):
    """Prints a section made of `lines` (which hold both markers) and, when `path` is given, writes it there."""
    text = "\n".join(lines) + "\n"
    print(text)
    if path:
        write_section(path, start, end, text)
