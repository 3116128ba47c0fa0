"""The computational graph as inline SVG, laid out here rather than by Graphviz.

The nodes and arrows are the ones :mod:`symbackprop.graph` draws (a box per
quantity, a circle per operation, an arrow per use), recorded while that module's
visitor walks each definition, so both pictures always show the same graph.  The
layout is layered: every node sits one column left of its earliest use (inputs
and parameters next to the operation that reads them), the loss in the last
column; within a column the order follows the neighbours' order, and each node
is moved as near to the height of its neighbours as the column's spacing allows.
No program is needed to write the page.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ..graph import _CONSTANT_STYLE, _OP_STYLE, _DotWriter, _node_id
from ..network import Network
from .abridge import Omitted, abridged, omitted_count

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
OPERATION, CONSTANT, GAP = "op", "constant", "gap"
#: The box that stands for the quantities an abridged graph leaves out.
GAP_ID = "gap"

_CHAR = 7.2  # px per character of a 12 px sans-serif label, estimated
_BOX_HEIGHT, _OP_RADIUS, _COLUMN_GAP, _ROW_GAP, _MARGIN = 40.0, 15.0, 34.0, 18.0, 12.0


@dataclass
class GraphNode:
    id: str
    kind: str  # a quantity's kind (input, param, node, loss), or an operation or a constant
    label: str
    quantity: str  # the quantity this node is, or whose definition the operation belongs to
    detail: str = ""  # a quantity's shape
    group: str | None = None

    @property
    def is_quantity(self) -> bool:
        return self.kind not in (OPERATION, CONSTANT, GAP)

    @property
    def width(self) -> float:
        if self.is_quantity:
            return max(len(self.label), len(self.detail)) * _CHAR + 20
        return max(2 * _OP_RADIUS, len(self.label) * _CHAR * 0.92 + 12)

    @property
    def height(self) -> float:
        return _BOX_HEIGHT if self.is_quantity else 2 * _OP_RADIUS


@dataclass
class GraphEdge:
    id: str
    source: str
    target: str
    owner: str  # the quantity whose definition this use is part of
    label: str | None = None  # an operand's position, where order matters


@dataclass
class Graph:
    nodes: dict[str, GraphNode] = field(default_factory=dict)
    edges: list[GraphEdge] = field(default_factory=list)
    #: The edges of each quantity's definition by their source, indexed once the graph is drawn (one step asks
    #: for its own, and a definition of T parts is asked T times).
    _from: dict[tuple[str, str], list[GraphEdge]] | None = field(default=None, repr=False, compare=False)

    def path(self, upstream: str, downstream: str) -> list[str]:
        """The edges from quantity ``upstream`` to ``downstream`` within the latter's definition,
        the way a backward step's gradient comes back (every use, when it occurs more than once)."""
        start, end = _node_id(upstream), _node_id(downstream)
        if self._from is None:
            self._from = {}
            for e in self.edges:
                self._from.setdefault((e.owner, e.source), []).append(e)
        found: list[str] = []
        for edge in self._from.get((downstream, start), []):
            while True:
                found.append(edge.id)
                onward = self._from.get((downstream, edge.target))  # one way out of an operation
                if edge.target == end or onward is None:
                    break
                edge = onward[-1]
        return found


