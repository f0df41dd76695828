//! The audit audited through PC/SC: every known-bad reader model runs as an external reader
//! command (`bad-reader --flaw NAME --reader {reader}`) that reads the test cards through
//! pcscd + vpcd, as `desfire audit --reader-cmd` drives reader software. Each flaw must be
//! caught, and the catch matrix must equal the in-process one (tests/audit_catch.rs) cell by
//! cell: the PC/SC path neither hides a flaw nor invents one. T1 (UID clone) must fool the
//! UID-only model through PC/SC's GET DATA as it does in process.
//!
//! Test time: a presentation through pcscd costs about a second (pcscd polls vpcd), so the
//! models read T0 and the card §17 designs for each flaw (9 cards x 9 models), not the whole
//! default set; tests/audit_catch.rs plays the whole set in process, and
//! host-tools/tests/audit_pcsc.rs plays it through PC/SC against the reference reader.
//!
//! Needs pcscd with vsmartcard-vpcd (started for the test when it is installed but not running).
//! nextest runs this binary in the `pcscd` group. Without pcscd the test FAILS when `CI` is set
//! and is skipped, loudly, otherwise.
#![cfg(feature = "pcsc")]

use std::io::Write;
use std::time::Duration;

use desfire_tests::bad_readers::Flaw;
use desfire_tests::catch_matrix::{CatchMatrix, designed_for};
use host_tools::audit::cards::{self, CardId, CardSpec, Fixture};
use host_tools::audit::command::ReaderCommand;
use host_tools::audit::pcsc::{PcscCommandReader, PcscField};
use host_tools::audit::run;
use host_tools::framing::Variant;
use host_tools::profile::{LAB, Profile};
use host_tools::vpcd;

const NOW: &str = "2026-06-01";

#[test]
fn every_flaw_is_caught_through_pcsc_as_in_process() {
    let field = match PcscField::open(vpcd::DEFAULT_ADDR, None) {
        Ok(f) => f,
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("pcscd with the vpcd reader is required in CI: {e}")
        }
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED every_flaw_is_caught_through_pcsc_as_in_process: no pcscd with vpcd's \
                 reader ({e}). Install pcscd and vsmartcard-vpcd, or run scripts/test-all.sh."
            );
            return;
        }
    };
    let now = host_tools::dates::parse_date("now", NOW).unwrap();
    let fixture = Fixture::new(Profile::load(LAB).unwrap(), LAB, now).unwrap();
    let mut ids = vec![CardId::T0];
    for id in Flaw::ALL.map(designed_for) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let chosen: Vec<&CardSpec> = cards::default_set(&fixture.profile)
        .into_iter()
        .filter(|c| ids.contains(&c.id))
        .collect();
    assert_eq!(chosen.len(), ids.len());

    let mut timings = Vec::new();
    let through_pcsc = CatchMatrix::compute(|flaw| {
        let command = ReaderCommand::new(
            format!(
                "{} --flaw {} --now {NOW} --reader {{reader}}",
                env!("CARGO_BIN_EXE_bad-reader"),
                flaw.name()
            ),
            Duration::from_secs(10),
        );
        let mut reader = PcscCommandReader::new(&field, command);
        let report = run::audit(&mut reader, &fixture, &chosen, 1, "pcsc", &mut |_| {}).unwrap();
        timings.extend(reader.timings);
        // A model that could not run at all is a broken test, not a caught flaw.
        for c in &report.cards {
            assert!(
                !c.observed.starts_with("ERROR") && c.observed != "TIMEOUT",
                "{flaw:?} on {}: {} ({})",
                c.id,
                c.observed,
                c.detail
            );
        }
        report
    });
    let in_process = CatchMatrix::in_process(&fixture, &chosen);

    let _ = writeln!(
        std::io::stderr(),
        "catch matrix through pcscd + vpcd (X = caught):\n{through_pcsc}\nin process:\n{in_process}"
    );
    let n = u32::try_from(timings.len()).unwrap();
    assert_eq!(n as usize, Flaw::ALL.len() * chosen.len());
    let mean = |f: fn(&host_tools::audit::pcsc::PresentTiming) -> Duration| {
        timings.iter().map(f).sum::<Duration>() / n
    };
    let _ = writeln!(
        std::io::stderr(),
        "timing: {n} presentations through pcscd + vpcd: mean {:.0} ms a card = PRESENT {:.0} \
         ms + bad-reader {:.0} ms + EMPTY {:.0} ms",
        mean(|t| t.total).as_secs_f64() * 1e3,
        mean(|t| t.arrival).as_secs_f64() * 1e3,
        mean(|t| t.reader).as_secs_f64() * 1e3,
        mean(|t| t.departure).as_secs_f64() * 1e3,
    );

    assert_eq!(through_pcsc.uncaught(), Vec::<Flaw>::new());
    for flaw in Flaw::ALL {
        assert!(
            through_pcsc
                .caught_by(flaw)
                .contains(&designed_for(flaw).as_str()),
            "{flaw:?} through PC/SC: {:?}",
            through_pcsc.caught_by(flaw)
        );
    }
    assert_eq!(through_pcsc.cells(), in_process.cells());
    // The UID clone fools the UID-only model through GET DATA, as in process.
    let uid_only = &through_pcsc.rows[0];
    assert_eq!(uid_only.0, Flaw::UidOnly);
    let t1 = uid_only.1.cards.iter().find(|c| c.id == "T1").unwrap();
    assert_eq!(t1.observed, "GRANT 1A2B3C4D5E6F7081");
    let read: Vec<&str> = t1
        .exchange
        .iter()
        .map(|s| s.command_name.as_str())
        .collect();
    assert_eq!(read, ["GET DATA (PC/SC)"], "all a UID-only reader does");
    assert!(
        t1.exchange[0].response.starts_with("04782E21801D80"),
        "{:?}",
        t1.exchange
    );
}

