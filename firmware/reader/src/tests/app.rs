//! The application against a mock front end holding virtual GEN-PACS cards (the lab profile):
//! GRANT, DENY, tamper, exactly one output per GRANT, nothing for a DENY.

use crate::app::{Activation, Event, FrontEnd, Panel, Reader, Signal, Signals, TamperInput};
use crate::lab;
use crate::osdp::Pd;
use crate::output::Wiegand;
use crate::wiegand::{self, Timing, WiegandLines};
use desfire_core::encoding::provision::IsoIdentity;
use desfire_core::encoding::signature::IssuerSigningKey;
use desfire_core::encoding::{
    CCF_FILE_SIZE, Credential, DenyReason, IssuerId, KeyId, LAB_AID, LegacyImage, Masters,
    Provisioning, RealUid, TransportFault,
};
use desfire_core::wire::KeyNo;
use desfire_tests::virtual_card::{TestRng, VCard, desfire, factory_card_with};
use hex_literal::hex;
use std::boxed::Box;
use std::vec;
use std::vec::Vec;

const UID: RealUid = hex!("04782E21801D80");
/// 2028-01-01Z, inside the test credential's window.
pub(super) const NOW: u32 = 1_830_297_600;

/// The §9 test credential, without its legacy image (tag 86) unless `legacy`.
fn credential(legacy: bool) -> Credential {
    let mut c = Credential::lab_test();
    if !legacy {
        c.legacy_image = None;
    }
    c
}

/// A card personalised by the §18 plan with `masters` (the TEST masters unless a test changes
/// one), holding the signed test credential.
pub(super) fn card(masters: &mut Masters, legacy: bool) -> Box<VCard> {
    let signer = IssuerSigningKey::from_bytes(
        IssuerId::new(lab::TEST_ISSUER_ID).unwrap(),
        KeyId::one(1),
        &desfire_core::encoding::lab::ISSUER_SECRET,
    )
    .unwrap();
    let mut ccf = [0u8; CCF_FILE_SIZE];
    credential(legacy)
        .encode_signed(&UID, LAB_AID, &signer, &mut ccf)
        .unwrap();
    let mut d = desfire(factory_card_with(UID));
    let plan = Provisioning {
        aid: LAB_AID,
        uid: UID,
        iso: IsoIdentity::LAB,
        ccf: &ccf,
    };
    plan.execute_all(&mut d, masters, &mut TestRng(0xC0FFEE))
        .unwrap_or_else(|(step, e)| panic!("{step:?}: {e:?}"));
    d.into_transport().card
}

pub(super) fn golden() -> Box<VCard> {
    card(&mut Masters::lab_test(), true)
}

/// K2 from a foreign master (spec §17 T3).
fn wrong_key() -> Box<VCard> {
    let mut m = Masters::lab_test();
    m.read = Some(desfire_core::crypto::AesKey::new([0x60; 16]));
    card(&mut m, true)
}

/// A field with at most one card; `fail_after` makes the link fail after that many APDUs.
#[derive(Default)]
pub(super) struct Field {
    pub(super) card: Option<Box<VCard>>,
    activated: bool,
    apdus: usize,
    fail_after: Option<usize>,
    releases: usize,
}

#[derive(Debug, PartialEq)]
pub(super) struct LinkDown;

impl FrontEnd for Field {
    type Error = LinkDown;
    fn activate(&mut self) -> Result<Option<Activation>, LinkDown> {
        let Some(card) = self.card.as_mut() else {
            return Ok(None);
        };
        self.activated = true;
        let a = card.activate();
        Ok(Some(Activation {
            uid: heapless::Vec::from_slice(&a.uid).unwrap(),
        }))
    }
    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, LinkDown> {
        self.apdus += 1;
        if self.fail_after.is_some_and(|n| self.apdus > n) {
            return Err(LinkDown);
        }
        let card = self.card.as_mut().ok_or(LinkDown)?;
        assert!(self.activated, "APDU before activation");
        Ok(card.process(capdu, rapdu))
    }
    fn release(&mut self) -> Result<(), LinkDown> {
        self.releases += 1;
        self.activated = false;
        Ok(())
    }
}

/// Records what reaches the panel.
#[derive(Default)]
pub(super) struct PanelLog {
    pub(super) grants: Vec<u64>,
    pub(super) tamper: Vec<bool>,
}

