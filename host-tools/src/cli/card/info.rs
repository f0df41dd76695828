//! `desfire card info`: what a card tells without keys, and more with them.

use std::io::Write;

use serde::Serialize;

use super::{KEYS_AFTER_HELP, KeyArgs, ReaderArgs};

/// Arguments of `desfire card info` (described on [`super::CardCommand::Info`]).
#[derive(Debug, clap::Args)]
#[command(after_help = KEYS_AFTER_HELP)]
pub struct Args {
    /// Reader selection.
    #[command(flatten)]
    pub reader: ReaderArgs,
    /// Keys. Without --app they are PICC keys (key 0, the PICC master key, is used); with --app
    /// they are that application's keys.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Look only at this application (6 hex digits, e.g. 0AC501), authenticating to it when
    /// keys are given.
    #[arg(long, value_name = "AID")]
    pub app: Option<String>,
    /// The key number to authenticate with (decimal 0-13).
    #[arg(long, value_name = "N", default_value = "0")]
    pub auth_key: String,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Everything `card info` found. A part the card refused carries the error instead.
#[derive(Debug, Default, Serialize)]
pub struct Info {
    /// The reader.
    pub reader: String,
    /// The UID the reader saw in anticollision (PC/SC GET DATA `FF CA 00 00 00`).
    pub anticollision_uid: Option<String>,
    /// `random` (a 4-byte UID starting with `08`, ISO/IEC 14443-3), `fixed` (equal to the
    /// GetVersion UID), or `unknown`.
    pub uid_kind: &'static str,
    /// GetVersion.
    pub version: Option<VersionInfo>,
    /// The key the session authenticated with, e.g. `PICC key 0` or `0AC501 key 2`.
    pub authenticated: Option<String>,
    /// The real UID from GetCardUID (needs authentication).
    pub card_uid: Option<String>,
    /// GetFreeMemory, in bytes.
    pub free_memory: Option<u32>,
    /// GetKeySettings at the PICC level.
    pub picc_key_settings: Option<String>,
    /// The applications looked at.
    pub applications: Vec<AppInfo>,
    /// Commands that failed, with why.
    pub errors: Vec<String>,
}

/// The GetVersion answer.
#[derive(Debug, Serialize)]
pub struct VersionInfo {
    /// The product from the hardware part.
    pub product: String,
    /// Hardware part.
    pub hardware: String,
    /// Software part.
    pub software: String,
    /// The UID field (on a card with Random ID, compare with the anticollision UID).
    pub uid: String,
    /// Production batch.
    pub batch: String,
    /// Production week and year, BCD as sent (`WW/YY`).
    pub production: String,
}

/// One application.
#[derive(Debug, Serialize)]
pub struct AppInfo {
    /// AID, most significant digit first.
    pub aid: String,
    /// GetKeySettings.
    pub key_settings: Option<String>,
    /// The files and their settings.
    pub files: Vec<FileInfo>,
    /// Commands that failed for this application.
    pub errors: Vec<String>,
}

/// One file.
#[derive(Debug, Serialize)]
pub struct FileInfo {
    /// File number.
    pub file: u8,
    /// GetFileSettings, as text.
    pub settings: Option<String>,
    /// Comm mode from the settings.
    pub comm_mode: Option<String>,
}

/// Runs `desfire card info`.
#[cfg(feature = "pcsc")]
pub fn run(args: Args, out: &mut dyn Write) -> Result<crate::cli::Exit, crate::cli::CliError> {
    use crate::cli::Exit;

    let info = imp::gather(&args)?;
    if args.json {
        let mut json = serde_json::to_string_pretty(&info)?;
        json.push('\n');
        out.write_all(json.as_bytes())?;
    } else {
        write_human(&info, out)?;
    }
    Ok(Exit::Success)
}

/// Prints `info` for people.
pub fn write_human(info: &Info, out: &mut dyn Write) -> std::io::Result<()> {
    let none = "-".to_owned();
    writeln!(out, "reader           {}", info.reader)?;
    writeln!(
        out,
        "anticollision    {} ({} UID)",
        info.anticollision_uid.as_ref().unwrap_or(&none),
        info.uid_kind
    )?;
    if let Some(v) = &info.version {
        writeln!(out, "product          {}", v.product)?;
        writeln!(out, "hardware         {}", v.hardware)?;
        writeln!(out, "software         {}", v.software)?;
        writeln!(out, "GetVersion UID   {}", v.uid)?;
        writeln!(
            out,
            "batch            {}, week/year {}",
            v.batch, v.production
        )?;
    }
    if let Some(a) = &info.authenticated {
        writeln!(out, "authenticated    {a}")?;
    }
    if let Some(u) = &info.card_uid {
        writeln!(out, "real UID         {u} (GetCardUID)")?;
    }
    if let Some(m) = info.free_memory {
        writeln!(out, "free memory      {m} bytes")?;
    }
    if let Some(k) = &info.picc_key_settings {
        writeln!(out, "PICC keys        {k}")?;
    }
    writeln!(out, "applications     {}", info.applications.len())?;
    for app in &info.applications {
        writeln!(out, "  {}", app.aid)?;
        if let Some(k) = &app.key_settings {
            writeln!(out, "    keys         {k}")?;
        }
        for f in &app.files {
            writeln!(
                out,
                "    file {:<2}      {}",
                f.file,
                f.settings.as_ref().unwrap_or(&none)
            )?;
        }
        for e in &app.errors {
            writeln!(out, "    not read     {e}")?;
        }
    }
    for e in &info.errors {
        writeln!(out, "not read         {e}")?;
    }
    Ok(())
}

#[cfg(feature = "pcsc")]
mod imp {
    use desfire_core::pcd::commands::{
        self, ApplicationIds, FileIds, FileSettings, FreeMemory, KeyConfiguration, Uid, Version,
    };
    use desfire_core::wire::{Aid, KeyNo};

