"""The one catalogue in other dialects: DuckDB SQL translated by sqlglot to Spark SQL and Trino.

Queries and views are written once, for DuckDB. sqlglot parses them as DuckDB and writes them as
Spark SQL (for `--engine spark`) or Trino (Athena); `$name` parameters become named parameters
(`:name`), which Spark binds itself (`spark.sql(sql, args=...)`): values never enter SQL text.

A few DuckDB idioms have no faithful automatic translation; the rewrites below fix those that
can be fixed mechanically (each says why). A query or view that still cannot be translated
faithfully has a hand-written variant beside it, `<name>.spark.sql` (SQL body only, same
parameters as Spark's `:name` markers), which the registry and the view installer ignore and
`spark_sql_for` / `spark_view_sql` prefer; the test suite holds every variant to the DuckDB answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import QueryError
from ..extras import require
from ..queries.registry import DIALECT_VARIANTS, Query

__all__ = ["ATHENA_TIME_ZONES", "SPARK_TIME_ZONES", "VARIANT_SUFFIXES", "Untranslatable", "spark_args", "spark_sql_for",
           "spark_view_sql", "to_athena", "to_spark", "variant_path"]

#: The view SparkLake fills with the time zone names Spark accepts (DuckDB's pg_timezone_names()).
SPARK_TIME_ZONES = "_time_zone_names"
#: The view the Athena DDL creates with DuckDB's time zone names, for the same queries.
ATHENA_TIME_ZONES = "time_zone_names"

#: Hand-written dialect variants live beside the DuckDB file with these suffixes.
VARIANT_SUFFIXES = DIALECT_VARIANTS


def _sqlglot() -> Any:
    require("lake", needed_for="translating the catalogue (Spark, Athena)")
    import sqlglot

    return sqlglot


class Untranslatable(QueryError, ValueError):
    """A DuckDB construct with no faithful automatic translation: give the query a variant file."""


def _series_tests(node: Any) -> tuple[bool, bool, str, str]:
    """How DuckDB's range() (b excluded) or generate_series() (b included) reads for an engine
    whose SEQUENCE includes b and counts either way: (step counts down, b excluded, the test of
    a against b for a non-empty result, the test for an empty one). NULL ends fail both tests,
    so the CASE the translations build gives NULL, as DuckDB does.

    The tests depend on the step's sign, which is known only for a literal: any other step is
    refused, as is a zero step (an error in DuckDB).
    """
    import re

    from sqlglot import exp

    step = node.args.get("step")
    negative = isinstance(step, exp.Neg)
    value = step.this if negative else step
    interval = isinstance(value, exp.Interval)
    if interval:
        value = value.this
    if step is not None and not (isinstance(value, exp.Literal) and (interval or not value.is_string)
                                 and re.fullmatch(r"\d+", str(value.this)) and int(value.this) > 0):
        raise Untranslatable("a range or series whose step is not a non-zero literal")
    exclusive = bool(node.args.get("is_end_exclusive"))
    ahead, behind = (">", "<") if negative else ("<", ">")
    return negative, exclusive, ahead + ("" if exclusive else "="), behind + ("=" if exclusive else "")


def _series_alias(table: Any) -> Any:
    """The alias of range() or generate_series() used as a table, its column named as DuckDB
    names it (after the function) unless the query names it."""
    from sqlglot import exp

    name = exp.to_identifier("range" if table.this.args.get("is_end_exclusive") else "generate_series")
    alias = table.args.get("alias")
    return exp.TableAlias(this=alias.this if alias and alias.this else name.copy(),
                          columns=list(alias.columns) if alias and alias.columns else [name])


def _spark_series(node: Any) -> Any:
    """DuckDB's range() or generate_series() as Spark's SEQUENCE (see _series_tests).

    sqlglot stepped range()'s end back by a whole step (range(0, 10, 3) lost its 9) and compared
    an interval with 0, which Spark cannot. Ending one unit before b instead is the same range:
    times are whole microseconds, integers whole numbers.
    """
    from sqlglot import exp

    negative, exclusive, ahead, behind = _series_tests(node)
    start, end = node.args["start"], node.args["end"]
    step = node.args.get("step") or exp.Literal.number(1)
    times = isinstance(step.this if isinstance(step, exp.Neg) else step, exp.Interval)
    if not times:
        # BIGINT, as DuckDB gives: Spark would make INT literals an array<int> (and b - 1 could
        # overflow an INT end).
        start, end, step = (exp.cast(x, "BIGINT") for x in (start, end, step))
    last = "b"
    if exclusive:
        last = f"b {'+' if negative else '-'} {'INTERVAL 1 MICROSECOND' if times else '1'}"
    return _spark(f"CASE WHEN a {ahead} b THEN SEQUENCE(a, {last}, s) "
                  f"WHEN a {behind} b THEN ARRAY() END", a=start, b=end, s=step)


_CALENDAR_UNITS = frozenset({"MONTH", "MONTHS", "MON", "MONS", "QUARTER", "QUARTERS", "YEAR",
                             "YEARS", "DECADE", "DECADES", "CENTURY", "CENTURIES", "MILLENNIUM",
                             "MILLENNIA", "MILLENNIUMS"})


def _array_path(node: Any) -> Any:
    """For json_extract(x, '$.a[*]'), the path of the array itself ('$.a') as a literal."""
    from sqlglot import exp

    if not (isinstance(node, exp.JSONExtract) and isinstance(node.expression, exp.JSONPath)):
        return None
    path = node.expression.sql().strip("'")
    if not path.endswith("[*]"):
        return None
    path = path[: -len("[*]")] or "$"
    return exp.Literal.string(path if path.startswith("$") else "$" + path)


def _bucket_checks(node: Any) -> None:
    """Refuse the time_bucket() calls the fixed-width translations would get wrong."""
    import re

    from sqlglot import exp

    if node.args.get("unit") is not None or node.args.get("zone") is not None \
            or node.args.get("origin") is not None:
        raise Untranslatable("time_bucket() with an origin, offset or time zone")
    width = node.this
    words: list[str] = []
    if isinstance(width, exp.Interval):
        words = [str(width.unit)]
    elif isinstance(width, exp.Cast) and width.to.is_type("interval") \
            and isinstance(width.this, exp.Literal):  # '1 month'::INTERVAL
        words = re.findall(r"[A-Za-z]+", width.this.this)
    if any(w.upper() in _CALENDAR_UNITS for w in words):
        raise Untranslatable("time_bucket() by calendar months or years")


def _spark_rewrite(node: Any) -> Any:
    """Rewrite one DuckDB construct Spark SQL reads differently (each case says why)."""
    import re

    from sqlglot import exp

    if isinstance(node, exp.RegexpReplace):
        # DuckDB writes capture groups as \1; Java's regex (Spark) wants $1.
        repl = node.args.get("replacement")
        if isinstance(repl, exp.Literal) and repl.is_string:
            node.set("replacement", exp.Literal.string(re.sub(r"\\(\d)", r"$\1", repl.this)))
        return node
    if isinstance(node, exp.Literal) and not node.is_string and re.fullmatch(r"\d+\.\d*", node.this):
        # 3600.0 is DECIMAL in both, but DuckDB divides DECIMALs as DOUBLE and Spark as DECIMAL
        # (rounding to 6 places): a DOUBLE literal gives Spark DuckDB's arithmetic.
        return exp.Cast(this=node, to=exp.DataType.build("double"))
    if isinstance(node, exp.Round) and node.args.get("decimals") is not None \
            and not (isinstance(node.this, exp.Cast) and node.this.to.is_type("decimal")):
        # DuckDB rounds a DOUBLE's binary value (58.0649999... -> 58.06), Spark its decimal text
        # (58.07): the catalogue calls round_places(x, n), which rounds a DECIMAL in both.
        raise Untranslatable("round(x, n) of a DOUBLE: call round_places(x, n)")
    if isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries):
        # range() or generate_series() as a table: Spark's SEQUENCE is an array, so its rows
        # come from EXPLODE, whose column is `col`; DuckDB names the column after the function.
        return exp.Table(this=exp.Explode(this=_spark_series(node.this)), alias=_series_alias(node))
    if isinstance(node, exp.GenerateSeries):
        return _spark_series(node)
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous) \
            and str(node.this.this).lower() == "pg_timezone_names":
        # Spark has no list of zones in SQL; SparkLake registers the JVM's as this view.
        return exp.Table(this=exp.to_identifier(SPARK_TIME_ZONES), alias=node.args.get("alias"))
    if isinstance(node, exp.SimilarTo):
        # DuckDB's SIMILAR TO is a full-string regular expression match.
        pattern = node.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            raise Untranslatable("SIMILAR TO with a computed pattern")
        return exp.RegexpLike(this=_t(node.this),
                              expression=exp.Literal.string(f"^(?:{pattern.this})$"))
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "list_slice":
        # list_slice(list, begin, end) is inclusive of end; Spark's slice takes a length.
        arr, begin, end = node.expressions
        length = exp.Add(this=exp.Sub(this=_t(end), expression=_t(begin)),
                         expression=exp.Literal.number(1))
        return exp.Anonymous(this="SLICE", expressions=[_t(arr), _t(begin), length])
    if isinstance(node, (exp.TimeToUnix, exp.StrToUnix)) and node.args.get("format") is None:
        # epoch() keeps fractions of a second; Spark's unix_timestamp() drops them. epoch() of
        # a difference of times (an interval) is its length in seconds.
        if isinstance(node.this, exp.Sub):
            return _spark("(UNIX_MICROS(a) - UNIX_MICROS(b)) / CAST(1000000 AS DOUBLE)",
                          a=node.this.this, b=node.this.expression)
        return _spark("UNIX_MICROS(t) / CAST(1000000 AS DOUBLE)", t=node.this)
    if isinstance(node, exp.GroupConcat) and isinstance(node.this, exp.Order) \
            and isinstance(node.this.this, exp.Distinct):
        # string_agg(DISTINCT k, sep ORDER BY k): Spark's LISTAGG(DISTINCT ...) WITHIN GROUP
        # fails beside other DISTINCT aggregates (a ClassCastException in Spark 4.x), so: the
        # sorted set, joined; NULL when there is nothing, as in DuckDB.
        order = node.this
        (value,) = order.this.expressions
        if [o.this for o in order.expressions] != [value] or order.expressions[0].args.get("desc"):
            raise Untranslatable("string_agg(DISTINCT x ORDER BY something other than x)")
        sep = node.args.get("separator") or exp.Literal.string(",")
        return _spark("CASE WHEN SIZE(COLLECT_SET(k)) = 0 THEN NULL "
                      "ELSE ARRAY_JOIN(ARRAY_SORT(COLLECT_SET(k)), s) END", k=value, s=sep)
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "json_valid":
        return _spark("TRY_PARSE_JSON(d) IS NOT NULL", d=node.expressions[0])
    if isinstance(node, exp.Anonymous) and str(node.this).lower() in _INTERVALS:
        # to_minutes(n) and friends build intervals; Spark's make_dt_interval(days, h, m, s).
        parts = [exp.Literal.number(0)] * 4
        parts[_INTERVALS[str(node.this).lower()]] = _t(node.expressions[0])
        return exp.Anonymous(this="MAKE_DT_INTERVAL", expressions=parts)
    if isinstance(node, exp.DateBin):
        _bucket_checks(node)
        # time_bucket(width, t): DuckDB counts buckets from 2000-01-03 00:00 UTC (a Monday);
        # the same arithmetic in microseconds, the width measured as an interval after epoch 0.
        origin = exp.Literal.number(946857600 * 1_000_000)
        width = _spark("UNIX_MICROS(TIMESTAMP '1970-01-01 00:00:00' + w)", w=node.this)
        ts = _spark("UNIX_MICROS(t)", t=node.expression)
        return _spark("TIMESTAMP_MICROS(CAST(FLOOR((ts - o) / w) AS BIGINT) * w + o)",
                      ts=ts, o=origin, w=width)
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "timezone":
        # timezone(zone, timestamptz): the wall-clock time in `zone`, as a timestamp without zone.
        zone, moment = node.expressions
        return _spark("CAST(FROM_UTC_TIMESTAMP(t, z) AS TIMESTAMP_NTZ)", t=moment, z=zone)
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "error":
        return exp.Anonymous(this="RAISE_ERROR", expressions=[_t(e) for e in node.expressions])
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "json_array_length" \
            and len(node.expressions) == 2:
        doc, path = node.expressions
        return _spark("JSON_ARRAY_LENGTH(GET_JSON_OBJECT(d, p))", d=doc, p=path)
    path = _array_path(node)
    if path is not None:
        # json_extract(x, '$.a[*]') is a DuckDB list of JSON values; Spark reads the array's
        # elements as text with from_json (objects keep their JSON text).
        return _spark("FROM_JSON(GET_JSON_OBJECT(d, p), 'ARRAY<STRING>')", d=node.this, p=path)
    if isinstance(node, exp.JSONType):
        # Spark has no json_type; a VARIANT knows the type of the value at a path.
        doc, path = node.this, node.args.get("expression")
        if path is None and isinstance(doc, (exp.JSONExtract, exp.JSONExtractScalar)):
            doc, path = doc.this, doc.expression
        value = _spark("PARSE_JSON(d)", d=doc) if path is None else \
            _spark("VARIANT_GET(PARSE_JSON(d), p)", d=doc, p=path)
        return _spark("CASE WHEN SCHEMA_OF_VARIANT(v) LIKE 'OBJECT%' THEN 'OBJECT' "
                      "WHEN SCHEMA_OF_VARIANT(v) LIKE 'ARRAY%' THEN 'ARRAY' "
                      "WHEN SCHEMA_OF_VARIANT(v) = 'STRING' THEN 'VARCHAR' "
                      "WHEN SCHEMA_OF_VARIANT(v) = 'VOID' THEN 'NULL' "
                      "WHEN SCHEMA_OF_VARIANT(v) LIKE 'DECIMAL%' THEN 'DOUBLE' "
                      "ELSE SCHEMA_OF_VARIANT(v) END", v=value)
    if isinstance(node, exp.DayOfWeekIso):
        # Monday 1 .. Sunday 7 from Spark's Sunday 1 .. Saturday 7.
        return _spark("((DAYOFWEEK(t) + 5) % 7) + 1", t=node.this)
    if isinstance(node, exp.Dayname):
        return _spark("DATE_FORMAT(t, 'EEEE')", t=node.this)  # DuckDB names the day in full
    if isinstance(node, exp.First) and isinstance(node.this, exp.Order):
        # first(x ORDER BY k1, k2) -> min_by(x, struct(k1, k2)); DESC numeric keys are negated.
        order = node.this
        keys = []
        for o in order.expressions:
            key = _t(o.this)
            keys.append(exp.Neg(this=exp.Paren(this=key)) if o.args.get("desc") else key)
        return exp.Anonymous(this="MIN_BY", expressions=[_t(order.this), exp.Struct(expressions=keys)])
    agg = node.this if isinstance(node, exp.Filter) else node
    if isinstance(agg, exp.ArrayAgg) and isinstance(agg.this, exp.Order):
        # list(x ORDER BY k) -> the x of the sorted list of (k, x): Spark's collect_list has no
        # order of its own.
        order = agg.this
        if any(o.args.get("desc") for o in order.expressions) or isinstance(order.this, exp.Distinct):
            raise Untranslatable("list(DISTINCT ...) or list(... ORDER BY ... DESC)")
        fields = [exp.PropertyEQ(this=exp.to_identifier(f"k{i}"), expression=_t(o.this))
                  for i, o in enumerate(order.expressions)]
        fields.append(exp.PropertyEQ(this=exp.to_identifier("v"), expression=_t(order.this)))
        collected: exp.Expression = exp.Anonymous(
            this="COLLECT_LIST", expressions=[exp.Struct(expressions=fields)])
        if isinstance(node, exp.Filter):
            collected = exp.Filter(this=collected, expression=_t(node.expression))
        return exp.Anonymous(this="TRANSFORM", expressions=[
            exp.Anonymous(this="ARRAY_SORT", expressions=[collected]),
            exp.Lambda(this=exp.column("v", table="s"), expressions=[exp.to_identifier("s")])])
    return node


def _t(node: Any) -> Any:
    """A copy of `node` with its own sub-expressions rewritten (a replaced node is not revisited)."""
    return node.copy().transform(_spark_rewrite)


_INTERVALS = {"to_days": 0, "to_hours": 1, "to_minutes": 2, "to_seconds": 3}


def _spark(template: str, **parts: Any) -> Any:
    """A Spark SQL expression from a template whose single-letter names stand for `parts`."""
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(template, read="spark")

    def put(node: Any) -> Any:
        if isinstance(node, exp.Column) and not node.table and node.name in parts:
            return _t(parts[node.name])
        if isinstance(node, exp.ParseJSON):
            # sqlglot writes parse_json(x) as plain x for Spark; we need the VARIANT.
            return exp.Anonymous(this="PARSE_JSON", expressions=[put(node.this)])
        return node

    return tree.transform(put)


def _typed_parameters(tree: Any, types: Mapping[str, str]) -> Any:
    """`$name` as CAST(:name AS <declared type>): Spark then binds plain values (NULL included)."""
    from sqlglot import exp

    spark_types = {"timestamp": "TIMESTAMP", "integer": "BIGINT", "float": "DOUBLE",
                   "string": "STRING", "string[]": "ARRAY<STRING>", "boolean": "BOOLEAN"}

    def typed(node: Any) -> Any:
        if isinstance(node, exp.Placeholder) and node.this in types:
            kind = spark_types[types[node.this]]
            if isinstance(node.parent, (exp.Limit, exp.Offset)):
                kind = "INT"  # LIMIT and OFFSET take INT, not BIGINT
            return exp.Cast(this=node.copy(), to=exp.DataType.build(kind, dialect="spark"))
        return node

    return tree.transform(typed)


def _parse(sql: str) -> Any:
    sqlglot = _sqlglot()
    statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    if len(statements) != 1:
        raise ValueError(f"expected one SQL statement, found {len(statements)}")
    return _expand_macros(statements[0])


def _expand_macros(tree: Any) -> Any:
    """Calls of the case's DuckDB macros (enrich/macros.py) replaced by their bodies: Spark and
    Athena have no macros, and the bodies are plain SQL both translate."""
    import sqlglot
    from sqlglot import exp

    from ..enrich.macros import macro_definitions

    macros = macro_definitions()

    def expand(node: Any) -> Any:
        if not (isinstance(node, exp.Anonymous) and str(node.this).lower() in macros):
            return node
        params, body = macros[str(node.this).lower()]
        if len(node.expressions) != len(params):
            raise Untranslatable(f"{node.this}() takes {len(params)} argument(s)")
        args = dict(zip(params, node.expressions))

        def put(inner: Any) -> Any:
            if isinstance(inner, exp.Column) and not inner.table and inner.name in args:
                return args[inner.name].copy()
            return inner

        return exp.Paren(this=sqlglot.parse_one(body, read="duckdb").transform(put))

    return tree.transform(expand)


def to_spark(sql: str, *, view: bool = False, params: Mapping[str, str] | None = None) -> str:
    """DuckDB SQL (a query, or with `view` a CREATE VIEW made temporary) as Spark SQL.

    `params` maps parameter names to their declared types, so each is cast where it is used.
    """
    from sqlglot import exp

    tree = _parse(sql).transform(_spark_rewrite)
    if params:
        tree = _typed_parameters(tree, params)
    if view and isinstance(tree, exp.Create):
        # Views over a session's temporary views must themselves be temporary in Spark.
        tree.set("properties", exp.Properties(expressions=[exp.TemporaryProperty()]))
    return str(tree.sql(dialect="spark"))


def _athena_range(node: Any) -> Any:
    """DuckDB's range() or generate_series() as Trino's SEQUENCE (see _series_tests).

    sqlglot's own translation stepped range()'s end back by a whole step (losing the last value
    when b is off the grid) and compared an interval step with 0, which Trino refuses; Trino's
    SEQUENCE fails when a is past b for a positive step. range()'s b is dropped with ARRAY_REMOVE
    (a sequence holds each value once), not a lambda: Trino allows no aggregate or subquery
    inside one, and b may be either.
    """
    from sqlglot import exp

    _, exclusive, ahead, behind = _series_tests(node)
    values = "ARRAY_REMOVE(SEQUENCE(a, b, s), b)" if exclusive else "SEQUENCE(a, b, s)"
    return _athena(f"CASE WHEN a {ahead} b THEN {values} WHEN a {behind} b THEN ARRAY[] END",
                   a=node.args["start"], b=node.args["end"],
                   s=node.args.get("step") or exp.Literal.number(1))


def _athena(template: str, **parts: Any) -> Any:
    """A Trino expression from a template whose single-letter names stand for `parts`."""
    import sqlglot
    from sqlglot import exp

    def put(node: Any) -> Any:
        if isinstance(node, exp.Column) and not node.table and node.name in parts:
            return parts[node.name].copy().transform(_athena_rewrite)
        return node

    return sqlglot.parse_one(template, read="trino").transform(put)


def _athena_rewrite(node: Any) -> Any:
    """Rewrite one DuckDB construct Trino reads differently (each case says why)."""
    from sqlglot import exp

    if isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries):
        # range() or generate_series() as a table: UNNEST of the sequence, its column named
        # after the function as DuckDB names it, unless the query names it.
        return exp.Unnest(expressions=[_athena_range(node.this)], alias=_series_alias(node))
    if isinstance(node, exp.GenerateSeries):
        return _athena_range(node)
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Anonymous) \
            and str(node.this.this).lower() == "pg_timezone_names":
        # Trino has no list of zones in SQL; the Athena DDL creates this view of DuckDB's.
        return exp.Table(this=exp.to_identifier(ATHENA_TIME_ZONES), alias=node.args.get("alias"))
    name = str(node.this).lower() if isinstance(node, exp.Anonymous) else None
    if isinstance(node, exp.ToDays):
        name = "to_days"  # sqlglot knows this one by name
    if name in _INTERVALS:
        # to_minutes(n) and friends build intervals; Trino multiplies a unit interval.
        unit = ("DAY", "HOUR", "MINUTE", "SECOND")[_INTERVALS[name]]
        count = node.this if isinstance(node, exp.ToDays) else node.expressions[0]
        return _athena(f"n * INTERVAL '1' {unit}", n=count)
    if isinstance(node, exp.DateBin):
        _bucket_checks(node)
        # time_bucket(width, t): Trino has no date_bin. DuckDB counts buckets from 2000-01-03
        # 00:00 UTC (a Monday); the same arithmetic in whole milliseconds since 1970 (Athena's
        # precision; no session time zone involved). to_milliseconds() fails on a width of
        # months or years, which fixed-width buckets cannot follow.
        epoch = "CAST('1970-01-01 00:00:00.000' AS TIMESTAMP(3))"
        return _athena(f"date_add('millisecond', CAST(floor(CAST(date_diff('millisecond', {epoch}, "
                       f"t) - o AS DOUBLE) / to_milliseconds(w)) AS BIGINT) * to_milliseconds(w) "
                       f"+ o, {epoch})",
                       t=node.expression, o=exp.Literal.number(946857600 * 1000), w=node.this)
    if name == "list_slice":
        # list_slice(list, begin, end) includes end; Trino's slice takes a length, and fails
        # on a start of 0 or a negative length where DuckDB counts from the end or clamps.
        arr, begin, end = node.expressions
        first, last = (b.to_py() if isinstance(b, exp.Literal) and not b.is_string else None
                       for b in (begin, end))
        if not (isinstance(first, int) and isinstance(last, int) and first >= 1
                and last >= first - 1):
            raise Untranslatable("list_slice() with bounds that are not whole numbers from 1 up")
        return _athena("slice(a, b, e - b + 1)", a=arr, b=begin, e=end)
    if name == "json_valid":
        return _athena("CASE WHEN d IS NOT NULL THEN try(json_parse(d)) IS NOT NULL END",
                       d=node.expressions[0])
    if name == "error":
        # Trino documents no function that raises: casting the message to a number fails with
        # the message in Trino's error, and only when evaluated, as DuckDB's error() does. The
        # CASE gives an untyped NULL otherwise, so the branch fits wherever error() stood.
        return _athena("CASE WHEN CAST('s3forensics: ' || m AS BIGINT) IS NULL THEN NULL END",
                       m=node.expressions[0])
    if isinstance(node, exp.Median):
        if isinstance(node.parent, exp.Window):
            raise Untranslatable("median() as a window function")
        # Trino has only approx_percentile: the exact median (as DuckDB's, a DOUBLE halfway
        # between the middle two of an even count) from the sorted values.
        values = _athena("array_sort(array_agg(x) FILTER (WHERE x IS NOT NULL))", x=node.this)
        # (Each division is exact; the casts keep the index an integer in any reading of `/`.)
        return _athena("CASE WHEN cardinality(s) % 2 = 1 "
                       "THEN CAST(element_at(s, CAST((cardinality(s) + 1) / 2 AS BIGINT)) AS DOUBLE) "
                       "WHEN cardinality(s) > 0 "
                       "THEN (CAST(element_at(s, CAST(cardinality(s) / 2 AS BIGINT)) AS DOUBLE) "
                       "+ CAST(element_at(s, CAST(cardinality(s) / 2 + 1 AS BIGINT)) AS DOUBLE)) / 2 "
                       "END", s=values)
    if name == "timezone" and len(node.expressions) == 2:
        # timezone(zone, t): the wall-clock time in `zone` of a UTC time (Athena's times carry
        # no zone), as a time without zone.
        zone, moment = node.expressions
        return _athena("CAST(at_timezone(with_timezone(t, 'UTC'), z) AS TIMESTAMP)",
                       t=moment, z=zone)
    if isinstance(node, exp.Dayname):
        return _athena("format_datetime(t, 'EEEE')", t=node.this)  # the day's name in full
    path = _array_path(node)
    if path is not None:
        # json_extract(x, '$.a[*]') is a DuckDB list of JSON values; Trino's JSON paths have no
        # wildcard, but a JSON array casts to ARRAY(JSON). The cast gives NULL where the value
        # is not an array, and DuckDB's list is then empty.
        return _athena("CASE WHEN d IS NOT NULL THEN coalesce(TRY_CAST(json_extract(d, p) "
                       "AS ARRAY(JSON)), CAST(ARRAY[] AS ARRAY(JSON))) END", d=node.this, p=path)
    if isinstance(node, exp.JSONType):
        # Trino has no json_type: the value's JSON text tells its type by its first character.
        at = node.args.get("expression")
        value = _athena("json_format(json_extract(d, p))", d=node.this,
                        p=at if at is not None else exp.Literal.string("$"))
        return _athena("CASE substr(v, 1, 1) WHEN '{' THEN 'OBJECT' WHEN '[' THEN 'ARRAY' "
                       "WHEN '\"' THEN 'VARCHAR' WHEN 't' THEN 'BOOLEAN' WHEN 'f' THEN 'BOOLEAN' "
                       "WHEN 'n' THEN 'NULL' ELSE CASE WHEN v IS NULL THEN NULL WHEN regexp_like(v, '^[0-9]+$') "
                       "THEN 'UBIGINT' WHEN regexp_like(v, '^-[0-9]+$') THEN 'BIGINT' "
                       "ELSE 'DOUBLE' END END", v=value)
    return _athena_array_agg(node)


def _athena_array_agg(node: Any) -> Any:
    """DuckDB's list() and Spark's collect_list drop NULLs; Trino's array_agg keeps them."""
    from sqlglot import exp

    filtered = isinstance(node, exp.Filter) and isinstance(node.this, exp.ArrayAgg)
    if not filtered and not (isinstance(node, exp.ArrayAgg)
                             and not isinstance(node.parent, exp.Filter)):
        return node
    agg = node.this if filtered else node
    value = agg.this
    if isinstance(value, exp.Order):
        value = value.this
    if isinstance(value, exp.Distinct):
        value = value.expressions[0] if len(value.expressions) == 1 else None
    if not isinstance(value, exp.Expression):
        return node
    condition: Any = exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null()))
    if filtered:
        condition = exp.and_(node.expression.this.copy(), condition)
    return exp.Filter(this=agg.copy(), expression=exp.Where(this=condition))


