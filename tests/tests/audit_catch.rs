//! The audit audited: the reference reader passes every card of the default set, and each
//! known-bad reader model (one flaw each, `desfire_tests::bad_readers`) fails at least one card,
//! the one §17 designs for its flaw among them. Prints the catch matrix (flaw × card) and writes
//! it to `$CARGO_TARGET_TMPDIR/audit_catch_matrix.txt`.

use desfire_tests::bad_readers::Flaw;
use desfire_tests::catch_matrix::{CatchMatrix, designed_for};
use host_tools::audit::cards::{self, Fixture};
use host_tools::audit::model::AuditReport;
use host_tools::audit::model::Outcome;
use host_tools::audit::reader::ReferenceReader;
use host_tools::audit::run;
use host_tools::framing::Variant;
use host_tools::profile::{LAB, Profile};

/// Trusted time of the audit: 2026-06-01T00:00:00Z (the spec's vector date).
fn now() -> u32 {
    host_tools::dates::parse_date("now", "2026-06-01").unwrap()
}

fn fixture() -> Fixture {
    Fixture::new(Profile::load(LAB).unwrap(), LAB, now()).unwrap()
}

fn audit(reader: &mut dyn host_tools::audit::reader::ReaderUnderTest, f: &Fixture) -> AuditReport {
    run::audit(
        reader,
        f,
        &cards::default_set(&f.profile),
        1,
        "in-process",
        &mut |_| {},
    )
    .unwrap()
}

#[test]
fn the_reference_reader_passes_every_card() {
    let f = fixture();
    let report = audit(&mut ReferenceReader::new(&f.profile, f.now), &f);
    assert_eq!(report.cards.len(), cards::default_set(&f.profile).len());
    for c in &report.cards {
        assert!(
            c.pass,
            "{} {}: expected {}, observed {}",
            c.id, c.name, c.expected, c.observed
        );
        // Only a UID_POLICY deny (step 0) ends before the first APDU.
        assert_eq!(
            c.exchange.is_empty(),
            c.observed == "DENY UID_POLICY",
            "{}: {} exchange steps",
            c.id,
            c.exchange.len()
        );
    }
    assert!(report.pass);
}

/// A card whose conforming verdict under the profile is the golden card's GRANT (T15 with the
/// originality policy off): a control card, whose fault need not be met.
fn is_control(f: &Fixture, id: &str) -> bool {
    cards::select(id).unwrap()[0]
        .expected_for(&f.profile)
        .deny
        .is_empty()
}

/// Every framing a reader may choose: the reference reader passes every card, and every card
/// with a fault committed it (the reader received what carries the fault).
#[test]
fn the_reference_reader_passes_every_card_in_every_framing() {
    let f = fixture();
    for framing in Variant::ALL {
        let mut reader = ReferenceReader::new(&f.profile, f.now).framed(framing);
        let report = audit(&mut reader, &f);
        for c in &report.cards {
            assert_eq!(
                c.result,
                Outcome::Pass,
                "{framing}: {} {}: expected {}, observed {} ({})",
                c.id,
                c.name,
                c.expected,
                c.observed,
                c.detail
            );
            assert!(
                c.fault_committed || is_control(&f, &c.id),
                "{framing}: {} fault not committed",
                c.id
            );
        }
        assert_eq!(report.result, Outcome::Pass, "{framing}");
    }
}

/// Whatever frame size the card answers native commands in (1 to 59 data bytes), the faults
/// that act on the answers land (T6's tampered MACt split anywhere, T13's replay re-chunked,
/// T4's Plain answer, a forged credential read in pieces), and the reference reader, in every
/// framing, meets each and gives the conforming verdict.
#[test]
fn faults_land_at_every_card_frame_size() {
    let mut f = fixture();
    let chosen = cards::select("T4,T6,T7,T13").unwrap();
    for frame_size in 1..=59 {
        f.set_card_config(desfire_core::picc::CardConfig {
            frame_size,
            ..Default::default()
        });
        for framing in [Variant::Bd, Variant::WholeFile, Variant::Inquisitive] {
            let mut reader = ReferenceReader::new(&f.profile, f.now).framed(framing);
            let report =
                run::audit(&mut reader, &f, &chosen, 1, "in-process", &mut |_| {}).unwrap();
            for c in &report.cards {
                assert_eq!(
                    (c.result, c.fault_committed),
                    (Outcome::Pass, true),
                    "frame size {frame_size}, {framing}: {} observed {} ({})",
                    c.id,
                    c.observed,
                    c.detail
                );
            }
        }
    }
}

/// The catch matrix does not depend on how the models frame: every variant catches every flaw
/// with the same cards, and the card that only checks the MAC's length is caught by T6 alone.
#[test]
fn the_catch_matrix_is_the_same_in_every_framing() {
    let f = fixture();
    let cards = cards::default_set(&f.profile);
    let reference = CatchMatrix::in_process(&f, &cards);
    for framing in Variant::ALL {
        let matrix = CatchMatrix::in_process_framed(&f, &cards, framing);
        println!("framing {framing}:\n{matrix}");
        assert_eq!(matrix.cells(), reference.cells(), "framing {framing}");
        assert_eq!(
            matrix.caught_by(Flaw::MacLengthOnly),
            ["T6"],
            "framing {framing}"
        );
        for (flaw, report) in &matrix.rows {
            // Only the UID-only model (which reads nothing) and the undiversified key (which
            // never gets past K2) leave cards untested.
            if !matches!(flaw, Flaw::UidOnly | Flaw::UndiversifiedKey) {
                let untested: Vec<&str> = report
                    .cards
                    .iter()
                    .filter(|c| !c.fault_committed && !is_control(&f, &c.id))
                    .map(|c| c.id.as_str())
                    .collect();
                assert!(untested.is_empty(), "{framing} {flaw:?}: {untested:?}");
            }
        }
    }
}

