"""Columnar path for large fact sets: DuckDB aggregates incident facts (Parquet
files, Arrow tables) straight into the engine's daily cube, joining the method's
harm weights as a small table, so 10 million incidents never pass through
Python rows. Used for backfills over big imports and by the benchmark; the
arithmetic is the engine's, identical to the store-backed path.
"""

from __future__ import annotations

from typing import Any

import duckdb
import numpy as np
import pandas as pd

from jingwu.safety_index import engine
from jingwu.safety_index.domain import CATEGORY_SUBINDEX, SUB_INDICES, Category, Method, harm


class SqlExpr:
    """A SQL expression that composes with ``+`` and ``*``, so that a plain-arithmetic formula of the
    domain (``domain.harm``) renders as SQL instead of being written again. Numbers become DOUBLE
    literals (the same arithmetic as numpy's float64)."""

    def __init__(self, sql: str) -> None:
        self.sql = sql

    @staticmethod
    def of(v: object) -> str:
        if isinstance(v, SqlExpr):
            return v.sql
        if isinstance(v, bool | int | float):
            return f"{float(v)!r}::DOUBLE"
        raise TypeError(f"not a SQL operand: {v!r}")

    def __add__(self, other: object) -> SqlExpr:
        return SqlExpr(f"({self.sql} + {SqlExpr.of(other)})")

    def __mul__(self, other: object) -> SqlExpr:
        return SqlExpr(f"({self.sql} * {SqlExpr.of(other)})")

    def __rmul__(self, other: object) -> SqlExpr:
        return SqlExpr(f"({SqlExpr.of(other)} * {self.sql})")


def harm_sql(weight: str, injuries: str, sub: str, method: Method) -> str:
    """``domain.harm`` of one incident row as a SQL expression over the given columns."""
    return SqlExpr.of(harm(1, SqlExpr(weight), SqlExpr(injuries), SqlExpr(f"({sub} >= 0)::INTEGER"),
                           method.injury_weight))


def weight_table(pairs: pd.DataFrame, method: Method) -> pd.DataFrame:
    """(type_code, category) -> (sub index number or -1, harm weight) for every distinct pair."""
    subs = {s: i for i, s in enumerate(SUB_INDICES)}
    rows = []
    for code, cat in pairs.itertuples(index=False):
        c = Category(cat) if cat in Category.__members__.values() else Category.OTHER
        s = CATEGORY_SUBINDEX[c]
        rows.append((code, cat, subs[s] if s is not None else -1, method.harm_weight(code, c)))
    return pd.DataFrame(rows, columns=["type_code", "category", "sub", "w"])


def cube(con: duckdb.DuckDBPyConnection, relation: str, *, n_towns: int, day0: int, n_days: int,
         population: np.ndarray[Any, Any], codes: list[str], method: Method | None = None,
         where: str = "TRUE") -> engine.DailyArrays:
    """Aggregate ``relation`` (columns town INT index, day INT days since epoch, type_code, category,
    deaths, injuries) into the cube for days day0 .. day0+n_days-1."""
    m = method or Method()
    pairs = con.execute(f"SELECT DISTINCT type_code, category FROM {relation}").df()
    con.register("si_weights", weight_table(pairs, m))
    agg = con.execute(f"""
        SELECT f.town::BIGINT AS town, (f.day - {day0})::BIGINT AS d, w.sub::BIGINT AS sub,
               SUM({harm_sql("w.w", "f.injuries", "w.sub", m)})::DOUBLE AS harm,
               COUNT(*)::BIGINT AS n, SUM(f.deaths)::BIGINT AS deaths
        FROM {relation} f JOIN si_weights w USING (type_code, category)
        WHERE f.day >= {day0} AND f.day < {day0 + n_days} AND ({where})
        GROUP BY 1, 2, 3""").fetchnumpy()
    con.unregister("si_weights")
    col = {k: np.asarray(v) for k, v in agg.items()}
    return engine.DailyArrays.from_sparse(
        n_towns, n_days, col["town"].astype(np.int64), col["d"].astype(np.int64), col["sub"].astype(np.int64),
        col["harm"].astype(np.float64), col["n"].astype(np.int64), col["deaths"].astype(np.int64),
        np.asarray(population, dtype=np.float64), codes)
