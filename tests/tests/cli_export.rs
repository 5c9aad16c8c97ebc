//! `export`: the Parquet dataset read back with DuckDB (its Python package,
//! in the venv scripts/duckdb-venv.sh makes) says what `info`, `drops
//! --format json` and `diagnose --json` say of the same captures, and a
//! second export into the same folder adds files without touching the first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use pktmon_tests::*;
use serde_json::Value;

/// The venv's python with DuckDB, or `None` after recording the skip.
fn duckdb_python() -> Option<PathBuf> {
    let python = std::env::var_os("PKTMON_DUCKDB_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
            home.join(".cache/pktmon-analyzer/venv-duckdb-2.0.0/bin/python")
        });
    if python.exists() {
        Some(python)
    } else {
        skip(
            &format!("file:{}", python.display()),
            &format!("{} not present: scripts/duckdb-venv.sh makes it", python.display()),
        );
        None
    }
}

/// Rows of a DuckDB query as JSON objects.
fn sql(python: &Path, query: &str) -> Vec<Value> {
    let script = "import duckdb, json, sys\n\
                  r = duckdb.sql(sys.argv[1])\n\
                  cols = [d[0] for d in r.description]\n\
                  print(json.dumps([dict(zip(cols, row)) for row in r.fetchall()], default=str))\n";
    let out = Command::new(python)
        .args(["-c", script, query])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "DuckDB failed on {query}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .expect("JSON rows")
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn table(ds: &Path, t: &str) -> String {
    format!(
        "read_parquet('{}/{t}/*/*.parquet', hive_partitioning = true)",
        ds.display()
    )
}

fn json_of(args: &[&str]) -> Value {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn s(v: &Value) -> String {
    match v {
        Value::String(x) => x.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn n(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| s(v).parse().unwrap_or(-1))
}

/// Generated captures with drops and problems: ETL, converter pcapng and etl2txt text of one scenario.
fn generated(dir: &Path, scenario: &str, seed: u64, build: u32) -> Vec<PathBuf> {
    let out = run(&[
        "generate",
        "--scenario",
        scenario,
        "--seed",
        &seed.to_string(),
        "--build",
        &build.to_string(),
        "--format",
        "etl,pcapng,txt",
        "-o",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    ["etl", "pcapng", "utf8.txt"]
        .iter()
        .map(|ext| dir.join(format!("{scenario}.{ext}")))
        .collect()
}

#[test]
fn duckdb_reads_what_info_drops_and_diagnose_say() {
    let Some(python) = duckdb_python() else { return };
    let tmp = TempDir::new("export");
    let mut inputs = vec![capture("demikernel-PktMon.etl")];
    for name in [
        "finguard-PktMon.etl",
        "vpn-PktMon.etl",
        "vpn-PktMon.txt",
        "rundown-only-PktMon.etl",
    ] {
        inputs.extend(corpus(name));
    }
    let g1 = tmp.path("mix26200");
    let g2 = tmp.path("mix20348");
    inputs.extend(generated(&g1, "mix", 3, 26200));
    inputs.extend(generated(&g2, "mix", 5, 20348));
    let ds = tmp.path("dataset");
    let mut args = vec!["export".to_string(), "-o".into(), ds.display().to_string()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("exported {} captures", inputs.len())),
        "{}",
        stderr(&out)
    );

    let paths: Vec<&str> = inputs.iter().map(|p| p.to_str().unwrap()).collect();
    let info = json_of(&[&["info", "--json"][..], &paths].concat());
    let drops = json_of(&[&["drops", "--format", "json"][..], &paths].concat());
    let diag_file = tmp.path("diagnose.json");
    let d = run(&[&["diagnose", "--json", diag_file.to_str().unwrap()][..], &paths].concat());
    assert!(d.status.code().is_some_and(|c| c <= 1), "{}", stderr(&d));
    let diag: Value = serde_json::from_slice(&std::fs::read(&diag_file).unwrap()).unwrap();

    // One captures row per input, its counts equal to the rows it has.
    let captures = sql(
        &python,
        &format!(
            "SELECT c.file, c.capture_id, c.appearances, c.drop_events, c.packets, c.dropped_packets, c.components, \
             c.problems, c.findings, c.status, \
             (SELECT count(*) FROM {a} a WHERE a.capture_id = c.capture_id) AS rows, \
             (SELECT count(*) FILTER (is_drop) FROM {a} a WHERE a.capture_id = c.capture_id) AS drop_rows, \
             (SELECT count(DISTINCT packet) FROM {a} a WHERE a.capture_id = c.capture_id) AS grouped \
             FROM {c} c ORDER BY file",
            a = table(&ds, "appearances"),
            c = table(&ds, "captures")
        ),
    );
    assert_eq!(captures.len(), inputs.len());
    let by_file: BTreeMap<String, &Value> = captures.iter().map(|r| (s(&r["file"]), r)).collect();
    let mut total_drops = 0;
    let mut total_problems = 0;
    for i in info.as_array().unwrap() {
        let file = s(&i["file"]);
        let c = by_file
            .get(&file)
            .unwrap_or_else(|| panic!("{file} missing from captures"));
        for (ours, theirs) in [
            ("appearances", "appearances"),
            ("rows", "appearances"),
            ("drop_events", "drop_events"),
            ("drop_rows", "drop_events"),
            ("packets", "packets"),
            ("grouped", "packets"),
            ("dropped_packets", "dropped_packets"),
            ("components", "components_known"),
        ] {
            assert_eq!(n(&c[ours]), n(&i[theirs]), "{file}: {ours} against info's {theirs}");
        }
        total_drops += n(&i["drop_events"]);
    }
    assert!(total_drops > 30, "the inputs have drops to compare: {total_drops}");

    // Drops per reason, location, component and direction: `drops --format json`.
    let ours = sql(
        &python,
        &format!(
            "SELECT c.file, a.drop_reason AS reason, a.drop_reason_text AS reason_text, \
             CASE WHEN a.drop_location IS NULL THEN '' ELSE printf('0x%08X', a.drop_location) END AS location, \
             a.component_id AS component, coalesce(a.direction, '') AS direction, a.drop_category AS category, \
             count(*) AS count \
             FROM {a} a JOIN {c} c USING (capture_id) WHERE a.is_drop GROUP BY ALL",
            a = table(&ds, "appearances"),
            c = table(&ds, "captures")
        ),
    );
    let key = |r: &Value| {
        (
            s(&r["file"]),
            s(&r["reason"]),
            s(&r["reason_text"]),
            s(&r["location"]),
            s(&r["component"]),
            s(&r["direction"]),
            s(&r["category"]),
            n(&r["count"]),
        )
    };
    let mut a: Vec<_> = ours.iter().map(key).collect();
    let mut b: Vec<_> = drops.as_array().unwrap().iter().map(key).collect();
    a.sort();
    b.sort();
    assert!(!b.is_empty());
    assert_eq!(a, b, "drop counts per reason differ from drops --format json");

    // Problems: `diagnose --json`, in rank order.
    let problems = sql(
        &python,
        &format!(
            "SELECT c.file, p.rank, p.locality, p.cause, p.title, p.packets, p.drop_events, p.flows, p.severity, \
             p.endpoints FROM {p} p JOIN {c} c USING (capture_id) ORDER BY c.file, p.rank",
            p = table(&ds, "problems"),
            c = table(&ds, "captures")
        ),
    );
    let mut expected = Vec::new();
    for input in diag["inputs"].as_array().unwrap() {
        let file = s(&input["file"]);
        let c = by_file[&file];
        assert_eq!(s(&c["status"]), s(&input["verdict"]["status"]), "{file}");
        let ps = input["verdict"]["problems"].as_array().cloned().unwrap_or_default();
        assert_eq!(n(&c["problems"]), ps.len() as i64, "{file}");
        for p in ps {
            expected.push((
                file.clone(),
                n(&p["rank"]),
                s(&p["locality"]),
                s(&p["cause"]),
                s(&p["title"]),
                n(&p["packets"]),
                n(&p["drop_events"]),
                n(&p["flows"]),
                n(&p["severity"]),
                p["endpoints"].to_string(),
            ));
        }
    }
    let got: Vec<_> = problems
        .iter()
        .map(|p| {
            (
                s(&p["file"]),
                n(&p["rank"]),
                s(&p["locality"]),
                s(&p["cause"]),
                s(&p["title"]),
                n(&p["packets"]),
                n(&p["drop_events"]),
                n(&p["flows"]),
                n(&p["severity"]),
                p["endpoints"].to_string(),
            )
        })
        .collect();
    expected.sort();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    total_problems += expected.len();
    assert!(
        total_problems >= 10,
        "the inputs have problems to compare: {total_problems}"
    );
    assert_eq!(got_sorted, expected, "problems differ from diagnose --json");

    // Findings: one row each, with the rank of the problem they are evidence of.
    let findings = sql(
        &python,
        &format!(
            "SELECT c.file, count(*) AS n, count(f.problem) AS in_problems FROM {f} f JOIN {c} c USING (capture_id) \
             GROUP BY ALL",
            f = table(&ds, "findings"),
            c = table(&ds, "captures")
        ),
    );
    let mut diag_findings: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for f in diag["findings"].as_array().unwrap() {
        let e = diag_findings.entry(s(&f["file"])).or_default();
        e.0 += 1;
        e.1 += i64::from(!f["problem"].is_null());
    }
    let got_findings: BTreeMap<String, (i64, i64)> = findings
        .iter()
        .map(|r| (s(&r["file"]), (n(&r["n"]), n(&r["in_problems"]))))
        .collect();
    assert_eq!(got_findings, diag_findings);

    // PktMon's drop counters (event 80) as `info` lists them.
    for i in info.as_array().unwrap() {
        let file = s(&i["file"]);
        let rows = sql(
            &python,
            &format!(
                "SELECT k.component_id, k.direction, k.packets, k.events_captured FROM {k} k JOIN {c} c \
                 USING (capture_id) WHERE c.file = '{file}' AND k.counter = 'drop' AND k.packets > 0 ORDER BY ALL",
                k = table(&ds, "counters"),
                c = table(&ds, "captures")
            ),
        );
        let mut want = Vec::new();
        for d in i["drop_counters"].as_array().unwrap() {
            for side in ["in", "out"] {
                if n(&d[format!("packets_{side}").as_str()]) > 0 {
                    want.push((
                        n(&d["component"]),
                        s(&d[format!("direction_{side}").as_str()]),
                        n(&d[format!("packets_{side}").as_str()]),
                        n(&d[format!("drop_events_{side}").as_str()]),
                    ));
                }
            }
        }
        want.sort();
        let got: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    n(&r["component_id"]),
                    s(&r["direction"]),
                    n(&r["packets"]),
                    n(&r["events_captured"]),
                )
            })
            .collect();
        assert_eq!(got, want, "{file}: drop counters");
    }

    // Typed columns: timestamps with 100 ns kept, integers, texts dictionary-encoded, zstd, statistics.
    let types = sql(
        &python,
        &format!(
            "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {})",
            table(&ds, "appearances")
        ),
    );
    let ty: BTreeMap<String, String> = types
        .iter()
        .map(|r| (s(&r["column_name"]), s(&r["column_type"])))
        .collect();
    assert!(
        ty["time"].starts_with("TIMESTAMP") && ty["time"].contains("NS"),
        "{}",
        ty["time"]
    );
    assert_eq!(ty["frame"], "BIGINT");
    assert_eq!(ty["component_id"], "INTEGER");
    assert_eq!(ty["is_drop"], "BOOLEAN");
    assert_eq!(ty["date"], "DATE");
    let meta = sql(
        &python,
        &format!(
            "SELECT path_in_schema AS col, compression, encodings, stats_min_value AS lo, stats_max_value AS hi \
             FROM parquet_metadata('{}/appearances/*/*.parquet')",
            ds.display()
        ),
    );
    assert!(meta.iter().all(|m| s(&m["compression"]) == "ZSTD"));
    assert!(meta
        .iter()
        .filter(|m| s(&m["col"]) == "drop_reason_text")
        .all(|m| s(&m["encodings"]).contains("DICTIONARY")));
    assert!(meta
        .iter()
        .filter(|m| s(&m["col"]) == "time")
        .all(|m| !s(&m["lo"]).is_empty() && !s(&m["hi"]).is_empty()));
    // 100-ns ticks survive: the first appearance of the bundled capture, as `info` prints it.
    let first = sql(
        &python,
        &format!(
            "SELECT strftime(min(a.time), '%Y-%m-%dT%H:%M:%S.%n') AS t, epoch_ns(min(a.time)) AS ns FROM {a} a JOIN {c} c \
             USING (capture_id) WHERE c.file LIKE '%captures/demikernel-PktMon.etl'",
            a = table(&ds, "appearances"),
            c = table(&ds, "captures")
        ),
    );
    assert_eq!(n(&first[0]["ns"]) % 100, 0);
    assert_eq!(s(&first[0]["t"]), "2024-06-10T20:18:35.489172100");
}

/// Names and (inode, size) of every file under `dir`.
fn files_under(dir: &Path) -> BTreeMap<String, (u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let m = std::fs::metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, (m.ino(), m.len()));
            }
        }
    }
    out
}

