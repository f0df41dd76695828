//! The names of the audit's test cards (`specs/generic-encoding.md` §17): one variant per card,
//! so that every place that treats cards one by one (the catalogue in [`super::cards`], the
//! known-bad models' catch matrix) stops compiling until it handles a new card. The text form
//! (`T6`, `T10b`, `S1`) is what reports, `--cards` and recorded reports carry.

use std::fmt;
use std::str::FromStr;

macro_rules! card_ids {
    ($($(#[$doc:meta])* $id:ident,)*) => {
        /// A test card of §17, by its ID.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum CardId {
            $($(#[$doc])* $id,)*
        }

        impl CardId {
            /// Every card, in the order of §17 (the order an audit plays them in).
            pub const ALL: [CardId; [$(CardId::$id),*].len()] = [$(CardId::$id),*];

            /// The ID as §17 and every report write it: `T0`, `T10b`, `S4`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(CardId::$id => stringify!($id),)*
                }
            }
        }
    };
}

card_ids! {
    /// Golden.
    T0,
    /// UID clone.
    T1,
    /// Random-looking clone.
    T1b,
    /// Blank genuine EV3.
    T2,
    /// Wrong key.
    T3,
    /// Plain downgrade.
    T4,
    /// Plain file, MACed read refused.
    T4b,
    /// Legacy authentication only.
    T5,
    /// Tampered MAC.
    T6,
    /// Forged credential.
    T7,
    /// Transplanted credential.
    T8,
    /// Expired.
    T9,
    /// Not yet valid.
    T10a,
    /// Deny-listed.
    T10b,
    /// Superseded issue.
    T10c,
    /// Unknown major.
    T11,
    /// Relay.
    T12,
    /// Replay.
    T13,
    /// Fixed-UID golden.
    T14,
    /// Originality fail.
    T15,
    /// Unknown critical tag.
    S1,
    /// Ignorable tag.
    S2,
    /// Bad TLV length.
    S3,
    /// Untrusted signing key.
    S4,
}

/// A card ID that names no test card.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown test card {0:?} (known: {known})", known = known_ids())]
pub struct UnknownCard(pub String);

fn known_ids() -> String {
    CardId::ALL.map(CardId::as_str).join(",")
}

impl CardId {
    /// The card `text` names, ignoring ASCII case (`t10b` is T10b), as `--cards` takes it.
    pub fn parse(text: &str) -> Result<Self, UnknownCard> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| UnknownCard(text.to_owned()))
    }
}

impl FromStr for CardId {
    type Err = UnknownCard;
    fn from_str(text: &str) -> Result<Self, UnknownCard> {
        Self::parse(text)
    }
}

impl fmt::Display for CardId {
    /// The ID, padded as the format asks (`{:>5}` in the catch matrix).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl serde::Serialize for CardId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<str> for CardId {
    fn eq(&self, text: &str) -> bool {
        self.as_str() == text
    }
}

impl PartialEq<&str> for CardId {
    fn eq(&self, text: &&str) -> bool {
        self.as_str() == *text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_back_in_any_case_and_unknown_ones_are_typed_errors() {
        for id in CardId::ALL {
            assert_eq!(CardId::parse(id.as_str()), Ok(id));
            assert_eq!(id.as_str().to_ascii_lowercase().parse::<CardId>(), Ok(id));
            assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{id}\""));
        }
        assert_eq!(CardId::ALL.len(), 24);
        assert_eq!(CardId::T10b.as_str(), "T10b");
        assert_eq!(
            format!("{:>5}|{:<4}|", CardId::T6, CardId::S1),
            "   T6|S1  |"
        );
        let e = CardId::parse("T99").unwrap_err();
        assert_eq!(e, UnknownCard("T99".into()));
        assert!(
            e.to_string()
                .starts_with("unknown test card \"T99\" (known: T0,T1,T1b,T2,"),
            "{e}"
        );
        assert_eq!(CardId::parse("T10"), Err(UnknownCard("T10".into())));
    }
}