    use super::{AppInfo, Args, FileInfo, Info, VersionInfo};
    use crate::args::{KeySpec, parse_aid, parse_key_no};
    use crate::cli::card::session::{
        Card, CardCommandError, Context, anticollision_uid, authenticate, load_keys, select,
        with_card,
    };

    /// Runs the commands and collects the answers; a refused command is noted and skipped.
    pub(super) fn gather(args: &Args) -> Result<Info, CardCommandError> {
        let keys = load_keys(&args.keys)?;
        let app = args
            .app
            .as_deref()
            .map(|a| parse_aid("--app", a))
            .transpose()?;
        let auth_key = parse_key_no("--auth-key", &args.auth_key)?;
        with_card(&args.reader, |card, reader| {
            let mut info = Info {
                reader: reader.to_owned(),
                uid_kind: "unknown",
                ..Info::default()
            };
            let note = |e: CardCommandError, errors: &mut Vec<String>| errors.push(e.to_string());
            match anticollision_uid(card) {
                Ok(uid) => info.anticollision_uid = Some(hex::encode_upper(uid)),
                Err(e) => note(e, &mut info.errors),
            }
            let mut rx = vec![0u8; 512];
            match card
                .execute(&commands::get_version(), &mut rx)
                .ctx("GetVersion")
                .and_then(|r| Version::parse(&r).ctx("GetVersion"))
            {
                Ok(v) => info.version = Some(version_info(&v)),
                Err(e) => note(e, &mut info.errors),
            }
            info.uid_kind = uid_kind(&info);
            if app.is_none() && !keys.is_empty() {
                picc_authenticate(card, &keys, auth_key, &mut info);
            }
            picc_level(card, &mut info, &mut rx);
            let aids: Vec<Aid> = match app {
                Some(aid) => vec![aid],
                None => match card
                    .execute(&commands::get_application_ids(), &mut rx)
                    .ctx("GetApplicationIDs")
                    .and_then(|r| {
                        ApplicationIds::parse(&r)
                            .map(|ids| ids.iter().collect())
                            .ctx("GetApplicationIDs")
                    }) {
                    Ok(aids) => aids,
                    Err(e) => {
                        note(e, &mut info.errors);
                        Vec::new()
                    }
                },
            };
            for aid in aids {
                let a = application(card, aid, app.map(|_| (&keys[..], auth_key)), &mut info);
                info.applications.push(a);
            }
            Ok(info)
        })
    }

    fn picc_authenticate(card: &mut Card<'_>, keys: &[KeySpec], key: KeyNo, info: &mut Info) {
        match authenticate(card, keys, key) {
            Ok(()) => {
                info.authenticated = Some(format!("PICC key {key}"));
                card_uid(card, info);
            }
            Err(e) => info.errors.push(e.to_string()),
        }
    }