#[test]
fn a_second_export_adds_files_and_a_re_export_replaces_only_its_own() {
    let Some(python) = duckdb_python() else { return };
    let tmp = TempDir::new("export-append");
    let ds = tmp.path("dataset");
    let a = capture("demikernel-PktMon.etl");
    let b = generated(&tmp.path("gen"), "mix", 7, 26200).remove(0);
    let export = |input: &Path| {
        let out = run(&["export", input.to_str().unwrap(), "-o", ds.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    export(&a);
    let first = files_under(&ds);
    assert_eq!(first.len(), 6, "one file per table: {first:?}");
    assert!(first
        .keys()
        .all(|k| k.contains("/date=2024-06-10/") && k.ends_with(".parquet")));

    export(&b);
    let second = files_under(&ds);
    assert_eq!(second.len(), 12, "{second:?}");
    for (name, id) in &first {
        assert_eq!(second.get(name), Some(id), "{name} was touched by the second export");
    }
    let count = |t: &str| n(&sql(&python, &format!("SELECT count(*) AS n FROM {}", table(&ds, t)))[0]["n"]);
    assert_eq!(count("captures"), 2);
    let rows = count("appearances");
    assert_eq!(
        rows,
        114 + n(&json_of(&["info", "--json", b.to_str().unwrap()])[0]["appearances"])
    );

    // The same capture again: its own six files are replaced, the other capture's stay as they were.
    let again = export(&a);
    assert!(again.contains("1 exported before: their files replaced"), "{again}");
    let third = files_under(&ds);
    assert_eq!(third.len(), 12, "no partial or duplicate files: {third:?}");
    for (name, id) in &second {
        let replaced = first.contains_key(name);
        assert_eq!(third.get(name).map(|x| x.0 != id.0), Some(replaced), "{name}");
    }
    assert_eq!(count("captures"), 2);
    assert_eq!(count("appearances"), rows);
}

#[test]
fn export_names_what_it_cannot_read_and_exports_the_rest() {
    let tmp = TempDir::new("export-bad");
    let dir = tmp.path("in");
    std::fs::create_dir_all(dir.join("web-01")).unwrap();
    std::fs::copy(capture("demikernel-PktMon.etl"), dir.join("web-01/PktMon.etl")).unwrap();
    // The same file copied twice: exported once.
    std::fs::create_dir_all(dir.join("web-01/copy")).unwrap();
    std::fs::copy(capture("demikernel-PktMon.etl"), dir.join("web-01/copy/PktMon.etl")).unwrap();
    std::fs::write(dir.join("README.md"), "captures of the fleet\n").unwrap();
    // An ETL cut inside its first buffer.
    let etl = std::fs::read(capture("demikernel-PktMon.etl")).unwrap();
    std::fs::write(dir.join("cut.etl"), &etl[..1000]).unwrap();
    // The dataset inside the folder of captures: a second export does not take its files for captures.
    let ds = dir.join("dataset");
    for _ in 0..2 {
        let out = run(&["export", dir.to_str().unwrap(), "-o", ds.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("README.md: not a capture"), "{err}");
        assert!(err.contains("cut.etl"), "{err}");
        assert!(err.contains("exported 1 capture"), "{err}");
        assert!(!err.contains(".parquet"), "{err}");
        assert_eq!(err.matches("PktMon.etl: the same content as ").count(), 1, "{err}");
    }
    let files = files_under(&ds);
    assert_eq!(files.len(), 6, "{files:?}");
    assert!(files.keys().all(|k| !k.contains(".partial")));
    let Some(python) = duckdb_python() else { return };
    // The host is the folder below the one given.
    let host = sql(&python, &format!("SELECT host FROM {}", table(&ds, "captures")));
    assert_eq!(s(&host[0]["host"]), "web-01");
    // --payload: each appearance's logged bytes, as many as logged_size says.
    let with = tmp.path("with-payload");
    let out = run(&[
        "export",
        capture("demikernel-PktMon.etl").to_str().unwrap(),
        "--payload",
        "--host",
        "vm-7",
        "-o",
        with.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = sql(
        &python,
        &format!(
            "SELECT count(*) AS n, count(*) FILTER (octet_length(payload) = logged_size AND logged_size > 0) AS same, \
             min(hex(payload[13:14])) AS ethertype FROM {}",
            table(&with, "appearances")
        ),
    );
    assert_eq!((n(&r[0]["n"]), n(&r[0]["same"])), (114, 114));
    assert_eq!(s(&r[0]["ethertype"]), "0800", "IPv4 after the Ethernet addresses");
    let host = sql(&python, &format!("SELECT host FROM {}", table(&with, "captures")));
    assert_eq!(s(&host[0]["host"]), "vm-7");
    let plain = sql(
        &python,
        &format!(
            "SELECT count(*) AS n FROM (DESCRIBE SELECT * FROM {}) WHERE column_name = 'payload'",
            table(&ds, "appearances")
        ),
    );
    assert_eq!(n(&plain[0]["n"]), 0, "no payload column without --payload");
}
