//! Groups frames into exchanges: one command and everything up to its final status.
//!
//! A native command answered with `91AF` continues with `90 AF …` frames until a final status;
//! the continuation frames are folded into the same exchange, command data and response data each
//! concatenated in order (the EV2 MACs cover the whole concatenation). Authentications are the
//! exception: each half is an exchange of its own, as the reader treats them.

use super::commands;
use super::text::{CommandFrame, Item, LineError, LineErrorKind, ResponseFrame};

/// `91AF`.
pub const SW_ADDITIONAL_FRAME: [u8; 2] = [0x91, 0xAF];

/// A frame as written, kept for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// 1-based line number.
    pub line: usize,
    /// `true` for `>` (command), `false` for `<` (response).
    pub is_command: bool,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Where the data field starts and how long it is: after `CLA INS P1 P2 Lc` in a command,
    /// at 0 in a response (the status word follows it).
    pub data: (usize, usize),
}

/// What is missing from an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incomplete {
    /// The command has no response.
    NoResponse,
    /// The card asked for more frames (`91AF`) but the trace does not continue the exchange.
    ChainNotFinished,
}

/// One command with its continuations and responses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawExchange {
    /// Class byte of the first command frame.
    pub cla: u8,
    /// Instruction byte of the first command frame.
    pub ins: u8,
    /// Command data of all command frames, concatenated.
    pub cmd_data: Vec<u8>,
    /// Response data of all response frames, concatenated (status words removed).
    pub resp_data: Vec<u8>,
    /// The final status word, if any response came.
    pub sw: Option<[u8; 2]>,
    /// Whether something is missing.
    pub incomplete: Option<Incomplete>,
    /// Every frame, in order.
    pub frames: Vec<RawFrame>,
}

impl RawExchange {
    fn start(c: CommandFrame) -> Self {
        let mut ex = Self {
            cla: c.cla,
            ins: c.ins,
            cmd_data: Vec::new(),
            resp_data: Vec::new(),
            sw: None,
            incomplete: None,
            frames: Vec::new(),
        };
        ex.add_command(c);
        ex
    }

    fn add_command(&mut self, c: CommandFrame) {
        self.cmd_data.extend_from_slice(&c.data);
        self.frames.push(RawFrame {
            line: c.line,
            is_command: true,
            data: (c.data_start, c.data.len()),
            bytes: c.raw,
        });
    }

    fn add_response(&mut self, r: ResponseFrame) {
        self.resp_data.extend_from_slice(&r.data);
        self.sw = Some(r.sw);
        self.frames.push(RawFrame {
            line: r.line,
            is_command: false,
            data: (0, r.data.len()),
            bytes: r.raw,
        });
    }

    /// First and last line of the exchange.
    pub fn lines(&self) -> (usize, usize) {
        let first = self.frames.first().map_or(0, |f| f.line);
        let last = self.frames.last().map_or(first, |f| f.line);
        (first, last)
    }
}

/// An exchange or a line error, in trace order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    /// A (possibly incomplete) exchange.
    Exchange(RawExchange),
    /// A line that could not be used.
    LineError(LineError),
}

/// Groups parsed lines into exchanges.
pub fn assemble(items: Vec<Item>) -> Vec<Unit> {
    let mut units = Vec::new();
    let mut items = items.into_iter().peekable();
    while let Some(item) = items.next() {
        let command = match item {
            Item::Command(c) => c,
            Item::Response(r) => {
                units.push(Unit::LineError(LineError {
                    line: r.line,
                    kind: LineErrorKind::UnexpectedResponse,
                }));
                continue;
            }
            Item::Error(e) => {
                units.push(Unit::LineError(e));
                continue;
            }
        };
        let folds = command.cla == 0x90 && !commands::is_authentication(command.ins);
        let mut ex = RawExchange::start(command);
        loop {
            match items.next_if(|i| matches!(i, Item::Response(_))) {
                Some(Item::Response(r)) => ex.add_response(r),
                _ => {
                    ex.incomplete = Some(Incomplete::NoResponse);
                    break;
                }
            }
            if !folds || ex.sw != Some(SW_ADDITIONAL_FRAME) {
                break;
            }
            match items.next_if(
                |i| matches!(i, Item::Command(c) if c.cla == 0x90 && c.ins == commands::INS_ADDITIONAL_FRAME),
            ) {
                Some(Item::Command(c)) => ex.add_command(c),
                _ => {
                    ex.incomplete = Some(Incomplete::ChainNotFinished);
                    break;
                }
            }
        }
        units.push(Unit::Exchange(ex));
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::text::parse;
    use hex_literal::hex;

    fn exchanges(text: &str) -> Vec<Unit> {
        assemble(parse(text))
    }

    #[test]
    fn folds_additional_frames() {
        let units = exchanges(
            "> 90600000 00\n< 0401 91AF\n> 90AF0000 00\n< 0402 91AF\n> 90AF000000\n< 0403 9100\n> 9045000000\n< 0B8E 9100\n",
        );
        assert_eq!(units.len(), 2);
        let Unit::Exchange(ex) = &units[0] else {
            panic!()
        };
        assert_eq!(ex.ins, 0x60);
        assert_eq!(ex.resp_data, hex!("040104020403"));
        assert_eq!(ex.sw, Some([0x91, 0x00]));
        assert_eq!(ex.frames.len(), 6);
        assert_eq!(ex.lines(), (1, 6));
        assert_eq!(ex.incomplete, None);
    }

    #[test]
    fn command_chaining_concatenates_command_data() {
        let units = exchanges("> 903D0000 03 010203 00\n< 91AF\n> 90AF0000 02 0405 00\n< 9100\n");
        let Unit::Exchange(ex) = &units[0] else {
            panic!()
        };
        assert_eq!(ex.cmd_data, hex!("0102030405"));
        assert_eq!(units.len(), 1);
    }

    #[test]
    fn authentication_halves_stay_apart() {
        let units = exchanges(
            "> 9071000002000000\n< A04C124213C186F22399D33AC2A3021591AF\n> 90AF0000 02 0102 00\n< 9100\n",
        );
        assert_eq!(units.len(), 2);
        let Unit::Exchange(second) = &units[1] else {
            panic!()
        };
        assert_eq!(second.ins, 0xAF);
    }

    #[test]
    fn missing_frames() {
        let units =
            exchanges("> 9060000000\n< 0401 91AF\n> 9045000000\n> 9045000000\n< 9100\n< 9100\n");
        let kinds: Vec<_> = units
            .iter()
            .map(|u| match u {
                Unit::Exchange(e) => format!("{:02X} {:?}", e.ins, e.incomplete),
                Unit::LineError(e) => format!("line {} {:?}", e.line, e.kind),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "60 Some(ChainNotFinished)",
                "45 Some(NoResponse)",
                "45 None",
                "line 6 UnexpectedResponse"
            ]
        );
    }
}
