use super::frame::{self, Framing};
use super::*;

/// A card that answers every command with `answer` (status `00`) in frames of `frame` bytes
/// fetched with `AF`, in the framing the command came in, and remembers the commands.
struct Chunker {
    answer: Vec<u8>,
    frame: usize,
    pos: usize,
    last: Vec<Vec<u8>>,
}

impl Chunker {
    fn new(answer: Vec<u8>, frame: usize) -> Self {
        Self {
            answer,
            frame,
            pos: 0,
            last: Vec::new(),
        }
    }
}

impl VirtualCard for Chunker {
    fn atr(&self) -> &[u8] {
        &crate::virtual_card::ATR_T1
    }
    fn power_on(&mut self) {}
    fn power_off(&mut self) {}
    fn reset(&mut self) {}
    fn anticollision_uid(&self) -> &[u8] {
        &[0x08, 1, 2, 3]
    }
    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        self.last.push(capdu.to_vec());
        let Some(c) = frame::command(capdu) else {
            return put(rapdu, &[0x90, 0x00]);
        };
        if c.ins != ADDITIONAL_FRAME {
            self.pos = 0;
        }
        let end = (self.pos + self.frame).min(self.answer.len());
        let chunk = self.answer[self.pos..end].to_vec();
        self.pos = end;
        let status = if end == self.answer.len() { 0x00 } else { 0xAF };
        put(rapdu, &frame::emit_answer(c.framing, status, &chunk))
    }
}

fn send(card: &mut impl VirtualCard, capdu: &[u8]) -> Vec<u8> {
    let mut r = vec![0u8; 600];
    let n = card.transmit(capdu, &mut r);
    r.truncate(n);
    r
}

const READ_BD: [u8; 20] = [
    0x90, 0xBD, 0, 0, 0x0F, 1, 0, 0, 0, 0xA0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8,
];

fn wrapped_read() -> Vec<u8> {
    let mut c = READ_BD.to_vec();
    c.push(0);
    c
}

fn native_read() -> Vec<u8> {
    vec![0xBD, 1, 0, 0, 0, 0xA0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]
}

fn app() -> Application {
    Application {
        aid: Aid::new(0x0AC501).unwrap(),
        df_name: b"\xF0GEN-PACS01".to_vec(),
    }
}

/// Selects the GEN-PACS application through `card` (answered by the inner card).
fn select(card: &mut impl VirtualCard, framing: Framing) {
    send(
        card,
        &frame::emit_command(framing, INS_SELECT_APPLICATION, &[0x01, 0xC5, 0x0A]),
    );
}

#[test]
fn frames_parse_both_ways() {
    let w = frame::command(&[0x90, 0xBD, 0, 0, 3, 1, 2, 3, 0]).unwrap();
    assert_eq!(
        (w.framing, w.ins, w.data),
        (Framing::Wrapped, 0xBD, &[1, 2, 3][..])
    );
    let w = frame::command(&[0x90, 0xAF, 0, 0, 0]).unwrap();
    assert_eq!(
        (w.framing, w.ins, w.data),
        (Framing::Wrapped, 0xAF, &[][..])
    );
    let n = frame::command(&[0x60]).unwrap();
    assert_eq!((n.framing, n.ins, n.data), (Framing::Native, 0x60, &[][..]));
    assert_eq!(frame::command(&[0x00, 0xA4, 4, 0]), None);
    // A wrapped frame whose Lc runs past its end, or with bytes after Le.
    assert_eq!(frame::command(&[0x90, 0xBD, 0, 0, 9, 1]), None);
    assert_eq!(frame::command(&[0x90, 0xBD, 0, 0, 1, 1, 0, 0]), None);
    let a = frame::answer(Framing::Wrapped, &[7, 8, 0x91, 0xAF]).unwrap();
    assert_eq!((a.status, a.data), (0xAF, &[7, 8][..]));
    let a = frame::answer(Framing::Native, &[0xAF, 7, 8]).unwrap();
    assert_eq!((a.status, a.data), (0xAF, &[7, 8][..]));
    assert_eq!(frame::answer(Framing::Wrapped, &[0x6A, 0x82]), None);
    assert_eq!(frame::answer(Framing::Native, &[]), None);
    assert_eq!(
        frame::emit_command(Framing::Native, 0xBD, &[1]),
        [0xBD, 0x01]
    );
    assert_eq!(
        frame::emit_answer(Framing::Native, 0x00, &[5]),
        [0x00, 0x05]
    );
}

