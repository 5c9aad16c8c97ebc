"""The fleet questions of docs/fleet.md as a PySpark job (local mode here; the
same code on a cluster with the dataset on HDFS or a bucket).
Usage: python spark_queries.py DATASET
Prints each answer as tab-separated lines, as duckdb_queries.py does."""
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window

ds = sys.argv[1]
spark = (
    SparkSession.builder.appName("pktmon-fleet")
    .master("local[*]")
    # PktMon's 100-ns times are Parquet TIMESTAMP(NANOS): Spark reads them as longs (nanoseconds since 1970).
    .config("spark.sql.legacy.parquet.nanosAsLong", "true")
    .config("spark.ui.enabled", "false")
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")


def table(name):
    # basePath makes Spark take `date` from the date=YYYY-MM-DD folders.
    return spark.read.option("basePath", f"{ds}/{name}").parquet(f"{ds}/{name}/date=*")


captures = table("captures")
appearances = table("appearances")
problems = table("problems")


def show(title, df):
    rows = df.collect()
    print(f"## {title}: {len(rows)} rows")
    for r in rows:
        print("\t".join("" if v is None else str(v) for v in r))


drops = appearances.where("is_drop").join(captures.select("capture_id", "date", "host"), ["capture_id", "date"])

# 1. The top three drop reasons of each host on each day.
per = drops.groupBy("date", "host", "drop_reason_text").agg(F.count("*").alias("drops"))
w = Window.partitionBy("date", "host").orderBy(F.desc("drops"), "drop_reason_text")
show(
    "top drop reasons per host and day",
    per.withColumn("n", F.row_number().over(w))
    .where("n <= 3")
    .select("date", "host", "drop_reason_text", "drops")
    .orderBy("date", "host", F.desc("drops"), "drop_reason_text"),
)

# 2. Hosts whose drops grew: drop events per capture on the last day against the days before.
per_day = captures.groupBy("host", "date").agg(F.sum("drop_events").alias("drops"), F.count("*").alias("captures"))
last = per_day.agg(F.max("date")).first()[0]
before = F.col("date") < F.lit(last)
on_last = F.col("date") == F.lit(last)
grew = (
    per_day.groupBy("host")
    .agg(
        F.round(
            F.sum(F.when(before, F.col("drops"))) / F.sum(F.when(before, F.col("captures"))), 1
        ).alias("before_per_capture"),
        F.round(
            F.sum(F.when(on_last, F.col("drops"))) / F.sum(F.when(on_last, F.col("captures"))), 1
        ).alias("last_day_per_capture"),
    )
    .where("last_day_per_capture > 2 * before_per_capture + 1")
    .orderBy(F.desc(F.col("last_day_per_capture") - F.col("before_per_capture")), "host")
)
show("hosts whose drops grew", grew)

# 3. Where drops happen (PktMon's drop location), in which category, on how many hosts.
show(
    "drops per location and host count",
    drops.groupBy(F.col("drop_location_name").alias("location"), "drop_category")
    .agg(F.countDistinct("host").alias("hosts"), F.count("*").alias("drops"))
    .orderBy(F.desc("drops"), "location", "drop_category")
    .limit(10),
)

# 4. Problems by Windows build: cause and locality, how many problems on how many hosts.
show(
    "problems by build",
    problems.join(captures.select("capture_id", "date", "host", "windows_build"), ["capture_id", "date"])
    .groupBy("windows_build", "locality", "cause")
    .agg(F.count("*").alias("problems"), F.countDistinct("host").alias("hosts"))
    .orderBy("windows_build", F.desc("problems"), "locality", "cause"),
)
spark.stop()
