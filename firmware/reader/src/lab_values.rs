//! The public TEST values of spec §16 and the lab SCBK. Every build knows them: the lab build
//! uses them ([`crate::lab`]), a production build refuses them in its key record (R15,
//! [`crate::provisioned`]).

use hex_literal::hex;

/// The TEST K1 (`lab.toml` `k1`; K1 is not diversified).
pub const TEST_K1: [u8; 16] = hex!("101112131415161718191A1B1C1D1E1F");
/// The TEST K2 master (`lab.toml` `k2`).
pub const TEST_K2_MASTER: [u8; 16] = hex!("202122232425262728292A2B2C2D2E2F");
/// The TEST issuer ID (`lab.toml` `[issuer] id`) and public key of spec §16.1 (P-256, RFC 6979
/// A.2.5; `lab.toml` `[[issuer.public_keys]]` key ID 01), as desfire-core holds them.
pub use desfire_core::encoding::lab::{
    ISSUER_ID as TEST_ISSUER_ID, ISSUER_PUBLIC as TEST_ISSUER_PUBLIC,
};
/// The lab OSDP Secure Channel base key: a public TEST value (`firmware/README.md`), not
/// SCBK-D (which the PD refuses) and not derived from any master. Never for a real line.
pub const LAB_SCBK: [u8; 16] = hex!("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF");

/// The lab controller's deny-list (`lab.toml` `[revocation] deny_list`): the audit's T10b card
/// (spec §17) carries this credential ID.
pub const LAB_DENY_LISTED: u64 = 0x1A2B_3C4D_5E6F_70FF;
/// The lab controller's current issue of the enrolled credential (`lab.toml`
/// `[revocation.current_issue]`): the audit's T10c card carries issue 0 and is `REVOKED`.
pub const LAB_CURRENT_ISSUE: (u64, u8) = (0x1A2B_3C4D_5E6F_7081, 1);

/// SCBK-D, the OSDP default Secure Channel key of install mode (OSDP v2.2 Annex D):
/// `30 31 … 3F`, public. A key record never holds it.
pub const SCBK_D: [u8; 16] = hex!("303132333435363738393A3B3C3D3E3F");
