//! The trace text format: one frame per line.
//!
//! ```text
//! # a comment; blank lines are ignored
//! > 90 71 00 00 02 00 00 00           C-APDU from the reader
//! < A04C124213C186F22399D33AC2A30215 91AF   R-APDU from the card: data || SW1 SW2
//! ```
//!
//! Whitespace may appear anywhere in the hex, and `#` starts a comment anywhere on a line. Every
//! line that is not a usable frame becomes a [`LineError`]; parsing never stops early.

use crate::hex_text::{self, HexError};

/// Why a line is not a usable frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LineErrorKind {
    /// The line starts with neither `>` nor `<`.
    #[error("a frame line starts with '>' (command) or '<' (response)")]
    NoDirection,
    /// The hex after the marker is malformed.
    #[error("{0}")]
    Hex(HexError),
    /// Nothing after the marker.
    #[error("no bytes after the direction marker")]
    Empty,
    /// A C-APDU shorter than `CLA INS P1 P2`.
    #[error("C-APDU of {0} byte(s) is shorter than CLA INS P1 P2")]
    CommandTooShort(usize),
    /// The C-APDU's Lc does not match the bytes present.
    #[error("C-APDU Lc announces {lc} data byte(s) but {present} byte(s) follow it")]
    LcMismatch {
        /// The announced data length.
        lc: usize,
        /// Bytes after the Lc field.
        present: usize,
    },
    /// An R-APDU without a complete status word.
    #[error("R-APDU of {0} byte(s) has no status word")]
    ResponseTooShort(usize),
    /// A response with no command before it.
    #[error("response without a command before it")]
    UnexpectedResponse,
}

/// A line that could not be used, with its 1-based number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {kind}")]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with it.
    pub kind: LineErrorKind,
}

/// A C-APDU, split per ISO/IEC 7816-4 (short or extended length).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandFrame {
    /// 1-based line number.
    pub line: usize,
    /// Class byte: `90` for wrapped native commands, `00` for ISO commands.
    pub cla: u8,
    /// Instruction byte.
    pub ins: u8,
    /// Command data (the bytes Lc announces).
    pub data: Vec<u8>,
    /// Where the data starts in [`Self::raw`] (after CLA INS P1 P2 and Lc).
    pub data_start: usize,
    /// The frame as written.
    pub raw: Vec<u8>,
}

/// An R-APDU: data and status word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseFrame {
    /// 1-based line number.
    pub line: usize,
    /// Response data, without the status word.
    pub data: Vec<u8>,
    /// SW1 SW2.
    pub sw: [u8; 2],
    /// The frame as written.
    pub raw: Vec<u8>,
}

/// One meaningful line of a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `> HEX`
    Command(CommandFrame),
    /// `< HEX`
    Response(ResponseFrame),
    /// A line that is not a usable frame.
    Error(LineError),
}

/// Splits a trace into frames and line errors, in line order.
pub fn parse(text: &str) -> Vec<Item> {
    let mut items = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let number = i.saturating_add(1);
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        items.push(match parse_line(number, content) {
            Ok(item) => item,
            Err(kind) => Item::Error(LineError { line: number, kind }),
        });
    }
    items
}

fn parse_line(line: usize, content: &str) -> Result<Item, LineErrorKind> {
    let (is_command, hex) = if let Some(rest) = content.strip_prefix('>') {
        (true, rest)
    } else if let Some(rest) = content.strip_prefix('<') {
        (false, rest)
    } else {
        return Err(LineErrorKind::NoDirection);
    };
    let raw = hex_text::decode(hex).map_err(LineErrorKind::Hex)?;
    if raw.is_empty() {
        return Err(LineErrorKind::Empty);
    }
    if is_command {
        let (cla, ins, data_start, data) = split_capdu(&raw)?;
        Ok(Item::Command(CommandFrame {
            line,
            cla,
            ins,
            data: data.to_vec(),
            data_start,
            raw,
        }))
    } else {
        let (data, sw) = raw
            .split_last_chunk::<2>()
            .ok_or(LineErrorKind::ResponseTooShort(raw.len()))?;
        Ok(Item::Response(ResponseFrame {
            line,
            data: data.to_vec(),
            sw: *sw,
            raw: raw.clone(),
        }))
    }
}

