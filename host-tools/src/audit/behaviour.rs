//! How a test card misbehaves on purpose (`specs/generic-encoding.md` §17): a wrapper around any
//! [`VirtualCard`], so that the same faults run in process, behind vpcd (`desfire emulate`) and
//! behind a PN532 emulator. The wrapper sees every C-APDU and R-APDU at the ISO/IEC 7816-4
//! level, as a relay or a manipulated card would.

use std::time::Duration;

use crate::vpcd::VirtualCard;

/// `6A 82` (file or application not found): what an anticollision-only clone (T1) gives a
/// SelectApplication it cannot understand, per §17.
const SW_FILE_NOT_FOUND: [u8; 2] = [0x6A, 0x82];
/// `91 AE`: authentication error, the answer of an application with DES/2TDEA keys to an AES
/// authentication it does not support (T5).
const SW_AUTHENTICATION_ERROR: [u8; 2] = [0x91, 0xAE];
/// `91 00` ends a native answer successfully.
const SW_OK: [u8; 2] = [0x91, 0x00];

/// A recorded genuine session: the activation UID and every R-APDU, in order (T13).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recording {
    /// The anticollision UID of the recorded activation.
    pub uid: Vec<u8>,
    /// The card's answers, in the order the reader asked.
    pub responses: Vec<Vec<u8>>,
}

/// One misbehaviour of a test card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// The card answers as it is.
    Genuine,
    /// T1: anticollision with this UID and nothing behind it (a magic UID card or `hf 14a sim`):
    /// every APDU gets `6A 82`.
    AnticollisionOnly {
        /// The UID it shows.
        uid: Vec<u8>,
    },
    /// T5: an application with DES/2TDEA keys (EV1 style). EV2 authentications get `91 AE`;
    /// a legacy authentication (`0A`, `1A`, `AA`) is noted as a fault of the reader.
    LegacyKeysOnly,
    /// T4: a ReadData sent with a command MACt reaches the card without it (a manipulated card
    /// or a man in the middle), so a file in Plain mode answers in Plain.
    PlainDowngrade,
    /// T6: one byte of the ReadData answer's MACt flipped.
    CorruptReadDataMac,
    /// T12: every answer delayed (a relay).
    Delay(Duration),
    /// T13: answers the N-th command with the N-th recorded response, whatever it is.
    Replay(Recording),
}

/// A card with a [`Behaviour`].
#[derive(Debug)]
pub struct Behaving<C> {
    card: C,
    behaviour: Behaviour,
    /// Within a ReadData exchange (`BD`/`AD` and its `AF` continuations).
    reading: bool,
    replayed: usize,
    last_fault: Option<String>,
}

impl<C: VirtualCard> Behaving<C> {
    /// `card` with `behaviour`.
    pub fn new(card: C, behaviour: Behaviour) -> Self {
        Self {
            card,
            behaviour,
            reading: false,
            replayed: 0,
            last_fault: None,
        }
    }

    /// The behaviour.
    pub fn behaviour(&self) -> &Behaviour {
        &self.behaviour
    }

    /// What the card did on purpose to the last exchange, if anything.
    pub fn take_fault(&mut self) -> Option<String> {
        self.last_fault.take()
    }

    /// The card inside.
    pub fn inner(&self) -> &C {
        &self.card
    }
}

/// CLA `90` (native wrapping) and the INS byte.
fn native_ins(capdu: &[u8]) -> Option<u8> {
    match capdu {
        [0x90, ins, ..] => Some(*ins),
        _ => None,
    }
}

fn put(rapdu: &mut [u8], bytes: &[u8]) -> usize {
    match rapdu.get_mut(..bytes.len()) {
        Some(out) => {
            out.copy_from_slice(bytes);
            bytes.len()
        }
        None => 0,
    }
}

impl<C: VirtualCard> VirtualCard for Behaving<C> {
    fn atr(&self) -> &[u8] {
        self.card.atr()
    }

    fn power_on(&mut self) {
        self.reading = false;
        self.replayed = 0;
        self.last_fault = None;
        self.card.power_on();
    }

    fn power_off(&mut self) {
        self.card.power_off();
    }

