//! Skipped checks are listed, and scripts/test.sh fails when one could have run.

use std::process::Command;

use pktmon_tests::*;

#[test]
fn a_skipped_check_is_listed_with_its_test_what_it_needs_and_why() {
    let dir = TempDir::new("skips");
    let list = dir.path("skips.txt");
    // This test binary's own list (scripts/test.sh sets the variable for the real one).
    std::env::set_var(SKIPS_FILE_VAR, &list);
    assert_eq!(corpus("no-such-capture.etl"), None);
    assert!(corpus("demikernel-PktMon.etl").is_some(), "bundled: never skipped");
    let text = std::fs::read_to_string(&list).unwrap();
    assert_eq!(
        text,
        "skips::a_skipped_check_is_listed_with_its_test_what_it_needs_and_why\tcorpus\t\
         ../shared/corpus/no-such-capture.etl not present\n"
    );
}

/// Runs scripts/skips.sh on `list` with the corpus folder `corpus`.
fn skips_sh(list: &std::path::Path, corpus: &std::path::Path) -> (Option<i32>, String) {
    let out = Command::new("bash")
        .arg(root().join("scripts/skips.sh"))
        .arg(list)
        .env("PKTMON_CORPUS_DIR", corpus)
        .output()
        .expect("bash runs");
    (out.status.code(), stdout(&out))
}

#[test]
fn skips_sh_counts_the_skips_and_fails_when_what_they_need_was_there() {
    let dir = TempDir::new("skips-sh");
    let list = dir.path("skips.txt");
    let absent = dir.path("no-corpus");
    std::fs::write(&list, "").unwrap();
    assert_eq!(skips_sh(&list, &absent), (Some(0), "test: no checks skipped\n".into()));

    std::fs::write(
        &list,
        "b::two\tprogram:no-such-program-here\tno-such-program-here is not installed\n\
         a::one\tcorpus\t../shared/corpus/x.etl not present\n",
    )
    .unwrap();
    assert_eq!(
        skips_sh(&list, &absent),
        (
            Some(0),
            "test: 2 checks skipped:\n  a::one: ../shared/corpus/x.etl not present\n  \
             b::two: no-such-program-here is not installed\n"
                .into()
        )
    );

    // The corpus is there, and so is bash: both checks could have run.
    std::fs::write(
        &list,
        "a::one\tcorpus\t../shared/corpus/x.etl not present\nc::three\tprogram:bash\tbash is not installed\n",
    )
    .unwrap();
    let (code, text) = skips_sh(&list, &dir.0);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "  a::one: ../shared/corpus/x.etl not present — but the corpus is there ({})\n",
            dir.0.display()
        )),
        "{text}"
    );
    assert!(
        text.contains("  c::three: bash is not installed — but bash is installed\n"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "test: FAILED: 2 of them could have run (what they need is here): a check that skips then is broken\n"
        ),
        "{text}"
    );
}

#[test]
fn skips_sh_fails_when_a_needed_file_was_there() {
    let dir = TempDir::new("skips-file");
    let list = dir.path("skips.txt");
    let venv = dir.path("python");
    let line = format!("d::four\tfile:{}\t{} not present\n", venv.display(), venv.display());
    std::fs::write(&list, &line).unwrap();
    let (code, text) = skips_sh(&list, &dir.path("no-corpus"));
    assert_eq!(code, Some(0), "{text}");
    std::fs::write(&venv, "").unwrap();
    let (code, text) = skips_sh(&list, &dir.path("no-corpus"));
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains(&format!("— but {} is there", venv.display())), "{text}");
}