class _Recorder(_DotWriter):
    """graph.py's visitor, keeping the operations and arrows it writes as structure; past ``limit`` defined
    quantities, only the first and last halves of them and the leaves they use, the others one ⋯ box."""

    def __init__(self, network: Network, limit: int | None) -> None:
        super().__init__(network, {}, None)
        self.graph = Graph()
        self.owner = ""
        self.limit = limit
        self.kept: set[str] | None = None  # None: every quantity is drawn
        self._from_gap: set[tuple[str, str]] = set()

    def _quantity(self, name: str) -> str:
        return _node_id(name) if self.kept is None or name in self.kept else GAP_ID

    def _op(self, label: str, style: str = _OP_STYLE) -> str:
        identifier = super()._op(label, style)
        kind = CONSTANT if style == _CONSTANT_STYLE else OPERATION
        self.graph.nodes[identifier] = GraphNode(identifier, kind, " ".join(label.split()), self.owner)
        return identifier

    def _connect(self, source: str, target: str, label: str | None = None) -> None:
        if source == GAP_ID:  # the quantities left out reach an operation by one arrow
            if (target, self.owner) in self._from_gap:
                return
            self._from_gap.add((target, self.owner))
            label = None
        self.graph.edges.append(GraphEdge(f"e{len(self.graph.edges) + 1}", source, target, self.owner, label))

    def record(self) -> Graph:
        shown = [q for q in self.network.quantities(elements=True) if q.elements is None]
        window = abridged([q for q in shown if q.definition is not None], self.limit)
        gaps = [item for item in window if isinstance(item, Omitted)]
        if gaps:
            drawn = [q for q in window if not isinstance(q, Omitted)]
            used = {d for q in drawn for d in q.dependencies}
            self.kept = {q.name for q in drawn} | {q.name for q in shown if q.definition is None and q.name in used}
            shown = [q for q in shown if q.name in self.kept]
            label = f"⋯ {omitted_count(gaps):,}"
            self.graph.nodes[GAP_ID] = GraphNode(GAP_ID, GAP, label, "", "")
        for q in shown:
            detail = "" if q.shape is None else f"{q.shape[0]}×{q.shape[1]}"
            self.graph.nodes[_node_id(q.name)] = GraphNode(_node_id(q.name), q.kind, q.name, q.name, detail, q.group)
        for q in shown:
            if q.definition is not None:
                self.owner = q.name
                self._connect(self._expression(q.definition), _node_id(q.name))
        return self.graph


def graph_of(network: Network, limit: int | None = None) -> Graph:
    """The network's computational graph: the nodes and arrows of :func:`symbackprop.graph.to_dot`; past
    ``limit`` defined quantities, the first and last of them with a ⋯ box for the others."""
    return _Recorder(network, limit).record()


# -- layout ----------------------------------------------------------------------------------


@dataclass
class Layout:
    x: dict[str, float]  # centres
    y: dict[str, float]
    width: float
    height: float


def layout(graph: Graph) -> Layout:
    successors: dict[str, list[str]] = {n: [] for n in graph.nodes}
    predecessors: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for e in graph.edges:
        successors[e.source].append(e.target)
        predecessors[e.target].append(e.source)
    columns = _columns(graph, successors)
    order = _order(graph, columns, successors, predecessors)
    x, width = {}, _MARGIN
    for column in order:
        column_width = max(graph.nodes[n].width for n in column)
        for n in column:
            x[n] = width + column_width / 2
        width += column_width + _COLUMN_GAP
    y = _heights(graph, order, successors, predecessors)
    top = min(y[n] - graph.nodes[n].height / 2 for n in y)
    y = {n: v - top + _MARGIN + 12 for n, v in y.items()}  # room above for a group's name
    bottom = max(y[n] + graph.nodes[n].height / 2 for n in y)
    return Layout(x, y, width - _COLUMN_GAP + _MARGIN, bottom + _MARGIN)


def _columns(graph: Graph, successors: dict[str, list[str]]) -> list[list[str]]:
    """Each node one column before its earliest use: the longest path to a node without uses."""
    height: dict[str, int] = {}

    def depth(node: str) -> int:
        if node not in height:
            stack = [node]
            while stack:  # iteratively, so a long chain does not exhaust Python's recursion
                top = stack[-1]
                pending = [s for s in successors[top] if s not in height]
                if pending:
                    stack.extend(pending)
                else:
                    height[top] = 1 + max((height[s] for s in successors[top]), default=-1)
                    stack.pop()
        return height[node]

    deepest = max((depth(n) for n in graph.nodes), default=0)
    columns: list[list[str]] = [[] for _ in range(deepest + 1)]
    for n in graph.nodes:
        columns[deepest - height[n]].append(n)
    return columns


def _order(graph: Graph, columns: list[list[str]], successors: dict[str, list[str]],
           predecessors: dict[str, list[str]]) -> list[list[str]]:
    """Columns sorted by their neighbours' mean position, sweeping both ways; a group stays together."""
    position = {n: i for column in columns for i, n in enumerate(column)}
    # Between equals, a matrix product's first operand above its second, as the product is written.
    operand = {e.source: int(e.label) for e in graph.edges if e.label and e.label.isdigit()}
    for sweep in range(6):
        neighbours = predecessors if sweep % 2 == 0 else successors
        for column in columns if sweep % 2 == 0 else reversed(columns):
            centre = {n: _mean([position[m] for m in neighbours[n]], position[n]) for n in column}
            groups: dict[str, list[float]] = {}
            for n in column:
                if graph.nodes[n].group is not None:
                    groups.setdefault(graph.nodes[n].group, []).append(centre[n])
            key = {n: (_mean(groups[g], 0) if (g := graph.nodes[n].group) else centre[n], operand.get(n, 0),
                       position[n]) for n in column}
            column.sort(key=key.__getitem__)
            position.update({n: i for i, n in enumerate(column)})
    return columns