/// `CLA INS P1 P2 [Lc data] [Le]`, with short (1-byte) or extended (`00 Lc1 Lc2`) lengths.
/// Returns CLA, INS, where the data starts, and the data.
fn split_capdu(raw: &[u8]) -> Result<(u8, u8, usize, &[u8]), LineErrorKind> {
    let ([cla, ins, _p1, _p2], body) = raw
        .split_first_chunk::<4>()
        .ok_or(LineErrorKind::CommandTooShort(raw.len()))?;
    let (start, data) = match body {
        // Case 1 (no data, no Le), case 2 short (Le only) and case 2 extended (`00 Le1 Le2`).
        [] | [_] | [0, _, _] => (raw.len(), &[][..]),
        // Extended Lc: `00 Lc1 Lc2 data [Le1 Le2]`.
        [0, hi, lo, rest @ ..] => (
            7,
            take_data(usize::from(u16::from_be_bytes([*hi, *lo])), rest, 2)?,
        ),
        [lc, rest @ ..] => (5, take_data(usize::from(*lc), rest, 1)?),
    };
    Ok((*cla, *ins, start, data))
}

/// The `lc` data bytes at the start of `rest`, which may be followed by an Le of `le_len` bytes.
fn take_data(lc: usize, rest: &[u8], le_len: usize) -> Result<&[u8], LineErrorKind> {
    let mismatch = LineErrorKind::LcMismatch {
        lc,
        present: rest.len(),
    };
    if lc == 0 {
        return Err(mismatch);
    }
    match rest.split_at_checked(lc) {
        Some((data, le)) if le.is_empty() || le.len() == le_len => Ok(data),
        _ => Err(mismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    fn one(line: &str) -> Item {
        let mut items = parse(line);
        assert_eq!(items.len(), 1, "{items:?}");
        items.remove(0)
    }

    #[test]
    fn frames_and_comments() {
        let items = parse(
            "# AN12196 Table 14\n\n> 90 71 00 00 02 00 00 00  # key 0\n< A04C124213C186F22399D33AC2A30215 91AF\n",
        );
        assert_eq!(items.len(), 2);
        let Item::Command(c) = &items[0] else {
            panic!()
        };
        assert_eq!((c.line, c.cla, c.ins), (3, 0x90, 0x71));
        assert_eq!(c.data, [0x00, 0x00]);
        let Item::Response(r) = &items[1] else {
            panic!()
        };
        assert_eq!(r.line, 4);
        assert_eq!(r.sw, [0x91, 0xAF]);
        assert_eq!(r.data, hex!("A04C124213C186F22399D33AC2A30215"));
    }

    #[test]
    fn apdu_cases() {
        let data = |line: &str| match one(line) {
            Item::Command(c) => c.data,
            other => panic!("{other:?}"),
        };
        assert_eq!(data("> 9060 0000"), Vec::<u8>::new());
        assert_eq!(data("> 90AF000000"), Vec::<u8>::new());
        assert_eq!(data("> 905A0000 03 01C50A"), hex!("01C50A"));
        assert_eq!(data("> 905A0000 03 01C50A 00"), hex!("01C50A"));
        assert_eq!(data("> 00A4000C 02 E104"), hex!("E104"));
        // Extended length.
        assert_eq!(data("> 905A0000 000003 01C50A 0000"), hex!("01C50A"));
        assert_eq!(data("> 90600000 000000"), Vec::<u8>::new());
    }

    #[test]
    fn typed_line_errors() {
        let err = |line: &str| match one(line) {
            Item::Error(e) => e.kind,
            other => panic!("{other:?}"),
        };
        assert_eq!(err("90 71 00 00"), LineErrorKind::NoDirection);
        assert_eq!(err("> 90 71 0"), LineErrorKind::Hex(HexError::OddLength(5)));
        assert!(matches!(
            err("< zz"),
            LineErrorKind::Hex(HexError::BadDigit { .. })
        ));
        assert_eq!(err(">"), LineErrorKind::Empty);
        assert_eq!(err("> 9071"), LineErrorKind::CommandTooShort(2));
        assert_eq!(err("< 91"), LineErrorKind::ResponseTooShort(1));
        assert_eq!(
            err("> 90AF0000 20 1122 00"),
            LineErrorKind::LcMismatch { lc: 32, present: 3 }
        );
        assert_eq!(
            err("> 905A0000 02 01C50A 00"),
            LineErrorKind::LcMismatch { lc: 2, present: 4 }
        );
        assert_eq!(
            err("> 905A0000 00 01"),
            LineErrorKind::LcMismatch { lc: 0, present: 1 }
        );
        let Item::Error(e) = one("hello") else {
            panic!()
        };
        assert_eq!(
            e.to_string(),
            "line 1: a frame line starts with '>' (command) or '<' (response)"
        );
    }
}
