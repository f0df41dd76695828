//! The audit's reports: a terminal table, and `--report FILE` as JSON, Markdown, a
//! self-contained HTML page or JUnit XML, chosen by the file's extension.
//!
//! Every string of an [`AuditReport`] is untrusted: reader names are command lines the user
//! typed or a vendor's firmware reported, card fields may echo bytes from the reader. Each format
//! escapes them its own way (HTML and XML escaping, Markdown backslashes); all of them first make
//! control characters visible ([`printable`]) so that no report can carry a terminal escape
//! sequence or a character XML 1.0 forbids.
//!
//! - [`table()`]: the terminal table.
//! - [`markdown`], [`html`], [`junit`]: one module per file format; JSON is serde's.

pub mod html;
pub mod junit;
pub mod markdown;
pub mod table;

use std::borrow::Cow;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::model::{AuditReport, ExchangeStep, Outcome};

pub use self::table::table;

/// A report file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `.json`: the stable machine interface, the model as serde writes it.
    Json,
    /// `.md`: verdict table and per-card exchange tables.
    Markdown,
    /// `.html`, `.htm`: one self-contained page an auditor can hand to a vendor.
    Html,
    /// `.xml`: JUnit XML, one test case per card, for CI systems.
    JUnit,
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file name does not say which format to write.
    #[error(
        "{path}: cannot tell the report format from the extension (use .json, .md, .html, .htm or .xml)"
    )]
    UnknownExtension {
        /// The report path given.
        path: PathBuf,
    },
    /// Creating, writing or renaming the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The report path given.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
}

impl Format {
    /// The format a report path asks for, by its extension (case-insensitive).
    pub fn from_path(path: &Path) -> Result<Self, ReportError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("json") => Ok(Self::Json),
            Some("md") => Ok(Self::Markdown),
            Some("html" | "htm") => Ok(Self::Html),
            Some("xml") => Ok(Self::JUnit),
            _ => Err(ReportError::UnknownExtension {
                path: path.to_owned(),
            }),
        }
    }
}

/// The report in `format`, ending with a newline.
pub fn render(format: Format, report: &AuditReport) -> String {
    match format {
        Format::Json => json(report),
        Format::Markdown => markdown::render(report),
        Format::Html => html::render(report),
        Format::JUnit => junit::render(report),
    }
}

/// Writes the report to `path` in the format its extension names, atomically: a temporary file
/// in the same directory, written and synced, then renamed over `path`, and the directory synced.
/// A crash or a full disk leaves the old report or none, never half of one (a CI system must not
/// read a truncated JUnit file as "fewer tests"). The file is mode 644 on Unix: a report is meant
/// to be shared.
pub fn write(path: &Path, report: &AuditReport) -> Result<(), ReportError> {
    let format = Format::from_path(path)?;
    let text = render(format, report);
    let io = |source| ReportError::Io {
        path: path.to_owned(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".report-");
    // A report is meant to be shared: readable by others like any file the user writes, not
    // tempfile's owner-only default.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut tmp = builder.tempfile_in(dir).map_err(io)?;
    tmp.write_all(text.as_bytes()).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    // On failure the temporary file is removed when `tmp` drops.
    tmp.persist(path).map_err(|e| io(e.error))?;
    crate::card_image::sync_dir(dir).map_err(io)
}

/// The shape, `{"pass","reader","profile","path","cards":[{"id","name","requirement",
/// "expected","observed","pass","detail","exchange"}]}`, pretty-printed.
fn json(report: &AuditReport) -> String {
    match serde_json::to_string_pretty(report) {
        Ok(mut text) => {
            text.push('\n');
            text
        }
        // Unreachable: the model is strings, booleans and vectors, which serde_json always
        // serialises. Still a well-formed JSON answer rather than a panic.
        Err(e) => format!("{}\n", serde_json::json!({ "error": e.to_string() })),
    }
}

/// `text` with every control character written as its Rust escape (`\n`, `\u{1b}`): a report
/// field is one line, must not move a terminal's cursor or colour it, and XML 1.0 forbids most
/// control characters even as character references.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().saturating_add(8));
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Hex as the model holds it (`9071000000`) in byte groups (`90 71 00 00 00`); anything that is
/// not hex is returned as printable text, unchanged otherwise.
pub fn hex_bytes(hex: &str) -> Cow<'_, str> {
    let is_hex = hex.len().is_multiple_of(2) && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if !is_hex || hex.len() <= 2 {
        return printable(hex);
    }
    let mut out = String::with_capacity(hex.len().saturating_mul(3) / 2);
    for (i, c) in hex.chars().enumerate() {
        if i > 0 && i.is_multiple_of(2) {
            out.push(' ');
        }
        out.push(c.to_ascii_uppercase());
    }
    Cow::Owned(out)
}