def _heights(graph: Graph, columns: list[list[str]], successors: dict[str, list[str]],
             predecessors: dict[str, list[str]]) -> dict[str, float]:
    """Vertical centres: each column stacked, then nodes drawn towards their neighbours' height."""
    y: dict[str, float] = {}
    gaps = {id(column): _gaps([graph.nodes[n] for n in column]) for column in columns}
    for column in columns:
        y.update(zip(column, _stack([0.0] * len(column), gaps[id(column)])))
    # Where an input or a parameter wants the place of a computed quantity beside it, the computed one
    # keeps it: shared evenly, a long chain would be pushed a little further off at every layer.
    weight = {n: 1.0 if predecessors[n] else _LEAF_WEIGHT for n in graph.nodes}
    for sweep in range(8):
        neighbours = predecessors if sweep % 2 == 0 else successors
        for column in columns if sweep % 2 == 0 else reversed(columns):
            wanted = [_mean([y[m] for m in neighbours[n]], y[n]) for n in column]
            y.update(zip(column, _stack(wanted, gaps[id(column)], [weight[n] for n in column])))
    return y


def _gaps(nodes: list[GraphNode]) -> list[float]:
    """Centre to centre distances down a column; a group's frame and name need room of their own."""
    gaps = []
    for above, below in zip(nodes, nodes[1:]):
        framed = above.group != below.group and (above.group is not None or below.group is not None)
        gaps.append((above.height + below.height) / 2 + _ROW_GAP + (24 if framed else 0))
    return gaps


