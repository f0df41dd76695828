//! A known-bad reader model as an external reader command, the way `desfire audit` will drive
//! a reader under test it does not link (`--reader-cmd`):
//!
//! ```text
//! bad-reader --reader NAME --image CARD.json [--now DATE]
//! ```
//!
//! NAME is a flaw (`uid-only`, `no-response-mac`, `accepts-downgrade`, `skips-signature`,
//! `skips-expiry`, `undiversified-key`, `not-uid-bound`) or `reference`. The model reads the card
//! once with the lab profile over a `desfire_core::pcd::Transport` (here the card image in
//! process; a PC/SC reader later) and prints `GRANT <credential ID>` (exit 0) or
//! `DENY [<REASON>]` (exit 1); exit 2 on a usage error.

use std::process::ExitCode;

use desfire_tests::bad_readers::{Flaw, ModelSetup, read_over};
use host_tools::audit::cards::{ENROLLED_CREDENTIAL_ID, GOLDEN_UID};
use host_tools::audit::reader::{
    CardLink, Observation, ReaderUnderTest, ReferenceReader, UidOnlyReader,
};
use host_tools::card_image;
use host_tools::cli::emulate::EmulatedCard;
use host_tools::gen_pacs;
use host_tools::profile::{LAB, Profile};
use host_tools::vpcd::VirtualCard;

fn usage(message: &str) -> ExitCode {
    eprintln!(
        "bad-reader: {message}\nusage: bad-reader --reader NAME --image CARD.json [--now DATE]"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut name, mut image, mut now) = (None, None, None);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reader" => name = args.next(),
            "--image" => image = args.next(),
            "--now" => now = args.next(),
            other => return usage(&format!("unknown argument {other:?}")),
        }
    }
    let (Some(name), Some(image)) = (name, image) else {
        return usage("--reader and --image are required");
    };
    let now = match now.map(|d| gen_pacs::parse_date("--now", &d)) {
        None => gen_pacs::now(),
        Some(Ok(t)) => t,
        Some(Err(e)) => return usage(&e.to_string()),
    };
    let profile = match Profile::load(LAB) {
        Ok(p) => p,
        Err(e) => return usage(&e.to_string()),
    };
    let card = card_image::load(std::path::Path::new(&image))
        .map_err(|e| e.to_string())
        .and_then(|i| EmulatedCard::from_image(i).map_err(|e| e.to_string()));
    let mut card = match card {
        Ok(c) => c,
        Err(e) => return usage(&e),
    };
    card.power_on();
    let ac = card.anticollision_uid().to_vec();
    let uid_only = UidOnlyReader::new(vec![(GOLDEN_UID.to_vec(), ENROLLED_CREDENTIAL_ID)]);
    let observation = if name == "reference" {
        ReferenceReader::new(&profile, now).present(&mut card)
    } else {
        let Some(flaw) = Flaw::from_name(&name) else {
            return usage(&format!("unknown reader {name:?}"));
        };
        let setup = ModelSetup::from_profile(&profile, now, GOLDEN_UID, uid_only);
        read_over(flaw, &mut CardLink(&mut card), &ac, &setup)
    };
    println!("{observation}");
    match observation {
        Observation::Grant(_) => ExitCode::SUCCESS,
        Observation::Deny(_) | Observation::Timeout => ExitCode::from(1),
        Observation::Error(_) => ExitCode::from(2),
    }
}
