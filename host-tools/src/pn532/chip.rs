//! The emulated PN532 itself: host-link bytes in, host-link bytes out, and virtual cards that
//! come and go in its field. No I/O, no clock.

use std::collections::BTreeMap;

use desfire_core::picc::Activation;

use super::command::{BRTY_106_TYPE_A, Command, ErrorCode, MI, TG_MASK};
use super::frame::{self, ACK, Decoder, ERROR_FRAME, Event, TFI_HOST_TO_PN532, TFI_PN532_TO_HOST};
use crate::virtual_card::FieldCard;

/// GetFirmwareVersion (§7.2.2): IC `32` (PN532), version 1, revision 6, supports ISO/IEC
/// 14443 type A, type B and ISO 18092 (`07`).
pub const FIRMWARE_VERSION: [u8; 4] = [0x32, 0x01, 0x06, 0x07];

/// SEL_RES (SAK) of a DESFire: `20`, compliant with ISO/IEC 14443-4, UID complete.
pub const SEL_RES: u8 = 0x20;

/// The most data one InDataExchange response carries (§7.3.8: up to 262 bytes); the rest of a
/// longer R-APDU follows with the MI bit set in the status byte.
pub const MAX_DATA_IN: usize = 262;

/// The longest C-APDU assembled from InDataExchange frames chained with the MI bit of Tg.
pub const MAX_CAPDU: usize = 4096;

/// The target number the emulator gives its one target.
const TG: u8 = 0x01;

/// SENS_RES (ATQA) of a DESFire, most significant byte first as InListPassiveTarget reports it
/// (§7.3.5): `03` (proprietary) and `04`, `44` or `84` for a single, double or triple size UID
/// (ISO/IEC 14443-3 §6.5.2.1, bits 8..7 of the first byte sent).
pub fn sens_res(uid_len: usize) -> [u8; 2] {
    let size = match uid_len {
        4 => 0x04,
        7 => 0x44,
        _ => 0x84,
    };
    [0x03, size]
}

/// Where the presentation stands: cards enter the field one after another.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Field {
    /// Card `usize` is in the field, waiting for a poll.
    Ready(usize),
    /// Card `card` was activated.
    Active {
        /// Its index.
        card: usize,
    },
    /// A card just left; the next poll finds an empty field, then card `usize` comes.
    Gap(usize),
    /// No card left.
    Empty,
}

/// Why a command frame gets the application-level error frame (§6.2.1.5).
struct SyntaxError;

/// An emulated PN532 with virtual cards presented one after another (see the module docs).
#[derive(Debug)]
pub struct Pn532<C> {
    cards: Vec<C>,
    looping: bool,
    field: Field,
    decoder: Decoder,
    /// The last response frame, sent again on a NACK (§6.2.1.4).
    last_response: Option<Vec<u8>>,
    rf_on: bool,
    /// Written registers; the others read as 0.
    registers: BTreeMap<u16, u8>,
    /// C-APDU parts received with the MI bit of Tg.
    chained: Vec<u8>,
    /// R-APDU bytes still to send after an answer with the MI bit.
    pending: Vec<u8>,
    rapdu: Vec<u8>,
    activations: u64,
    trace: Option<Vec<String>>,
}

impl<C: FieldCard> Pn532<C> {
    /// A PN532 after power-up, with `cards` to present in order (card 0 is in the field at
    /// once); with `looping`, the first card comes back after the last.
    pub fn new(cards: Vec<C>, looping: bool) -> Self {
        let field = if cards.is_empty() {
            Field::Empty
        } else {
            Field::Ready(0)
        };
        Self {
            cards,
            looping,
            field,
            decoder: Decoder::new(),
            last_response: None,
            rf_on: false,
            registers: BTreeMap::new(),
            chained: Vec::new(),
            pending: Vec::new(),
            rapdu: vec![0; MAX_CAPDU],
            activations: 0,
            trace: None,
        }
    }

    /// Collects trace lines (frames as `#` comments, APDUs as `>`/`<` lines in the format
    /// `desfire trace decode` reads) for [`Self::take_trace`].
    pub fn set_trace(&mut self, on: bool) {
        self.trace = on.then(Vec::new);
    }

