//! `desfire keys diversify`: AN10922 AES-128 key diversification (NXP AN10922 Rev. 2.2 §2.2.1).

use std::io::Write;
use std::path::PathBuf;

use desfire_core::crypto::{AesKey, DiversificationInput, an10922_aes128};
use desfire_core::wire::Aid;
use zeroize::Zeroizing;

use super::{CliError, Exit};
use crate::args::{ArgError, SecretArg, parse_aes_key, parse_hex, parse_key_no};

const LAB_KEYS_ONLY: &str = "Keys on the command line are for LAB KEYS ONLY: other local users can read a \
process's arguments and shells keep them in their history. Use --master-file for anything else.";

/// Arguments of `desfire keys diversify` (described on [`super::KeysCommand::Diversify`]).
#[derive(Debug, clap::Args)]
#[command(after_help = LAB_KEYS_ONLY)]
pub struct Args {
    /// Master key, 32 hex digits. Lab keys only (see below).
    #[arg(
        long,
        value_name = "HEX",
        required_unless_present = "master_file",
        conflicts_with = "master_file"
    )]
    pub master: Option<SecretArg>,
    /// File holding the master key as 32 hex digits.
    #[arg(long, value_name = "FILE")]
    pub master_file: Option<PathBuf>,
    /// Diversification input M, 1 to 31 bytes of hex.
    #[arg(
        long,
        value_name = "HEX",
        required_unless_present_all = ["uid", "aid", "key_no"],
        conflicts_with_all = ["uid", "aid", "key_no", "system_id"]
    )]
    pub input: Option<String>,
    /// Card UID: 4, 7 or 10 bytes of hex.
    #[arg(long, value_name = "HEX", requires_all = ["aid", "key_no"])]
    pub uid: Option<String>,
    /// Application ID as written by people, 6 hex digits (e.g. 0AC501, sent as 01 C5 0A).
    #[arg(long, value_name = "HEX", requires_all = ["uid", "key_no"])]
    pub aid: Option<String>,
    /// Key number within the application, 0 to 13 (decimal).
    #[arg(long, value_name = "N", requires_all = ["uid", "aid"])]
    pub key_no: Option<String>,
    /// System identifier appended to M, hex (e.g. 4E585020416275, "NXP Abu").
    #[arg(long, value_name = "HEX", requires = "uid")]
    pub system_id: Option<String>,
}

/// Prints the diversified key.
pub fn run(args: Args, out: &mut dyn Write) -> Result<Exit, CliError> {
    let master = master_key(&args)?;
    let m = diversification_input(&args)?;
    let key = an10922_aes128(&master, &m);
    let text = Zeroizing::new(hex::encode_upper(key.expose()));
    writeln!(out, "{}", text.as_str())?;
    Ok(Exit::Success)
}

fn master_key(args: &Args) -> Result<AesKey, CliError> {
    match (&args.master, &args.master_file) {
        (Some(text), _) => Ok(parse_aes_key("--master", text.expose())?),
        (None, Some(path)) => {
            let text = crate::args::read_secret_file(path).map_err(crate::cli::CliError::from)?;
            Ok(parse_aes_key(&path.display().to_string(), text.trim())?)
        }
        (None, None) => Err(ArgError::Invalid {
            what: "--master".to_owned(),
            message: "a master key is required (--master or --master-file)".to_owned(),
        }
        .into()),
    }
}