def _stack(wanted: list[float], gaps: list[float], weights: list[float] | None = None) -> list[float]:
    """The positions nearest to ``wanted`` (weighted least squares) that keep the order and at least the
    gaps: pool-adjacent-violators on the positions with the gaps taken out."""
    offsets, total = [0.0], 0.0
    for gap in gaps:
        total += gap
        offsets.append(total)
    weights = weights or [1.0] * len(wanted)
    blocks: list[list[float]] = []  # [weighted sum, weight, members]
    for w, o, weight in zip(wanted, offsets, weights):
        blocks.append([(w - o) * weight, weight, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s, c, m = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
            blocks[-1][2] += m
    free = [s / c for s, c, m in blocks for _ in range(m)]
    return [f + o for f, o in zip(free, offsets)]


#: How much an input's or a parameter's wish for a place counts beside a computed quantity's.
_LEAF_WEIGHT = 0.05


def _mean(values: list[float], default: float) -> float:
    return sum(values) / len(values) if values else default


# -- drawing ----------------------------------------------------------------------------------


def to_svg(graph: Graph, where: Layout | None = None, *, title: str = "") -> str:
    """The graph as an ``<svg>`` element: ``g.sbp-node`` per node (``data-quantity`` names the
    quantity a click shows) and ``g.sbp-edge`` per arrow (``data-from``, ``data-to``)."""
    where = where or layout(graph)
    svg = ET.Element("svg", {"xmlns": SVG_NAMESPACE, "class": "sbp-graph", "aria-label": title or "graph",
                             "viewBox": f"0 0 {where.width:.0f} {where.height:.0f}",
                             "width": f"{where.width:.0f}", "height": f"{where.height:.0f}",
                             # a wide graph shrinks to the page, but not below a readable size: then it scrolls
                             "style": f"min-width: {0.6 * where.width:.0f}px"})
    if title:
        ET.SubElement(svg, "title").text = title
    defs = ET.SubElement(svg, "defs")
    for name in ("sbp-arrow", "sbp-arrow-active"):
        marker = ET.SubElement(defs, "marker", {"id": name, "viewBox": "0 0 10 10", "refX": "9", "refY": "5",
                                                "markerWidth": "8", "markerHeight": "8", "orient": "auto",
                                                "markerUnits": "userSpaceOnUse"})  # not scaled by a thick line
        ET.SubElement(marker, "path", {"d": "M0,0 L10,5 L0,10 z", "class": name})
    _groups(svg, graph, where)
    edges = ET.SubElement(svg, "g", {"class": "sbp-edges"})
    for edge in graph.edges:
        _edge(edges, edge, graph, where)
    nodes = ET.SubElement(svg, "g", {"class": "sbp-nodes"})
    for node in graph.nodes.values():
        _node(nodes, node, where)
    return ET.tostring(svg, encoding="unicode")


def _edge(parent: ET.Element, edge: GraphEdge, graph: Graph, where: Layout) -> None:
    source, target = graph.nodes[edge.source], graph.nodes[edge.target]
    x1, y1 = where.x[source.id] + source.width / 2, where.y[source.id]
    x2, y2 = where.x[target.id] - target.width / 2 - 1, where.y[target.id]
    bend = max((x2 - x1) / 2, 12.0)
    group = ET.SubElement(parent, "g", {"class": "sbp-edge", "id": f"sbp-{edge.id}", "data-from": source.id,
                                        "data-to": target.id})
    ET.SubElement(group, "path", {"d": f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} {x2 - bend:.1f},{y2:.1f} "
                                       f"{x2:.1f},{y2:.1f}"})
    if edge.label:  # on the curve, a third along, where arrows into one operation are still apart
        lx = 0.296 * x1 + 0.444 * (x1 + bend) + 0.222 * (x2 - bend) + 0.037 * x2
        ly = 0.741 * y1 + 0.259 * y2
        label = ET.SubElement(group, "text", {"x": f"{lx:.1f}", "y": f"{ly - 4:.1f}", "class": "sbp-edge-label"})
        label.text = edge.label


def _node(parent: ET.Element, node: GraphNode, where: Layout) -> None:
    x, y, w, h = where.x[node.id], where.y[node.id], node.width, node.height
    attributes = {"class": f"sbp-node sbp-kind-{node.kind}", "id": f"sbp-{node.id}", "data-quantity": node.quantity}
    if node.is_quantity:
        attributes |= {"tabindex": "0", "role": "button"}
    group = ET.SubElement(parent, "g", attributes)
    ET.SubElement(group, "title").text = node.label if node.is_quantity or not node.quantity \
        else f"{node.label} → {node.quantity}"
    if node.kind == CONSTANT:
        pass
    elif node.is_quantity or w > 2 * _OP_RADIUS:
        rounding = h / 2 if not node.is_quantity else (2 if node.kind == "param" else 8)
        ET.SubElement(group, "rect", {"x": f"{x - w / 2:.1f}", "y": f"{y - h / 2:.1f}", "width": f"{w:.1f}",
                                      "height": f"{h:.1f}", "rx": f"{rounding:.1f}"})
    else:
        ET.SubElement(group, "circle", {"cx": f"{x:.1f}", "cy": f"{y:.1f}", "r": f"{_OP_RADIUS:.1f}"})
    lines = [node.label, node.detail] if node.detail else [node.label]
    for k, line in enumerate(lines):
        shift = (k - (len(lines) - 1) / 2) * 14
        text = ET.SubElement(group, "text", {"x": f"{x:.1f}", "y": f"{y + shift + 4:.1f}",
                                             "class": "sbp-detail" if k else "sbp-label"})
        text.text = line


def _groups(svg: ET.Element, graph: Graph, where: Layout) -> None:
    """A dashed frame around the elements of one declared vector or matrix, where they share a column."""
    members: dict[str, list[GraphNode]] = {}
    for node in graph.nodes.values():
        if node.group is not None:
            members.setdefault(node.group, []).append(node)
    for name, nodes in members.items():
        if len({where.x[n.id] for n in nodes}) != 1:
            continue
        left = min(where.x[n.id] - n.width / 2 for n in nodes) - 5
        right = max(where.x[n.id] + n.width / 2 for n in nodes) + 5
        top = min(where.y[n.id] - n.height / 2 for n in nodes) - 16
        bottom = max(where.y[n.id] + n.height / 2 for n in nodes) + 5
        frame = ET.SubElement(svg, "g", {"class": "sbp-group"})
        ET.SubElement(frame, "rect", {"x": f"{left:.1f}", "y": f"{top:.1f}", "width": f"{right - left:.1f}",
                                      "height": f"{bottom - top:.1f}", "rx": "4"})
        ET.SubElement(frame, "text", {"x": f"{(left + right) / 2:.1f}", "y": f"{top + 11:.1f}"}).text = name
