//! Time of a full in-process reader audit (`desfire audit --in-process`, `desfire demo`): the
//! reference reader against every card of the default set, each card built from the fixture
//! (the golden card encoded once) and read by the §12 procedure. The relay card (T12) sleeps
//! 5 ms per answer on purpose, so about 35 ms of each audit is that modelled delay. Goal: under
//! 1 s per reader. Not a test; `scripts/bench.sh` prints the figures.

use criterion::{Criterion, criterion_group, criterion_main};
use host_tools::audit::cards::{self, Fixture};
use host_tools::audit::reader::ReferenceReader;
use host_tools::audit::run;
use host_tools::profile::{LAB, Profile};

fn now() -> u32 {
    host_tools::dates::parse_date("now", "2026-06-01").unwrap_or(0)
}

fn fixture() -> Fixture {
    let profile = Profile::load(LAB).unwrap_or_else(|e| panic!("lab profile: {e}"));
    Fixture::new(profile, LAB, now()).unwrap_or_else(|e| panic!("fixture: {e}"))
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("audit");
    g.sample_size(10);
    g.bench_function("fixture", |b| b.iter(fixture));
    let f = fixture();
    let all = cards::default_set(&f.profile);
    let numbered: Vec<_> = all
        .iter()
        .copied()
        .filter(|c| c.id.as_str().starts_with('T'))
        .collect();
    for (name, set) in [
        ("reference_default_set", &all),
        ("reference_t_cards", &numbered),
    ] {
        g.bench_function(format!("{name}_{}_cards", set.len()), |b| {
            b.iter(|| {
                let mut reader = ReferenceReader::new(&f.profile, f.now);
                let r = run::audit(&mut reader, &f, set, 1, "in-process", &mut |_| {})
                    .unwrap_or_else(|e| panic!("audit: {e}"));
                assert!(r.pass);
                r
            });
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
