#!/usr/bin/env bash
# Checks the documentation's links: every relative Markdown link in README.md and docs/*.md
# must name a file that exists, and a `file.md#anchor` (or `#anchor`) link a heading of that
# file (GitHub's slugs: lower case, punctuation dropped but for `-` and `_`, spaces to `-`,
# `-1`, `-2`… for repeated headings). Also fails when any file of the repository (tracked,
# or new and not ignored; binary files skipped) reaches up into a `shared/` folder with a
# relative path (`..` then `shared`): the contract is docs/contract.md, never the folder
# beside the repository, and the code reaches the shared crate's files from the workspace
# root.
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

# A relative path up into a `shared/` folder, in any file of the repository.
UP_TO_SHARED = re.compile(r"(?:\.\./)+shared/[^\s\"'`)<>\]]*")
files = subprocess.run(
    ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    check=True, capture_output=True,
).stdout.decode().split("\0")
for name in sorted(set(f for f in files if f)):
    if not os.path.isfile(name):
        continue
    with open(name, "rb") as f:
        data = f.read()
    if b"\0" in data:
        continue  # binary
    text = data.decode("utf-8", errors="replace")
    for lineno, line in enumerate(text.splitlines(), 1):
        for m in UP_TO_SHARED.finditer(line):
            broken.append(f"{name}: {m.group(0)} (line {lineno}: cite docs/contract.md)")

for b in broken:
    print(b)
sys.exit(1 if broken else 0)
PY
