use super::frame::{self, ACK, Decoder, ERROR_FRAME, Event, NACK};
use super::*;
use crate::virtual_card::FieldCard;
use desfire_core::picc::{Activation, DEFAULT_ATS};
use hex_literal::hex;

/// A card that echoes each C-APDU with `9000`, or answers `answer_len` bytes; counts
/// activations.
#[derive(Debug)]
struct Double {
    uid: Vec<u8>,
    activations: u32,
    deactivations: u32,
    answer_len: Option<usize>,
    received: Vec<Vec<u8>>,
}

impl Double {
    fn new(uid: &[u8]) -> Self {
        Self {
            uid: uid.to_vec(),
            activations: 0,
            deactivations: 0,
            answer_len: None,
            received: Vec::new(),
        }
    }
}

impl FieldCard for Double {
    fn activate(&mut self) -> Activation {
        self.activations += 1;
        Activation {
            uid: heapless::Vec::from_slice(&self.uid).unwrap(),
            ats: heapless::Vec::from_slice(&DEFAULT_ATS).unwrap(),
        }
    }
    fn deactivate(&mut self) {
        self.deactivations += 1;
    }
    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        self.received.push(capdu.to_vec());
        match self.answer_len {
            Some(0) => 0,
            Some(n) => {
                for (i, b) in rapdu[..n - 2].iter_mut().enumerate() {
                    *b = i as u8;
                }
                rapdu[n - 2..n].copy_from_slice(&[0x91, 0x00]);
                n
            }
            None => {
                rapdu[..capdu.len()].copy_from_slice(capdu);
                rapdu[capdu.len()..capdu.len() + 2].copy_from_slice(&[0x90, 0x00]);
                capdu.len() + 2
            }
        }
    }
}

/// The host controller's side of the link, as a PN532 driver frames it (UM0701-02 §6.2.2):
/// command frame out, ACK and response frame back.
struct Host<'a, C> {
    chip: &'a mut Pn532<C>,
}

impl<C: FieldCard> Host<'_, C> {
    /// Sends a command (code and parameters); the response's PD bytes (response code first),
    /// or `None` for the error frame.
    fn call(&mut self, command: &[u8]) -> Option<Vec<u8>> {
        let mut tx = Vec::new();
        frame::information(frame::TFI_HOST_TO_PN532, command, &mut tx).unwrap();
        let mut rx = Vec::new();
        self.chip.receive(&tx, &mut rx);
        let mut d = Decoder::new();
        d.push(&rx);
        assert_eq!(d.next_event(), Some(Event::Ack), "ACK first");
        let response = match d.next_event() {
            Some(Event::Information { tfi: 0xD5, data }) => {
                assert_eq!(data[0], command[0] + 1, "response code");
                Some(data)
            }
            Some(Event::Information { tfi: 0x7F, data }) if data.is_empty() => None,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(d.next_event(), None, "one response per command");
        response
    }

    /// InListPassiveTarget at 106 kbps type A: the target data, `None` for no target.
    fn poll(&mut self) -> Option<Vec<u8>> {
        let r = self.call(&hex!("4A 01 00")).unwrap();
        match r[1] {
            0 => {
                assert_eq!(r.len(), 2);
                None
            }
            1 => Some(r[2..].to_vec()),
            n => panic!("{n} targets"),
        }
    }

    /// InDataExchange with chaining by MI both ways; the R-APDU or the error status.
    fn exchange(&mut self, capdu: &[u8]) -> Result<Vec<u8>, u8> {
        self.exchange_in(capdu, MAX_DATA_IN)
    }

    /// InDataExchange sending the C-APDU in parts of at most `part` bytes (MI set on all but
    /// the last), as a host driver with a small frame buffer does.
    fn exchange_in(&mut self, capdu: &[u8], part: usize) -> Result<Vec<u8>, u8> {
        let mut parts = capdu.chunks(part).peekable();
        let mut r;
        loop {
            let part = parts.next().unwrap_or_default();
            let tg = if parts.peek().is_some() { 0x41 } else { 0x01 };
            let mut cmd = vec![0x40, tg];
            cmd.extend_from_slice(part);
            r = self.call(&cmd).unwrap();
            if tg == 0x01 {
                break;
            }
            assert_eq!(r, [0x41, 0x00], "chained part acknowledged without data");
        }
        let mut rapdu = Vec::new();
        loop {
            let status = r[1];
            if status & 0x3F != 0 {
                return Err(status);
            }
            rapdu.extend_from_slice(&r[2..]);
            if status & 0x40 == 0 {
                return Ok(rapdu);
            }
            r = self.call(&hex!("40 01")).unwrap();
        }
    }
}