#[test]
fn every_flaw_is_caught_by_at_least_one_card() {
    let f = fixture();
    let matrix = CatchMatrix::in_process(&f, &cards::default_set(&f.profile));
    for (flaw, report) in &matrix.rows {
        let failed = matrix.caught_by(*flaw);
        assert!(
            failed.contains(&designed_for(*flaw).as_str()),
            "{flaw:?}: {} did not catch it ({failed:?})",
            designed_for(*flaw)
        );
        // A model is faithful apart from its flaw: it reads the golden card, unless the flaw
        // itself makes that impossible (a UID-only reader sees a random UID; the K2 master
        // does not authenticate a diversified card).
        let t0 = report.cards.iter().find(|c| c.id == "T0").unwrap();
        let t0_fails = matches!(flaw, Flaw::UidOnly | Flaw::UndiversifiedKey);
        assert_eq!(!t0.pass, t0_fails, "{flaw:?} on T0: {}", t0.observed);
    }
    println!("catch matrix (X = the audit caught the flaw with this card):\n{matrix}");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("audit_catch_matrix.txt");
    std::fs::write(&path, matrix.to_string()).unwrap();
    println!("written to {}", path.display());
    let uncaught = matrix.uncaught();
    assert!(uncaught.is_empty(), "not caught: {uncaught:?}");
}

#[test]
fn flaw_names_round_trip() {
    for flaw in Flaw::ALL {
        assert_eq!(Flaw::from_name(flaw.name()), Some(flaw));
    }
    assert_eq!(Flaw::from_name("reference"), None);
}

/// The models as an external reader command (`bad-reader --flaw NAME --image FILE`), with the
/// exits and outputs `desfire audit --reader-cmd` reads (tests/audit_pcsc_models.rs drives the
/// same binary through PC/SC).
#[test]
fn the_models_run_as_an_external_command() {
    let f = fixture();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad-reader");
    std::fs::create_dir_all(&dir).unwrap();
    let run = |id: &str, reader: &str| {
        let spec = cards::select(id).unwrap()[0];
        let card = f.build(spec).unwrap();
        let path = dir.join(format!("{id}.json"));
        host_tools::card_image::save(
            &path,
            &host_tools::card_image::CardImage::from_state(card.inner().state()),
        )
        .unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_bad-reader"))
            .args(["--flaw", reader, "--image", path.to_str().unwrap()])
            .args(["--now", "2026-06-01"])
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap().trim().to_owned(),
            String::from_utf8(out.stderr).unwrap().trim().to_owned(),
        )
    };
    let grant = |code, out: &str| (code, out.to_owned(), String::new());
    let deny = |reason: &str| (1, String::new(), format!("DENY {reason}"));
    assert_eq!(run("T0", "reference"), grant(0, "1A2B3C4D5E6F7081"));
    assert_eq!(run("T9", "reference"), deny("EXPIRED"));
    assert_eq!(run("T9", "skips-expiry"), grant(0, "1A2B3C4D5E6F7081"));
    assert_eq!(run("T3", "undiversified-key"), grant(0, "1A2B3C4D5E6F7081"));
    assert_eq!(run("T0", "undiversified-key"), deny("AUTH_FAILED"));
    // What --reader-cmd reads from those exits.
    use host_tools::audit::command::observe;
    use host_tools::audit::reader::Observation;
    let (code, out, err) = run("T9", "skips-expiry");
    assert_eq!(code, 0);
    assert_eq!(
        observe(
            std::os::unix::process::ExitStatusExt::from_raw(0),
            &out,
            &err
        ),
        Observation::Grant(0x1A2B_3C4D_5E6F_7081)
    );
    let (_, out, err) = run("T9", "reference");
    assert_eq!(
        observe(
            std::os::unix::process::ExitStatusExt::from_raw(1 << 8),
            &out,
            &err
        ),
        Observation::Deny(Some("EXPIRED".into()))
    );
}

/// T15's conforming verdict follows the profile's originality policy (§12 step 12): with
/// `require` the reference reader denies it with ORIGINALITY_FAILED and still grants T0, whose
/// signature is right.
#[test]
fn t15_follows_the_originality_policy() {
    let mut profile = Profile::load(LAB).unwrap();
    profile.policy.originality = desfire_core::encoding::OriginalityPolicy::Require;
    let f = Fixture::new(profile, LAB, now()).unwrap();
    let chosen = cards::select("T0,T15").unwrap();
    let report = run::audit(
        &mut ReferenceReader::new(&f.profile, f.now),
        &f,
        &chosen,
        1,
        "in-process",
        &mut |_| {},
    )
    .unwrap();
    let t15 = report.cards.iter().find(|c| c.id == "T15").unwrap();
    assert_eq!(t15.expected, "DENY ORIGINALITY_FAILED");
    assert_eq!(t15.observed, "DENY ORIGINALITY_FAILED");
    assert!(report.pass, "{report:#?}");
}
