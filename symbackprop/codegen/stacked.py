"""A parameter's gradient summed over the steps that share it, as one product of the steps stacked.

A weight that several steps share (an RNN's W at every time step) gets, in the rows
program, one product per step, ``g_zₜᵀ @ hₜ₋₁``, and a fan-out sum of them.  The same
number is one product of the steps' rows stacked: Σₜ aₜᵀ bₜ = [a₁; …; a_T]ᵀ [b₁; …; b_T],
and a bias's Σₜ Σₙ aₜ is one sum over the stacked rows.  An eager array library pays per
operation, so T products and T − 1 additions become two stackings and one product
(the stacking of the aₜ shared by every parameter that reads the same steps).  In the
forward, the products of one weight with rows that none of them feeds (an RNN's U xₜ)
are one product of those rows stacked, each step's its slice.  For JAX and torch, and for NumPy up to
16 samples: on a larger batch NumPy's copies cost more than the small products they save.
"""

from __future__ import annotations

import ast

from .emitter import name, numpy_call
from .lines import Line, names_read, readers


def _terms(node: ast.expr, defined: dict[str, ast.expr], reads: dict[str, int], within: list[str]) -> list[str]:
    """The names a fan-out sum adds, through the partial sums (each read once) it was cut into; the partial
    sums' own names join ``within``."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _terms(node.left, defined, reads, within) + _terms(node.right, defined, reads, within)
    if isinstance(node, ast.Name):
        value = defined.get(node.id)
        if reads.get(node.id) == 1 and isinstance(value, ast.BinOp) and isinstance(value.op, ast.Add):
            within.append(node.id)
            return _terms(value, defined, reads, within)
        return [node.id]
    return ["?"]  # not a name: no fan-out sum of products


def _product(node: ast.expr, stacks: set[str]) -> tuple[str, tuple[str, ...]] | None:
    """``a.T @ b`` of two rows values as ("product", (a, b)); ``np.add.reduce(a, 0)[:, None]`` as ("sum", (a,))."""
    def rows(node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id in stacks

    if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult) and isinstance(node.left, ast.Attribute)
            and node.left.attr == "T" and rows(node.left.value) and rows(node.right)):
        return "product", (node.left.value.id, node.right.id)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Call):
        call = node.value
        if (ast.unparse(call.func) == "np.add.reduce" and len(call.args) == 2 and rows(call.args[0])
                and ast.unparse(call.args[1]) == "0" and ast.unparse(node.slice) == "(:, None)"):
            return "sum", (call.args[0].id,)
    return None


def _stacking(names: list[str]) -> ast.expr:
    return numpy_call("concatenate", ast.List([name(n) for n in names], ast.Load()), ast.Constant(0))


def stacked_sums(body: list[Line], returns: ast.expr, stacks: set[str], three_axes: set[str] = frozenset()
                 ) -> list[Line]:
    """``body`` with each fan-out sum of per-step products (or bias sums) of the ``stacks`` (the values with
    samples as rows) as one product of the steps stacked; ``three_axes``: the arguments of three axes, whose
    columns read one per step are stacked as one transposed copy."""
    defined = {line.target: line.value for line in body}
    reads = {identifier: len(lines) for identifier, lines in readers(body, returns).items()}
    found: list[tuple[str, str, list[tuple[str, ...]]]] = []  # (the sum's target, its kind, its terms' columns)
    dropped: set[str] = set()
    for line in reversed(body):  # the whole sum first, not the partial sums it was cut into
        if line.target in dropped or not (isinstance(line.value, ast.BinOp) and isinstance(line.value.op, ast.Add)):
            continue
        partial_sums: list[str] = []
        terms = _terms(line.value, defined, reads, partial_sums)
        if len(terms) < 2 or any(reads.get(t) != 1 or t not in defined for t in terms):
            continue
        products = [_product(defined[t], stacks) for t in terms]
        if any(p is None for p in products) or len({p[0] for p in products}) != 1:
            continue
        found.append((line.target, products[0][0], [p[1] for p in products]))
        dropped.update(terms, partial_sums)
    # The steps in one order for every sum, so that a stacking is made once: a product's by its second factor's
    # place (the forward's order, which stacked its inputs so), a bias's as the product over the same steps.
    position = {line.target: i for i, line in enumerate(body)}
    orders = {}
    for _, kind, pairs in found:
        if kind == "product":
            pairs.sort(key=lambda pair: position.get(pair[1], -1))
            orders[frozenset(a for a, _ in pairs)] = [a for a, _ in pairs]
    replaced: dict[str, ast.expr] = {}
    for target, kind, pairs in found:
        columns = list(zip(*pairs))
        if kind == "product":
            left = ast.Attribute(_stacking(list(columns[0])), "T", ast.Load())
            replaced[target] = ast.BinOp(left, ast.MatMult(), _stacking(list(columns[1])))
        else:
            steps = orders.get(frozenset(columns[0]), list(columns[0]))
            total = numpy_call("add.reduce", _stacking(steps), ast.Constant(0))
            replaced[target] = ast.Subscript(total, ast.Tuple([ast.Slice(), ast.Constant(None)], ast.Load()),
                                             ast.Load())
    return _shared_stackings([Line(line.target, replaced.get(line.target, line.value), line.comment)
                              for line in body if line.target not in dropped], returns, three_axes)


def _shared_stackings(body: list[Line], returns: ast.expr, three_axes: set[str]) -> list[Line]:
    """Each stacking of the same steps made once, on a line of its own before its first reader; the columns of
    one argument read one per step (an RNN's xₜ = X[…, :, t]) stacked as one copy of the argument transposed,
    and their per-step views dropped where nothing else reads them."""
    made: dict[str, str] = {}
    result: list[Line] = []
    columns = {line.target: column for line in body if (column := _column(line.value, three_axes)) is not None}

    class Shared(ast.NodeTransformer):
        def visit_Call(self, node: ast.Call) -> ast.expr:
            if ast.unparse(node.func) != "np.concatenate":
                return self.generic_visit(node)
            key = ast.unparse(node)
            if key not in made:
                made[key] = f"_stacked{len(made)}"
                result.append(Line(made[key], _columns_at_once(node, columns) or node, "the steps stacked"))
            return name(made[key])

    for line in body:
        value = Shared().visit(line.value)
        result.append(Line(line.target, value, line.comment))
    if not columns:
        return result
    read = names_read(returns).union(*(names_read(line.value) for line in result))
    return [line for line in result if line.target not in columns or line.target in read]


def _column(value: ast.expr, three_axes: set[str]) -> tuple[str, int, int, int] | None:
    """``X[..., a:b, t]`` of an argument of three axes as (X, a, b, t)."""
    if not (isinstance(value, ast.Subscript) and isinstance(value.value, ast.Name) and value.value.id in three_axes
            and isinstance(value.slice, ast.Tuple) and len(value.slice.elts) == 3):
        return None
    ellipsis, rows, step = value.slice.elts
    if not (isinstance(ellipsis, ast.Constant) and ellipsis.value is Ellipsis and isinstance(rows, ast.Slice)
            and rows.step is None and isinstance(step, ast.Constant) and type(step.value) is int):
        return None
    if not all(isinstance(end, ast.Constant) and type(end.value) is int for end in (rows.lower, rows.upper)):
        return None
    return value.value.id, rows.lower.value, rows.upper.value, step.value


def _columns_at_once(stacking: ast.Call, columns: dict[str, tuple[str, int, int, int]]) -> ast.expr | None:
    """``np.concatenate([X[..., a:b, t₀], …, X[..., a:b, t₀ + T − 1]], 0)`` as the same (T·N, b − a) rows in one copy:
    ``np.transpose(X[..., a:b, t₀:t₀ + T], (2, 0, 1)).reshape(-1, b − a)``, T − 1 views and a join fewer."""
    parts = stacking.args[0].elts if stacking.args and isinstance(stacking.args[0], ast.List) else []
    found = [columns.get(part.id) if isinstance(part, ast.Name) else None for part in parts]
    if len(found) < 2 or None in found:
        return None
    array, lower, upper, first = found[0]
    if found != [(array, lower, upper, first + k) for k in range(len(found))]:
        return None
    rows, steps = ast.Slice(ast.Constant(lower), ast.Constant(upper)), ast.Slice(ast.Constant(first),
                                                                               ast.Constant(first + len(found)))
    window = ast.Subscript(name(array), ast.Tuple([ast.Constant(Ellipsis), rows, steps], ast.Load()), ast.Load())
    steps_first = numpy_call("transpose", window, ast.Tuple([ast.Constant(2), ast.Constant(0), ast.Constant(1)],
                                                            ast.Load()))
    return ast.Call(ast.Attribute(steps_first, "reshape", ast.Load()),
                    [ast.UnaryOp(ast.USub(), ast.Constant(1)), ast.Constant(upper - lower)], [])


def stacked_inputs(body: list[Line], arguments: list[str], stacks: set[str]) -> list[Line]:
    """Products of one shared matrix with rows that none of those products feeds (an RNN's U xₜ at every step)
    as one product of the rows stacked, each step's product its slice of the result's rows; the lines those
    rows are read from are computed first."""
    variables = set(arguments) | {line.target for line in body}
    reads = {line.target: names_read(line.value) & variables for line in body}
    groups: dict[str, list[Line]] = {}
    for line in body:
        value = line.value
        if (isinstance(value, ast.BinOp) and isinstance(value.op, ast.MatMult) and isinstance(value.left, ast.Name)
                and value.left.id in stacks and names_read(value.right) & variables <= set(arguments)):
            groups.setdefault(ast.unparse(value.right), []).append(line)
    batch = name("batch_size")
    first: dict[str, list[Line]] = {}  # the first product's target → the lines that stand before its slice
    replaced: dict[str, Line] = {}
    for k, members in enumerate(_independent(group, body, reads) for group in groups.values()):
        if len(members) < 2:
            continue
        product = f"_stacked_product{k}"
        needed = {line.value.left.id for line in members}
        for line in reversed(body):
            if line.target in needed:
                needed |= reads[line.target]
        first[members[0].target] = [line for line in body if line.target in needed] + [
            Line(product, ast.BinOp(_stacking([line.value.left.id for line in members]), ast.MatMult(),
                                    members[0].value.right), "the steps' products as one")]
        for i, line in enumerate(members):
            start, stop = (ast.BinOp(ast.Constant(j), ast.Mult(), batch) for j in (i, i + 1))
            replaced[line.target] = Line(line.target, ast.Subscript(name(product), ast.Slice(start, stop), ast.Load()),
                                         line.comment)
    if not replaced:
        return body
    result: list[Line] = []
    placed: set[str] = set()
    for line in body:
        for early in first.get(line.target, []):
            if early.target not in placed:
                placed.add(early.target)
                result.append(replaced.get(early.target, early))
        if line.target not in placed:
            placed.add(line.target)
            result.append(replaced.get(line.target, line))
    return result


def bias_in_stacked_products(body: list[Line], returns: ast.expr, arguments: list[str]) -> list[Line]:
    """A term every step adds to its slice of a stacked product (an RNN's zₜ = (W hₜ₋₁ + U xₜ) + b) added once to
    the whole product, ``U [x₁; …; x_T] + b``: T additions become one (the sums rounded in another order)."""
    products = {line.target for line in body if line.target.startswith("_stacked_product")}
    if not products:
        return body
    read_by = readers(body, returns)

    def only_reader(identifier: str) -> Line | None:
        lines = read_by.get(identifier, [])
        return lines[0] if len(lines) == 1 else None

    slices: dict[str, list[str]] = {}
    for line in body:
        if isinstance(line.value, ast.Subscript) and isinstance(line.value.value, ast.Name) \
                and line.value.value.id in products:
            slices.setdefault(line.value.value.id, []).append(line.target)
    folded: dict[str, ast.expr] = {}  # a product's target → the term added to it
    aliased: dict[str, ast.expr] = {}  # a step's sum → what it is once the term is in the product
    for product, parts in slices.items():
        terms, sums = [], {}
        for part in parts:
            first = only_reader(part)
            second = only_reader(first.target) if first is not None else None
            if not (_added(first, part) and second is not None and _added(second, first.target)):
                break
            term = second.value.right if _is_name(second.value.left, first.target) else second.value.left
            terms.append(term)
            sums[second.target] = name(first.target)
        else:
            if len({ast.unparse(t) for t in terms}) == 1 and names_read(terms[0]) <= set(arguments):
                folded[product] = terms[0]
                aliased.update(sums)
    if not folded:
        return body
    return [Line(line.target, ast.BinOp(line.value, ast.Add(), folded[line.target]) if line.target in folded
                 else aliased.get(line.target, line.value), line.comment) for line in body]


def _added(line: Line | None, operand: str) -> bool:
    """Whether ``line`` adds ``operand`` to something."""
    return (line is not None and isinstance(line.value, ast.BinOp) and isinstance(line.value.op, ast.Add)
            and (_is_name(line.value.left, operand) or _is_name(line.value.right, operand)))


def _is_name(node: ast.expr, identifier: str) -> bool:
    return isinstance(node, ast.Name) and node.id == identifier


def _independent(members: list[Line], body: list[Line], reads: dict[str, set[str]]) -> list[Line]:
    """The products whose rows none of the products feeds (an RNN's U xₜ; not its W hₜ₋₁, which hₜ₋₂ feeds)."""
    while True:
        fed = {line.target for line in members}
        for line in body:
            if reads[line.target] & fed:
                fed.add(line.target)
        kept = [line for line in members if line.value.left.id not in fed]
        if len(kept) == len(members):
            return members
        members = kept


def transposed_once(body: list[Line], arguments: list[str]) -> list[Line]:
    """The ``.T`` of each argument that reads it more than once (a weight at every step) as one line before the
    others, read by name."""
    counts: dict[str, int] = {}
    for line in body:
        for node in ast.walk(line.value):
            if isinstance(node, ast.Attribute) and node.attr == "T" and isinstance(node.value, ast.Name):
                counts[node.value.id] = counts.get(node.value.id, 0) + 1
    repeated = {argument for argument in arguments if counts.get(argument, 0) > 1}
    transposed: dict[str, str] = {}

    class Once(ast.NodeTransformer):
        def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
            if node.attr == "T" and isinstance(node.value, ast.Name) and node.value.id in repeated:
                return name(transposed.setdefault(node.value.id, f"_transposed_{node.value.id}"))
            return self.generic_visit(node)

    rewritten = [Line(line.target, Once().visit(line.value), line.comment) for line in body]
    return [Line(variable, ast.Attribute(name(argument), "T", ast.Load()), "read at every step")
            for argument, variable in transposed.items()] + rewritten