impl<C: FieldCard> desfire_core::pcd::Transport for Host<'_, C> {
    type Error = u8;
    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, u8> {
        let r = self.exchange(capdu)?;
        rapdu[..r.len()].copy_from_slice(&r);
        Ok(r.len())
    }
}

fn chip(uids: &[&[u8]], looping: bool) -> Pn532<Double> {
    Pn532::new(uids.iter().map(|u| Double::new(u)).collect(), looping)
}

fn raw(chip: &mut Pn532<Double>, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    chip.receive(bytes, &mut out);
    out
}

const UID4: [u8; 4] = hex!("08A1B2C3");
const UID7: [u8; 7] = hex!("04112233445566");

/// UM0701-02 §7.2.2: GetFirmwareVersion of a PN532 v1.6, byte for byte, after the HSU wake-up.
#[test]
fn get_firmware_version_byte_exact() {
    let mut c = chip(&[], false);
    let mut input = hex!("55550000000000000000000000000000").to_vec();
    input.extend_from_slice(&hex!("0000FF 02FE D4 02 2A 00"));
    assert_eq!(
        raw(&mut c, &input),
        hex!("0000FF00FF00  0000FF 06FA D5 03 32010607 E8 00")
    );
}

#[test]
fn nack_gets_the_last_response_again() {
    let mut c = chip(&[], false);
    assert_eq!(raw(&mut c, &NACK), [0u8; 0], "nothing sent yet");
    let first = raw(&mut c, &hex!("0000FF 02FE D4 02 2A 00"));
    assert_eq!(raw(&mut c, &NACK), first[ACK.len()..]);
    assert_eq!(
        raw(&mut c, &ACK),
        [0u8; 0],
        "a host ACK (abort) gets no answer"
    );
}

#[test]
fn checksum_errors_are_not_acknowledged() {
    let mut c = chip(&[], false);
    assert_eq!(
        raw(&mut c, &hex!("0000FF 02FE D4 02 2B 00")),
        [0u8; 0],
        "DCS"
    );
    assert_eq!(
        raw(&mut c, &hex!("0000FF 02FD D4 02 2A 00")),
        [0u8; 0],
        "LCS"
    );
}

/// §6.2.1.5: a command the chip does not know, or a frame that is not `D4`, is acknowledged and
/// answered with the error frame.
#[test]
fn syntax_errors_get_the_error_frame() {
    let mut c = chip(&[], false);
    let mut h = Host { chip: &mut c };
    assert_eq!(h.call(&[0x60, 0x01]), None, "InAutoPoll is not emulated");
    assert_eq!(h.call(&[0xFE]), None);
    assert_eq!(h.call(&[0x06, 0x63]), None, "odd register address");
    assert_eq!(h.call(&hex!("4A 03 00")), None, "MaxTg above 2");
    assert_eq!(
        h.call(&hex!("32 01")),
        None,
        "RF field item without its byte"
    );
    let mut expected = ACK.to_vec();
    expected.extend_from_slice(&ERROR_FRAME);
    assert_eq!(raw(&mut c, &hex!("0000FF 02FE D5 02 29 00")), expected);
}

