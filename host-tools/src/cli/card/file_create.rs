//! `desfire card file create`: CreateStdDataFile, CreateBackupDataFile, CreateValueFile,
//! CreateLinearRecordFile and CreateCyclicRecordFile.

use super::{KEYS_AFTER_HELP, KeyArgs, ReaderArgs};

/// The file types `card file create` makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FileTypeArg {
    /// Standard data file (--size).
    Std,
    /// Backup data file (--size); writes take effect on commit.
    Backup,
    /// Value file (--lower, --upper, --value).
    Value,
    /// Linear record file (--record-size, --records).
    Linear,
    /// Cyclic record file (--record-size, --records of at least 2).
    Cyclic,
}

/// Arguments of `desfire card file create` (described on [`super::FileCommand::Create`]).
#[derive(Debug, clap::Args)]
#[command(after_help = KEYS_AFTER_HELP)]
pub struct Args {
    /// Reader selection.
    #[command(flatten)]
    pub reader: ReaderArgs,
    /// The application's keys; --auth-key (default 0, the application master key) is used.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// The key number to authenticate with (decimal 0-13).
    #[arg(long, value_name = "N", default_value = "0")]
    pub auth_key: String,
    /// The application, 6 hex digits.
    #[arg(long, value_name = "AID")]
    pub app: String,
    /// The new file's number, 0 to 31.
    #[arg(long, value_name = "N")]
    pub file: String,
    /// The file type.
    #[arg(long = "type", value_enum)]
    pub file_type: FileTypeArg,
    /// Comm mode: plain, mac or full.
    #[arg(long, value_name = "MODE", default_value = "plain")]
    pub comm: String,
    /// Access rights READ,WRITE,READWRITE,CHANGE: key numbers, free (E) or never (F).
    #[arg(long, value_name = "R,W,RW,C", default_value = "0,0,0,0")]
    pub rights: String,
    /// ISO file identifier, 4 hex digits (only in applications created with one).
    #[arg(long, value_name = "HEX")]
    pub iso_fid: Option<String>,
    /// Data file size in bytes.
    #[arg(long, value_name = "BYTES")]
    pub size: Option<u32>,
    /// Record size in bytes.
    #[arg(long, value_name = "BYTES")]
    pub record_size: Option<u32>,
    /// Number of records.
    #[arg(long, value_name = "N")]
    pub records: Option<u32>,
    /// Value file lower limit.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub lower: i32,
    /// Value file upper limit.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub upper: i32,
    /// Value file initial value.
    #[arg(long, allow_hyphen_values = true, default_value_t = 0)]
    pub value: i32,
    /// Value file: allow LimitedCredit.
    #[arg(long)]
    pub limited_credit: bool,
    /// Value file: GetValue without authentication.
    #[arg(long)]
    pub free_get_value: bool,
}

/// Runs `desfire card file create`.
#[cfg(feature = "pcsc")]
pub fn run(
    args: Args,
    out: &mut dyn std::io::Write,
) -> Result<crate::cli::Exit, crate::cli::CliError> {
    use crate::cli::Exit;
    use desfire_core::pcd::commands::{CreateDataFile, CreateRecordFile, CreateValueFile};
    use desfire_core::wire::U24;

    use super::app_create::parse_u16_hex;
    use super::session::{Context, authenticate, load_keys, select, with_card};
    use crate::args::{
        ArgError, parse_access_rights, parse_aid, parse_comm_mode, parse_file_no, parse_key_no,
    };

    let keys = load_keys(&args.keys)?;
    let auth_key = parse_key_no("--auth-key", &args.auth_key)?;
    let aid = parse_aid("--app", &args.app)?;
    let file = parse_file_no("--file", &args.file)?;
    let comm_mode = parse_comm_mode("--comm", &args.comm)?;
    let access_rights = parse_access_rights("--rights", &args.rights)?;
    let iso_file_id = args
        .iso_fid
        .as_deref()
        .map(|f| parse_u16_hex("--iso-fid", f))
        .transpose()?;
    let u24 = |what: &str, v: Option<u32>| -> Result<U24, ArgError> {
        v.and_then(U24::new).ok_or_else(|| ArgError::Invalid {
            what: what.to_owned(),
            message: "required for this file type, below 16777216".to_owned(),
        })
    };
    let invalid = |e: desfire_core::pcd::commands::InvalidParameter| ArgError::Invalid {
        what: "card file create".to_owned(),
        message: e.to_string(),
    };
    let cmd = match args.file_type {
        FileTypeArg::Std | FileTypeArg::Backup => {
            let c = CreateDataFile {
                file,
                iso_file_id,
                comm_mode,
                access_rights,
                size: u24("--size", args.size)?,
            };
            if args.file_type == FileTypeArg::Std {
                c.standard()
            } else {
                c.backup()
            }
        }
        FileTypeArg::Value => CreateValueFile {
            file,
            comm_mode,
            access_rights,
            lower_limit: args.lower,
            upper_limit: args.upper,
            value: args.value,
            limited_credit: args.limited_credit,
            free_get_value: args.free_get_value,
        }
        .command(),
        FileTypeArg::Linear | FileTypeArg::Cyclic => {
            let c = CreateRecordFile {
                file,
                iso_file_id,
                comm_mode,
                access_rights,
                record_size: u24("--record-size", args.record_size)?,
                max_records: u24("--records", args.records)?,
            };
            if args.file_type == FileTypeArg::Linear {
                c.linear()
            } else {
                c.cyclic()
            }
        }
    }
    .map_err(invalid)?;
    let reader = with_card(&args.reader, |card, reader| {
        select(card, aid)?;
        if !keys.is_empty() {
            authenticate(card, &keys, auth_key)?;
        }
        let mut rx = [0u8; 16];
        card.execute(&cmd, &mut rx).ctx("Create*File")?;
        Ok(reader.to_owned())
    })?;
    writeln!(
        out,
        "created file {} in application {aid} ({reader})",
        file.value()
    )?;
    Ok(Exit::Success)
}