/// M, from `--input` or from UID || AID || KeyNo || SystemIdentifier.
pub fn diversification_input(args: &Args) -> Result<DiversificationInput, ArgError> {
    if let Some(input) = &args.input {
        let m = parse_hex("--input", input)?;
        return DiversificationInput::from_bytes(&m).ok_or(ArgError::Length {
            what: "--input".to_owned(),
            expected: "1 to 31 bytes",
            got: m.len(),
        });
    }
    let (Some(uid), Some(aid), Some(key_no)) = (&args.uid, &args.aid, &args.key_no) else {
        return Err(ArgError::Invalid {
            what: "--input".to_owned(),
            message: "give --input, or --uid, --aid and --key-no".to_owned(),
        });
    };
    let uid = parse_hex("--uid", uid)?;
    if ![4, 7, 10].contains(&uid.len()) {
        return Err(ArgError::Length {
            what: "--uid".to_owned(),
            expected: "a UID of 4, 7 or 10 bytes",
            got: uid.len(),
        });
    }
    let aid_bytes = parse_hex("--aid", aid)?;
    let aid = match aid_bytes.as_slice() {
        // Written most significant byte first, as people write AIDs.
        [a, b, c] => Aid::new(u32::from_be_bytes([0, *a, *b, *c])),
        _ => None,
    }
    .ok_or(ArgError::Length {
        what: "--aid".to_owned(),
        expected: "3 bytes (6 hex digits)",
        got: aid_bytes.len(),
    })?;
    let key_no = parse_key_no("--key-no", key_no)?;
    let system_id = match &args.system_id {
        Some(s) => parse_hex("--system-id", s)?,
        None => Vec::new(),
    };
    DiversificationInput::for_application_key(&uid, aid, key_no, &system_id).ok_or_else(|| {
        ArgError::Invalid {
            what: "--system-id".to_owned(),
            message: format!(
                "UID || AID || key number || system identifier is {} bytes; AN10922 allows at most 31",
                uid.len() + 3 + 1 + system_id.len()
            ),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    fn args(
        input: Option<&str>,
        uid: Option<&str>,
        aid: Option<&str>,
        key_no: Option<&str>,
        sid: Option<&str>,
    ) -> Args {
        Args {
            master: Some(SecretArg::from("00112233445566778899AABBCCDDEEFF")),
            master_file: None,
            input: input.map(str::to_owned),
            uid: uid.map(str::to_owned),
            aid: aid.map(str::to_owned),
            key_no: key_no.map(str::to_owned),
            system_id: sid.map(str::to_owned),
        }
    }

    fn run_to_string(a: Args) -> String {
        let mut out = Vec::new();
        assert_eq!(run(a, &mut out).unwrap(), Exit::Success);
        String::from_utf8(out).unwrap()
    }

    // Source: NXP AN10922 Rev. 2.2 §2.2.1 Table 2 (nxp-public.md AN10922-AES128).
    #[test]
    fn published_vector() {
        let a = args(
            Some("04782E21801D803042F54E585020416275"),
            None,
            None,
            None,
            None,
        );
        assert_eq!(run_to_string(a), "A8DD63A3B89D54B37CA802473FDA9175\n");
    }

    #[test]
    fn uid_aid_key_no_form_builds_the_wire_order() {
        // AID F54230 is sent as 30 42 F5, as in the AN10922 example; key number 1 goes between
        // the AID and the system identifier.
        let a = args(
            None,
            Some("04782E21801D80"),
            Some("F54230"),
            Some("1"),
            Some("4E585020416275"),
        );
        let m = diversification_input(&a).unwrap();
        assert_eq!(
            m.as_bytes(),
            hex!("04782E21801D80 3042F5 01 4E585020416275")
        );
        let explicit = args(
            Some("04782E21801D803042F5014E585020416275"),
            None,
            None,
            None,
            None,
        );
        assert_eq!(run_to_string(a), run_to_string(explicit));
    }

    #[test]
    fn bad_arguments_are_errors() {
        let e = diversification_input(&args(
            Some("00".repeat(32).as_str()),
            None,
            None,
            None,
            None,
        ));
        assert_eq!(
            e.unwrap_err().to_string(),
            "--input: expected 1 to 31 bytes, got 32 byte(s)"
        );
        assert!(diversification_input(&args(Some(""), None, None, None, None)).is_err());
        assert!(diversification_input(&args(Some("0g"), None, None, None, None)).is_err());
        assert!(
            diversification_input(&args(None, Some("0478"), Some("F54230"), Some("1"), None))
                .is_err()
        );
        assert!(
            diversification_input(&args(
                None,
                Some("04782E21801D80"),
                Some("F542"),
                Some("1"),
                None
            ))
            .is_err()
        );
        assert!(
            diversification_input(&args(
                None,
                Some("04782E21801D80"),
                Some("F54230"),
                Some("14"),
                None
            ))
            .is_err()
        );
        let long_sid = "00".repeat(21);
        let e = diversification_input(&args(
            None,
            Some("04782E21801D80"),
            Some("F54230"),
            Some("1"),
            Some(&long_sid),
        ));
        assert!(e.unwrap_err().to_string().contains("32 bytes"));
    }
}