/// T6 with 59-byte native frames: the 184-byte answer ends in a 7-byte frame, so the MACt is
/// split; its first byte (offset 176, the last byte of frame 3) is flipped, and the fault is
/// committed only once the reader has the last frame.
#[test]
fn t6_corrupts_a_mac_split_across_frames() {
    let answer: Vec<u8> = (0..184u32).map(|i| i as u8).collect();
    for framing in [Framing::Wrapped, Framing::Native] {
        let mut c = Behaving::new(
            Chunker::new(answer.clone(), 59),
            Behaviour::CorruptReadDataMac,
        );
        c.power_on();
        let read = match framing {
            Framing::Wrapped => wrapped_read(),
            Framing::Native => native_read(),
        };
        let af = frame::emit_command(framing, ADDITIONAL_FRAME, &[]);
        let mut got = Vec::new();
        let mut frames = 0;
        let mut r = send(&mut c, &read);
        loop {
            frames += 1;
            let a = frame::answer(framing, &r).unwrap();
            got.extend_from_slice(a.data);
            if a.status != 0xAF {
                assert_eq!(a.status, 0x00);
                assert_eq!(a.data.len(), 7, "{framing:?}");
                break;
            }
            assert!(
                !c.fault_committed(),
                "{framing:?}: committed before the last frame"
            );
            r = send(&mut c, &af);
        }
        assert_eq!(frames, 4);
        assert!(c.fault_committed(), "{framing:?}");
        let mut want = answer.clone();
        want[176] ^= 0x01;
        assert_eq!(got, want, "{framing:?}");
    }
}

/// T6 with the ISO-chaining code: one frame, the MACt inside it.
#[test]
fn t6_corrupts_a_one_frame_answer() {
    let answer = vec![0x11u8; 184];
    let mut c = Behaving::new(
        Chunker::new(answer.clone(), 256),
        Behaviour::CorruptReadDataMac,
    );
    c.power_on();
    let mut read = wrapped_read();
    read[1] = 0xAD;
    let r = send(&mut c, &read);
    assert_eq!(r[176], 0x10);
    assert_eq!(r[184..], [0x91, 0x00]);
    assert!(c.fault_committed());
    // Another command is not touched.
    let r = send(&mut c, &[0x90, 0x51, 0, 0, 0]);
    assert_eq!(r[..184], answer[..]);
    assert!(c.take_fault().is_none());
}

/// A reader that stops before the last frame never held the tampered MACt.
#[test]
fn t6_is_not_committed_when_the_reader_stops_early() {
    let mut c = Behaving::new(
        Chunker::new(vec![0x22; 184], 59),
        Behaviour::CorruptReadDataMac,
    );
    c.power_on();
    send(&mut c, &wrapped_read());
    send(&mut c, &[0x90, 0xAF, 0, 0, 0]);
    send(&mut c, &[0x90, 0x60, 0, 0, 0]);
    assert!(!c.fault_committed());
}

#[test]
fn plain_downgrade_drops_the_command_mac_in_either_framing() {
    for (read, want) in [
        (
            wrapped_read(),
            vec![0x90, 0xBD, 0, 0, 7, 1, 0, 0, 0, 0xA0, 0, 0, 0],
        ),
        (native_read(), vec![0xBD, 1, 0, 0, 0, 0xA0, 0, 0]),
    ] {
        let mut c = Behaving::new(
            Chunker::new(vec![0x33; 160], 256),
            Behaviour::PlainDowngrade,
        )
        .showing(FaultSite::Behaviour, app());
        c.power_on();
        let framing = frame::command(&read).unwrap().framing;
        select(&mut c, framing);
        send(&mut c, &read);
        assert_eq!(c.inner().last.last().unwrap(), &want);
        assert!(c.fault_committed(), "{framing:?}");
    }
}

