//! What the command-line integration tests share: running the `desfire` binary, reading its
//! output, and a fresh directory per test. Each test binary uses part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `desfire ARGS` to completion.
pub fn desfire(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_desfire"))
        .args(args)
        .output()
        .expect("run desfire")
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// A fresh, empty directory for one test, `<process ID>-<test>` (the process ID keeps test
/// binaries apart; the name stays short, for Unix socket paths of at most 108 bytes).
pub fn dir(test: &str) -> PathBuf {
    let d =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A path as an argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}
