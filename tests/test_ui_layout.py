"""The layered graph layout: every edge points right, related nodes sit together, nothing overlaps."""

from __future__ import annotations

import itertools

from lakehouse.app.ui.layout import NODE_H, NODE_W, layers, layout

# the offline pipeline's shape: per source bronze -> (checked, quarantine) -> silver, then gold
SOURCES = ("customers", "transactions", "support")
EDGES = [edge for s in SOURCES for edge in (
    (f"bronze_{s}", f"{s}_checked"), (f"bronze_{s}", f"quarantine_{s}"), (f"{s}_checked", f"silver_{s}"))]
EDGES += [("silver_transactions", "daily"), ("silver_support", "daily"), ("daily", "ards"), ("silver_customers", "ards")]
NODES = sorted({n for edge in EDGES for n in edge})


def test_layers_are_longest_paths_from_the_sources():
    layer = layers(NODES, EDGES)
    assert {n for n, i in layer.items() if i == 0} == {f"bronze_{s}" for s in SOURCES}
    assert layer["daily"] == 3 and layer["ards"] == 4
    assert all(layer[a] < layer[b] for a, b in EDGES)


def test_layout_points_every_edge_right_and_never_overlaps_boxes():
    placed = layout(NODES, EDGES)
    boxes = placed.boxes
    assert set(boxes) == set(NODES) and len(placed.links) == len(EDGES)
    for a, b in EDGES:
        assert boxes[a].x + NODE_W < boxes[b].x
    for a, b in itertools.combinations(boxes.values(), 2):
        assert abs(a.x - b.x) >= NODE_W or abs(a.y - b.y) >= NODE_H
    assert all(0 <= b.x and b.x + NODE_W <= placed.width and 0 <= b.y and b.y + NODE_H <= placed.height
               for b in boxes.values())


def test_layout_keeps_a_sources_datasets_next_to_each_other():
    boxes = layout(NODES, EDGES).boxes
    column = sorted((n for n in NODES if boxes[n].layer == 1), key=lambda n: boxes[n].y)
    for s in SOURCES:  # checked and quarantine of one source are neighbours in their column
        assert abs(column.index(f"{s}_checked") - column.index(f"quarantine_{s}")) == 1


def test_cycles_and_unknown_endpoints_do_not_break_the_layout():
    placed = layout(["a", "b", "c"], [("a", "b"), ("b", "a"), ("b", "c"), ("x", "c")])
    assert set(placed.boxes) == {"a", "b", "c"}
    assert {(link.source, link.target) for link in placed.links} == {("a", "b"), ("b", "a"), ("b", "c")}
    assert layout([], []).boxes == {}
