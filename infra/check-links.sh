#!/usr/bin/env bash
# Checks the documentation's links: every relative Markdown link in README.md and docs/*.md
# must name a file that exists, and a `file.md#anchor` (or `#anchor`) link a heading of that
# file (GitHub's slugs: lower case, punctuation dropped but for `-` and `_`, spaces to `-`,
# `-1`, `-2`… for repeated headings). Also fails when README.md or docs/ contains
# `../shared/`, or another file of the repository (tracked, or new and not ignored; binary
# files skipped) a `../shared/` path that leads out of the repository or to nothing
# (`tests/properties.rs` reaches a data file of the shared crate that way): the
# contract is docs/contract.md, never a file outside the repository.
#
# Prints each broken link as `file: link` and exits 1 if there is any.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 - <<'PY'
import os
import re
import subprocess
import sys
from urllib.parse import unquote

root = os.getcwd()
broken = []

FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
# [text](target) or ![alt](target), with an optional "title"; <target> allowed.
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")


def outside_fences(text):
    """The lines outside fenced code blocks."""
    fence = None
    for line in text.splitlines():
        m = FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        yield line


def prose_lines(text):
    """The lines outside fenced code blocks, with their inline code removed."""
    for line in outside_fences(text):
        yield INLINE_CODE.sub("", line)


def slug(heading):
    text = re.sub(r"<[^>]+>", "", heading)          # inline HTML
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links keep their text
    text = text.strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in "-_ ")
    return text.replace(" ", "-")


anchor_cache = {}


def anchors(path):
    if path not in anchor_cache:
        seen = {}
        found = set()
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for line in outside_fences(text):
            h = HEADING.match(line)
            if not h:
                continue
            s = slug(h.group(2).replace("`", ""))
            n = seen.get(s, 0)
            found.add(s if n == 0 else f"{s}-{n}")
            seen[s] = n + 1
        for explicit in re.findall(r"<a\s+(?:name|id)=\"([^\"]+)\"", text):
            found.add(explicit)
        anchor_cache[path] = found
    return anchor_cache[path]


def check(md):
    with open(md, encoding="utf-8") as f:
        text = f.read()
    base = os.path.dirname(md)
    for line in prose_lines(text):
        targets = [m.group(1) for m in INLINE_LINK.finditer(line)]
        r = REFERENCE.match(line)
        if r:
            targets.append(r.group(1))
        for target in targets:
            link = target[1:-1] if target.startswith("<") else target
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", link) or link.startswith("//"):
                continue  # http:, https:, mailto: …
            path_part, _, fragment = link.partition("#")
            if path_part:
                dest = os.path.normpath(os.path.join(base, unquote(path_part)))
            else:
                dest = md
            if os.path.relpath(dest, root).startswith("..") or not os.path.exists(dest):
                broken.append(f"{md}: {link}")
                continue
            if fragment:
                if not dest.endswith(".md") or os.path.isdir(dest):
                    broken.append(f"{md}: {link}")
                elif unquote(fragment).lower() not in anchors(dest):
                    broken.append(f"{md}: {link}")


docs = ["README.md"] + sorted(
    os.path.join("docs", name) for name in os.listdir("docs") if name.endswith(".md")
)
for md in docs:
    check(md)

# `../shared/` in any file of the repository: allowed only where it resolves, from that
# file's directory, to an existing path inside the repository (a source file including a
# data file of the `shared` crate); the contract outside the repository is never cited.
files = subprocess.run(
    ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    check=True, capture_output=True,
).stdout.decode().split("\0")
for name in sorted(set(f for f in files if f)):
    if not os.path.isfile(name):
        continue
    with open(name, "rb") as f:
        data = f.read()
    if b"\0" in data or b"../shared/" not in data:
        continue  # binary, or nothing to check
    text = data.decode("utf-8", errors="replace")
    is_doc = name == "README.md" or name.startswith("docs/")
    for lineno, line in enumerate(text.splitlines(), 1):
        for m in re.finditer(r"((?:\.\./)+)shared/([^\s\"'`)<>\]]*)", line):
            rel = m.group(0).rstrip(".,;:!?")
            dest = os.path.normpath(os.path.join(os.path.dirname(name), rel))
            inside = not os.path.relpath(dest, root).startswith("..")
            if is_doc or not (inside and os.path.exists(dest)):
                broken.append(f"{name}: {rel} (line {lineno}: cite docs/contract.md, never ../shared/)")

for b in broken:
    print(b)
sys.exit(1 if broken else 0)
PY