impl Panel for PanelLog {
    fn grant(&mut self, c: &Credential) -> Result<(), DenyReason> {
        self.grants.push(c.credential_id);
        Ok(())
    }
    fn tamper(&mut self, active: bool) {
        self.tamper.push(active);
    }
}

#[derive(Default)]
pub(super) struct SignalLog(pub(super) Vec<Signal>);

impl Signals for SignalLog {
    fn indicate(&mut self, s: Signal) {
        self.0.push(s);
    }
}

#[derive(Default)]
pub(super) struct Switch(pub(super) bool);

impl TamperInput for Switch {
    fn tampered(&mut self) -> bool {
        self.0
    }
}

struct Rig<'k> {
    reader: Reader<'k, Field, Masters, TestRng>,
    panel: PanelLog,
    signals: SignalLog,
    switch: Switch,
}

impl Rig<'_> {
    fn poll(&mut self) -> Event {
        self.reader
            .poll(&mut self.panel, &mut self.signals, &mut self.switch, NOW)
    }
    fn present(&mut self, card: Option<Box<VCard>>) {
        self.reader.front_end().card = card;
    }
}

fn rig(keys: &[desfire_core::encoding::IssuerKey]) -> Rig<'_> {
    Rig {
        reader: Reader::new(
            Field::default(),
            lab::reader_config(keys, &[]),
            lab::masters(),
            TestRng(0xBEEF),
        ),
        panel: PanelLog::default(),
        signals: SignalLog::default(),
        switch: Switch::default(),
    }
}

#[test]
fn the_golden_card_grants_once_while_it_stays_in_the_field() {
    let keys = lab::issuer_keys().unwrap();
    let mut r = rig(&keys);
    assert_eq!(r.poll(), Event::Idle);
    r.present(Some(golden()));
    assert_eq!(r.poll(), Event::Granted(0x1A2B_3C4D_5E6F_7081));
    assert_eq!(r.panel.grants, vec![0x1A2B_3C4D_5E6F_7081]);
    assert_eq!(r.signals.0, vec![Signal::Grant]);
    assert_eq!(r.reader.front_end().releases, 1);
    // Still there: not read again.
    for _ in 0..3 {
        assert_eq!(r.poll(), Event::Idle);
    }
    assert_eq!(r.panel.grants.len(), 1);
    // Taken away and presented again: a new read.
    let c = r.reader.front_end().card.take();
    assert_eq!(r.poll(), Event::Idle);
    r.present(c);
    assert_eq!(r.poll(), Event::Granted(0x1A2B_3C4D_5E6F_7081));
    assert_eq!(r.panel.grants.len(), 2);
}

#[test]
fn a_wrong_key_card_is_denied_and_nothing_reaches_the_panel() {
    let keys = lab::issuer_keys().unwrap();
    let mut r = rig(&keys);
    r.present(Some(wrong_key()));
    assert_eq!(
        r.poll(),
        Event::Denied(DenyReason::AuthFailed(KeyNo::new(2).unwrap()))
    );
    assert!(r.panel.grants.is_empty());
    assert_eq!(r.signals.0, vec![Signal::Deny]);
}

#[test]
fn an_untrusted_issuer_is_denied() {
    // No issuer keys at all: the golden card's signature cannot be trusted.
    let mut r = rig(&[]);
    r.present(Some(golden()));
    assert!(matches!(
        r.poll(),
        Event::Denied(DenyReason::UnknownIssuerKey(_))
    ));
    assert!(r.panel.grants.is_empty());
}

#[test]
fn a_card_lost_mid_transaction_is_denied_without_output() {
    let keys = lab::issuer_keys().unwrap();
    for fail_after in [0, 1, 3, 5, 6] {
        let mut r = rig(&keys);
        r.present(Some(golden()));
        r.reader.front_end().fail_after = Some(fail_after);
        assert_eq!(
            r.poll(),
            Event::Denied(DenyReason::Transport(TransportFault::Link)),
            "{fail_after}"
        );
        assert!(r.panel.grants.is_empty());
    }
}