def to_athena(sql: str) -> str:
    """DuckDB SQL as Athena (Trino) SQL; `$name` parameters become `?`-free named markers."""
    return str(_parse(sql).transform(_athena_rewrite).sql(dialect="trino", pretty=True))


def variant_path(query: Query, dialect: str = "spark") -> Path:
    """Where a hand-written dialect variant of `query` lives: beside its .sql file."""
    return query.path.with_name(f"{query.name}.{dialect}.sql")


def spark_sql_for(query: Query) -> str:
    """The Spark SQL of a catalogue query: its variant file if it has one, else the translation."""
    types = {name: p.type for name, p in query.params.items()}
    variant = variant_path(query, "spark")
    if variant.exists():
        # Written in Spark SQL, parameters as Spark's own named markers (:name): used as is.
        return variant.read_text(encoding="utf-8").strip().rstrip(";")
    try:
        return to_spark(query.sql, params=types)
    except Untranslatable as exc:
        raise Untranslatable(f"{query.name}: {exc}; write its Spark SQL as {variant.name} "
                             f"beside {query.path.name}") from None


def spark_view_sql(path: Path) -> str:
    """The Spark SQL creating a derived view: its `.spark.sql` variant if any, else the translation."""
    variant = path.with_name(path.name[: -len(".sql")] + ".spark.sql")
    if variant.exists():
        return variant.read_text(encoding="utf-8").strip().rstrip(";")
    return to_spark(path.read_text(encoding="utf-8"), view=True)


def spark_args(query: Query, bound: Mapping[str, Any]) -> dict[str, Any]:
    """Parameter values for `spark.sql(args=...)`: literals, lists as array() (typed in the SQL)."""
    from pyspark.sql import functions as F

    args: dict[str, Any] = {}
    for name, value in bound.items():
        if isinstance(value, list):
            args[name] = F.array(*[F.lit(v) for v in value])
        else:
            args[name] = value
    return args
