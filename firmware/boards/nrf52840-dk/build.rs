//! Puts memory.x where cortex-m-rt's link.x finds it, and records the build time (the board's
//! lower bound for "now": it has no trusted clock). SOURCE_DATE_EPOCH wins for reproducible
//! builds.

use std::{env, fs, path::PathBuf, time::SystemTime};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    let now = env::var("SOURCE_DATE_EPOCH").ok().unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs().to_string())
            .unwrap_or_else(|_| "0".into())
    });
    println!("cargo:rustc-env=BUILD_UNIX_TIME={now}");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");
}
