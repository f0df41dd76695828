//! The reader procedure (`specs/generic-encoding.md` §12) with a profile's keys and policy, and
//! the spec's deny identifiers (§13).

use desfire_core::encoding::{
    DenyReason, OutputFormat, ReaderConfig, Transaction, TransportFault, read_card,
};
use desfire_core::pcd::{FrameSize, Transport};

use crate::framing::Variant;
use crate::profile::Profile;

/// The spec's identifier and number of a deny reason (§13). `None` for a reason that is this
/// reader's own fault (no key for the card), which is an environment error, not a verdict.
pub fn spec_reason(r: &DenyReason) -> Option<(&'static str, u8)> {
    match r {
        DenyReason::Transport(TransportFault::KeyUnavailable) => None,
        r => Some((r.name(), r.id())),
    }
}

/// Which part of the profile's policy a read applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadPolicy {
    /// Everything a reader does: key generations (step 5), the originality policy (step 12),
    /// the output format (step 11) and the revocation list (§10). `desfire reader`.
    Reader,
    /// Only what tells whether the card holds a readable, valid credential: key generations,
    /// no Read_Sig, `osdp_RAW` output, no revocation list. `card encode` and `card verify`
    /// (a revoked credential or one without tag 86 is still a conforming card).
    Card,
    /// A reader that is not its own controller (spec §17, "Reader role"): everything of
    /// [`ReadPolicy::Reader`] but the revocation list, and the extended output (§14) that lets
    /// its controller revoke by credential ID and issue number.
    Forwarding,
}

/// Runs the reader procedure once with the profile's reader keys and its whole reader policy
/// ([`ReadPolicy::Reader`]).
pub fn read<T: Transport>(
    transport: &mut T,
    profile: &Profile,
    allow_fixed_uid: bool,
    anticollision_uid: &[u8],
    now: u32,
) -> Transaction {
    read_as(
        ReadPolicy::Reader,
        Variant::Ad,
        transport,
        profile,
        allow_fixed_uid,
        anticollision_uid,
        now,
    )
}

/// Runs the reader procedure once with the profile's reader keys, `policy` and the framing
/// `variant`: the one place the CLI builds a [`ReaderConfig`].
pub fn read_as<T: Transport>(
    policy: ReadPolicy,
    variant: Variant,
    transport: &mut T,
    profile: &Profile,
    allow_fixed_uid: bool,
    anticollision_uid: &[u8],
    now: u32,
) -> Transaction {
    let base = ReaderConfig {
        frame: FrameSize::SHORT_APDU,
        framing: variant.framing(&profile.iso.df_name),
        allow_fixed_uid,
        read_key_generations: &profile.read_key_generations,
        ..ReaderConfig::new(profile.aid, &profile.issuer_keys)
    };
    let config = match policy {
        ReadPolicy::Card => base,
        ReadPolicy::Reader => ReaderConfig {
            originality: profile.policy.originality,
            originality_keys: &profile.originality_keys,
            output: profile.policy.output,
            revocation: &profile.revocation,
            ..base
        },
        ReadPolicy::Forwarding => ReaderConfig {
            originality: profile.policy.originality,
            originality_keys: &profile.originality_keys,
            output: OutputFormat::Extended,
            ..base
        },
    };
    let mut keys = profile.card_keys();
    let mut rng = rand_core::UnwrapErr(rand_core::OsRng);
    read_card(
        transport,
        &config,
        &mut keys,
        &mut rng,
        anticollision_uid,
        now,
    )
}
