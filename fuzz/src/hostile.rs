//! A hostile card against the host's GEN-PACS reader procedure (`encoding::read_card`): every
//! answer the card gives comes from the input, frames, status words and lengths included, and
//! the input knows no key. The reader holds the lab profile's keys (spec §16) and trusts the
//! TEST issuer key.
//!
//! Input: a flags byte (the reader's optional steps, see [`config`]), the anticollision UID as
//! a length byte (mod 11) and that many bytes, then the card's R-APDUs, each a length byte and
//! that many bytes. When the input ends, the card has left the field (a transport error).

use std::sync::LazyLock;

use desfire_core::crypto::AesKey;
use desfire_core::crypto::originality::{NXP_KEYS, OriginalityKey, TEST_KEY};
use desfire_core::encoding::credential::{IssuerId, KeyId};
use desfire_core::encoding::{
    IssuerKey, LAB_AID, Masters, OriginalityPolicy, OutputFormat, ReaderConfig, Revocation,
    Transaction, lab, read_card,
};
use desfire_core::pcd::Transport;

/// Trusted time of the harnesses: 2028-01-01Z, inside the lab credential's window.
pub const NOW: u32 = 1_830_297_600;
/// The seed of the reader's RNG when the golden session was recorded
/// ([`crate::rng::TestRng`]); the harness runs the reader with it [`crate::rng::Nudged`].
pub const GOLDEN_READER_RNG: u64 = 0xBEEF;
/// The next generation of K2 the reader holds when the flags ask for step 5.
pub const NEXT_K2_VERSION: u8 = 0x02;

static ISSUER_KEYS: LazyLock<Vec<IssuerKey>> = LazyLock::new(|| {
    let issuer = IssuerId::new(lab::ISSUER_ID).expect("12 bytes");
    vec![
        IssuerKey::from_sec1(issuer, KeyId::one(lab::ISSUER_KEY_ID), &lab::ISSUER_PUBLIC)
            .expect("the TEST issuer key"),
    ]
});

static REVOCATION: LazyLock<Vec<Revocation>> = LazyLock::new(|| {
    let issuer = IssuerId::new(lab::ISSUER_ID).expect("12 bytes");
    vec![
        Revocation::DenyListed {
            issuer: issuer.clone(),
            credential_id: 0x1A2B_3C4D_5E6F_70FF,
        },
        Revocation::CurrentIssue {
            issuer,
            credential_id: lab::CREDENTIAL_ID,
            issue_number: 1,
        },
    ]
});

static ORIGINALITY_KEYS: LazyLock<Vec<OriginalityKey>> = LazyLock::new(|| {
    let mut keys = NXP_KEYS.to_vec();
    keys.push(TEST_KEY);
    keys
});

/// The key generations step 5 accepts when the flags ask for it.
const GENERATIONS: [u8; 2] = [desfire_core::encoding::keys::KEY_VERSION, NEXT_K2_VERSION];

/// The lab credential's validity window (spec §9: `valid_from`, `valid_until`).
pub const VALID_FROM: u32 = 0x6955_B900;
/// See [`VALID_FROM`].
pub const VALID_UNTIL: u32 = 0x72BD_0C00;

/// Trusted time from the flags byte: [`NOW`], or with Read_Sig bits `3` one second before the
/// window, or with output bits `3` its end (`valid_until`, already expired).
pub fn now(flags: u8) -> u32 {
    if (flags >> 1) & 3 == 3 {
        VALID_FROM - 1
    } else if (flags >> 4) & 3 == 3 {
        VALID_UNTIL
    } else {
        NOW
    }
}

