//! The main loop every board runs ([`crate::station::Station`]): the line served at every step,
//! one poll per period, trusted time from the panel into the reader and the output, tamper.

use super::app::{Field, PanelLog, SignalLog, Switch, golden};
use crate::app::{Event, Panel, Reader};
use crate::lab;
use crate::output::Output;
use crate::station::Station;
use crate::time::{FloorStore, TrustedClock};
use desfire_core::encoding::{Credential, DenyReason, Masters, OutputFormat};
use desfire_tests::virtual_card::TestRng;
use std::cell::Cell;
use std::rc::Rc;
use std::vec;
use std::vec::Vec;

/// 2023-11-14: a floor before the test credential's `valid_from` (2026-01-01).
const FLOOR: u32 = 1_700_000_000;
const POLL_EVERY_MS: u32 = 50;

/// A panel line that records what the loop asks of it and hands out one panel time.
#[derive(Default)]
struct Line {
    panel: PanelLog,
    serviced: Vec<u32>,
    panel_time: Option<(u32, u32)>,
    trusted: Vec<bool>,
}

impl Panel for Line {
    fn grant(&mut self, credential: &Credential) -> Result<(), DenyReason> {
        self.panel.grant(credential)
    }
    fn tamper(&mut self, active: bool) {
        self.panel.tamper(active);
    }
}

impl Output for Line {
    const FORMAT: OutputFormat = OutputFormat::Osdp;
    fn service(&mut self, now_ms: u32) {
        self.serviced.push(now_ms);
    }
    fn take_panel_time(&mut self) -> Option<(u32, u32)> {
        self.panel_time.take()
    }
    fn set_trusted_time(&mut self, trusted: bool) {
        self.trusted.push(trusted);
    }
}

/// A floor nobody stored yet.
struct NoFloor;

impl FloorStore for NoFloor {
    fn load(&mut self) -> Option<u32> {
        None
    }
    fn store(&mut self, _floor: u32) {}
}

/// The board's millisecond clock, set by the test.
#[derive(Clone, Default)]
struct Ms(Rc<Cell<u32>>);

impl pn532::Clock for Ms {
    fn now_ms(&mut self) -> u32 {
        self.0.get()
    }
}

type TestStation = Station<Line, SignalLog, Switch, NoFloor, Ms>;

fn station(ms: &Ms) -> TestStation {
    let clock = TrustedClock::new(NoFloor, FLOOR, ms.0.get());
    Station::new(
        Line::default(),
        SignalLog::default(),
        Switch::default(),
        clock,
        ms.clone(),
        POLL_EVERY_MS,
    )
}

#[test]
fn the_line_is_served_at_every_step_and_the_reader_polled_once_a_period() {
    let keys = lab::issuer_keys().unwrap();
    let mut reader = Reader::new(
        Field::default(),
        lab::reader_config(&keys, &[]),
        lab::masters(),
        TestRng(1),
    );
    let ms = Ms::default();
    let mut s = station(&ms);
    assert_eq!(
        s.step(&mut reader),
        Some(Event::Idle),
        "the first step polls"
    );
    for t in [1, 20, 49] {
        ms.0.set(t);
        assert_eq!(s.step(&mut reader), None, "{t} ms: no poll due");
    }
    ms.0.set(50);
    assert_eq!(s.step(&mut reader), Some(Event::Idle));
    assert_eq!(s.output().serviced, vec![0, 1, 20, 49, 50]);
    // The millisecond clock wraps after 49 days: the period holds across the wrap.
    ms.0.set(u32::MAX - 60);
    let mut s = station(&ms);
    assert_eq!(s.step(&mut reader), Some(Event::Idle));
    ms.0.set(u32::MAX - 20);
    assert_eq!(s.step(&mut reader), None);
    ms.0.set(u32::MAX - 10);
    assert_eq!(s.step(&mut reader), Some(Event::Idle));
    ms.0.set(30);
    assert_eq!(s.step(&mut reader), None);
    ms.0.set(39);
    assert_eq!(s.step(&mut reader), Some(Event::Idle));
}

#[test]
fn until_the_panel_sets_the_time_the_reader_leaves_not_yet_valid_to_the_controller() {
    let keys = lab::issuer_keys().unwrap();
    let mut reader = Reader::new(
        Field::default(),
        lab::reader_config(&keys, &[]),
        lab::masters(),
        TestRng(2),
    );
    let ms = Ms::default();
    let mut s = station(&ms);
    // Now is the floor plus uptime, before the credential's valid_from: untrusted, so the
    // reader decides only EXPIRED and the read goes out (extended, for the controller).
    reader.front_end().card = Some(golden());
    assert_eq!(
        s.step(&mut reader),
        Some(Event::Granted(0x1A2B_3C4D_5E6F_7081))
    );
    assert_eq!(s.output().trusted, vec![false]);
    // The panel sets a time before the floor: refused, still untrusted.
    s.output().panel_time = Some((FLOOR - 1, 40));
    reader.front_end().card = None;
    ms.0.set(50);
    assert_eq!(s.step(&mut reader), Some(Event::Idle));
    assert_eq!(s.output().trusted, vec![false, false]);
    // Then a trusted time, still before valid_from: now the reader decides NOT_YET_VALID.
    s.output().panel_time = Some((FLOOR + 10, 90));
    reader.front_end().card = Some(golden());
    ms.0.set(100);
    assert_eq!(
        s.step(&mut reader),
        Some(Event::Denied(DenyReason::NotYetValid))
    );
    assert_eq!(s.output().trusted, vec![false, false, true]);
    assert_eq!(s.clock().floor(), FLOOR + 10);
    assert_eq!(s.output().panel.grants, vec![0x1A2B_3C4D_5E6F_7081]);
}

#[test]
fn tamper_reaches_the_line_and_wipes_the_reader() {
    let keys = lab::issuer_keys().unwrap();
    let mut reader: Reader<'_, Field, Masters, TestRng> = Reader::new(
        Field::default(),
        lab::reader_config(&keys, &[]),
        lab::masters(),
        TestRng(3),
    );
    let ms = Ms::default();
    let mut s = station(&ms);
    assert_eq!(s.step(&mut reader), Some(Event::Idle));
    s.tamper_input().0 = true;
    ms.0.set(50);
    assert_eq!(s.step(&mut reader), Some(Event::Tamper(true)));
    assert_eq!(s.output().panel.tamper, vec![true]);
    assert!(reader.keys().read.is_none(), "the K2 master is wiped");
    // Closed again: the reader stays quiet.
    s.tamper_input().0 = false;
    reader.front_end().card = Some(golden());
    for t in [100, 150] {
        ms.0.set(t);
        let _ = s.step(&mut reader);
    }
    assert!(s.output().panel.grants.is_empty());
}