#[test]
fn credential_faults_count_only_when_their_bytes_are_delivered() {
    let site = FaultSite::Credential(vec![12, 13]);
    let read = |offset: u8, length: u8| {
        frame::emit_command(
            Framing::Wrapped,
            0xAD,
            &[1, offset, 0, 0, length, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8],
        )
    };
    let mut c = Behaving::new(Chunker::new(vec![0; 24], 256), Behaviour::Genuine)
        .showing(site.clone(), app());
    c.power_on();
    // Outside the application: nothing.
    send(&mut c, &read(0, 0));
    assert!(!c.fault_committed());
    select(&mut c, Framing::Wrapped);
    send(&mut c, &read(0, 12));
    assert!(!c.fault_committed(), "bytes 0..12 do not carry it");
    send(&mut c, &read(100, 0));
    assert!(!c.fault_committed(), "bytes 100..160 do not carry it");
    send(&mut c, &read(13, 1));
    assert!(c.fault_committed());
    assert!(c.take_fault().unwrap().contains("13..14"));
    // The whole file (length 0) covers it, by DF name too.
    let mut c =
        Behaving::new(Chunker::new(vec![0; 24], 256), Behaviour::Genuine).showing(site, app());
    c.power_on();
    let mut by_name = vec![0x00, 0xA4, 0x04, 0x0C, 11];
    by_name.extend_from_slice(b"\xF0GEN-PACS01");
    by_name.push(0);
    send(&mut c, &by_name);
    send(&mut c, &read(0, 0));
    assert!(c.fault_committed());
}

#[test]
fn a_recording_replays_whatever_the_framing() {
    // The recorded session: SelectApplication, an authentication, and a ReadData AD answered
    // in one frame.
    let read_answer: Vec<u8> = (0..184u32).map(|i| i as u8).collect();
    let mut read_rapdu = read_answer.clone();
    read_rapdu.extend_from_slice(&[0x91, 0x00]);
    let steps: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (
            vec![0x90, 0x5A, 0, 0, 3, 1, 0xC5, 0x0A, 0],
            vec![0x91, 0x00],
        ),
        (vec![0x90, 0x71, 0, 0, 2, 1, 0, 0], {
            let mut r = vec![0xB0; 16];
            r.extend_from_slice(&[0x91, 0xAF]);
            r
        }),
        (
            {
                let mut c = vec![0x90, 0xAF, 0, 0, 32];
                c.extend_from_slice(&[0xEE; 32]);
                c.push(0);
                c
            },
            {
                let mut r = vec![0xC0; 32];
                r.extend_from_slice(&[0x91, 0x00]);
                r
            },
        ),
        (
            vec![
                0x90, 0xAD, 0, 0, 0x0F, 1, 0, 0, 0, 0xA0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0,
            ],
            read_rapdu,
        ),
    ];
    let rec = Recording::from_exchange(
        &[0x08, 9, 9, 9],
        steps.iter().map(|(c, r)| (c.as_slice(), r.as_slice())),
    );
    assert_eq!(
        rec.answers.iter().map(|a| a.to).collect::<Vec<_>>(),
        [
            ReplayKey::Command(0x5A),
            ReplayKey::Command(0x71),
            ReplayKey::AuthenticationPart2(0x71),
            ReplayKey::Command(0xBD),
        ]
    );
    // Replayed to a reader that frames natively and reads with BD: the card's own framing.
    let mut c = Behaving::new(Chunker::new(vec![], 59), Behaviour::Replay(rec));
    c.power_on();
    assert_eq!(c.anticollision_uid(), [0x08, 9, 9, 9]);
    assert_eq!(send(&mut c, &[0x5A, 1, 0xC5, 0x0A]), [0x00]);
    let part1 = send(&mut c, &[0x71, 1, 0]);
    assert_eq!(part1[0], 0xAF);
    assert_eq!(part1[1..], [0xB0; 16]);
    assert!(!c.fault_committed());
    let mut token = vec![0xAF];
    token.extend_from_slice(&[0x55; 32]);
    let part2 = send(&mut c, &token);
    assert_eq!(part2, [&[0x00][..], &[0xC0; 32][..]].concat());
    assert!(c.fault_committed());
    let mut got = Vec::new();
    let mut r = send(&mut c, &native_read());
    while r[0] == 0xAF {
        got.extend_from_slice(&r[1..]);
        r = send(&mut c, &[0xAF]);
    }
    assert_eq!(r[0], 0x00);
    got.extend_from_slice(&r[1..]);
    assert_eq!(got, read_answer);
    // Nothing recorded for it: an authentication error, never silence.
    assert_eq!(send(&mut c, &[0x60]), [0xAE]);
}

