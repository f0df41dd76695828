//! `desfire keys hsm init|generate|list|import`: the PKCS#11 token a profile names (`[hsm]`)
//! and the keys its `*_label` fields name ([`crate::hsm`]).

use std::io::Write;
use std::path::PathBuf;

use cryptoki::types::AuthPin;
use zeroize::Zeroizing;

use super::{CliError, Exit};
use crate::hsm::{HsmError, Kind, PinSource, Token};
use crate::profile::{Profile, token_plan};

/// `desfire keys hsm …`
#[derive(Debug, clap::Subcommand)]
pub enum HsmCommand {
    /// Initialise the profile's token in the first free slot of its module and set its user
    /// PIN (from the profile's `[hsm]` pin_file or pin_env).
    Init(InitArgs),
    /// Generate, inside the token, every key the profile names by label: the AES masters
    /// (sensitive, never extractable, CMAC signing only), K1 (readable: it is the card key
    /// itself) and the issuer's P-256 key pair. Prints the issuer public key to publish.
    Generate(ProfileArg),
    /// List the token's keys: label, class, type, whether sensitive, extractable and generated
    /// in the token; public keys with their point.
    List(ListArgs),
    /// Copy the keys of another profile (key files) into the labels this profile names. For
    /// migration and tests only: the keys existed outside the token, so the token cannot
    /// vouch for them.
    Import(ImportArgs),
}

/// The profile naming the token and the labels.
#[derive(Debug, clap::Args)]
pub struct ProfileArg {
    /// A profile file with an `[hsm]` table.
    #[arg(long, value_name = "FILE")]
    pub profile: String,
}

/// Arguments of `desfire keys hsm init`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("so").required(true).args(["so_pin_file", "so_pin_env"])))]
pub struct InitArgs {
    /// A profile file with an `[hsm]` table.
    #[arg(long, value_name = "FILE")]
    pub profile: String,
    /// File holding the security officer's PIN (mode 600).
    #[arg(long, value_name = "FILE")]
    pub so_pin_file: Option<PathBuf>,
    /// Environment variable holding the security officer's PIN.
    #[arg(long, value_name = "VAR")]
    pub so_pin_env: Option<String>,
}

/// Arguments of `desfire keys hsm list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// A profile file with an `[hsm]` table.
    #[arg(long, value_name = "FILE")]
    pub profile: String,
    /// One JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `desfire keys hsm import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// A profile file with an `[hsm]` table and *_label keys: where the keys go.
    #[arg(long, value_name = "FILE")]
    pub profile: String,
    /// The profile holding the keys (`lab`, or a file with key files).
    #[arg(long, value_name = "lab|FILE")]
    pub from: String,
}

/// Runs `desfire keys hsm …`.
pub fn run(cmd: HsmCommand, out: &mut dyn Write) -> Result<Exit, CliError> {
    match cmd {
        HsmCommand::Init(args) => init(&args, out),
        HsmCommand::Generate(args) => generate(&args, out),
        HsmCommand::List(args) => list(&args, out),
        HsmCommand::Import(args) => import(&args, out),
    }
}

fn hsm(e: HsmError) -> CliError {
    CliError::Environment(e.to_string())
}

fn init(args: &InitArgs, out: &mut dyn Write) -> Result<Exit, CliError> {
    let config = token_plan(&args.profile)?.config;
    let so = match (&args.so_pin_file, &args.so_pin_env) {
        (Some(f), _) => PinSource::File(f.clone()),
        (None, Some(v)) => PinSource::Env(v.clone()),
        (None, None) => {
            return Err(crate::args::ArgError::Invalid {
                what: "--so-pin-file".into(),
                message: "give --so-pin-file or --so-pin-env".into(),
            }
            .into());
        }
    };
    let so_pin: AuthPin = so.read().map_err(hsm)?;
    let user_pin = config.pin.read().map_err(hsm)?;
    let slot =
        crate::hsm::init_token(&config.module, &config.token, &so_pin, &user_pin).map_err(hsm)?;
    writeln!(
        out,
        "initialised token {:?} ({slot}) with its user PIN",
        config.token
    )?;
    Ok(Exit::Success)
}

