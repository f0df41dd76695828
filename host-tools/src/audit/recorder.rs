//! The recorder: a card between the reader under test and a test card that writes down every
//! exchange, each command named in NXP's terms, and the card's deliberate fault on it.

use desfire_core::wire::{CLA_NATIVE, Ins};

use super::behaviour::{Behaving, frame};
use super::model::ExchangeStep;
use crate::trace::commands::iso_command_name;
use crate::virtual_card::VirtualCard;
use crate::vpcd::{GET_DATA_CLA, GET_DATA_INS};

/// The ISO/IEC 7816-4 class byte (ISO commands such as SELECT).
const CLA_ISO: u8 = 0x00;

/// The command of a C-APDU in NXP's terms, with its key or file number where it has one:
/// `AuthenticateEV2First key 01`, `ReadData file 01`, `ISOSelectFile`; a native frame is
/// named the same, with `(native)`.
pub fn command_name(capdu: &[u8]) -> String {
    match capdu {
        [CLA_ISO, ins, ..] => {
            return iso_command_name(*ins)
                .map_or_else(|| format!("ISO INS {ins:02X}"), str::to_owned);
        }
        [GET_DATA_CLA, GET_DATA_INS, ..] => return "GET DATA (PC/SC)".into(),
        _ => {}
    }
    // A malformed wrapped frame is still named by what it starts with.
    let c = match (frame::command(capdu), capdu) {
        (Some(c), _) => c,
        (None, [CLA_NATIVE, ins, ..]) => frame::Command {
            framing: frame::Framing::Wrapped,
            ins: *ins,
            data: capdu.get(5..).unwrap_or_default(),
        },
        (None, [cla, ins, ..]) => return format!("CLA {cla:02X} INS {ins:02X}"),
        (None, _) => return "(short frame)".into(),
    };
    let ins = Ins(c.ins);
    let name = ins
        .name()
        .map_or_else(|| format!("INS {:02X}", c.ins), str::to_owned);
    let name = match (ins, c.data.first()) {
        (
            Ins::AUTHENTICATE_EV2_FIRST
            | Ins::AUTHENTICATE_EV2_NON_FIRST
            | Ins::AUTHENTICATE_LEGACY
            | Ins::AUTHENTICATE_ISO
            | Ins::AUTHENTICATE_AES
            | Ins::GET_KEY_VERSION
            | Ins::CHANGE_KEY,
            Some(k),
        ) => format!("{name} key {k:02X}"),
        (
            Ins::READ_DATA
            | Ins::READ_DATA_ISO
            | Ins::WRITE_DATA
            | Ins::WRITE_DATA_ISO
            | Ins::READ_RECORDS
            | Ins::READ_RECORDS_ISO
            | Ins::GET_FILE_SETTINGS,
            Some(f),
        ) => format!("{name} file {f:02X}"),
        (Ins::SELECT_APPLICATION, _) => match c.data.get(..3) {
            Some([a, b, c]) => format!("{name} {c:02X}{b:02X}{a:02X}"),
            _ => name,
        },
        _ => name,
    };
    match c.framing {
        frame::Framing::Wrapped => name,
        frame::Framing::Native => format!("{name} (native)"),
    }
}

/// A card between the reader and a test card that writes down every exchange and the card's
/// deliberate fault on it.
#[derive(Debug)]
pub struct Recorder<'a, C> {
    card: &'a mut Behaving<C>,
    steps: Vec<ExchangeStep>,
}

impl<'a, C: VirtualCard> Recorder<'a, C> {
    /// Records `card`.
    pub fn new(card: &'a mut Behaving<C>) -> Self {
        Self {
            card,
            steps: Vec::new(),
        }
    }

    /// The exchange so far.
    pub fn into_steps(self) -> Vec<ExchangeStep> {
        self.steps
    }
}

impl<C: VirtualCard> VirtualCard for Recorder<'_, C> {
    fn atr(&self) -> &[u8] {
        self.card.atr()
    }
    fn power_on(&mut self) {
        self.card.power_on();
    }
    fn power_off(&mut self) {
        self.card.power_off();
    }
    fn reset(&mut self) {
        self.card.reset();
    }
    fn anticollision_uid(&self) -> &[u8] {
        self.card.anticollision_uid()
    }
    fn answered_by_reader(&mut self, capdu: &[u8], rapdu: &[u8]) {
        // Through PC/SC the reader reads the anticollision UID with GET DATA: part of what it
        // did with the card, though the card never saw it.
        self.steps.push(ExchangeStep::new(capdu, rapdu, None));
        self.card.answered_by_reader(capdu, rapdu);
    }
    fn transmit(&mut self, capdu: &[u8], rapdu: &mut [u8]) -> usize {
        let n = self.card.transmit(capdu, rapdu);
        let fault = self.card.take_fault();
        let step = ExchangeStep::new(capdu, rapdu.get(..n).unwrap_or(&[]), fault);
        self.steps.push(step);
        n
    }
}

impl ExchangeStep {
    /// One command/response pair as the report shows it, the command named in NXP's terms.
    fn new(capdu: &[u8], rapdu: &[u8], fault: Option<String>) -> Self {
        Self {
            command: hex::encode_upper(capdu),
            response: hex::encode_upper(rapdu),
            command_name: command_name(capdu),
            fault,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_named_in_nxp_terms() {
        assert_eq!(
            command_name(&[0x90, 0x71, 0, 0, 2, 1, 0, 0]),
            "AuthenticateEV2First key 01"
        );
        assert_eq!(
            command_name(&[0x90, 0x5A, 0, 0, 3, 0x01, 0xC5, 0x0A, 0]),
            "SelectApplication 0AC501"
        );
        assert!(command_name(&[0x90, 0xAD, 0, 0, 0x0F, 1]).ends_with(" file 01"));
        assert_eq!(command_name(&[0x00, 0xB0, 0, 0, 0]), "ISOReadBinary");
        assert_eq!(command_name(&[0x90]), "(short frame)");
        assert_eq!(
            command_name(&[0x71, 1, 0]),
            "AuthenticateEV2First key 01 (native)"
        );
    }
}
