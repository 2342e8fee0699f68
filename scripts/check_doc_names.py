#!/usr/bin/env python3
"""docs/architecture.md names only what exists.

Every `name()` the page mentions must be a function of src/ (a `name(`
there, outside comments), and every other `snake_case_name` in backticks
or in a fenced block an identifier of src/, tests/ or demos/ (a function,
a field, a constant); libuv's `uv_*` names are looked up in its headers.
A page that names `hub_on_line` long after it was renamed fails here.

    scripts/check_doc_names.py [DOC...]   (default: docs/architecture.md)
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CALL = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)\((?:[^`)]*)\)`")
NAME = re.compile(r"`([a-z][a-z0-9]*(?:_[a-z0-9]+)+)`")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
BARE = re.compile(r"(?<![\w.$/])([a-z][a-z0-9]*(?:_[a-z0-9]+)+)(?![\w/])")
LIBUV = [Path("/usr/include/uv.h"), *sorted(Path("/usr/include/uv").glob("*.h"))]
# Other libraries' names the page may cite (not installed here).
FOREIGN = ("lws_",)  # libwebsockets: the WebSocket transport to come
COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)


def sources(*dirs):
    text = []
    for d in dirs:
        for path in sorted((ROOT / d).rglob("*.[ch]")):
            text.append(COMMENT.sub(" ", path.read_text(encoding="utf-8", errors="replace")))
    return "\n".join(text)


def main(argv):
    docs = [Path(a) for a in argv] or [ROOT / "docs" / "architecture.md"]
    code = sources("src")
    code_and_tests = code + sources("tests", "demos")
    libuv = "\n".join(p.read_text(errors="replace") for p in LIBUV if p.exists())
    # A program or test named after its file (fuzz_wire.c, test_commands.c).
    stems = {p.stem for d in ("src", "tests") for p in (ROOT / d).rglob("*.[ch]")}
    missing = []
    for doc in docs:
        text = doc.read_text(encoding="utf-8")
        calls = sorted(set(CALL.findall(text)))
        fenced = {n for block in FENCE.findall(text) for n in BARE.findall(block)}
        names = sorted((set(NAME.findall(text)) | fenced) - set(calls))
        for name in calls:
            if not re.search(r"\b" + re.escape(name) + r"\s*\(", code):
                missing.append(f"{doc.name}: `{name}()` is no function of src/")
        for name in names:
            if name.startswith("uv_") and re.search(r"\b" + re.escape(name), libuv):
                continue
            if name in stems or name.startswith(FOREIGN):
                continue
            if not re.search(r"\b" + re.escape(name) + r"\b", code_and_tests):
                missing.append(f"{doc.name}: `{name}` is nowhere in src/ or tests/")
        print(f"{doc.name}: {len(calls)} functions and {len(names)} other names checked")
    for m in missing:
        print(m)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