#[test]
fn anticollision_only_and_legacy_keys() {
    let mut clone = Behaving::new(
        Chunker::new(vec![], 59),
        Behaviour::AnticollisionOnly {
            uid: vec![4, 1, 2, 3, 4, 5, 6],
        },
    );
    clone.power_on();
    assert!(clone.fault_committed(), "the UID is met at activation");
    assert_eq!(clone.anticollision_uid(), [4, 1, 2, 3, 4, 5, 6]);
    assert_eq!(
        send(&mut clone, &[0x90, 0x5A, 0, 0, 3, 1, 0xC5, 0x0A, 0]),
        [0x6A, 0x82]
    );
    for framing in [Framing::Wrapped, Framing::Native] {
        let mut des = Behaving::new(Chunker::new(vec![], 59), Behaviour::LegacyKeysOnly)
            .showing(FaultSite::Behaviour, app());
        des.power_on();
        select(&mut des, framing);
        assert!(!des.fault_committed());
        assert_eq!(
            send(&mut des, &frame::emit_command(framing, 0x71, &[1, 0])),
            frame::emit_answer(framing, 0xAE, &[])
        );
        assert!(des.fault_committed());
        assert_eq!(
            send(&mut des, &frame::emit_command(framing, 0x0A, &[1])),
            frame::emit_answer(framing, 0xAE, &[])
        );
        assert!(des.take_fault().unwrap().contains("legacy"));
    }
}

/// A card that selects any application and refuses everything else with `91 7E`.
struct Refuser;

impl VirtualCard for Refuser {
    fn atr(&self) -> &[u8] {
        &crate::virtual_card::ATR_T1
    }
    fn power_on(&mut self) {}
    fn power_off(&mut self) {}
    fn reset(&mut self) {}
    fn anticollision_uid(&self) -> &[u8] {
        &[0x08, 1, 2, 3]
    }
    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        let status = match frame::command(capdu) {
            Some(c) if c.ins == INS_SELECT_APPLICATION => 0x00,
            Some(_) => 0x7E,
            None => return put(rapdu, &[0x6D, 0x00]),
        };
        let framing = frame::command(capdu).map_or(Framing::Wrapped, |c| c.framing);
        put(rapdu, &frame::emit_answer(framing, status, &[]))
    }
}

/// T4b: the fault is met when the reader's ReadData of the credential file is refused; and
/// what the reader met stays met when pcscd resets or powers the card again afterwards.
#[test]
fn a_refused_read_is_met_and_stays_met_across_a_reset() {
    for framing in [Framing::Wrapped, Framing::Native] {
        let mut c =
            Behaving::new(Refuser, Behaviour::Genuine).showing(FaultSite::ReadRefused, app());
        c.power_on();
        let read = if framing == Framing::Wrapped {
            wrapped_read()
        } else {
            native_read()
        };
        // Outside the application: not the credential file of the GEN-PACS application.
        send(&mut c, &read);
        assert!(!c.fault_committed(), "{framing:?}");
        select(&mut c, framing);
        assert!(!c.fault_committed(), "{framing:?}");
        let r = send(&mut c, &read);
        assert!(r.ends_with(&[0x7E]), "{framing:?}: {r:02X?}");
        assert!(c.fault_committed(), "{framing:?}");
        c.reset();
        c.power_off();
        c.power_on();
        assert!(c.fault_committed(), "{framing:?}: lost at a reset");
    }
}
