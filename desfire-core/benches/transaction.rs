//! The reader's whole credential transaction against its AES floor.
//!
//! ```text
//! cargo bench -p desfire-core --bench transaction
//! cargo bench -p desfire-core --bench transaction -- --warm-up-time 1 --measurement-time 3
//! scripts/bench.sh [--quick]      # this, callgrind and the thumbv7em size, with a summary
//! ```
//!
//! - `transaction/full`: AuthenticateEV2First (key 1), GetCardUID (Full), AuthenticateEV2NonFirst
//!   (key 2), ReadData 160 bytes (Full), every MAC verified, replayed against recorded card
//!   answers (`examples/transaction/`).
//! - `transaction/aes_floor`: the 6 key expansions, 34 encryptions and 17 decryptions that
//!   transaction cannot do without, as raw `aes::Aes128` calls (breakdown in
//!   `examples/transaction/floor.rs`).
//! - `transaction/aes_as_implemented`: the 10 expansions, 38 encryptions and 17 decryptions
//!   desfire-core does today.
//! - `transaction/lean*`: a prototype of the same transaction without the engine's hot spots
//!   (`examples/transaction/lean.rs`), and with each of two hot spots put back: what fixing them
//!   would gain.
//! - `transaction/aes128_*`: unit costs of one key expansion, one chained block encryption, one
//!   copy of an expanded key.
//!
//! At the end it prints the ratios of criterion's means (criterion prints no ratios), read back
//! from the `new/estimates.json` of this run, and then the same ratios measured interleaved
//! (alternating ~1 ms batches of the candidate and the floor, median of the per-round ratios),
//! which a noisy shared machine disturbs far less. The goal is full / aes_floor <= 1.5. Nothing
//! here asserts a time.

#[path = "../examples/transaction/fixture.rs"]
mod fixture;
#[path = "../examples/transaction/floor.rs"]
mod floor;
#[path = "../examples/transaction/lean.rs"]
mod lean;
#[path = "../examples/transaction/replay.rs"]
mod replay;

use criterion::Criterion;
use std::cell::RefCell;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

const GROUP: &str = "transaction";

/// Something measured against the floor; `true` when it did its work.
type Candidate<'a> = Box<dyn FnMut() -> bool + 'a>;

/// Where criterion writes its estimates: the same rule as criterion's default
/// (`$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`, else the target directory this bench
/// binary was built into), set explicitly so the ratio step reads what this run wrote.
fn output_directory() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return Path::new(&target).join("criterion");
    }
    // <target>/<profile>/deps/transaction-<hash>
    let exe = std::env::current_exe().expect("own path");
    exe.ancestors()
        .nth(3)
        .map(|t| t.join("criterion"))
        .unwrap_or_else(|| PathBuf::from("target/criterion"))
}

/// The mean point estimate in nanoseconds from criterion's `estimates.json`.
fn mean_ns(dir: &Path, id: &str) -> Option<f64> {
    let json = std::fs::read_to_string(dir.join(GROUP).join(id).join("new/estimates.json")).ok()?;
    let mean = &json[json.find("\"mean\"")?..];
    let value = &mean[mean.find("\"point_estimate\":")? + "\"point_estimate\":".len()..];
    let end = value.find([',', '}'])?;
    value[..end].trim().parse().ok()
}

/// Median time per call of `a` and of `b` and the median of their per-round ratio, measured in
/// alternating batches of about a millisecond each: on a shared machine, noise that lasts longer
/// than a batch hits both sides alike, so the ratio is steadier than the ratio of two criterion
/// runs made one after the other.
fn interleaved(
    a: &mut dyn FnMut() -> bool,
    b: &mut dyn FnMut() -> bool,
    rounds: usize,
) -> (f64, f64, f64) {
    fn batch(f: &mut dyn FnMut() -> bool, iters: u32) -> f64 {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(f());
        }
        start.elapsed().as_nanos() as f64 / f64::from(iters)
    }
    fn median(v: &mut [f64]) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }
    // Size the batches from a first estimate.
    let iters =
        |f: &mut dyn FnMut() -> bool| (1e6 / batch(f, 1000).max(1.0)).clamp(10.0, 1e6) as u32;
    let (na, nb) = (iters(a), iters(b));
    let (mut ta, mut tb, mut r) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let x = batch(a, na);
        let y = batch(b, nb);
        ta.push(x);
        tb.push(y);
        r.push(x / y);
    }
    (median(&mut ta), median(&mut tb), median(&mut r))
}

