"""Hypothesis strategies: random schemas and the queries that read them.

A generated `World` knows its tables by canonical (lower-case) name and writes every name the
way real workloads do: with one, two or three parts where the session allows it, in any case,
quoted or not (reserved words always quoted). Queries select `id` and `k` from joins, CTEs
that shadow table names, subqueries (IN, EXISTS, derived tables), UNION ALL, with comments —
all valid in Trino and in DuckDB, so both can run them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

from domain.workload import AnalysisOptions, DdlStatement, Query, Workload

TABLE_WORDS = ["orders", "items", "users", "events", "ledger", "stock", "order", "select"]
SCHEMA_WORDS = ["sales", "hr", "ops", "Finance", "group"]
COLUMN_WORDS = ["amount", "name", "flag", "day", "qty", "note", "value", "table"]
TYPES = ["integer", "bigint", "varchar", "double", "boolean", "date"]
# Trino reserved words among the names above: they must be quoted.
RESERVED = {"order", "select", "group", "table", "values"}
SECRET = "pw-Zq8-not-in-output"


@dataclass(frozen=True)
class Table:
    catalog: str
    schema: str
    name: str
    columns: tuple[tuple[str, str], ...]  # (canonical name, type); always starts id, k


@dataclass
class World:
    catalog: str
    schema: str  # the session's
    url: str
    schema_in_url: bool = True
    tables: list[Table] = field(default_factory=list)


def _case(draw: st.DrawFn, word: str) -> str:
    style = draw(st.sampled_from(["lower", "upper", "title", "mixed"]))
    if style == "upper":
        return word.upper()
    if style == "title":
        return word.title()
    if style == "mixed":
        return "".join(c.upper() if i % 2 else c for i, c in enumerate(word))
    return word


def identifier(draw: st.DrawFn, word: str) -> str:
    """`word` as a user might write it: any case, quoted or not (reserved: always quoted)."""
    written = _case(draw, word)
    if word in RESERVED or draw(st.booleans()):
        return '"' + written.replace('"', '""') + '"'
    return written


def table_ref(draw: st.DrawFn, world: World, table: Table) -> str:
    """A reference to `table` with as few or as many parts as the session allows."""
    fewest = 3
    if table.catalog == world.catalog:
        # without a schema in the URL, Trino itself could not resolve a one-part name
        fewest = 1 if world.schema_in_url and table.schema == world.schema else 2
    parts = [table.catalog, table.schema, table.name][3 - draw(st.integers(fewest, 3)) :]
    return ".".join(identifier(draw, p) for p in parts)


@st.composite
def worlds(draw: st.DrawFn) -> World:
    catalog = draw(st.sampled_from(["lake", "hive"]))
    schema = draw(st.sampled_from(SCHEMA_WORDS)).lower()
    url_style = draw(st.sampled_from(["path", "param", "catalog-only"]))
    if url_style == "path":
        url = f"jdbc:trino://trino.test:8080/{catalog}/{schema}?user=bob&password={SECRET}"
    elif url_style == "param":
        url = f"jdbc:trino://bob:{SECRET}@trino.test:8080?catalog={catalog}&schema={schema}"
    else:
        url = f"jdbc:trino://trino.test:8080?catalog={catalog}&password={SECRET}"
    world = World(catalog, schema, url, schema_in_url=url_style != "catalog-only")
    names = draw(
        st.lists(
            st.tuples(
                st.sampled_from([catalog, catalog, "other"]),
                st.sampled_from([schema, *(s.lower() for s in SCHEMA_WORDS)]),
                st.sampled_from(TABLE_WORDS),
            ),
            min_size=1,
            max_size=5,
            unique=True,
        )
    )
    for table_catalog, table_schema, name in names:
        extra = draw(st.lists(st.sampled_from(COLUMN_WORDS), max_size=3, unique=True))
        typed = [(c, draw(st.sampled_from(TYPES))) for c in extra]
        columns = (("id", "integer"), ("k", "integer"), *typed)
        world.tables.append(Table(table_catalog, table_schema, name, columns))
    return world


def create_table(draw: st.DrawFn, world: World, table: Table) -> str:
    columns = ", ".join(f"{identifier(draw, c)} {t}" for c, t in table.columns)
    props = draw(
        st.sampled_from(
            ["", " WITH (format = 'ORC')", " WITH (location = 's3://b/t', format = 'PARQUET')"]
        )
    )
    return f"CREATE TABLE {table_ref(draw, world, table)} ({columns}){props}"


def _quoted(table: Table) -> str:
    return ".".join(f'"{p}"' for p in (table.catalog, table.schema, table.name))


def _comment(draw: st.DrawFn) -> str:
    return draw(st.sampled_from(["", " /* note */", " -- line note\n", " /* a -- b */"]))


def _simple_select(draw: st.DrawFn, world: World) -> str:
    table = draw(st.sampled_from(world.tables))
    return f"SELECT id, k FROM {table_ref(draw, world, table)}"


@st.composite
def select_queries(draw: st.DrawFn, world: World) -> str:
    """A SELECT over `world`'s tables returning (id, k), in any of several shapes."""
    ctes: list[str] = []
    definitions: list[str] = []
    for _ in range(draw(st.integers(0, 2))):
        # a CTE is often named like a table (hiding it after its definition) and reads a
        # table — maybe the very one it is named after — or an earlier CTE
        name = draw(st.sampled_from([t.name for t in world.tables] + ["recent"]))
        if name in ctes:
            continue
        reads = draw(st.sampled_from([*ctes, None]))
        body = (
            identifier(draw, reads)
            if reads is not None
            else table_ref(draw, world, draw(st.sampled_from(world.tables)))
        )
        definitions.append(
            f"{identifier(draw, name)} AS (SELECT id, k FROM {body}{_comment(draw)})"
        )
        ctes.append(name)

    def relation() -> str:
        if ctes and draw(st.booleans()):
            return identifier(draw, draw(st.sampled_from(ctes)))
        return table_ref(draw, world, draw(st.sampled_from(world.tables)))

    source = relation()
    use_alias = draw(st.booleans())
    qualifier = "q" if use_alias else source.rsplit(".", 1)[-1]
    sql = f"SELECT {qualifier}.id, {qualifier}.k{_comment(draw)} FROM {source}"
    sql += " q" if use_alias else ""
    if draw(st.booleans()):
        kind = draw(st.sampled_from(["JOIN", "LEFT JOIN"]))
        sql += f" {kind} {relation()} j ON j.k = {qualifier}.k"
    filters = []
    for _ in range(draw(st.integers(0, 2))):
        ref = relation()
        filters.append(
            draw(
                st.sampled_from(
                    [
                        f"{qualifier}.id > 1",
                        f"{qualifier}.k IN (SELECT k FROM {ref})",
                        f"EXISTS (SELECT 1 FROM {ref} e WHERE e.id = {qualifier}.id)",
                        f"{qualifier}.id NOT IN (SELECT x.id FROM (SELECT id FROM {ref}) x)",
                        f"{qualifier}.k IN (WITH {identifier(draw, 'recent')} AS "
                        f"(SELECT k FROM {ref}) SELECT k FROM recent)",
                    ]
                )
            )
        )
    if filters:
        sql += f"{_comment(draw)} WHERE " + " AND ".join(filters)
    if definitions:
        sql = "WITH " + ", ".join(definitions) + " " + sql
    if draw(st.booleans()):
        sql += f"{_comment(draw)} UNION ALL {_simple_select(draw, world)}"
    return sql + _comment(draw)


@st.composite
def workloads(draw: st.DrawFn) -> tuple[World, Workload]:
    world = draw(worlds())
    ddl = [create_table(draw, world, t) for t in world.tables]
    queries = draw(st.lists(select_queries(world), min_size=1, max_size=6))
    extra = draw(
        st.lists(
            st.sampled_from(
                [
                    "SELECT * FROM nowhere.missing",
                    "SELEC broken",
                    "",
                    f"INSERT INTO {_quoted(world.tables[0])} (id, k) "
                    f"SELECT id, k FROM {_quoted(world.tables[-1])}",
                ]
            ),
            max_size=2,
        )
    )
    workload = Workload(
        url=world.url,
        ddl=tuple(DdlStatement(s) for s in ddl),
        queries=tuple(
            Query(f"q{i}", sql, draw(st.integers(0, 1000)), draw(st.none() | st.floats(0, 100)))
            for i, sql in enumerate([*queries, *extra])
        ),
        options=AnalysisOptions(target_schema=draw(st.sampled_from(["optimized", "Opt2"]))),
    )
    return world, workload
