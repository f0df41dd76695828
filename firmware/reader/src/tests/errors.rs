//! Every public error of the firmware crates is a `core::error::Error` that prints its cause.

use crate::app::StartError;
use crate::osdp::QueueFull;
use crate::osdp::packet::PacketError;
use crate::provisioned::RecordError;
use crate::time::TimeRefused;
use std::string::ToString;

fn text(e: &dyn core::error::Error) -> std::string::String {
    e.to_string()
}

#[test]
fn every_public_error_displays_its_cause() {
    assert_eq!(
        text(&StartError::OriginalityNotBuilt),
        "the profile asks for the originality check, and this image was built without it"
    );
    assert_eq!(text(&QueueFull), "the OSDP card-read queue is full");
    assert_eq!(
        text(&PacketError::Trailer),
        "OSDP packet CRC or checksum mismatch"
    );
    assert_eq!(
        text(&RecordError::WeakKey),
        "known, all-zero or reused key in the key record"
    );
    assert_eq!(
        text(&TimeRefused::BeforeFloor),
        "time earlier than the floor"
    );
    // The PN532 driver's errors keep their cause as the source.
    let e: pn532::Error<u8> = pn532::Error::Link(pn532::LinkError::Frame(
        pn532::frame::FrameError::DataChecksum,
    ));
    assert_eq!(
        text(&e),
        "PN532 link: broken frame: frame data checksum mismatch"
    );
    let link = core::error::Error::source(&e).unwrap();
    assert_eq!(
        link.to_string(),
        "broken frame: frame data checksum mismatch"
    );
    assert_eq!(
        link.source().unwrap().to_string(),
        "frame data checksum mismatch"
    );
    assert_eq!(
        text(&pn532::Error::<u8>::Link(pn532::LinkError::Bus(7))),
        "PN532 link: bus error: 7"
    );
}