/// What libnfc's `pn532_uart` driver sends at start-up (seen in its debug log).
#[test]
fn libnfc_initialisation() {
    let mut c = chip(&[], false);
    let mut h = Host { chip: &mut c };
    assert_eq!(h.call(&hex!("14 01")).unwrap(), [0x15]);
    assert_eq!(
        h.call(&hex!("00 00 6C69626E6663")).unwrap(),
        hex!("01 00 6C69626E6663"),
        "Diagnose test 0 echoes"
    );
    assert_eq!(h.call(&[0x02]).unwrap(), hex!("03 32010607"));
    assert_eq!(h.call(&hex!("12 14")).unwrap(), [0x13]);
    assert_eq!(h.call(&hex!("08 6302 80 6303 80")).unwrap(), [0x09]);
    assert_eq!(
        h.call(&hex!("06 6302 6303 630D")).unwrap(),
        hex!("07 80 80 00"),
        "registers read back what was written"
    );
    assert_eq!(h.call(&hex!("32 01 01")).unwrap(), [0x33]);
    assert_eq!(h.call(&hex!("32 05 FFFFFF")).unwrap(), [0x33]);
    assert_eq!(h.call(&hex!("04")).unwrap(), hex!("05 00 01 00 00"));
    assert_eq!(h.call(&hex!("42 01 0B 3F 80")).unwrap(), hex!("43 01"));
    assert_eq!(h.call(&hex!("16 F0")).unwrap(), hex!("17 00"));
}

/// §7.3.5: Tg, SENS_RES, SEL_RES, NFCID length, NFCID1, ATS with its length byte.
#[test]
fn in_list_passive_target_reports_the_card() {
    let mut c = chip(&[&UID4, &UID7], false);
    let mut h = Host { chip: &mut c };
    assert_eq!(
        h.poll().unwrap(),
        hex!("01 0304 20 04 08A1B2C3 067577810280")
    );
    assert_eq!(h.call(&hex!("44 01")).unwrap(), hex!("45 00"));
    assert_eq!(h.poll(), None, "the deselected card has left");
    assert_eq!(
        h.poll().unwrap(),
        hex!("01 0344 20 07 04112233445566 067577810280")
    );
    assert_eq!(
        h.call(&hex!("04")).unwrap(),
        hex!("05 00 01 01 01000000 00"),
        "GetGeneralStatus: one target"
    );
}

#[test]
fn cards_are_presented_one_after_another() {
    let mut c = chip(&[&UID4, &UID7], false);
    let mut h = Host { chip: &mut c };
    let mut seen = Vec::new();
    for _ in 0..10 {
        let t = h.poll();
        seen.push(t.as_ref().map(|t| t[5..5 + usize::from(t[4])].to_vec()));
        if t.is_some() {
            assert_eq!(h.call(&hex!("52 00")).unwrap(), hex!("53 00"));
        }
    }
    let u4 = Some(UID4.to_vec());
    let u7 = Some(UID7.to_vec());
    assert_eq!(
        seen,
        [u4, None, u7, None, None, None, None, None, None, None]
    );
    assert_eq!(c.activations(), 2);
    let cards = c.into_cards();
    assert_eq!((cards[0].activations, cards[0].deactivations), (1, 1));
    assert_eq!((cards[1].activations, cards[1].deactivations), (1, 1));
}

#[test]
fn loop_presents_the_first_card_again() {
    let mut c = chip(&[&UID4], true);
    let mut h = Host { chip: &mut c };
    let found: Vec<bool> = (0..6).map(|_| h.poll().is_some()).collect();
    // A new poll while a card is active ends its presentation: that poll finds nothing.
    assert_eq!(found, [true, false, true, false, true, false]);
    assert_eq!(c.cards()[0].activations, 3);
}

