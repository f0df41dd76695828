//! The committed `specs/vectors/ev2-nonzero.json` is exactly what the independent generator
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

#[test]
fn generator_reproduces_published_vectors_and_the_committed_json() {
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
    let script = workspace_root().join("specs/vectors/gen_ev2_vectors.py");
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
    assert!(
        stdout.contains("published vectors: all reproduced"),
        "{stdout}"
    );
    assert!(
        stdout.contains("identical to the generator's output"),
        "{stdout}"
    );
}
