"""Every SQL and Cypher statement in tv5_assets is parameterised: values travel
as bind parameters (`%s`, `$name`, COPY rows), never formatted into the text.

The rule, checked on the syntax tree of every module:

A *statement string* is a string (or f-string) whose text starts with a SQL or Cypher statement
keyword (SELECT, INSERT, MATCH, MERGE, CREATE, ALTER, COPY, UNWIND...). In a statement f-string,
and in `+` / `%` / `.format` applied to a statement string, each formatted part must be an
**identifier** from the code, which is one of:

1. a call to a quoting helper (`QUOTERS`: `qualified`, `quoted`, `_quote`, psycopg's
   `sql.Identifier`/`sql.Literal`, `int`...) or a Cypher backtick escape `x.replace("`", "``")`;
2. an UPPER_CASE module constant;
3. a graph-model attribute (`node.label`, `node.key`, `rel.type`: constants of neo4j/model.py);
4. a conditional, concatenation or `", ".join(...)` of allowed parts and string literals;
5. a local name whose every assignment in the function is allowed, or one of `IDENTIFIER_NAMES`
   (listed with the reason it holds only identifiers).

`sql.SQL(...).format(...)` (psycopg's composition, which quotes each part) is the sanctioned way to
build SQL with identifiers; `str.format` or `%` on a statement string is refused outright.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "tv5_assets"
STATEMENT = re.compile(
    r"^\s*(SELECT|INSERT|UPDATE|DELETE|MERGE|MATCH|OPTIONAL MATCH|CREATE|DROP|ALTER|COPY|UNWIND|CALL|WITH|"
    r"TRUNCATE|DETACH|SET|GRANT|REVOKE|VACUUM|ANALYZE|COMMENT ON|RETURN|LOCK|REFRESH)\b"
)
QUOTERS = {
    "qualified",  # postgres.model: schema-qualified, quoted identifier
    "_qualified",  # postgres.checks: the same, imported under a private name
    "quoted",  # postgres.model: quoted identifier
    "_quote",  # postgres.schema: the dialect's identifier quoting
    "_literal",  # postgres.schema: a quoted string literal (DDL comments, which take no parameters)
    "constraint_name",  # neo4j.model: a name derived from code constants
    "cypher_name",  # neo4j.model: a server-read label or type, backtick-quoted, backticks doubled
    "Identifier",  # psycopg.sql
    "Literal",  # psycopg.sql
    "int",  # a number cannot inject
    "bounds",  # postgres.loader: FROM (int) TO (int), built with int()
}
MODEL_ATTRIBUTES = {"label", "key", "type"}
NOT_STATEMENTS = {("engine_limits.py", "COPY of ")}
"""(module, text start) of strings that start like a statement but are labels for people."""
IDENTIFIER_NAMES = {
    # (module, name): why it holds identifiers only
    ("stores/neo4j/loader.py", "assignments"): "`n.<column> = $<column>[i]` for the frame's code-defined "
    "columns: names from schemas, values as $parameters",
    ("stores/neo4j/loader.py", "props"): "`<property>: $<property>[i]` for the model's relationship properties",
    # A user range's predicate (partitions): written in code with bind placeholders ($range_first,
    # %s), its values returned beside it as the parameters the call passes.
    ("stores/neo4j/loader.py", "where"): "loader.source_filter: `s.<model key> >= $range_first ...`",
    ("defs/neo4j/checks.py", "where"): "loader.source_filter, as above",
    ("defs/postgres/loader.py", "where"): "`user_id BETWEEN %s AND %s` literals",
    ("defs/postgres/checks.py", "where"): "the range predicate with %s placeholders",
}


def _is_statement(text: object) -> bool:
    return isinstance(text, str) and bool(STATEMENT.match(text))


class _Judge:
    """Decides whether an interpolated expression is an identifier under the module docstring's rule."""

    def __init__(self, module: str, functions: list[ast.AST]) -> None:
        self.module = module
        self.functions = functions  # innermost first: a closure's name may be bound further out

    def allowed(self, expr: ast.expr, depth: int = 0) -> bool:
        if depth > 6:
            return False
        if isinstance(expr, ast.Constant):
            return isinstance(expr.value, (str, int))
        if isinstance(expr, ast.JoinedStr):
            return all(
                self.allowed(v.value, depth + 1) if isinstance(v, ast.FormattedValue) else True for v in expr.values
            )
        if isinstance(expr, ast.IfExp):
            return self.allowed(expr.body, depth + 1) and self.allowed(expr.orelse, depth + 1)
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return self.allowed(expr.left, depth + 1) and self.allowed(expr.right, depth + 1)
        if isinstance(expr, ast.Attribute):
            return expr.attr in MODEL_ATTRIBUTES or expr.attr.isupper()
        if isinstance(expr, ast.Name):
            return self._name_allowed(expr.id, depth)
        if isinstance(expr, ast.Call):
            return self._call_allowed(expr, depth)
        return False

    def _call_allowed(self, call: ast.Call, depth: int) -> bool:
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in QUOTERS:
            return True
        if name == "replace" and [getattr(a, "value", None) for a in call.args] == ["`", "``"]:
            return True  # Cypher identifier escape
        if name == "join" and len(call.args) == 1:
            arg = call.args[0]
            elements = arg.elt if isinstance(arg, (ast.GeneratorExp, ast.ListComp)) else arg
            return self.allowed(elements, depth + 1)
        return False

    def _name_allowed(self, name: str, depth: int) -> bool:
        if name.isupper() or (self.module, name) in IDENTIFIER_NAMES:
            return True
        for function in self.functions:
            values = [
                node.value
                for node in ast.walk(function)
                if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets)
            ]
            if values:
                return all(self.allowed(value, depth + 1) for value in values)
        return False