#[test]
fn field_off_and_power_down_remove_the_card() {
    let mut c = chip(&[&UID4, &UID7, &UID4], false);
    let mut h = Host { chip: &mut c };
    assert!(h.poll().is_some());
    assert_eq!(h.call(&hex!("32 01 00")).unwrap(), [0x33]);
    assert_eq!(
        h.exchange(&hex!("9060000000")),
        Err(0x27),
        "no target any more"
    );
    assert_eq!(h.poll(), None);
    assert!(h.poll().is_some());
    assert_eq!(h.call(&hex!("16 F0")).unwrap(), hex!("17 00"));
    assert_eq!(h.poll(), None);
    assert!(h.poll().is_some());
    assert_eq!(c.active_card(), Some(2));
}

#[test]
fn other_modulations_find_nothing_and_leave_the_card() {
    let mut c = chip(&[&UID4], false);
    let mut h = Host { chip: &mut c };
    for brty in [0x01, 0x02, 0x03, 0x04] {
        assert_eq!(
            h.call(&[0x4A, 0x01, brty, 0x00, 0xFF, 0xFF, 0x01, 0x00])
                .unwrap(),
            hex!("4B 00")
        );
    }
    assert!(h.poll().is_some());
    assert_eq!(c.cards()[0].activations, 1);
}

#[test]
fn initiator_data_selects_one_uid() {
    let mut c = chip(&[&UID7], false);
    let mut h = Host { chip: &mut c };
    assert_eq!(
        h.call(&hex!("4A 01 00 04112233445500")).unwrap(),
        hex!("4B 00")
    );
    assert_eq!(h.call(&hex!("4A 01 00 04112233445566")).unwrap()[1], 1);
}

#[test]
fn in_data_exchange_passes_apdus() {
    let mut c = chip(&[&UID4], false);
    let mut h = Host { chip: &mut c };
    assert_eq!(
        h.exchange(&hex!("9060000000")),
        Err(0x27),
        "before activation"
    );
    h.poll().unwrap();
    assert_eq!(
        h.exchange(&hex!("9060000000")).unwrap(),
        hex!("9060000000 9000")
    );
    assert_eq!(
        h.call(&hex!("40 02 9060000000")).unwrap(),
        hex!("41 27"),
        "wrong target number"
    );
    assert_eq!(h.call(&hex!("54 01")).unwrap(), hex!("55 00"));
    assert_eq!(h.call(&hex!("54 02")).unwrap(), hex!("55 27"));
    assert_eq!(h.call(&hex!("44 02")).unwrap(), hex!("45 27"));
    assert_eq!(c.cards()[0].received.len(), 1);
}

/// §7.3.8: the MI bit chains a long C-APDU from the host and a long R-APDU to it.
#[test]
fn in_data_exchange_chains_with_mi() {
    let mut c = chip(&[&UID4], false);
    let mut h = Host { chip: &mut c };
    h.poll().unwrap();
    let long: Vec<u8> = (0..600u16).map(|i| i as u8).collect();
    let echoed = h.exchange(&long).unwrap();
    assert_eq!(&echoed[..600], &long[..]);
    assert_eq!(&echoed[600..], hex!("9000"));
    c.cards_mut()[0].answer_len = Some(700);
    let mut h = Host { chip: &mut c };
    let r = h.exchange(&hex!("90AF000000")).unwrap();
    assert_eq!(r.len(), 700);
    assert_eq!(&r[698..], hex!("9100"));
    assert!(r[..698].iter().enumerate().all(|(i, b)| *b == i as u8));
    c.cards_mut()[0].answer_len = Some(0);
    let mut h = Host { chip: &mut c };
    assert_eq!(
        h.exchange(&hex!("9060000000")),
        Err(0x01),
        "a mute card is a timeout"
    );
}

#[test]
fn trace_shows_frames_activations_and_apdus() {
    let mut c = chip(&[&UID4], false);
    c.set_trace(true);
    let mut h = Host { chip: &mut c };
    h.poll().unwrap();
    h.exchange(&hex!("9060000000")).unwrap();
    let trace = c.take_trace().join("\n");
    assert!(trace.contains("# pn532 > D4 4A0100"), "{trace}");
    assert!(
        trace.contains("# pn532: card 1 activated, UID 08A1B2C3"),
        "{trace}"
    );
    assert!(trace.contains("> 9060000000\n< 90600000009000"), "{trace}");
    assert!(c.take_trace().is_empty());
}