/// The card's answer to one step in words: `91AF ADDITIONAL_FRAME`, `9000 success`, or
/// `no answer`. `None` when the response is not hex or too short to hold a status word.
pub fn response_status(step: &ExchangeStep) -> Option<String> {
    if step.response.is_empty() {
        return Some("no answer".to_owned());
    }
    let response = crate::hex_text::decode(&step.response).ok()?;
    let command = crate::hex_text::decode(&step.command)
        .ok()
        .unwrap_or_default();
    if let Some(c) = crate::audit::behaviour::frame::command(&command)
        && c.framing == crate::audit::behaviour::frame::Framing::Native
    {
        // A native answer starts with its status.
        let status = *response.first()?;
        return Some(format!(
            "{status:02X} {}",
            crate::trace::status_name(0x90, [0x91, status])
        ));
    }
    let cla = command.first().copied().unwrap_or(0x00);
    let [.., sw1, sw2] = *response.as_slice() else {
        return None;
    };
    Some(format!(
        "{sw1:02X}{sw2:02X} {}",
        crate::trace::status_name(cla, [sw1, sw2])
    ))
}

/// `passed`, `failed` and `inconclusive` as the summary line every format ends with.
pub fn summary(report: &AuditReport) -> String {
    let mut s = format!("{} passed, {} failed", report.passed(), report.failed());
    if report.inconclusive() > 0 {
        s.push_str(&format!(
            ", {} inconclusive (the card's fault never reached the reader: no verdict on what \
             it tests)",
            report.inconclusive()
        ));
    }
    s
}

/// PASS, FAIL or INCONCLUSIVE: the word, so that a verdict never depends on colour alone.
pub fn verdict(outcome: Outcome) -> &'static str {
    outcome.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_by_extension() {
        for (path, format) in [
            ("r.json", Format::Json),
            ("dir/r.md", Format::Markdown),
            ("r.html", Format::Html),
            ("R.HTM", Format::Html),
            ("junit.xml", Format::JUnit),
        ] {
            assert_eq!(
                Format::from_path(Path::new(path)).unwrap(),
                format,
                "{path}"
            );
        }
        for path in ["report", "report.txt", "report.json.bak", ".html/"] {
            assert!(
                matches!(
                    Format::from_path(Path::new(path)),
                    Err(ReportError::UnknownExtension { .. })
                ),
                "{path}"
            );
        }
    }

    #[test]
    fn control_characters_become_visible() {
        assert_eq!(printable("GRANT 1A2B"), "GRANT 1A2B");
        assert_eq!(printable("a\nb\u{1b}[31mc\0"), "a\\nb\\u{1b}[31mc\\u{0}");
    }

    #[test]
    fn hex_in_byte_groups() {
        assert_eq!(hex_bytes("90710000"), "90 71 00 00");
        assert_eq!(hex_bytes("9aaf"), "9A AF");
        assert_eq!(hex_bytes("91"), "91");
        assert_eq!(hex_bytes("9071F"), "9071F");
        assert_eq!(hex_bytes("<b>"), "<b>");
    }

    #[test]
    fn response_names() {
        let step = |command: &str, response: &str| ExchangeStep {
            command: command.to_owned(),
            response: response.to_owned(),
            command_name: String::new(),
            fault: None,
        };
        assert_eq!(
            response_status(&step("90AA0000010000", "0011223391AF")).as_deref(),
            Some("91AF ADDITIONAL_FRAME")
        );
        assert_eq!(
            response_status(&step("00A4040007D276000085010100", "6A82")).as_deref(),
            Some(format!("6A82 {}", crate::trace::status_name(0, [0x6A, 0x82])).as_str())
        );
        assert_eq!(
            response_status(&step("9060000000", "")).as_deref(),
            Some("no answer")
        );
        assert_eq!(response_status(&step("9060000000", "91")), None);
        assert_eq!(
            response_status(&step("60", "AF04010133001A05")).as_deref(),
            Some("AF ADDITIONAL_FRAME")
        );
        assert_eq!(response_status(&step("9060000000", "zz")), None);
    }
}