fn main() {
    let fx = fixture::Fixture::build();
    let rec = fx.recording();
    let keys = replay::ReaderKeys::new(&rec);
    replay::run_transaction(&rec, &keys).expect("the recording replays");

    let dir = output_directory();
    let mut c = Criterion::default()
        .output_directory(&dir)
        .configure_from_args();
    // Which benchmarks ran in this invocation (a filter may skip some).
    let ran = RefCell::new(Vec::new());
    let mut g = c.benchmark_group(GROUP);
    g.bench_function("full", |b| {
        ran.borrow_mut().push("full");
        b.iter(|| replay::run_transaction(black_box(&rec), black_box(&keys)).is_ok())
    });
    g.bench_function("aes_floor", |b| {
        ran.borrow_mut().push("aes_floor");
        b.iter(|| floor::aes_work(black_box(&floor::FLOOR)))
    });
    g.bench_function("aes_as_implemented", |b| {
        ran.borrow_mut().push("aes_as_implemented");
        b.iter(|| floor::aes_work(black_box(&floor::AS_IMPLEMENTED)))
    });
    // What fixing the hot spots would gain (examples/transaction/lean.rs).
    g.bench_function("lean", |b| {
        ran.borrow_mut().push("lean");
        b.iter(|| lean::run_lean::<false, false>(black_box(&rec)).is_some())
    });
    g.bench_function("lean_reexpand", |b| {
        ran.borrow_mut().push("lean_reexpand");
        b.iter(|| lean::run_lean::<true, false>(black_box(&rec)).is_some())
    });
    g.bench_function("lean_subkeys_per_mac", |b| {
        ran.borrow_mut().push("lean_subkeys_per_mac");
        b.iter(|| lean::run_lean::<false, true>(black_box(&rec)).is_some())
    });
    g.bench_function("lean_engine_aes", |b| {
        ran.borrow_mut().push("lean_engine_aes");
        b.iter(|| lean::run_lean::<true, true>(black_box(&rec)).is_some())
    });
    g.finish();

    // Unit costs, to price each hot spot.
    let key = aes::Block::from([0x5A; 16]);
    let mut g = c.benchmark_group(GROUP);
    g.bench_function("aes128_key_expansion", |b| {
        ran.borrow_mut().push("aes128_key_expansion");
        b.iter(|| <aes::Aes128 as aes::cipher::KeyInit>::new(black_box(&key)))
    });
    let cipher = <aes::Aes128 as aes::cipher::KeyInit>::new(&key);
    g.bench_function("aes128_encrypt_block", |b| {
        ran.borrow_mut().push("aes128_encrypt_block");
        let mut block = aes::Block::default();
        b.iter(|| {
            aes::cipher::BlockCipherEncrypt::encrypt_block(&cipher, &mut block);
            block[0]
        })
    });
    g.bench_function("aes128_clone", |b| {
        ran.borrow_mut().push("aes128_clone");
        b.iter(|| black_box(black_box(&cipher).clone()))
    });
    g.finish();
    c.final_summary();

    // `cargo bench` passes --bench; `cargo test --benches` runs each once and writes nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let ran = ran.into_inner();
    let mean = |id: &str| ran.contains(&id).then(|| mean_ns(&dir, id)).flatten();
    let (kf, ef, df) = floor::totals(&floor::FLOOR);
    let (ki, ei, di) = floor::totals(&floor::AS_IMPLEMENTED);
    println!();
    println!(
        "== transaction vs AES floor: criterion means ({})",
        dir.display()
    );
    let floor_ns = mean("aes_floor");
    for (id, what) in [
        ("full", "the whole transaction".to_owned()),
        ("aes_floor", format!("{kf} expansions, {ef} enc, {df} dec")),
        (
            "aes_as_implemented",
            format!("{ki} expansions, {ei} enc, {di} dec"),
        ),
        ("lean", "prototype, hot spots fixed".to_owned()),
        ("lean_reexpand", "prototype + 3 expansions per K".to_owned()),
        (
            "lean_subkeys_per_mac",
            "prototype + subkeys in every MAC".to_owned(),
        ),
        ("lean_engine_aes", "prototype + both".to_owned()),
        ("aes128_key_expansion", "one".to_owned()),
        ("aes128_encrypt_block", "one, chained".to_owned()),
        ("aes128_clone", "one Aes128 clone".to_owned()),
    ] {
        let Some(ns) = mean(id) else { continue };
        let ratio = match floor_ns {
            Some(f) if !id.starts_with("aes128") => format!("{:>6.2}x floor", ns / f),
            _ => String::new(),
        };
        println!("  {id:<22} {ns:>9.1} ns {ratio}   {what}");
    }
    let (Some(full), Some(floor_mean)) = (mean("full"), floor_ns) else {
        return;
    };
    println!(
        "ratio full / aes_floor = {:.2} (goal <= 1.5)",
        full / floor_mean
    );

    // Rounds of the interleaved measurement: `DESFIRE_BENCH_ROUNDS`, default 200 (~0.5 s per
    // pair).
    let rounds = std::env::var("DESFIRE_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200usize)
        .max(1);
    println!("== interleaved with aes_floor, {rounds} rounds of ~1 ms batches (medians)");
    let mut floor_fn = || floor::aes_work(black_box(&floor::FLOOR))[0] != 0;
    let mut pairs: Vec<(&str, Candidate<'_>)> = vec![
        (
            "full",
            Box::new(|| replay::run_transaction(black_box(&rec), black_box(&keys)).is_ok()),
        ),
        (
            "lean",
            Box::new(|| lean::run_lean::<false, false>(black_box(&rec)).is_some()),
        ),
        (
            "lean_reexpand",
            Box::new(|| lean::run_lean::<true, false>(black_box(&rec)).is_some()),
        ),
        (
            "lean_subkeys_per_mac",
            Box::new(|| lean::run_lean::<false, true>(black_box(&rec)).is_some()),
        ),
        (
            "aes_as_implemented",
            Box::new(|| floor::aes_work(black_box(&floor::AS_IMPLEMENTED))[0] != 0),
        ),
    ];
    let mut summary = format!(
        "BENCH-SUMMARY full_mean_ns={full:.1} aes_floor_mean_ns={floor_mean:.1} ratio={:.2}",
        full / floor_mean
    );
    for (id, f) in &mut pairs {
        let (t, tf, ratio) = interleaved(f.as_mut(), &mut floor_fn, rounds);
        println!("  {id:<22} {t:>9.1} ns vs aes_floor {tf:>7.1} ns: ratio {ratio:.2}");
        summary.push_str(&format!(" interleaved_{id}_ratio={ratio:.2}"));
    }
    // One line for scripts/bench.sh to read.
    println!("{summary}");
}