#[test]
fn tamper_is_reported_wipes_the_keys_and_stops_reading_for_good() {
    let keys = lab::issuer_keys().unwrap();
    let mut r = rig(&keys);
    assert!(r.reader.keys().kuid.is_some() && r.reader.keys().read.is_some());
    r.present(Some(golden()));
    r.switch.0 = true;
    assert_eq!(r.poll(), Event::Tamper(true));
    assert_eq!(r.panel.tamper, vec![true]);
    assert_eq!(r.signals.0, vec![Signal::Tamper]);
    let m = r.reader.keys();
    assert!(
        m.kuid.is_none() && m.read.is_none() && m.read_next.is_none() && m.picc.is_none(),
        "keys wiped in RAM"
    );
    assert_eq!(r.poll(), Event::Idle);
    assert_eq!(r.reader.front_end().apdus, 0, "no card is read while open");
    r.switch.0 = false;
    assert_eq!(r.poll(), Event::Tamper(false));
    assert_eq!(r.panel.tamper, vec![true, false]);
    // Closing the housing brings nothing back: the reader stays quiet.
    for _ in 0..3 {
        assert_eq!(r.poll(), Event::Idle);
    }
    assert_eq!(r.reader.front_end().apdus, 0);
    assert!(r.panel.grants.is_empty());
}

/// The OSDP PD as the panel: a GRANT queues exactly one `osdp_RAW`, a DENY queues nothing.
#[test]
fn the_pd_queues_one_raw_record_per_grant_and_none_per_deny() {
    let keys = lab::issuer_keys().unwrap();
    let mut reader = Reader::new(
        Field::default(),
        lab::reader_config(&keys, &[]),
        lab::masters(),
        TestRng(7),
    );
    let mut pd = Pd::new(lab::pd_config());
    let (mut s, mut t) = (SignalLog::default(), Switch::default());
    reader.front_end().card = Some(wrong_key());
    assert!(matches!(
        reader.poll(&mut pd, &mut s, &mut t, NOW),
        Event::Denied(_)
    ));
    reader.front_end().card = None;
    reader.poll(&mut pd, &mut s, &mut t, NOW);
    reader.front_end().card = Some(golden());
    let id = 0x1A2B_3C4D_5E6F_7081;
    assert_eq!(reader.poll(&mut pd, &mut s, &mut t, NOW), Event::Queued(id));
    // Nothing shown to the holder while the read waits for the panel.
    assert_eq!(s.0.last(), Some(&Signal::Deny));
    assert_eq!(reader.poll(&mut pd, &mut s, &mut t, NOW), Event::Idle);
    let raws = super::pd::drain_raw_records(&mut pd);
    assert_eq!(
        raws,
        vec![hex!("00 00 40 00 1A 2B 3C 4D 5E 6F 70 81").to_vec()]
    );
    // The panel moved past the reply that carried it: now GRANT.
    assert_eq!(
        reader.poll(&mut pd, &mut s, &mut t, NOW),
        Event::Granted(id)
    );
    assert_eq!(s.0.last(), Some(&Signal::Grant));
}

/// A read that never reaches the panel (here: too old) is shown as DENY, never GRANT, and
/// nothing reaches the panel afterwards.
#[test]
fn a_read_the_panel_never_took_is_shown_as_deny() {
    let keys = lab::issuer_keys().unwrap();
    let mut reader = Reader::new(
        Field::default(),
        lab::reader_config(&keys, &[]),
        lab::masters(),
        TestRng(7),
    );
    let mut pd = Pd::new(lab::pd_config());
    pd.set_time(1_000);
    let (mut s, mut t) = (SignalLog::default(), Switch::default());
    reader.front_end().card = Some(golden());
    let id = 0x1A2B_3C4D_5E6F_7081;
    assert_eq!(reader.poll(&mut pd, &mut s, &mut t, NOW), Event::Queued(id));
    let max = lab::pd_config().read_max_age_ms;
    pd.set_time(1_000 + max);
    assert_eq!(reader.poll(&mut pd, &mut s, &mut t, NOW), Event::Idle);
    pd.set_time(1_001 + max);
    assert_eq!(
        reader.poll(&mut pd, &mut s, &mut t, NOW),
        Event::NotTaken(id)
    );
    assert_eq!(s.0, vec![Signal::Deny]);
    assert!(super::pd::drain_raw_records(&mut pd).is_empty());
}

