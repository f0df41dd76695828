//! The framing choices a reader may make, named: each is legal DESFire and must lead to the
//! same verdict on every test card (`specs/generic-encoding.md` §12, §17). The audit plays its
//! cards against readers in each variant (`desfire reader --framing`, the test suite's
//! known-bad models), because a fault that is injected only under one framing judges readers
//! that frame otherwise for something the card never did.

use desfire_core::encoding::Framing;
use desfire_core::pcd::commands::Chaining;

/// A reader's framing, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// SelectApplication, ReadData `AD` of exactly 160 bytes (the reference reader's default).
    Ad,
    /// ReadData `BD`: the 184-byte answer in 59-byte frames fetched with `AF`, the last one
    /// 7 bytes long, the MACt split across the last two.
    Bd,
    /// ReadData `BD` of the whole file (length `00 00 00`).
    WholeFile,
    /// ISOSelectFile by DF name, then ReadData `AD`.
    DfName,
    /// ISOSelectFile by DF name, GetVersion before it, GetFileSettings before authenticating,
    /// GetKeyVersion in the session, ReadData `BD`, and Read_Sig: a reader that asks
    /// everything it may on the way.
    Inquisitive,
}

impl Variant {
    /// Every variant.
    pub const ALL: [Variant; 5] = [
        Variant::Ad,
        Variant::Bd,
        Variant::WholeFile,
        Variant::DfName,
        Variant::Inquisitive,
    ];

    /// The name `--framing` takes.
    pub const fn name(self) -> &'static str {
        match self {
            Variant::Ad => "ad",
            Variant::Bd => "bd",
            Variant::WholeFile => "whole-file",
            Variant::DfName => "df-name",
            Variant::Inquisitive => "inquisitive",
        }
    }

    /// The variant named `name`.
    pub fn from_name(name: &str) -> Option<Variant> {
        Variant::ALL.into_iter().find(|v| v.name() == name)
    }

    /// Every name, for help texts and errors.
    pub fn names() -> String {
        Variant::ALL.map(Variant::name).join(", ")
    }

    /// The variant named `name`, or an error listing the names (clap's `value_parser`).
    pub fn parse(name: &str) -> Result<Variant, String> {
        Variant::from_name(name).ok_or_else(|| format!("expected one of {}", Variant::names()))
    }

    /// The reader procedure's framing; `df_name` is the GEN-PACS application's.
    pub fn framing(self, df_name: &[u8]) -> Framing<'_> {
        let by_name = Some(df_name).filter(|n| !n.is_empty());
        match self {
            Variant::Ad => Framing::REFERENCE,
            Variant::Bd => Framing {
                read_chaining: Chaining::Native,
                ..Framing::REFERENCE
            },
            Variant::WholeFile => Framing {
                read_chaining: Chaining::Native,
                read_whole_file: true,
                ..Framing::REFERENCE
            },
            Variant::DfName => Framing {
                select_df_name: by_name,
                ..Framing::REFERENCE
            },
            Variant::Inquisitive => Framing {
                select_df_name: by_name,
                read_chaining: Chaining::Native,
                read_whole_file: false,
                inquisitive: true,
            },
        }
    }
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