/// The models in every other framing through PC/SC (the `ad` framing is the test above): the
/// catch matrix on T0 and the card designed for each flaw equals the in-process one, cell by
/// cell, in each framing. The framings share the two readers vpcd offers (`Virtual PCD 00 00`
/// and `00 01`), two at a time.
#[test]
fn the_catch_matrix_through_pcsc_is_the_same_in_every_framing() {
    let addrs = [vpcd::DEFAULT_ADDR, "127.0.0.1:35964"];
    let fields: Vec<PcscField> = match addrs
        .iter()
        .map(|a| PcscField::open(a, None))
        .collect::<Result<_, _>>()
    {
        Ok(f) => f,
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("pcscd with both vpcd readers is required in CI: {e}")
        }
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED the_catch_matrix_through_pcsc_is_the_same_in_every_framing: no pcscd \
                 with vpcd's two readers ({e})."
            );
            return;
        }
    };
    let now = host_tools::dates::parse_date("now", NOW).unwrap();
    let fixture = Fixture::new(Profile::load(LAB).unwrap(), LAB, now).unwrap();
    let mut ids = vec![CardId::T0];
    for id in Flaw::ALL.map(designed_for) {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let chosen: Vec<&CardSpec> = cards::default_set(&fixture.profile)
        .into_iter()
        .filter(|c| ids.contains(&c.id))
        .collect();
    let framings = [
        Variant::Bd,
        Variant::WholeFile,
        Variant::DfName,
        Variant::Inquisitive,
    ];
    let matrices: Vec<(Variant, CatchMatrix)> = std::thread::scope(|s| {
        let handles: Vec<_> = fields
            .iter()
            .enumerate()
            .map(|(lane, field)| {
                let (fixture, chosen) = (&fixture, &chosen);
                s.spawn(move || {
                    framings
                        .iter()
                        .skip(lane)
                        .step_by(2)
                        .map(|&framing| {
                            let m = CatchMatrix::compute(|flaw| {
                                let command = ReaderCommand::new(
                                    format!(
                                        "{} --flaw {} --framing {framing} --now {NOW} --reader \
                                         {{reader}}",
                                        env!("CARGO_BIN_EXE_bad-reader"),
                                        flaw.name()
                                    ),
                                    Duration::from_secs(10),
                                );
                                let mut reader = PcscCommandReader::new(field, command);
                                run::audit(&mut reader, fixture, chosen, 1, "pcsc", &mut |_| {})
                                    .unwrap()
                            });
                            (framing, m)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(matrices.len(), framings.len());
    for (framing, through_pcsc) in &matrices {
        let in_process = CatchMatrix::in_process_framed(&fixture, &chosen, *framing);
        let _ = writeln!(
            std::io::stderr(),
            "framing {framing} through pcscd + vpcd:\n{through_pcsc}"
        );
        for (flaw, report) in &through_pcsc.rows {
            for c in &report.cards {
                assert!(
                    !c.observed.starts_with("ERROR") && c.observed != "TIMEOUT",
                    "{framing} {flaw:?} on {}: {} ({})",
                    c.id,
                    c.observed,
                    c.detail
                );
            }
        }
        assert_eq!(
            through_pcsc.cells(),
            in_process.cells(),
            "framing {framing}"
        );
        assert_eq!(
            through_pcsc.caught_by(Flaw::MacLengthOnly),
            ["T6"],
            "framing {framing}"
        );
        assert_eq!(through_pcsc.uncaught(), Vec::<Flaw>::new());
    }
}