    /// The trace lines collected since the last call.
    pub fn take_trace(&mut self) -> Vec<String> {
        self.trace.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The cards.
    pub fn cards(&self) -> &[C] {
        &self.cards
    }

    /// The cards, to inspect or change them between exchanges.
    pub fn cards_mut(&mut self) -> &mut [C] {
        &mut self.cards
    }

    /// The cards back, e.g. to save them.
    pub fn into_cards(self) -> Vec<C> {
        self.cards
    }

    /// How many activations (InListPassiveTarget finding a card) happened.
    pub fn activations(&self) -> u64 {
        self.activations
    }

    /// The index of the activated card, if any.
    pub fn active_card(&self) -> Option<usize> {
        match self.field {
            Field::Active { card } => Some(card),
            _ => None,
        }
    }

    /// The host link was reconnected: a half-received frame is dropped.
    pub fn reset_line(&mut self) {
        self.decoder.clear();
    }

    /// Takes bytes from the host controller and appends the PN532's answer to `out`: ACK and
    /// response frame for each command frame, the last response again for a NACK, nothing for
    /// a frame with a checksum error (§6.2.3: the host resends when no ACK comes).
    pub fn receive(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        self.decoder.push(bytes);
        while let Some(event) = self.decoder.next_event() {
            match event {
                // An ACK from the host aborts the command in progress (§6.2.1.3); every command
                // here has finished before its answer went out.
                Event::Ack => self.note(|| "# pn532 > ACK".to_owned()),
                Event::Nack => {
                    self.note(|| "# pn532 > NACK".to_owned());
                    if let Some(last) = &self.last_response {
                        out.extend_from_slice(last);
                    }
                }
                Event::Corrupt => self.note(|| "# pn532 > frame with a checksum error".to_owned()),
                Event::Information { tfi, data } => {
                    self.note(|| format!("# pn532 > {tfi:02X} {}", hex::encode_upper(&data)));
                    // Even a command with a syntax error is acknowledged first; the error frame follows
                    // (§6.2.1.5).
                    out.extend_from_slice(&ACK);
                    let response = match (tfi, data.split_first()) {
                        (TFI_HOST_TO_PN532, Some((&code, params))) => {
                            self.command(Command(code), params)
                        }
                        _ => Err(SyntaxError),
                    };
                    let mut frame = Vec::with_capacity(16);
                    match response.map(|r| frame::information(TFI_PN532_TO_HOST, &r, &mut frame)) {
                        Ok(Ok(())) => {}
                        Ok(Err(frame::TooLong)) | Err(SyntaxError) => {
                            frame.clear();
                            frame.extend_from_slice(&ERROR_FRAME);
                        }
                    }
                    self.note(|| format!("# pn532 < {}", hex::encode_upper(&frame)));
                    out.extend_from_slice(&frame);
                    self.last_response = Some(frame);
                }
            }
        }
    }

    fn note(&mut self, line: impl FnOnce() -> String) {
        if let Some(t) = &mut self.trace {
            t.push(line());
        }
    }

    /// One command; the response's PD bytes (response code first).
    fn command(&mut self, cmd: Command, p: &[u8]) -> Result<Vec<u8>, SyntaxError> {
        let mut r = vec![cmd.response()];
        match cmd {
            Command::DIAGNOSE => r.extend(self.diagnose(p)?),
            Command::GET_FIRMWARE_VERSION => r.extend_from_slice(&FIRMWARE_VERSION),
            Command::GET_GENERAL_STATUS => {
                // §7.2.3: Err, Field, NbTg, then Tg BrRx BrTx Type per target, SAM status.
                r.extend_from_slice(&[0x00, u8::from(self.rf_on)]);
                if self.active_card().is_some() {
                    r.extend_from_slice(&[0x01, TG, 0x00, 0x00, 0x00]);
                } else {
                    r.push(0x00);
                }
                r.push(0x00);
            }
            Command::READ_REGISTER => {
                if p.is_empty() || !p.len().is_multiple_of(2) {
                    return Err(SyntaxError);
                }
                for a in p.chunks_exact(2) {
                    if let &[h, l] = a {
                        let value = self.registers.get(&u16::from_be_bytes([h, l]));
                        r.push(value.copied().unwrap_or(0));
                    }
                }
            }
            Command::WRITE_REGISTER => {
                if p.is_empty() || !p.len().is_multiple_of(3) {
                    return Err(SyntaxError);
                }
                for w in p.chunks_exact(3) {
                    if let &[h, l, v] = w {
                        self.registers.insert(u16::from_be_bytes([h, l]), v);
                    }
                }
            }
            // §7.2.9, §7.2.10: flags and SAM mode do not change what a virtual card sees. The
            // emulator always runs RATS (fAutomaticRATS): its cards speak ISO-DEP only.
            Command::SET_PARAMETERS | Command::SAM_CONFIGURATION if p.is_empty() => {
                return Err(SyntaxError);
            }
            Command::SET_PARAMETERS | Command::SAM_CONFIGURATION => {}
            Command::POWER_DOWN => {
                if p.is_empty() {
                    return Err(SyntaxError);
                }
                // §7.2.11: the RF field goes off in power-down.
                self.set_rf(false);
                r.push(ErrorCode::OK.0);
            }
            Command::RF_CONFIGURATION => match p.split_first() {
                // §7.3.1, CfgItem 01: bit 0 of the data switches the field.
                Some((0x01, [on, ..])) => self.set_rf(on & 0x01 != 0),
                Some((0x01, [])) | None => return Err(SyntaxError),
                Some(_) => {}
            },
            Command::IN_LIST_PASSIVE_TARGET => r.extend(self.in_list_passive_target(p)?),
            Command::IN_DATA_EXCHANGE => r.extend(self.in_data_exchange(p)?),
            // The virtual cards answer no raw frame: libnfc probes other card types this way and
            // would take any other answer for a target.
            Command::IN_COMMUNICATE_THRU => r.push(ErrorCode::TIMEOUT.0),
            Command::IN_DESELECT | Command::IN_RELEASE => {
                let &[tg, ..] = p else {
                    return Err(SyntaxError);
                };
                let status = match (tg & TG_MASK, self.active_card()) {
                    (0, None) => ErrorCode::OK,
                    (0 | TG, Some(_)) => {
                        self.end_presentation(if cmd == Command::IN_DESELECT {
                            "deselected"
                        } else {
                            "released"
                        });
                        ErrorCode::OK
                    }
                    _ => ErrorCode::WRONG_CONTEXT,
                };
                r.push(status.0);
            }
            Command::IN_SELECT => {
                let &[tg, ..] = p else {
                    return Err(SyntaxError);
                };
                let ok = tg & TG_MASK == TG && self.active_card().is_some();
                r.push(
                    if ok {
                        ErrorCode::OK
                    } else {
                        ErrorCode::WRONG_CONTEXT
                    }
                    .0,
                );
            }
            _ => return Err(SyntaxError),
        }
        Ok(r)
    }

    /// §7.2.1: test 00 echoes the parameters (the host's line check); the self tests pass.
    fn diagnose(&self, p: &[u8]) -> Result<Vec<u8>, SyntaxError> {
        match p.first() {
            Some(0x00) => Ok(p.to_vec()),
            // ROM, RAM, polling, antenna self tests: no failure.
            Some(0x01 | 0x02 | 0x04 | 0x07) => Ok(vec![0x00]),
            // Attention request / card presence (ISO-DEP).
            Some(0x06) => Ok(vec![if self.active_card().is_some() {
                ErrorCode::OK.0
            } else {
                ErrorCode::TIMEOUT.0
            }]),
            _ => Err(SyntaxError),
        }
    }

    fn set_rf(&mut self, on: bool) {
        if !on {
            self.end_presentation("field off");
        }
        self.rf_on = on;
    }

    /// The activated card leaves the field (if one is activated).
    fn end_presentation(&mut self, why: &str) {
        if let Field::Active { card } = self.field {
            if let Some(c) = self.cards.get_mut(card) {
                c.deactivate();
            }
            self.note(|| format!("# pn532: card {} {why}, removed from the field", card + 1));
            self.field = Field::Gap(card.saturating_add(1));
            self.chained.clear();
            self.pending.clear();
        }
    }

    /// §7.3.5: `MaxTg BrTy [InitiatorData]` → `NbTg [TargetData]`.
    fn in_list_passive_target(&mut self, p: &[u8]) -> Result<Vec<u8>, SyntaxError> {
        let &[max_tg, brty, ref initiator_data @ ..] = p else {
            return Err(SyntaxError);
        };
        if !(1..=2).contains(&max_tg) {
            return Err(SyntaxError);
        }
        // A new poll ends the session with the card activated before: it has left, and this
        // poll sees the empty field.
        if self.active_card().is_some() {
            self.end_presentation("not released before a new poll");
        }
        self.rf_on = true;
        let none = vec![0x00];
        match self.field {
            Field::Active { .. } | Field::Empty => Ok(none),
            Field::Gap(next) => {
                self.field = if next < self.cards.len() {
                    Field::Ready(next)
                } else if self.looping && !self.cards.is_empty() {
                    Field::Ready(0)
                } else {
                    Field::Empty
                };
                Ok(none)
            }
            Field::Ready(_) if brty != BRTY_106_TYPE_A => Ok(none),
            Field::Ready(card) => {
                let Some(c) = self.cards.get_mut(card) else {
                    self.field = Field::Empty;
                    return Ok(none);
                };
                let Activation { uid, ats } = c.activate();
                // InitiatorData at 106 kbps type A: the UID of the one card wanted.
                if !initiator_data.is_empty() && initiator_data != uid.as_slice() {
                    c.deactivate();
                    return Ok(none);
                }
                self.field = Field::Active { card };
                self.activations = self.activations.saturating_add(1);
                self.note(|| {
                    format!(
                        "# pn532: card {} activated, UID {}, ATS {}",
                        card + 1,
                        hex::encode_upper(&uid),
                        hex::encode_upper(&ats)
                    )
                });
                let mut r = vec![0x01, TG];
                r.extend_from_slice(&sens_res(uid.len()));
                r.push(SEL_RES);
                r.push(u8::try_from(uid.len()).unwrap_or(0));
                r.extend_from_slice(&uid);
                r.extend_from_slice(&ats);
                Ok(r)
            }
        }
    }

    /// §7.3.8: `Tg [DataOut]` → `Status [DataIn]`, with the MI bit for chaining in both
    /// directions: a Tg with MI means more of the C-APDU follows; a status with MI means more
    /// of the R-APDU waits, and the host fetches it with InDataExchange carrying no data
    /// (AN10609 §3.3.7.4).
    fn in_data_exchange(&mut self, p: &[u8]) -> Result<Vec<u8>, SyntaxError> {
        let Some((&tg, data_out)) = p.split_first() else {
            return Err(SyntaxError);
        };
        // No target, or not ours: 27, "unknown target number" (§7.1), as a real PN532
        // answers InDataExchange before any InListPassiveTarget.
        let Some(card) = self.active_card() else {
            return Ok(vec![ErrorCode::WRONG_CONTEXT.0]);
        };
        if tg & TG_MASK != TG {
            return Ok(vec![ErrorCode::WRONG_CONTEXT.0]);
        }
        if data_out.is_empty() && tg & MI == 0 && !self.pending.is_empty() {
            // The host fetches the rest of an answer sent with MI.
            let rest = std::mem::take(&mut self.pending);
            return Ok(self.data_in(rest));
        }
        self.pending.clear();
        if self.chained.len().saturating_add(data_out.len()) > MAX_CAPDU {
            self.chained.clear();
            return Ok(vec![ErrorCode::BUFFER_SIZE_INSUFFICIENT.0]);
        }
        self.chained.extend_from_slice(data_out);
        if tg & MI != 0 {
            // More of the C-APDU comes in the next frame.
            return Ok(vec![ErrorCode::OK.0]);
        }
        let capdu = std::mem::take(&mut self.chained);
        let n = match self.cards.get_mut(card) {
            Some(c) => c.transmit(&capdu, &mut self.rapdu),
            None => 0,
        };
        let Some(rapdu) = self.rapdu.get(..n).filter(|r| !r.is_empty()) else {
            self.note(|| format!("> {}\n# (no answer)", hex::encode_upper(&capdu)));
            return Ok(vec![ErrorCode::TIMEOUT.0]);
        };
        let rapdu = rapdu.to_vec();
        self.note(|| {
            format!(
                "> {}\n< {}",
                hex::encode_upper(&capdu),
                hex::encode_upper(&rapdu)
            )
        });
        Ok(self.data_in(rapdu))
    }

    /// Status and the first [`MAX_DATA_IN`] bytes of `rapdu`; the rest waits with MI set.
    fn data_in(&mut self, mut rapdu: Vec<u8>) -> Vec<u8> {
        let status = if rapdu.len() > MAX_DATA_IN {
            self.pending = rapdu.split_off(MAX_DATA_IN);
            ErrorCode::OK.0 | MI
        } else {
            ErrorCode::OK.0
        };
        let mut r = Vec::with_capacity(rapdu.len().saturating_add(1));
        r.push(status);
        r.extend_from_slice(&rapdu);
        r
    }
}