    fn card_uid(card: &mut Card<'_>, info: &mut Info) {
        let mut rx = [0u8; 64];
        match card
            .execute(&commands::get_card_uid(), &mut rx)
            .ctx("GetCardUID")
            .and_then(|r| Uid::parse(&r).ctx("GetCardUID"))
        {
            Ok(uid) => info.card_uid = Some(uid.to_string()),
            Err(e) => info.errors.push(e.to_string()),
        }
    }

    fn picc_level(card: &mut Card<'_>, info: &mut Info, rx: &mut [u8]) {
        match card
            .execute(&commands::get_free_memory(), rx)
            .ctx("GetFreeMemory")
            .and_then(|r| FreeMemory::parse(&r).ctx("GetFreeMemory"))
        {
            Ok(m) => info.free_memory = Some(m.0),
            Err(e) => info.errors.push(e.to_string()),
        }
        match card
            .execute(&commands::get_key_settings(), rx)
            .ctx("GetKeySettings")
            .and_then(|r| {
                KeyConfiguration::parse(&r)
                    .map(|k| k.to_string())
                    .ctx("GetKeySettings")
            }) {
            Ok(k) => info.picc_key_settings = Some(k),
            Err(e) => info.errors.push(e.to_string()),
        }
    }

    fn application(
        card: &mut Card<'_>,
        aid: Aid,
        auth: Option<(&[KeySpec], KeyNo)>,
        info: &mut Info,
    ) -> AppInfo {
        let mut app = AppInfo {
            aid: aid.to_string(),
            key_settings: None,
            files: Vec::new(),
            errors: Vec::new(),
        };
        if let Err(e) = select(card, aid) {
            app.errors.push(e.to_string());
            return app;
        }
        if let Some((keys, key)) = auth.filter(|(keys, _)| !keys.is_empty()) {
            match authenticate(card, keys, key) {
                Ok(()) => {
                    info.authenticated = Some(format!("{aid} key {key}"));
                    if info.card_uid.is_none() {
                        card_uid(card, info);
                    }
                }
                Err(e) => app.errors.push(e.to_string()),
            }
        }
        let mut rx = vec![0u8; 512];
        match card
            .execute(&commands::get_key_settings(), &mut rx)
            .ctx("GetKeySettings")
            .and_then(|r| {
                KeyConfiguration::parse(&r)
                    .map(|k| k.to_string())
                    .ctx("GetKeySettings")
            }) {
            Ok(k) => app.key_settings = Some(k),
            Err(e) => app.errors.push(e.to_string()),
        }
        let files = match card
            .execute(&commands::get_file_ids(), &mut rx)
            .ctx("GetFileIDs")
            .and_then(|r| FileIds::parse(&r).ctx("GetFileIDs"))
        {
            Ok(f) => f,
            Err(e) => {
                app.errors.push(e.to_string());
                return app;
            }
        };
        for &file in files.as_slice() {
            let settings = card
                .execute(&commands::get_file_settings(file), &mut rx)
                .ctx("GetFileSettings")
                .and_then(|r| {
                    FileSettings::parse(&r)
                        .map(|s| (s.to_string(), s.comm_mode().to_string()))
                        .ctx("GetFileSettings")
                });
            let (settings, comm_mode) = match settings {
                Ok((s, m)) => (Some(s), Some(m)),
                Err(e) => {
                    app.errors.push(format!("file {}: {e}", file.value()));
                    (None, None)
                }
            };
            app.files.push(FileInfo {
                file: file.value(),
                settings,
                comm_mode,
            });
        }
        app
    }

    fn version_info(v: &Version) -> VersionInfo {
        VersionInfo {
            product: v.product().to_string(),
            hardware: v.hardware.to_string(),
            software: v.software.to_string(),
            uid: hex::encode_upper(v.uid),
            batch: hex::encode_upper(v.batch_no),
            production: format!("{:02X}/{:02X}", v.production_week, v.production_year),
        }
    }

    /// ISO/IEC 14443-3: a single-size UID whose first byte is `08` is a random ID.
    fn uid_kind(info: &Info) -> &'static str {
        let Some(ac) = &info.anticollision_uid else {
            return "unknown";
        };
        if ac.len() == 8 && ac.starts_with("08") {
            return "random";
        }
        match &info.version {
            Some(v) if v.uid == *ac => "fixed",
            _ => "unknown",
        }
    }
}
