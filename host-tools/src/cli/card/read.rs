//! `desfire card read`: ReadData of a data file, GetValue of a value file, ReadRecords of a
//! record file.

use super::{KEYS_AFTER_HELP, KeyArgs, ReaderArgs};

/// Arguments of `desfire card read` (described on [`super::CardCommand::Read`]).
#[derive(Debug, clap::Args)]
#[command(after_help = KEYS_AFTER_HELP)]
pub struct Args {
    /// Reader selection.
    #[command(flatten)]
    pub reader: ReaderArgs,
    /// The application's keys; authenticates when the read right is not free.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// The key number to authenticate with (default: the file's read right).
    #[arg(long, value_name = "N")]
    pub auth_key: Option<String>,
    /// The application, 6 hex digits.
    #[arg(long, value_name = "AID")]
    pub app: String,
    /// The file number, 0 to 31.
    #[arg(long, value_name = "N")]
    pub file: String,
    /// First byte to read (data files).
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    pub offset: u32,
    /// Bytes to read (data files); default: to the end of the file.
    #[arg(long, value_name = "BYTES")]
    pub length: Option<u32>,
    /// Comm mode (plain, mac, full); default: from the file's settings.
    #[arg(long, value_name = "MODE")]
    pub comm: Option<String>,
    /// Print one JSON object instead of hex.
    #[arg(long)]
    pub json: bool,
}

/// Bytes per ReadData: well inside the driver's buffers in every comm mode.
#[cfg(feature = "pcsc")]
const CHUNK: u32 = 192;

/// Runs `desfire card read`.
#[cfg(feature = "pcsc")]
pub fn run(
    args: Args,
    out: &mut dyn std::io::Write,
) -> Result<crate::cli::Exit, crate::cli::CliError> {
    use crate::cli::Exit;
    use desfire_core::pcd::commands::{self, FileValue, ReadData, ReadRecords};
    use desfire_core::wire::{FileType, U24};

    use super::session::{CardCommandError, Context, Use, load_keys, open_file, with_card};
    use crate::args::{ArgError, parse_aid, parse_comm_mode, parse_file_no, parse_key_no};

    let keys = load_keys(&args.keys)?;
    let aid = parse_aid("--app", &args.app)?;
    let file = parse_file_no("--file", &args.file)?;
    let auth_key = args
        .auth_key
        .as_deref()
        .map(|k| parse_key_no("--auth-key", k))
        .transpose()?;
    let comm = args
        .comm
        .as_deref()
        .map(|c| parse_comm_mode("--comm", c))
        .transpose()?;
    let read = with_card(&args.reader, |card, _| {
        let plan = open_file(card, aid, file, &keys, auth_key, comm, Use::Read)?;
        let mut rx = vec![0u8; 1024];
        match plan.file_type {
            Some(FileType::Value) => {
                let r = card
                    .execute(&commands::get_value(file, plan.comm_mode), &mut rx)
                    .ctx("GetValue")?;
                let v = FileValue::parse(&r).ctx("GetValue")?;
                Ok(Read::Value(v.0))
            }
            Some(FileType::LinearRecord | FileType::CyclicRecord) => {
                let zero = U24::new(0).unwrap_or(U24::from_wire([0; 3]));
                let rr = ReadRecords::new(file, zero, zero, plan.comm_mode);
                let r = card.execute(&rr.command(), &mut rx).ctx("ReadRecords")?;
                let size = plan
                    .size
                    .and_then(U24::new)
                    .ok_or(CardCommandError::Response {
                        command: "GetFileSettings",
                        source: desfire_core::wire::Error::BadValue,
                    })?;
                let records = rr.parse(&r, size).ctx("ReadRecords")?;
                Ok(Read::Records(records.iter().map(<[u8]>::to_vec).collect()))
            }
            _ => {
                let length = match (args.length, plan.size) {
                    (Some(l), _) => l,
                    (None, Some(size)) => size.saturating_sub(args.offset),
                    (None, None) => {
                        return Err(ArgError::Invalid {
                            what: "--length".to_owned(),
                            message: "the card does not show the file's size: give --length"
                                .to_owned(),
                        }
                        .into());
                    }
                };
                let mut data = Vec::new();
                let mut at = args.offset;
                let end = args.offset.saturating_add(length);
                while at < end {
                    let n = CHUNK.min(end - at);
                    let bad = |what: &str| ArgError::Invalid {
                        what: what.to_owned(),
                        message: "beyond 24 bits".to_owned(),
                    };
                    let rd = ReadData::new(
                        file,
                        U24::new(at).ok_or_else(|| bad("--offset"))?,
                        U24::new(n).ok_or_else(|| bad("--length"))?,
                        plan.comm_mode,
                    );
                    let r = card.execute(&rd.command(), &mut rx).ctx("ReadData")?;
                    data.extend_from_slice(rd.parse(&r).ctx("ReadData")?);
                    at += n;
                }
                Ok(Read::Data(data))
            }
        }
    })?;
    match (&read, args.json) {
        (Read::Data(d), false) => writeln!(out, "{}", hex::encode_upper(d))?,
        (Read::Data(d), true) => writeln!(
            out,
            "{}",
            serde_json::json!({"app": aid.to_string(), "file": file.value(), "data": hex::encode_upper(d)})
        )?,
        (Read::Value(v), false) => writeln!(out, "{v}")?,
        (Read::Value(v), true) => writeln!(
            out,
            "{}",
            serde_json::json!({"app": aid.to_string(), "file": file.value(), "value": v})
        )?,
        (Read::Records(rs), false) => {
            for r in rs {
                writeln!(out, "{}", hex::encode_upper(r))?;
            }
        }
        (Read::Records(rs), true) => writeln!(
            out,
            "{}",
            serde_json::json!({"app": aid.to_string(), "file": file.value(),
                "records": rs.iter().map(hex::encode_upper).collect::<Vec<_>>()})
        )?,
    }
    Ok(Exit::Success)
}

#[cfg(feature = "pcsc")]
enum Read {
    Data(Vec<u8>),
    Value(i32),
    Records(Vec<Vec<u8>>),
}
