//! What the fuzz targets and the seed generator (`examples/seeds.rs`) share: a deterministic
//! RNG and its one-byte variant, the scripted hostile card and PN532, and an OSDP control panel
//! that holds the SCBK. Each harness is a plain function, so the generator checks on the
//! recorded sessions that the property a target asserts can fail (the recorded answers, with
//! the recorded randomness, do GRANT and do open a session).

pub mod fw;
pub mod hostile;
pub mod osdp_cp;
pub mod picc;
pub mod rng;