/// The reader's configuration from the flags byte: bit 0 `allow_fixed_uid`; bits 1-2 Read_Sig
/// (0 off, 1 log, 2 require, 3 off and a clock before the window, see [`now`]); bit 3 step 5
/// (two generations of K2); bits 4-5 output (0 osdp_RAW, 1 extended, 2 legacy Wiegand,
/// 3 osdp_RAW and a clock at the window's end); bit 6 the lab revocation list. Flags `00` is
/// the minimum procedure the golden session was recorded with.
pub fn config(flags: u8) -> ReaderConfig<'static> {
    ReaderConfig {
        allow_fixed_uid: flags & 0x01 != 0,
        originality: match (flags >> 1) & 3 {
            1 => OriginalityPolicy::Log,
            2 => OriginalityPolicy::Require,
            _ => OriginalityPolicy::Off,
        },
        originality_keys: &ORIGINALITY_KEYS,
        read_key_generations: if flags & 0x08 != 0 { &GENERATIONS } else { &[] },
        output: match (flags >> 4) & 3 {
            1 => OutputFormat::Extended,
            2 => OutputFormat::LegacyWiegand,
            _ => OutputFormat::Osdp,
        },
        revocation: if flags & 0x40 != 0 { &REVOCATION } else { &[] },
        ..ReaderConfig::new(LAB_AID, &ISSUER_KEYS)
    }
}

/// What the lab reader holds: K1, the K2 master, and a next generation of K2 for step 5.
pub fn reader_keys() -> Masters {
    let all = Masters::lab_test();
    Masters {
        kuid: all.kuid.clone(),
        read: all.read.clone(),
        read_next: Some((
            NEXT_K2_VERSION,
            AesKey::new(core::array::from_fn(|i| 0x70 + i as u8)),
        )),
        ..Masters::new(all.aid, all.system)
    }
}

/// The card has left the field: the input has no more answers.
#[derive(Debug)]
pub struct Gone;

/// The card: R-APDUs from the input, a length byte and that many bytes each.
#[derive(Debug)]
pub struct ScriptedCard<'a> {
    /// The answers not given yet.
    pub rest: &'a [u8],
    /// How many C-APDUs the reader sent.
    pub commands: usize,
}

impl Transport for ScriptedCard<'_> {
    type Error = Gone;

    fn transceive(&mut self, _capdu: &[u8], rapdu: &mut [u8]) -> Result<usize, Gone> {
        self.commands += 1;
        let (frame, rest) = next_frame(self.rest).ok_or(Gone)?;
        self.rest = rest;
        let n = frame.len().min(rapdu.len());
        rapdu[..n].copy_from_slice(&frame[..n]);
        Ok(n)
    }
}

/// Splits a length-prefixed frame off `data`.
pub fn next_frame(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&len, rest) = data.split_first()?;
    Some(rest.split_at(usize::from(len).min(rest.len())))
}

/// An input of this harness: flags, anticollision UID, answers.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// See [`config`].
    pub flags: u8,
    /// The UID the card gave at activation.
    pub uid: &'a [u8],
    /// The R-APDUs.
    pub answers: &'a [u8],
}

impl<'a> Input<'a> {
    /// Reads an input; `None` when it is shorter than its header.
    pub fn parse(data: &'a [u8]) -> Option<Self> {
        let (&flags, rest) = data.split_first()?;
        let (&uid_len, rest) = rest.split_first()?;
        let (uid, answers) = rest.split_at_checked(usize::from(uid_len % 11))?;
        Some(Self {
            flags,
            uid,
            answers,
        })
    }

    /// The bytes of an input.
    pub fn encode(flags: u8, uid: &[u8], answers: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![flags, uid.len() as u8];
        out.extend_from_slice(uid);
        for a in answers {
            out.push(u8::try_from(a.len()).expect("an answer of at most 255 bytes"));
            out.extend_from_slice(a);
        }
        out
    }
}

/// One run of the reader procedure against the card of `input`, the reader drawing its
/// randomness from `rng`.
pub fn read<R: rand_core::CryptoRng>(input: Input<'_>, rng: &mut R) -> Transaction {
    let mut card = ScriptedCard {
        rest: input.answers,
        commands: 0,
    };
    read_card(
        &mut card,
        &config(input.flags),
        &mut reader_keys(),
        rng,
        input.uid,
        now(input.flags),
    )
}
