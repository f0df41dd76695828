//! A known-bad reader model as an external reader command, the way `desfire audit
//! --reader-cmd` drives a reader under test it does not link:
//!
//! ```text
//! bad-reader --flaw NAME (--image CARD.json | --reader PCSC-READER) [--now DATE]
//!            [--framing VARIANT]
//! ```
//!
//! NAME is a flaw (`uid-only`, `no-response-mac`, `accepts-downgrade`, `skips-signature`,
//! `skips-expiry`, `undiversified-key`, `not-uid-bound`) or, with `--image`, `reference`. The
//! model reads the card once with the lab profile over a `desfire_core::pcd::Transport`: the
//! card image in process, or the card in a PC/SC reader (feature `pcsc`; the anticollision UID
//! from the reader's GET DATA `FF CA 00 00 00`, as a UID-only reader reads it). It answers as
//! `desfire reader` does: GRANT is exit 0 with the credential ID as the first line of standard
//! output; DENY is exit 1 with `DENY <REASON>` on standard error; exit 2 on a usage error or a
//! reader that could not run. `--framing` chooses how the model frames its commands
//! (`host_tools::framing::Variant`: `ad`, the default, `bd`, `whole-file`, `df-name`,
//! `inquisitive`).

use std::process::ExitCode;

use desfire_tests::bad_readers::{Flaw, ModelSetup, read_over};
use host_tools::audit::cards::{ENROLLED_CREDENTIAL_ID, GOLDEN_UID};
use host_tools::audit::reader::{
    CardLink, Observation, ReaderUnderTest, ReferenceReader, UidOnlyReader,
};
use host_tools::card_image;
use host_tools::framing::Variant;
use host_tools::profile::{LAB, Profile};
use host_tools::virtual_card::EmulatedCard;
use host_tools::virtual_card::VirtualCard;

const USAGE: &str = "usage: bad-reader --flaw NAME (--image CARD.json | --reader PCSC-READER) \
                     [--now DATE] [--framing VARIANT]";

fn usage(message: &str) -> ExitCode {
    eprintln!("bad-reader: {message}\n{USAGE}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (mut flaw, mut image, mut reader, mut now) = (None, None, None, None);
    let mut framing = Variant::Ad;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--flaw" => flaw = args.next(),
            "--image" => image = args.next(),
            "--reader" => reader = args.next(),
            "--now" => now = args.next(),
            "--framing" => match args.next().as_deref().and_then(Variant::from_name) {
                Some(v) => framing = v,
                None => return usage(&format!("--framing takes one of {}", Variant::names())),
            },
            other => return usage(&format!("unknown argument {other:?}")),
        }
    }
    let Some(name) = flaw else {
        return usage("--flaw is required");
    };
    let now = match now.map(|d| host_tools::dates::parse_date("--now", &d)) {
        None => host_tools::dates::now(),
        Some(Ok(t)) => t,
        Some(Err(e)) => return usage(&e.to_string()),
    };
    let profile = match Profile::load(LAB) {
        Ok(p) => p,
        Err(e) => return usage(&e.to_string()),
    };
    let uid_only = UidOnlyReader::new(vec![(GOLDEN_UID.to_vec(), ENROLLED_CREDENTIAL_ID)]);
    let setup = ModelSetup::from_profile(&profile, now, GOLDEN_UID, uid_only).framed(framing);
    let flaw = Flaw::from_name(&name);
    let observation = match (image, reader) {
        (Some(image), None) => {
            let card = card_image::load(std::path::Path::new(&image))
                .map_err(|e| e.to_string())
                .and_then(|i| EmulatedCard::from_image(i).map_err(|e| e.to_string()));
            let mut card = match card {
                Ok(c) => c,
                Err(e) => return usage(&e),
            };
            card.power_on();
            let ac = card.anticollision_uid().to_vec();
            match flaw {
                Some(flaw) => read_over(flaw, &mut CardLink(&mut card), &ac, &setup),
                None if name == "reference" => ReferenceReader::new(&profile, now)
                    .framed(framing)
                    .present(&mut card),
                None => return usage(&format!("unknown flaw {name:?}")),
            }
        }
        (None, Some(reader)) => match flaw {
            Some(flaw) => match over_pcsc(flaw, &reader, &setup) {
                Ok(o) => o,
                Err(e) => Observation::Error(e),
            },
            None => {
                return usage(&format!(
                    "unknown flaw {name:?} (the reference over PC/SC is `desfire reader`)"
                ));
            }
        },
        _ => return usage("give one of --image and --reader"),
    };
    match observation {
        Observation::Grant(id) => {
            println!("{id:016X}");
            ExitCode::SUCCESS
        }
        Observation::Deny(reason) => {
            eprintln!("DENY {}", reason.as_deref().unwrap_or(""));
            ExitCode::from(1)
        }
        Observation::Timeout | Observation::Error(_) => {
            eprintln!("bad-reader: {observation}");
            ExitCode::from(2)
        }
    }
}

/// The model reads the card in PC/SC reader `reader` inside one transaction, as `desfire
/// reader --reader` does.
#[cfg(feature = "pcsc")]
fn over_pcsc(flaw: Flaw, reader: &str, setup: &ModelSetup) -> Result<Observation, String> {
    use desfire_core::pcd::Transport;
    use host_tools::pcsc_reader::{Pcsc, Presence, Sharing};

    let fail = |e: host_tools::pcsc_reader::PcscError| e.to_string();
    let pcsc = Pcsc::establish().map_err(fail)?;
    let name = pcsc.reader_named(reader).map_err(fail)?;
    pcsc.wait_for(
        &name,
        Presence::Present,
        Some(std::time::Duration::from_secs(5)),
    )
    .map_err(fail)?;
    let mut card = pcsc.connect(&name, Sharing::Exclusive).map_err(fail)?;
    let observation = {
        let mut tx = card.transaction().map_err(fail)?;
        let mut rapdu = [0u8; 32];
        let n = tx
            .transceive(&[0xFF, 0xCA, 0x00, 0x00, 0x00], &mut rapdu)
            .map_err(fail)?;
        let ac = match rapdu.get(..n) {
            Some([uid @ .., 0x90, 0x00]) => uid.to_vec(),
            other => return Err(format!("GET DATA (FF CA) answered {other:02X?}")),
        };
        let o = read_over(flaw, &mut tx, &ac, setup);
        tx.end().map_err(fail)?;
        o
    };
    card.disconnect().map_err(fail)?;
    Ok(observation)
}

#[cfg(not(feature = "pcsc"))]
fn over_pcsc(_: Flaw, _: &str, _: &ModelSetup) -> Result<Observation, String> {
    Err("built without PC/SC: build desfire-tests with --features pcsc".into())
}