/// Records the Wiegand line as a bit string.
#[derive(Default)]
struct Lines {
    bits: Vec<bool>,
    waited: u32,
}

impl WiegandLines for Lines {
    fn pulse(&mut self, one: bool, us: u32) {
        assert_eq!(us, 50);
        self.bits.push(one);
    }
    fn wait_us(&mut self, us: u32) {
        self.waited += us;
    }
}

#[test]
fn wiegand_carries_the_tag_86_image_or_denies() {
    let keys = lab::issuer_keys().unwrap();
    let mut reader = Reader::new(
        Field::default(),
        lab::reader_config(&keys, &[]),
        lab::masters(),
        TestRng(9),
    );
    let mut w = Wiegand {
        lines: Lines::default(),
        timing: Timing::COMMON,
    };
    let (mut s, mut t) = (SignalLog::default(), Switch::default());
    reader.front_end().card = Some(golden());
    assert!(matches!(
        reader.poll(&mut w, &mut s, &mut t, NOW),
        Event::Granted(_)
    ));
    // Spec §14 test card: `1A 00 80 98 1C C0`, the 26 bits left-justified.
    let want: Vec<bool> = hex!("80981CC0")
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1 == 1))
        .take(26)
        .collect();
    assert_eq!(w.lines.bits, want);
    assert_eq!(w.lines.waited, 26 * 1950);
    let image = credential(true).legacy_image.unwrap();
    assert_eq!(wiegand::parity_ok(&image), Some(true));

    // Without tag 86: NO_LEGACY_IMAGE, and the line stays silent.
    let mut w = Wiegand {
        lines: Lines::default(),
        timing: Timing::COMMON,
    };
    reader.front_end().card = None;
    reader.poll(&mut w, &mut s, &mut t, NOW);
    reader.front_end().card = Some(card(&mut Masters::lab_test(), false));
    assert_eq!(
        reader.poll(&mut w, &mut s, &mut t, NOW),
        Event::Denied(DenyReason::NoLegacyImage)
    );
    assert!(w.lines.bits.is_empty());
    assert_eq!(s.0.last(), Some(&Signal::Deny));
}

/// The nRF board's `legacy-wiegand` build runs the reader with `OutputFormat::LegacyWiegand`:
/// step 11 then denies a credential without tag 86 before the panel is called at all (spec
/// §14, decision 0004 D5), and grants the golden card, whose image the panel gets.
#[test]
fn a_legacy_wiegand_reader_denies_without_tag_86_before_the_panel() {
    use desfire_core::encoding::{OutputFormat, ReaderConfig};
    let keys = lab::issuer_keys().unwrap();
    let mut reader = Reader::new(
        Field::default(),
        ReaderConfig {
            output: OutputFormat::LegacyWiegand,
            ..lab::reader_config(&keys, &[])
        },
        lab::masters(),
        TestRng(12),
    );
    let mut panel = PanelLog::default();
    let (mut s, mut t) = (SignalLog::default(), Switch::default());
    reader.front_end().card = Some(card(&mut Masters::lab_test(), false));
    assert_eq!(
        reader.poll(&mut panel, &mut s, &mut t, NOW),
        Event::Denied(DenyReason::NoLegacyImage)
    );
    assert!(panel.grants.is_empty(), "nothing reached the panel");
    assert_eq!(s.0.last(), Some(&Signal::Deny));

    reader.front_end().card = None;
    reader.poll(&mut panel, &mut s, &mut t, NOW);
    reader.front_end().card = Some(golden());
    let mut w = Wiegand {
        lines: Lines::default(),
        timing: Timing::COMMON,
    };
    assert!(matches!(
        reader.poll(&mut w, &mut s, &mut t, NOW),
        Event::Granted(0x1A2B_3C4D_5E6F_7081)
    ));
    assert_eq!(w.lines.bits.len(), 26);
}

#[test]
fn parity_of_the_common_formats() {
    // H10301, facility 1, card 1: even parity 1, 00000001, 0000000000000001, odd parity 0.
    let img = LegacyImage::new(26, &hex!("02 02 00 02")).unwrap();
    assert_eq!(wiegand::parity_ok(&img), Some(true));
    let img = LegacyImage::new(26, &hex!("02 02 00 03")).unwrap();
    assert_eq!(wiegand::parity_ok(&img), Some(false));
    let img = LegacyImage::new(30, &hex!("00 00 00 00")).unwrap();
    assert_eq!(wiegand::parity_ok(&img), None);
}

