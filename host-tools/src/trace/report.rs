//! What the decoder found, and its two renderings: human text and JSON.
//!
//! Session keys appear only in the JSON rendering: the user supplied the key, and lab work needs
//! them, but text output ends up in screenshots and bug reports. For the same reason the human
//! rendering withholds ChangeKey key data, which the JSON carries in `plain`.

use std::io::{self, Write};

use desfire_core::crypto::ev2::{CmdCtr, SessionKeys, Ti};
use desfire_core::wire::CommMode;
use serde::Serialize;

use super::assemble::RawFrame;
use super::error::ExchangeError;
use super::text::LineError;
use crate::hex_text::upper;

/// How the MACs of an exchange fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacVerdict {
    /// Every MAC the comm mode calls for verified.
    Ok,
    /// A MAC the comm mode calls for is missing or wrong.
    Bad,
    /// No MAC is involved (plain, or outside a followed session), or the response has none to
    /// verify (the bare `9100` of ChangeKey of the authenticated key, AN12196 Table 27: its
    /// command MAC verified).
    None,
}

impl MacVerdict {
    /// `ok`, `bad` or `none`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Bad => "bad",
            Self::None => "none",
        }
    }
}

/// How a followed session began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionOrigin {
    /// AuthenticateEV2First: new TI, CmdCtr 0.
    Ev2First,
    /// AuthenticateEV2NonFirst: TI and CmdCtr kept.
    Ev2NonFirst,
    /// `--session`: the trace starts inside a session.
    Given,
}

impl SessionOrigin {
    /// The name used in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ev2First => "AuthenticateEV2First",
            Self::Ev2NonFirst => "AuthenticateEV2NonFirst",
            Self::Given => "--session",
        }
    }
}

/// A session the decoder followed.
#[derive(Debug, Clone)]
pub struct SessionReport {
    /// Key number authenticated.
    pub key_no: u8,
    /// Transaction identifier.
    pub ti: Ti,
    /// SesAuthENCKey and SesAuthMACKey (JSON output only).
    pub keys: SessionKeys,
    /// CmdCtr at the start of the session.
    pub cmd_ctr: CmdCtr,
    /// How it began.
    pub origin: SessionOrigin,
    /// The exchange that completed the authentication (`None` for `--session`).
    pub exchange: Option<usize>,
}

/// One exchange as decoded.
#[derive(Debug, Clone)]
pub struct ExchangeReport {
    /// 0-based position among the exchanges.
    pub index: usize,
    /// First and last line (1-based).
    pub lines: (usize, usize),
    /// The frames as written.
    pub frames: Vec<RawFrame>,
    /// CLA of the first command frame.
    pub cla: u8,
    /// INS of the first command frame.
    pub ins: u8,
    /// Command name.
    pub name: String,
    /// Final status word.
    pub sw: Option<[u8; 2]>,
    /// Name of the status word.
    pub status_name: Option<String>,
    /// The comm mode the exchange used.
    pub comm_mode: CommMode,
    /// MAC verification.
    pub mac: MacVerdict,
    /// The counter the command used, inside a followed session (`None` for commands that are not
    /// counted and outside sessions).
    pub cmd_ctr: Option<CmdCtr>,
    /// The followed session the exchange belongs to (index into the sessions).
    pub session: Option<usize>,
    /// The command header (never encrypted).
    pub header: Option<Vec<u8>>,
    /// Command data after the header, in clear; `None` when it could not be verified.
    pub plain: Option<Vec<u8>>,
    /// Response data in clear, without MAC or padding; `None` when it could not be verified.
    pub resp_plain: Option<Vec<u8>>,
    /// `plain` is ChangeKey key data: withheld from the human rendering.
    pub plain_is_key_data: bool,
    /// Session events, in order.
    pub events: Vec<String>,
    /// Why the exchange could not be followed.
    pub error: Option<ExchangeError>,
}

/// Everything the decoder found in a trace.
#[derive(Debug, Clone, Default)]
pub struct Decoded {
    /// Sessions followed, in order.
    pub sessions: Vec<SessionReport>,
    /// Exchanges, in order.
    pub exchanges: Vec<ExchangeReport>,
    /// Lines that were not usable frames.
    pub line_errors: Vec<LineError>,
}

#[derive(Serialize)]
struct JsonTrace<'a> {
    sessions: Vec<JsonSession>,
    exchanges: Vec<JsonExchange<'a>>,
    line_errors: Vec<JsonLineError>,
}

#[derive(Serialize)]
struct JsonSession {
    key_no: u8,
    ti: String,
    ses_enc: String,
    ses_mac: String,
    cmd_ctr: u16,
    via: &'static str,
    exchange: Option<usize>,
}