fn generate(args: &ProfileArg, out: &mut dyn Write) -> Result<Exit, CliError> {
    let crate::profile::TokenPlan {
        config,
        labels,
        signing_label: signing,
    } = token_plan(&args.profile)?;
    let token = Token::open(&config, true).map_err(hsm)?;
    // Nothing is created unless every label is free.
    for (_, label) in &labels {
        if token.exists(Kind::Aes, label).map_err(hsm)? {
            return Err(CliError::Environment(format!(
                "token {:?} already holds a key labelled {label:?}; nothing generated",
                config.token
            )));
        }
    }
    if let Some(label) = &signing
        && (token.exists(Kind::EcPrivate, label).map_err(hsm)?
            || token.exists(Kind::EcPublic, label).map_err(hsm)?)
    {
        return Err(CliError::Environment(format!(
            "token {:?} already holds a key labelled {label:?}; nothing generated",
            config.token
        )));
    }
    for (field, label) in &labels {
        if field == "keys.k1" {
            token.generate_readable(label).map_err(hsm)?;
            writeln!(
                out,
                "{field}: generated {label:?} (the card key itself: readable by the host)"
            )?;
        } else {
            token.generate_master(label).map_err(hsm)?;
            writeln!(
                out,
                "{field}: generated master {label:?} (sensitive, not extractable)"
            )?;
        }
    }
    if let Some(label) = &signing {
        let point = token.generate_p256(label).map_err(hsm)?;
        writeln!(
            out,
            "issuer.signing_key: generated P-256 key pair {label:?}; publish its public key:\n\n\
             [[issuer.public_keys]]\nkey_id = \"..\"  # the profile's issuer.signing_key_id\n\
             public_key = \"{}\"",
            crate::hex_text::upper(&point)
        )?;
    }
    Ok(Exit::Success)
}

fn list(args: &ListArgs, out: &mut dyn Write) -> Result<Exit, CliError> {
    let config = token_plan(&args.profile)?.config;
    let token = Token::open(&config, false).map_err(hsm)?;
    let objects = token.list().map_err(hsm)?;
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &objects)?;
        writeln!(out)?;
        return Ok(Exit::Success);
    }
    let flag = |v: Option<bool>| match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    };
    writeln!(
        out,
        "{:<28} {:<8} {:<4} {:<9} {:<11} {:<9} PUBLIC KEY",
        "LABEL", "CLASS", "TYPE", "SENSITIVE", "EXTRACTABLE", "GENERATED"
    )?;
    for o in &objects {
        writeln!(
            out,
            "{:<28} {:<8} {:<4} {:<9} {:<11} {:<9} {}",
            o.label,
            o.class,
            o.key_type,
            flag(o.sensitive),
            flag(o.extractable),
            flag(o.local),
            o.public_key.as_deref().unwrap_or("")
        )?;
    }
    Ok(Exit::Success)
}

fn import(args: &ImportArgs, out: &mut dyn Write) -> Result<Exit, CliError> {
    let crate::profile::TokenPlan {
        config,
        labels,
        signing_label: signing,
    } = token_plan(&args.profile)?;
    let from = Profile::load(&args.from)?;
    eprintln!(
        "desfire: WARNING: importing keys that existed outside the token ({}). The token cannot \
         vouch that no copy remains: use this for migration and tests only, then destroy the \
         key files; generate new keys inside the token (`desfire keys hsm generate`) for a new \
         deployment.",
        from.name
    );
    from.warn_if_test();
    let token = Token::open(&config, true).map_err(hsm)?;
    let m = &from.masters;
    let missing = |field: &str| {
        CliError::Environment(format!(
            "{} has no {field}; nothing more imported",
            from.name
        ))
    };
    for (field, label) in &labels {
        let value = match field.as_str() {
            "keys.picc_master" => m.picc.as_ref(),
            "keys.k0" => m.amk.as_ref(),
            "keys.k1" => m.kuid.as_ref(),
            "keys.k2" => m.read.as_ref(),
            "keys.k2_next" => m.read_next.as_ref().map(|(_, k)| k),
            "keys.k3" => m.write.as_ref(),
            "keys.k4" => m.delegated_read.as_ref(),
            "keys.k5" => m.reserved.as_ref(),
            _ => None,
        }
        .ok_or_else(|| missing(field))?;
        if field == "keys.k1" {
            token.import_readable(label, value).map_err(hsm)?;
        } else {
            token.import_master(label, value).map_err(hsm)?;
        }
        writeln!(out, "{field}: imported into {label:?}")?;
    }
    if let Some(label) = &signing {
        let key = from
            .signing_key
            .as_ref()
            .ok_or_else(|| missing("issuer.signing_key"))?;
        let mut scalar = Zeroizing::new([0u8; 32]);
        key.export_scalar(&mut scalar);
        let point = key.issuer_key().to_sec1_uncompressed();
        token.import_p256(label, &scalar, &point).map_err(hsm)?;
        writeln!(out, "issuer.signing_key: imported into {label:?}")?;
    }
    Ok(Exit::Success)
}
