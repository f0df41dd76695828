//! The committed vector files are exactly what their independent generators produce. For
//! `specs/vectors/ev2-nonzero.json`: the committed file is exactly what the independent generator
//! produces, and the generator still reproduces every published vector it checks (RFC 4493,
//! CRC32/JAMCRC, AN10922, AN12196 T8/T14/T18, Proxmark3 non-zero session keys, DESFire EV3
//! originality signatures). A hand-edited vector file fails here.
//!
//! Needs Python 3 with the `cryptography` package (>= 38): Debian `python3-cryptography`, or
//! `python3 -m pip install 'cryptography>=38'`. `$PYTHON` picks the interpreter; otherwise the
//! first of `python3` and `/usr/bin/python3` that has the package is used.

use std::path::PathBuf;
use std::process::Command;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

fn has_cryptography(python: &str) -> bool {
    Command::new(python)
        .args(["-c", "import cryptography.hazmat.primitives.cmac"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Runs `script --check` with a Python that has `cryptography`; returns what it printed (both
/// streams: the GEN-PACS script reports on standard error).
fn check(script: &str) -> String {
    let candidates: Vec<String> = std::env::var("PYTHON")
        .into_iter()
        .chain(["python3".to_owned(), "/usr/bin/python3".to_owned()])
        .collect();
    let python = candidates
        .iter()
        .find(|p| has_cryptography(p))
        .unwrap_or_else(|| {
            panic!(
                "no Python 3 with the `cryptography` package among {candidates:?}: install \
                 Debian's python3-cryptography (apt-get install -y python3-cryptography) or run \
                 `python3 -m pip install 'cryptography>=38'`"
            )
        });
    let script = workspace_root().join(script);
    let out = Command::new(python)
        .arg(&script)
        .arg("--check")
        .output()
        .expect("run the generator");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{} --check failed ({}):\n{stdout}\n{stderr}",
        script.display(),
        out.status
    );
    format!("{stdout}{stderr}")
}

#[test]
fn generator_reproduces_published_vectors_and_the_committed_json() {
    let stdout = check("specs/vectors/gen_ev2_vectors.py");
    assert!(
        stdout.contains("published vectors: all reproduced"),
        "{stdout}"
    );
    assert!(
        stdout.contains("identical to the generator's output"),
        "{stdout}"
    );
}

/// The GEN-PACS worked test card (ENCODING-DRAFT section 9) and our own GEN-PACS vectors:
/// reproduced by `specs/vectors/gen-pacs/gen_pacs_vectors.py` (its own RFC 6979, checked on
/// RFC 6979 A.2.5), and the committed `test-card.json` is what it writes.
#[test]
fn gen_pacs_generator_reproduces_the_draft_test_card() {
    let stdout = check("specs/vectors/gen-pacs/gen_pacs_vectors.py");
    assert!(
        stdout.contains("all 15 values reproduced byte for byte"),
        "{stdout}"
    );
    assert!(
        stdout.contains("'sample' and 'test' (k, r, s): ok"),
        "{stdout}"
    );
    assert!(stdout.contains("test-card.json is up to date"), "{stdout}");
}

/// The worked transactions of spec §12.1 and the worked examples of spec §2: the committed
/// JSON is what `gen_worked_transaction.py` writes, and every frame and value of it is printed
/// in `specs/generic-encoding.md` (the script checks the text).
#[test]
fn worked_transaction_generator_matches_the_json_and_the_spec() {
    let stdout = check("specs/vectors/gen-pacs/gen_worked_transaction.py");
    assert!(
        stdout.contains("published vectors: all reproduced"),
        "{stdout}"
    );
    assert!(
        stdout.contains("every frame and value is in the spec"),
        "{stdout}"
    );
}

/// A second reading of the worked transactions, written from the spec's text alone with
/// Python's `cryptography`: every frame of both runs recomputed from the keys and randoms.
#[test]
fn worked_transaction_recomputes_from_the_spec_text() {
    let stdout = check("specs/vectors/gen-pacs/check_worked_transaction.py");
    assert!(
        stdout.contains("GEN-PACS-WT-1: all 7 frames recomputed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("GEN-PACS-WT-2: all 9 frames recomputed"),
        "{stdout}"
    );
}