#[derive(Serialize)]
struct JsonExchange<'a> {
    index: usize,
    lines: [usize; 2],
    cla: String,
    ins: String,
    name: &'a str,
    status: Option<String>,
    status_name: Option<&'a str>,
    comm_mode: &'static str,
    mac: &'static str,
    cmd_ctr: Option<u16>,
    session: Option<usize>,
    header: Option<String>,
    plain: Option<String>,
    resp_plain: Option<String>,
    events: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct JsonLineError {
    line: usize,
    error: String,
}

impl Decoded {
    /// Whether every line was usable and every exchange followed.
    pub fn fully_followed(&self) -> bool {
        self.line_errors.is_empty() && self.exchanges.iter().all(|e| e.error.is_none())
    }

    /// Exchanges that could not be followed.
    pub fn failed_exchanges(&self) -> usize {
        self.exchanges.iter().filter(|e| e.error.is_some()).count()
    }

    /// The JSON rendering as a value (see [`Self::to_json_pretty`] for the fields).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.json_view()).unwrap_or(serde_json::Value::Null)
    }

    /// The JSON rendering, pretty-printed with fields in a fixed order:
    /// `{"sessions": […], "exchanges": […], "line_errors": […]}`.
    ///
    /// Each session has `key_no`, `ti`, `ses_enc`, `ses_mac`, `cmd_ctr` (at its start), `via` and
    /// `exchange`. Each exchange has `index`, `lines`, `cla`, `ins` (2 hex digits), `name`,
    /// `status` (4 hex digits, `null` without a response), `status_name`, `comm_mode` (`plain`,
    /// `mac` or `full`), `mac` (`ok`, `bad` or `none`), `cmd_ctr`, `session`, `header`, `plain`
    /// (command data after the header, in clear), `resp_plain` (response data in clear, without
    /// MAC or padding) and `events`; `header`, `plain` and `resp_plain` are `null` when not
    /// available (data whose MAC did not verify is never shown). `error` is present only on
    /// exchanges that could not be followed. Hex is uppercase. Contains the session keys.
    pub fn to_json_pretty(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(&self.json_view())
    }

    fn json_view(&self) -> JsonTrace<'_> {
        JsonTrace {
            sessions: self
                .sessions
                .iter()
                .map(|s| JsonSession {
                    key_no: s.key_no,
                    ti: s.ti.to_string(),
                    ses_enc: upper(s.keys.enc.expose()),
                    ses_mac: upper(s.keys.mac.expose()),
                    cmd_ctr: s.cmd_ctr.0,
                    via: s.origin.as_str(),
                    exchange: s.exchange,
                })
                .collect(),
            exchanges: self
                .exchanges
                .iter()
                .map(|e| JsonExchange {
                    index: e.index,
                    lines: [e.lines.0, e.lines.1],
                    cla: format!("{:02X}", e.cla),
                    ins: format!("{:02X}", e.ins),
                    name: &e.name,
                    status: e.sw.map(|sw| upper(&sw)),
                    status_name: e.status_name.as_deref(),
                    comm_mode: e.comm_mode.as_str(),
                    mac: e.mac.as_str(),
                    cmd_ctr: e.cmd_ctr.map(|c| c.0),
                    session: e.session,
                    header: e.header.as_deref().map(upper),
                    plain: e.plain.as_deref().map(upper),
                    resp_plain: e.resp_plain.as_deref().map(upper),
                    events: &e.events,
                    error: e.error.map(|err| err.to_string()),
                })
                .collect(),
            line_errors: self
                .line_errors
                .iter()
                .map(|l| JsonLineError {
                    line: l.line,
                    error: l.kind.to_string(),
                })
                .collect(),
        }
    }

    /// The human rendering: one block per exchange, line errors where they occur, a summary.
    /// Never prints session keys or ChangeKey key data.
    pub fn write_human(&self, w: &mut dyn Write) -> io::Result<()> {
        let mut line_errors = self.line_errors.iter().peekable();
        for e in &self.exchanges {
            while let Some(l) = line_errors.next_if(|l| l.line < e.lines.0) {
                writeln!(w, "line {}: not a usable frame: {}\n", l.line, l.kind)?;
            }
            write_exchange(w, e, self.sessions.get(e.session.unwrap_or(usize::MAX)))?;
        }
        for l in line_errors {
            writeln!(w, "line {}: not a usable frame: {}\n", l.line, l.kind)?;
        }
        writeln!(
            w,
            "{} exchange(s), {} session(s) followed; {} exchange(s) and {} line(s) could not be followed",
            self.exchanges.len(),
            self.sessions.len(),
            self.failed_exchanges(),
            self.line_errors.len()
        )
    }
}

/// Label column width of the human rendering.
const LABEL: usize = 9;
/// Bytes per line of a hex dump.
const DUMP_WIDTH: usize = 16;
/// Bytes per line of a raw frame.
const FRAME_WIDTH: usize = 32;

