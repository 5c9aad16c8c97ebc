"""The fleet questions of docs/fleet.md, asked with DuckDB over a dataset of
`pktmon-analyzer export`. Usage: python duckdb_queries.py DATASET [--timing]
Prints each answer as tab-separated lines (spark_queries.py prints the same)."""
import sys
import time

import duckdb

ds = sys.argv[1]
timing = "--timing" in sys.argv[2:]
con = duckdb.connect()
for t in ["captures", "appearances", "problems"]:
    con.sql(
        f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{ds}/{t}/*/*.parquet', hive_partitioning = true)"
    )

QUESTIONS = {
    # 1. The top three drop reasons of each host on each day.
    "top drop reasons per host and day": """
        SELECT date, host, drop_reason_text, drops FROM (
          SELECT c.date, c.host, a.drop_reason_text, count(*) AS drops,
                 row_number() OVER (PARTITION BY c.date, c.host
                                    ORDER BY count(*) DESC, a.drop_reason_text) AS n
          FROM appearances a JOIN captures c USING (capture_id, date)
          WHERE a.is_drop
          GROUP BY c.date, c.host, a.drop_reason_text)
        WHERE n <= 3
        ORDER BY date, host, drops DESC, drop_reason_text""",
    # 2. Hosts whose drops grew: drop events per capture on the last day against the days before.
    "hosts whose drops grew": """
        WITH per_day AS (
          SELECT c.host, c.date, sum(c.drop_events) AS drops, count(*) AS captures
          FROM captures c GROUP BY c.host, c.date),
        last AS (SELECT max(date) AS d FROM per_day)
        SELECT host,
               round(sum(drops) FILTER (WHERE date < (SELECT d FROM last))
                 / sum(captures) FILTER (WHERE date < (SELECT d FROM last)), 1) AS before_per_capture,
               round(sum(drops) FILTER (WHERE date = (SELECT d FROM last))
                 / sum(captures) FILTER (WHERE date = (SELECT d FROM last)), 1) AS last_day_per_capture
        FROM per_day GROUP BY host
        HAVING last_day_per_capture > 2 * before_per_capture + 1
        ORDER BY last_day_per_capture - before_per_capture DESC, host""",
    # 3. Where drops happen (PktMon's drop location), in which category, on how many hosts.
    "drops per location and host count": """
        SELECT a.drop_location_name AS location, a.drop_category, count(DISTINCT c.host) AS hosts,
               count(*) AS drops
        FROM appearances a JOIN captures c USING (capture_id, date)
        WHERE a.is_drop
        GROUP BY ALL ORDER BY drops DESC, location, drop_category LIMIT 10""",
    # 4. Problems by Windows build: cause and locality, how many problems on how many hosts.
    "problems by build": """
        SELECT c.windows_build, p.locality, p.cause, count(*) AS problems, count(DISTINCT c.host) AS hosts
        FROM problems p JOIN captures c USING (capture_id, date)
        GROUP BY ALL ORDER BY c.windows_build, problems DESC, p.locality, p.cause""",
}

for title, q in QUESTIONS.items():
    start = time.perf_counter()
    rows = con.sql(q).fetchall()
    secs = time.perf_counter() - start
    print(f"## {title}: {len(rows)} rows" + (f" ({secs * 1000:.0f} ms)" if timing else ""))
    for r in rows:
        print("\t".join("" if v is None else str(v) for v in r))