/// Hostile bytes: random streams and mutated valid frames, in random chunks, never panic, and
/// every command frame that gets through is answered with ACK first.
#[test]
fn hostile_bytes_do_not_panic() {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let commands: [&[u8]; 8] = [
        &hex!("4A0100"),
        &hex!("4001 9060000000"),
        &hex!("4041 90"),
        &hex!("4400"),
        &hex!("320100"),
        &hex!("06 6302"),
        &hex!("00 00 AA"),
        &hex!("54 01"),
    ];
    let mut c = chip(&[&UID4, &UID7], true);
    for _ in 0..3000 {
        let mut bytes = Vec::new();
        let cmd = commands[(next() % 8) as usize];
        frame::information(0xD4, cmd, &mut bytes).unwrap();
        match next() % 4 {
            0 => {
                let i = (next() as usize) % bytes.len();
                bytes[i] ^= next() as u8 | 1;
            }
            1 => bytes.truncate((next() as usize) % bytes.len()),
            2 => bytes = (0..next() % 300).map(|_| next() as u8).collect(),
            _ => {}
        }
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let n = 1 + (next() as usize) % rest.len();
            let _ = raw(&mut c, &rest[..n]);
            rest = &rest[n..];
        }
    }
    // Still answering.
    let mut c2 = c;
    let mut h = Host { chip: &mut c2 };
    assert_eq!(h.call(&[0x02]).unwrap(), hex!("03 32010607"));
}

/// End to end in process: GEN-PACS `encode` and then the reference reader (`gen_pacs::read`)
/// through host-side PN532 framing → the emulated chip → the card model of `desfire emulate`.
/// The first activation shows the card's fixed 7-byte UID; encoding turns Random ID on, so the
/// second shows a random `08…` UID; the reader grants the lab credential.
#[test]
fn reader_grants_a_lab_card_through_the_emulated_pn532() {
    use crate::card_image::CardImage;
    use crate::gen_pacs;
    use crate::profile::{LAB, Profile};
    use crate::virtual_card::EmulatedCard;
    use desfire_core::encoding::Verdict;
    use desfire_core::encoding::credential::{Credential, KeyId};
    use desfire_core::pcd::{Desfire, FrameSize};
    use desfire_core::picc::State;

    let now = crate::dates::now();
    let profile = Profile::load(LAB).unwrap();
    let credential = Credential {
        issuer: profile.issuer_id.clone(),
        valid_from: now - 60,
        valid_until: now + 86_400,
        key_id: profile
            .signing_key
            .as_ref()
            .map_or(KeyId::one(1), |k| k.key_id()),
        ..Credential::lab_test()
    };

    let blank = CardImage::from_state(&State::factory(UID7));
    let card = EmulatedCard::from_image(blank).unwrap();
    let mut chip = Pn532::new(vec![card], true);
    chip.set_trace(true);
    let mut host = Host { chip: &mut chip };

    let target = host.poll().unwrap();
    assert_eq!(target[..5], hex!("01 0344 20 07"));
    assert_eq!(target[5..12], UID7);
    let mut d: Desfire<_> = Desfire::new(host, FrameSize::SHORT_APDU);
    let encoded = gen_pacs::encode(&mut d, &UID7, &profile, &credential, false, now);
    assert_eq!(encoded.unwrap(), gen_pacs::Encoded::Personalised);
    let mut host = d.into_transport();
    assert_eq!(host.call(&hex!("52 01")).unwrap(), hex!("53 00"));
    assert_eq!(host.poll(), None, "the released card has left the field");

    let target = host.poll().unwrap();
    assert_eq!(
        target[..6],
        hex!("01 0304 20 04 08"),
        "random ID after encoding"
    );
    let uid = target[5..9].to_vec();
    let t = gen_pacs::read(
        &mut host,
        &profile,
        profile.policy.allow_fixed_uid,
        &uid,
        now,
    );
    match t.verdict {
        Verdict::Grant(c) => assert_eq!(c.credential_id, 0x1A2B_3C4D_5E6F_7081),
        Verdict::Deny(r) => panic!("DENY {r}"),
    }
    assert_eq!(chip.activations(), 2);
    let trace = chip.take_trace().join("\n");
    let apdus = trace.lines().filter(|l| l.starts_with("> 90")).count();
    assert!(apdus >= 8, "{apdus} APDUs in the trace:\n{trace}");
}