fn write_exchange(
    w: &mut dyn Write,
    e: &ExchangeReport,
    session: Option<&SessionReport>,
) -> io::Result<()> {
    let lines = if e.lines.0 == e.lines.1 {
        format!("line {}", e.lines.0)
    } else {
        format!("lines {}-{}", e.lines.0, e.lines.1)
    };
    writeln!(
        w,
        "[{}] {}  (CLA {:02X} INS {:02X}, {lines})",
        e.index, e.name, e.cla, e.ins
    )?;
    for f in &e.frames {
        write_frame(w, f)?;
    }
    let status = match (e.sw, &e.status_name) {
        (Some(sw), Some(name)) => format!("{} {name}", upper(&sw)),
        (Some(sw), None) => upper(&sw),
        (None, _) => "(no response)".to_owned(),
    };
    label(w, "status", &status)?;
    let mut mode = format!("{}, MAC {}", e.comm_mode, e.mac.as_str());
    match (e.cmd_ctr, session) {
        (Some(ctr), Some(s)) => mode.push_str(&format!(
            ", CmdCtr {} (session {}, key {}, TI {})",
            ctr.0,
            e.session.unwrap_or(0),
            s.key_no,
            s.ti
        )),
        (None, Some(s)) => mode.push_str(&format!(
            " (session {}, key {}, TI {})",
            e.session.unwrap_or(0),
            s.key_no,
            s.ti
        )),
        _ => {}
    }
    label(w, "mode", &mode)?;
    if let Some(h) = e.header.as_deref().filter(|h| !h.is_empty()) {
        label(w, "header", &upper(h))?;
    }
    match &e.plain {
        Some(p) if e.plain_is_key_data => label(
            w,
            "data",
            &format!(
                "[{} bytes of key data, withheld here; --json shows them]",
                p.len()
            ),
        )?,
        Some(p) if !p.is_empty() => dump(w, "data", p)?,
        None if e.mac == MacVerdict::Bad => label(w, "data", "(withheld: not verified)")?,
        _ => {}
    }
    match &e.resp_plain {
        Some(p) if !p.is_empty() => dump(w, "response", p)?,
        None if e.mac == MacVerdict::Bad => label(w, "response", "(withheld: not verified)")?,
        _ => {}
    }
    for ev in &e.events {
        label(w, "session", ev)?;
    }
    if let Some(err) = e.error {
        label(w, "ERROR", &err.to_string())?;
    }
    writeln!(w)
}

fn label(w: &mut dyn Write, name: &str, text: &str) -> io::Result<()> {
    writeln!(w, "    {name:<LABEL$}{text}")
}

fn write_frame(w: &mut dyn Write, f: &RawFrame) -> io::Result<()> {
    let (start, len) = f.data;
    let end = start.saturating_add(len);
    let (before, data, after) = if f.is_command {
        (
            f.bytes.get(..start.min(f.bytes.len())).unwrap_or(&[]),
            f.bytes.get(start..end).unwrap_or(&[]),
            f.bytes.get(end..).unwrap_or(&[]),
        )
    } else {
        (
            &[][..],
            f.bytes.get(..len).unwrap_or(&[]),
            f.bytes.get(len..).unwrap_or(&[]),
        )
    };
    let arrow = if f.is_command { '>' } else { '<' };
    let mut text = String::new();
    if f.is_command {
        // CLA INS P1 P2, then Lc.
        let (head, lc) = before.split_at(before.len().min(4));
        text.push_str(&upper(head));
        if !lc.is_empty() {
            text.push(' ');
            text.push_str(&upper(lc));
        }
    }
    let indent = " ".repeat(6 + text.len() + usize::from(!text.is_empty()));
    for (i, chunk) in data.chunks(FRAME_WIDTH).enumerate() {
        if i == 0 {
            if !text.is_empty() {
                text.push(' ');
            }
        } else {
            text.push('\n');
            text.push_str(&indent);
        }
        text.push_str(&upper(chunk));
    }
    if !after.is_empty() {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&upper(after));
    }
    writeln!(w, "    {arrow} {text}")
}

/// Short data on one line; longer data as an offset / hex / ASCII dump.
fn dump(w: &mut dyn Write, name: &str, bytes: &[u8]) -> io::Result<()> {
    if bytes.len() <= DUMP_WIDTH {
        return label(w, name, &upper(bytes));
    }
    label(w, name, &format!("{} bytes", bytes.len()))?;
    for (i, chunk) in bytes.chunks(DUMP_WIDTH).enumerate() {
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    char::from(b)
                } else {
                    '.'
                }
            })
            .collect();
        writeln!(
            w,
            "    {:<LABEL$}{:04X}  {:<width$}  {ascii}",
            "",
            i.saturating_mul(DUMP_WIDTH),
            upper(chunk),
            width = DUMP_WIDTH * 2
        )?;
    }
    Ok(())
}
