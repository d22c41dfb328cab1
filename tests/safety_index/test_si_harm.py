"""The harm formula is defined once (``domain.harm``): the scalar method, numpy arrays and the SQL
that DuckDB runs (rendered from the same function) give the same numbers, bit for bit."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from jingwu.safety_index.columnar import harm_sql, weight_table
from jingwu.safety_index.domain import Category, Method, harm


def test_one_formula_for_scalars_arrays_and_sql() -> None:
    m = Method(injury_weight=0.1)  # not a binary fraction: the SQL must multiply in DOUBLE like numpy
    rows = pd.DataFrame({"type_code": ["010601", "030100", "050100", "990000", "020100", "040100"],
                         "category": ["crime", "traffic", "help", "other", "public_order", "fire"],
                         "injuries": [0, 3, 2, 7, 1, 13]})
    scalar = [m.incident_harm(c, Category(k), i) for c, k, i in rows.itertuples(index=False)]
    assert scalar[2] == scalar[3] == 0.0  # help and other carry no harm, injured or not
    df = rows.merge(weight_table(rows[["type_code", "category"]].drop_duplicates(), m), on=["type_code", "category"])
    arrays = harm(1, df["w"].to_numpy(), df["injuries"].to_numpy(), df["sub"].to_numpy() >= 0, m.injury_weight)
    con = duckdb.connect()
    con.register("t", df)
    sql = con.execute(f"SELECT {harm_sql('w', 'injuries', 'sub', m)} FROM t").fetchnumpy()
    assert np.array_equal(np.asarray(scalar), arrays)
    assert np.array_equal(arrays, np.asarray(next(iter(sql.values()))))