def _functions(tree: ast.AST) -> dict[ast.AST, list[ast.AST]]:
    """Every node -> its enclosing functions, innermost first."""
    owner: dict[ast.AST, list[ast.AST]] = {}

    def visit(node: ast.AST, functions: list[ast.AST]) -> None:
        for child in ast.iter_child_nodes(node):
            owner[child] = functions
            inner = [child, *functions] if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else functions
            visit(child, inner)

    visit(tree, [])
    return owner


def violations(source: str, module: str) -> list[str]:
    """`line: text` for each statement built by formatting something that is not an identifier."""
    tree = ast.parse(source)
    owner = _functions(tree)
    found = []
    for node in ast.walk(tree):
        judge = _Judge(module, owner.get(node, []))
        first = getattr(node.values[0], "value", None) if isinstance(node, ast.JoinedStr) and node.values else None
        if any(module == m and isinstance(first, str) and first.startswith(t) for m, t in NOT_STATEMENTS):
            continue
        if isinstance(node, ast.JoinedStr) and _is_statement(first):
            for part in node.values:
                if isinstance(part, ast.FormattedValue) and not judge.allowed(part.value):
                    found.append(f"{node.lineno}: {{{ast.unparse(part.value)}}} formatted into a statement")
        elif isinstance(node, ast.BinOp) and _is_statement(getattr(node.left, "value", None)):
            if isinstance(node.op, ast.Mod):
                found.append(f"{node.lineno}: `%` formatting of a statement")
            elif isinstance(node.op, ast.Add) and not judge.allowed(node.right):
                found.append(f"{node.lineno}: {ast.unparse(node.right)} concatenated into a statement")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"
            and _is_statement(getattr(node.func.value, "value", None))
        ):
            found.append(f"{node.lineno}: str.format on a statement (use psycopg.sql.SQL(...).format)")
    return found


def test_no_statement_in_the_package_formats_a_value() -> None:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = str(path.relative_to(PACKAGE))
        problems += [f"tv5_assets/{module}:{v}" for v in violations(path.read_text(), module)]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    "snippet",
    [
        "def f(conn, title):\n    conn.execute(f\"SELECT * FROM media WHERE title = '{title}'\")",
        'def f(s, title):\n    s.run(f"MATCH (m:Movie) WHERE m.title = \\"{title}\\" RETURN m")',
        'def f(conn, x):\n    conn.execute("SELECT * FROM t WHERE a = %s" % x)',
        'def f(conn, x):\n    conn.execute("DELETE FROM t WHERE a = {}".format(x))',
        'def f(conn, x):\n    conn.execute("SELECT * FROM t WHERE a = " + x)',
        'def f(conn, row):\n    value = row["title"]\n    conn.execute(f"INSERT INTO t VALUES ({value})")',
    ],
)
def test_the_rule_catches_formatted_values(snippet: str) -> None:
    assert violations(snippet, "example.py"), snippet


@pytest.mark.parametrize(
    "snippet",
    [
        'def f(conn, title):\n    conn.execute("SELECT * FROM media WHERE title = %s", (title,))',
        'def f(s, t):\n    s.run("MATCH (m:Movie {title: $title}) RETURN m", title=t)',
        'def f(conn, schema):\n    q = model.qualified(schema, "t")\n    conn.execute(f"DROP TABLE {q}")',
        'def f(s, node):\n    s.run(f"MATCH (n:{node.label}) RETURN count(n)")',
        'def f(conn):\n    conn.execute(f"CREATE SCHEMA {PG_SCHEMA}")',
    ],
)
def test_the_rule_lets_identifiers_through(snippet: str) -> None:
    assert violations(snippet, "example.py") == [], snippet
