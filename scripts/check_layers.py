#!/usr/bin/env python3
"""The layers of src/server, checked.

Reads every `#include "…"` of src/server/*.[ch] into a module graph (x.c
and x.h are module x; headers from elsewhere, src/core's, are outside the
graph), prints it layer by layer, and fails (exit 1) when:

  - the graph has a cycle (modules that include each other, however far
    round): none of them could be built or tested alone;
  - a module that moves bytes (the connection, a transport, the sniffer)
    includes a protocol's or the chat's header: it must not know what the
    bytes mean;
  - the hub includes a protocol handler or a codec: it talks to peers only
    through their `struct proto_ops` (proto.h).

    scripts/check_layers.py [--dot] [SERVER_DIR]     (default: src/server)
"""
import re
import sys
from pathlib import Path

# Modules that only move bytes and own a peer's lifetime.
BYTE_MOVERS = {"conn", "conn_addr", "conn_extras", "tcp", "linger", "tls", "tls_ctx", "sniff"}
# What they may not include: the protocols (handlers, codecs, the course's
# words) and the chat they serve.
PROTOCOL_HEADERS = {"textpeer.h", "binpeer.h", "textproto.h", "wire.h", "linereader.h"}
CHAT_HEADERS = {"hub.h", "room.h", "commands.h", "picture.h"}
# What the hub may not include: it reaches each peer through c->proto.
HUB_FORBIDDEN = {"textpeer.h", "binpeer.h", "wire.h", "linereader.h"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def read_graph(root):
    """{module: {file: [included headers]}} for every .c/.h under root."""
    files = {}
    for path in sorted(root.glob("*.[ch]")):
        text = path.read_text(encoding="utf-8", errors="replace")
        files.setdefault(path.stem, {})[path.name] = INCLUDE.findall(text)
    return files


def edges_of(files):
    modules = set(files)
    edges = {m: set() for m in modules}
    for module, by_file in files.items():
        for includes in by_file.values():
            for header in includes:
                target = Path(header).stem
                if header.endswith(".h") and target in modules and target != module:
                    edges[module].add(target)
    return edges


def cycles(edges):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def one_cycle(edges, component):
    """A concrete path round a component, for the message."""
    members = set(component)
    start = component[0]
    path, seen = [start], {start}
    v = start
    while True:
        nxt = sorted(w for w in edges[v] if w in members)
        back = [w for w in nxt if w in seen]
        if start in nxt:
            return path + [start]
        if back:
            w = back[0]
            return path[path.index(w):] + [w]
        v = [w for w in nxt if w not in seen][0]
        path.append(v)
        seen.add(v)


def layers(edges):
    """Modules by depth: layer 0 includes nothing of src/server. None when cyclic."""
    depth = {}

    def level(v, trail):
        if v in depth:
            return depth[v]
        if v in trail:
            return None
        below = [level(w, trail | {v}) for w in edges[v]]
        if any(b is None for b in below):
            return None
        depth[v] = 1 + max(below, default=-1)
        return depth[v]

    for v in edges:
        if level(v, frozenset()) is None:
            return None
    by_layer = {}
    for v, d in depth.items():
        by_layer.setdefault(d, []).append(v)
    return [sorted(by_layer[d]) for d in sorted(by_layer)]


def forbidden(files):
    problems = []
    for module, by_file in sorted(files.items()):
        banned = set()
        if module in BYTE_MOVERS:
            banned = PROTOCOL_HEADERS | CHAT_HEADERS
        elif module == "hub" or module.startswith("hub_"):
            banned = HUB_FORBIDDEN  # hub_events.c, hub_names.c: the hub's too
        for name, includes in sorted(by_file.items()):
            for header in includes:
                if header in banned:
                    what = ("moves bytes but includes" if module in BYTE_MOVERS
                            else "is the hub but includes")
                    problems.append(f"{name} {what} {header}")
    return problems


def main(argv):
    dot = "--dot" in argv
    args = [a for a in argv if a != "--dot"]
    root = Path(args[0]) if args else Path(__file__).resolve().parent.parent / "src" / "server"
    files = read_graph(root)
    if not files:
        print(f"check_layers: no sources in {root}")
        return 1
    edges = edges_of(files)

    if dot:
        print("digraph server {")
        for m in sorted(edges):
            for w in sorted(edges[m]):
                print(f"  {m} -> {w};")
        print("}")

    print(f"module graph of {root} ({len(edges)} modules, "
          f"{sum(len(e) for e in edges.values())} arrows; A -> B: A includes B's header)")
    for m in sorted(edges):
        print(f"  {m} -> {', '.join(sorted(edges[m])) or '(nothing of src/server)'}")
    by_layer = layers(edges)
    if by_layer is not None:
        print("layers, bottom first:")
        for i, names in enumerate(by_layer):
            print(f"  {i}: {' '.join(names)}")

    failures = []
    for component in cycles(edges):
        failures.append(f"cycle of {len(component)} modules ({', '.join(component)}): "
                        + " -> ".join(one_cycle(edges, component)))
    failures += forbidden(files)
    if failures:
        print("FAILED:")
        for f in failures:
            print(f"  {f}")
        return 1
    print("OK: no cycle; byte movers (" + ", ".join(sorted(BYTE_MOVERS & set(edges)))
          + ") include no protocol or chat header; the hub includes no protocol handler")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
