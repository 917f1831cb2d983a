"""A layered left-to-right layout of a dataset graph, as the DLT pipeline UI draws it.

Each node's layer is the longest path from a source, so every edge points right; within a layer,
nodes are ordered by the mean position of their neighbours (down and up sweeps of the barycenter
heuristic), which keeps related datasets side by side and edges short. Pure geometry:
the SVG itself is drawn by the template.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

NODE_W, NODE_H = 260, 74
GAP_X, GAP_Y, MARGIN = 70, 18, 12
SWEEPS = 4


@dataclass(frozen=True)
class Box:
    key: str
    x: float
    y: float
    layer: int


@dataclass(frozen=True)
class Link:
    source: str
    target: str
    path: str  # SVG path data: a horizontal S-curve from the source's right edge to the target's left edge


@dataclass(frozen=True)
class Layout:
    boxes: dict[str, Box]
    links: list[Link]
    width: float
    height: float


def layers(nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layer of every node (edges closing a cycle are ignored)."""
    parents: dict[str, set[str]] = {n: set() for n in nodes}
    for source, target in edges:
        if source in parents and target in parents and source != target:
            parents[target].add(source)
    layer: dict[str, int] = {}
    visiting: set[str] = set()

    def depth(node: str) -> int:
        if node not in layer:
            visiting.add(node)
            layer[node] = 1 + max((depth(p) for p in parents[node] if p not in visiting), default=-1)
            visiting.discard(node)
        return layer[node]

    for node in nodes:
        depth(node)
    return layer


def order(nodes: Sequence[str], edges: Sequence[tuple[str, str]], layer: dict[str, int]) -> list[list[str]]:
    """Nodes per layer, ordered to keep edges short: alternate down and up sweeps sort each layer by the mean
    position of the node's neighbours on the swept-from side (else on the other side; ties keep the order)."""
    columns: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for node in nodes:
        columns[layer[node]].append(node)
    before: dict[str, list[str]] = {n: [] for n in nodes}
    after: dict[str, list[str]] = {n: [] for n in nodes}
    for source, target in edges:
        if source in before and target in before and layer[source] < layer[target]:
            after[source].append(target)
            before[target].append(source)
    for sweep in range(SWEEPS):
        down = sweep % 2 == 0
        for i in range(1, len(columns)) if down else range(len(columns) - 2, -1, -1):
            position = {n: (p + 0.5) / len(c) for c in columns for p, n in enumerate(c)}  # 0..1 in its column

            def key(node: str) -> float:
                near, far = (before[node], after[node]) if down else (after[node], before[node])
                seen = [position[m] for m in near] or [position[m] for m in far]
                return sum(seen) / len(seen) if seen else position[node]

            columns[i] = sorted(columns[i], key=key)  # stable: ties keep the current order
    return columns


def layout(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> Layout:
    """Positions of `nodes` and the paths of `edges` between them."""
    layer = layers(nodes, edges)
    columns = order(nodes, edges, layer)
    tallest = max((len(c) for c in columns), default=0)
    height = 2 * MARGIN + tallest * NODE_H + max(tallest - 1, 0) * GAP_Y
    boxes: dict[str, Box] = {}
    for i, column in enumerate(columns):
        used = len(column) * NODE_H + max(len(column) - 1, 0) * GAP_Y
        top = (height - used) / 2  # centre each column vertically
        for j, node in enumerate(column):
            boxes[node] = Box(node, MARGIN + i * (NODE_W + GAP_X), top + j * (NODE_H + GAP_Y), i)
    links = [Link(s, t, _curve(boxes[s], boxes[t])) for s, t in edges if s in boxes and t in boxes and s != t]
    width = 2 * MARGIN + len(columns) * NODE_W + max(len(columns) - 1, 0) * GAP_X
    return Layout(boxes, links, width, height)


def _curve(source: Box, target: Box) -> str:
    x1, y1 = source.x + NODE_W, source.y + NODE_H / 2
    x2, y2 = target.x, target.y + NODE_H / 2
    bend = max((x2 - x1) / 2, GAP_X / 2)
    return f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