    fn reset(&mut self) {
        self.power_off();
        self.power_on();
    }

    fn answered_by_reader(&mut self, capdu: &[u8], rapdu: &[u8]) {
        self.card.answered_by_reader(capdu, rapdu);
    }

    fn anticollision_uid(&self) -> &[u8] {
        match &self.behaviour {
            Behaviour::AnticollisionOnly { uid } => uid,
            Behaviour::Replay(r) => &r.uid,
            _ => self.card.anticollision_uid(),
        }
    }

    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        self.last_fault = None;
        let ins = native_ins(capdu);
        match &self.behaviour {
            Behaviour::Genuine => self.card.transmit(capdu, rapdu),
            Behaviour::AnticollisionOnly { .. } => {
                self.last_fault = Some("no DESFire behind the UID".into());
                put(rapdu, &SW_FILE_NOT_FOUND)
            }
            Behaviour::LegacyKeysOnly => match ins {
                Some(0x71 | 0x77) => {
                    self.last_fault = Some("DES application: no AES authentication".into());
                    put(rapdu, &SW_AUTHENTICATION_ERROR)
                }
                Some(0x0A | 0x1A | 0xAA) => {
                    self.last_fault = Some("the reader tried a legacy authentication (R2)".into());
                    put(rapdu, &SW_AUTHENTICATION_ERROR)
                }
                _ => self.card.transmit(capdu, rapdu),
            },
            Behaviour::PlainDowngrade => match (ins, capdu) {
                // 90 BD/AD 00 00 0F ‖ FileNo Offset[3] Length[3] ‖ MACt[8] ‖ 00
                (Some(0xBD | 0xAD), [cla, ins, p1, p2, 0x0F, rest @ ..]) => {
                    let header = rest.get(..7).unwrap_or(&[]);
                    let mut plain = vec![*cla, *ins, *p1, *p2, 0x07];
                    plain.extend_from_slice(header);
                    plain.push(0x00);
                    self.last_fault = Some("command MACt dropped: answered in Plain".into());
                    self.card.transmit(&plain, rapdu)
                }
                _ => self.card.transmit(capdu, rapdu),
            },
            Behaviour::CorruptReadDataMac => {
                self.reading = match ins {
                    Some(0xBD | 0xAD) => true,
                    Some(0xAF) => self.reading,
                    _ => false,
                };
                let n = self.card.transmit(capdu, rapdu);
                // The MACt is the last 8 data bytes of the final frame (status `91 00`).
                let ends_ok = n >= 10 && rapdu.get(n.saturating_sub(2)..n) == Some(&SW_OK[..]);
                if self.reading && ends_ok {
                    if let Some(b) = rapdu.get_mut(n.saturating_sub(3)) {
                        *b ^= 0x01;
                        self.last_fault = Some("last byte of the ReadData MACt flipped".into());
                    }
                    self.reading = false;
                }
                n
            }
            Behaviour::Delay(d) => {
                let d = *d;
                let n = self.card.transmit(capdu, rapdu);
                std::thread::sleep(d);
                self.last_fault = Some(format!("relayed: answered {} ms late", d.as_millis()));
                n
            }
            Behaviour::Replay(r) => {
                let i = self.replayed;
                self.replayed = self.replayed.saturating_add(1);
                match r.responses.get(i) {
                    Some(resp) => {
                        self.last_fault = Some(format!("replayed recorded response {}", i + 1));
                        put(rapdu, resp)
                    }
                    None => {
                        self.last_fault = Some("recording exhausted: no answer".into());
                        0
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A card that answers every C-APDU with a fixed R-APDU and remembers the last command.
    #[derive(Default)]
    struct Echo {
        answer: Vec<u8>,
        last: Vec<u8>,
    }

    impl VirtualCard for Echo {
        fn atr(&self) -> &[u8] {
            &crate::vpcd::ATR_T1
        }
        fn power_on(&mut self) {}
        fn power_off(&mut self) {}
        fn reset(&mut self) {}
        fn anticollision_uid(&self) -> &[u8] {
            &[0x08, 1, 2, 3]
        }
        fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
            self.last = capdu.to_vec();
            put(rapdu, &self.answer)
        }
    }

    fn send(card: &mut impl VirtualCard, capdu: &[u8]) -> Vec<u8> {
        let mut r = [0u8; 300];
        let n = card.transmit(capdu, &mut r);
        r[..n].to_vec()
    }

    #[test]
    fn corrupts_only_the_final_frame_of_read_data() {
        let mut answer = vec![0x11; 184];
        answer.extend_from_slice(&[0x91, 0x00]);
        let mut c = Behaving::new(
            Echo {
                answer: answer.clone(),
                ..Echo::default()
            },
            Behaviour::CorruptReadDataMac,
        );
        c.power_on();
        // Not a ReadData: untouched.
        assert_eq!(send(&mut c, &[0x90, 0x51, 0, 0, 0]), answer);
        assert_eq!(c.take_fault(), None);
        let got = send(&mut c, &[0x90, 0xAD, 0, 0, 0x0F, 1, 0, 0, 0, 0xA0, 0, 0]);
        assert_eq!(got[..183], answer[..183]);
        assert_eq!(got[183], 0x10);
        assert_eq!(got[184..], [0x91, 0x00]);
        assert!(c.take_fault().is_some());
    }

    #[test]
    fn plain_downgrade_drops_the_command_mac() {
        let mut c = Behaving::new(
            Echo {
                answer: vec![0x91, 0x00],
                ..Echo::default()
            },
            Behaviour::PlainDowngrade,
        );
        let mut read = vec![0x90, 0xBD, 0, 0, 0x0F, 1, 0, 0, 0, 0xA0, 0, 0];
        read.extend_from_slice(&[0xEE; 8]);
        read.push(0);
        send(&mut c, &read);
        assert_eq!(
            c.inner().last,
            [0x90, 0xBD, 0, 0, 7, 1, 0, 0, 0, 0xA0, 0, 0, 0]
        );
    }

    #[test]
    fn replay_answers_in_recorded_order_then_falls_silent() {
        let rec = Recording {
            uid: vec![0x08, 9, 9, 9],
            responses: vec![vec![0x91, 0x00], vec![0xAB, 0x91, 0xAF]],
        };
        let mut c = Behaving::new(Echo::default(), Behaviour::Replay(rec));
        c.power_on();
        assert_eq!(c.anticollision_uid(), [0x08, 9, 9, 9]);
        assert_eq!(send(&mut c, &[0x90, 0x60, 0, 0, 0]), [0x91, 0x00]);
        assert_eq!(send(&mut c, &[0x90, 0x60, 0, 0, 0]), [0xAB, 0x91, 0xAF]);
        assert_eq!(send(&mut c, &[0x90, 0x60, 0, 0, 0]), Vec::<u8>::new());
        // A new activation starts the recording again.
        c.power_on();
        assert_eq!(send(&mut c, &[0x90, 0x60, 0, 0, 0]), [0x91, 0x00]);
    }

    #[test]
    fn anticollision_only_and_legacy_keys() {
        let mut clone = Behaving::new(
            Echo::default(),
            Behaviour::AnticollisionOnly {
                uid: vec![4, 1, 2, 3, 4, 5, 6],
            },
        );
        assert_eq!(clone.anticollision_uid(), [4, 1, 2, 3, 4, 5, 6]);
        assert_eq!(
            send(&mut clone, &[0x90, 0x5A, 0, 0, 3, 1, 0xC5, 0x0A, 0]),
            [0x6A, 0x82]
        );
        let mut des = Behaving::new(
            Echo {
                answer: vec![0x91, 0x00],
                ..Echo::default()
            },
            Behaviour::LegacyKeysOnly,
        );
        assert_eq!(
            send(&mut des, &[0x90, 0x71, 0, 0, 2, 1, 0, 0]),
            [0x91, 0xAE]
        );
        assert_eq!(send(&mut des, &[0x90, 0x0A, 0, 0, 1, 1, 0]), [0x91, 0xAE]);
        assert!(des.take_fault().unwrap().contains("legacy"));
        assert_eq!(
            send(&mut des, &[0x90, 0x5A, 0, 0, 3, 1, 0xC5, 0x0A, 0]),
            [0x91, 0x00]
        );
    }
}