/// A host driver that sends C-APDUs in InDataExchange parts of `part` bytes.
struct Parted<'a, C> {
    host: Host<'a, C>,
    part: usize,
}

impl<C: FieldCard> desfire_core::pcd::Transport for Parted<'_, C> {
    type Error = u8;
    fn transceive(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, u8> {
        let r = self.host.exchange_in(capdu, self.part)?;
        rapdu[..r.len()].copy_from_slice(&r);
        Ok(r.len())
    }
}

/// An audit test card in the emulated PN532's field.
struct Carried<'a>(&'a mut crate::audit::cards::TestCard);

impl FieldCard for Carried<'_> {
    fn activate(&mut self) -> Activation {
        let mut a = Activation {
            uid: Default::default(),
            ats: Default::default(),
        };
        let _ = a
            .uid
            .extend_from_slice(crate::virtual_card::VirtualCard::anticollision_uid(self.0));
        let _ = a.ats.extend_from_slice(&DEFAULT_ATS);
        a
    }
    fn deactivate(&mut self) {}
    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        crate::virtual_card::VirtualCard::transmit(self.0, capdu, rapdu)
    }
}

/// The firmware path carries every fault whatever InDataExchange framing the host driver
/// uses: behind the emulated PN532, the reference reader in each framing variant, sending its
/// C-APDUs whole or in MI-chained parts of 16 bytes (answers longer than 262 bytes come back
/// with MI), gets the conforming verdict on the actively misbehaving cards, each fault
/// committed.
#[test]
fn faults_reach_the_reader_whatever_the_in_data_exchange_framing() {
    use crate::audit::cards::{self, Fixture};
    use crate::audit::reader::Observation;
    use crate::framing::Variant;
    use crate::gen_pacs;
    use crate::profile::{LAB, Profile};
    use crate::virtual_card::VirtualCard;
    use desfire_core::encoding::Verdict;

    let now = crate::dates::parse_date("now", "2026-06-01").unwrap();
    let fixture = Fixture::new(Profile::load(LAB).unwrap(), LAB, now).unwrap();
    for id in ["T4", "T5", "T6", "T13", "T7"] {
        let spec = cards::select(id).unwrap()[0];
        for framing in Variant::ALL {
            for part in [MAX_DATA_IN, 16] {
                let mut card = fixture.build(spec).unwrap();
                card.power_on();
                let mut chip = Pn532::new(vec![Carried(&mut card)], false);
                let mut host = Host { chip: &mut chip };
                let target = host.poll().unwrap();
                let uid = target[5..5 + usize::from(target[4])].to_vec();
                let t = gen_pacs::read_as(
                    gen_pacs::ReadPolicy::Reader,
                    framing,
                    &mut Parted { host, part },
                    &fixture.profile,
                    false,
                    &uid,
                    now,
                );
                let observed = match t.verdict {
                    Verdict::Grant(c) => Observation::Grant(c.credential_id),
                    Verdict::Deny(r) => Observation::Deny(
                        gen_pacs::spec_reason(&r).map(|(name, _)| name.to_owned()),
                    ),
                };
                drop(chip);
                let expected = spec.expected_for(&fixture.profile);
                assert!(
                    expected.accepts(&observed, cards::ENROLLED_CREDENTIAL_ID),
                    "{id} {framing} part {part}: {observed}"
                );
                assert!(
                    card.fault_committed(),
                    "{id} {framing} part {part}: fault not committed"
                );
            }
        }
    }
}