/// The PD reports a GRANT in the installation's format (spec §14): extended, or the legacy
/// image as `osdp_RAW` format 01.
#[test]
fn the_pd_reports_in_the_configured_format() {
    use desfire_core::encoding::OutputFormat;
    let keys = lab::issuer_keys().unwrap();
    for (format, want) in [
        (
            OutputFormat::LegacyWiegand,
            hex!("00 01 1A 00 80 98 1C C0").to_vec(),
        ),
        (
            OutputFormat::Osdp,
            hex!("00 00 40 00 1A 2B 3C 4D 5E 6F 70 81").to_vec(),
        ),
    ] {
        let mut reader = Reader::new(
            Field::default(),
            lab::reader_config(&keys, &[]),
            lab::masters(),
            TestRng(11),
        );
        let mut pd = Pd::new(crate::osdp::PdConfig {
            output: format,
            ..lab::pd_config()
        });
        let (mut s, mut t) = (SignalLog::default(), Switch::default());
        reader.front_end().card = Some(golden());
        assert!(matches!(
            reader.poll(&mut pd, &mut s, &mut t, NOW),
            Event::Queued(_)
        ));
        assert_eq!(super::pd::drain_raw_records(&mut pd), vec![want]);
    }
    let mut pd = Pd::new(crate::osdp::PdConfig {
        output: OutputFormat::Extended,
        ..lab::pd_config()
    });
    Panel::grant(&mut pd, &credential(true)).unwrap();
    let raws = super::pd::drain_raw_records(&mut pd);
    assert_eq!(raws.len(), 1);
    assert_eq!(&raws[0][..4], &hex!("00 00 68 00"));
    assert_eq!(&raws[0][8..16], &hex!("1A2B3C4D5E6F7081"));
}

#[test]
fn an_originality_policy_this_image_cannot_apply_is_refused_at_start_and_denies() {
    use desfire_core::encoding::OriginalityPolicy;
    let keys = lab::issuer_keys().unwrap();
    for policy in [OriginalityPolicy::Log, OriginalityPolicy::Require] {
        let config = desfire_core::encoding::ReaderConfig {
            originality: policy,
            ..lab::reader_config(&keys, &[])
        };
        // The host tests build without the feature `originality`.
        assert_eq!(
            crate::check_config(&config),
            Err(crate::StartError::OriginalityNotBuilt)
        );
        // A reader built anyway never quietly skips the check: every card is denied.
        let mut r = Rig {
            reader: Reader::new(Field::default(), config, lab::masters(), TestRng(7)),
            panel: PanelLog::default(),
            signals: SignalLog::default(),
            switch: Switch::default(),
        };
        r.present(Some(golden()));
        assert_eq!(r.poll(), Event::Denied(DenyReason::OriginalityFailed));
        assert!(r.panel.grants.is_empty());
    }
    assert_eq!(crate::check_config(&lab::reader_config(&keys, &[])), Ok(()));
}

/// R18: without trusted time `now` is a lower bound. A card whose validity starts after it is
/// not denied here (the controller decides, with the validity in the read); one that ended
/// before it has ended whatever the true time, and is `EXPIRED`.
#[test]
fn without_trusted_time_only_expired_is_decided() {
    let keys = lab::issuer_keys().unwrap();
    let c = credential(true);
    for (trusted, now, want) in [
        (true, c.valid_from - 1, Some(DenyReason::NotYetValid)),
        (false, c.valid_from - 1, None),
        (false, c.valid_until, Some(DenyReason::Expired)),
        (true, c.valid_until, Some(DenyReason::Expired)),
    ] {
        let mut r = rig(&keys);
        r.reader.set_trusted_time(trusted);
        r.present(Some(golden()));
        let e = r
            .reader
            .poll(&mut r.panel, &mut r.signals, &mut r.switch, now);
        match want {
            Some(reason) => assert_eq!(e, Event::Denied(reason), "{trusted} {now}"),
            None => assert_eq!(e, Event::Granted(c.credential_id), "{trusted} {now}"),
        }
    }
}
