//! What an audit found: the data model every report renders (terminal table, JSON, Markdown,
//! HTML, JUnit XML). The JSON form is the stable machine interface:
//! `{"pass":bool,"reader":…,"cards":[{"id","name","requirement","expected","observed","pass",
//! "detail"}]}` plus per card the exchange that was observed.

use serde::Serialize;

/// One audit of one reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditReport {
    /// True when every card's verdict matched the conforming verdict.
    pub pass: bool,
    /// The reader under test, as the user named it (`reference`, a command line, an ELF path).
    pub reader: String,
    /// The profile the cards were built from (`lab` or a file path).
    pub profile: String,
    /// The path the cards took: `in-process`, `pcsc` or `firmware`.
    pub path: String,
    /// One entry per card played, in the order played.
    pub cards: Vec<CardResult>,
}

/// The result of one test card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardResult {
    /// `T0`..`T15`, `S1`..`S4`.
    pub id: String,
    /// Short name (`Golden`, `UID clone`, …).
    pub name: String,
    /// The requirement(s) it tests (`R1, R10`).
    pub requirement: String,
    /// The conforming verdict, e.g. `GRANT 1A2B3C4D5E6F7081` or `DENY AUTH_FAILED`.
    pub expected: String,
    /// What the reader did, e.g. `GRANT 1A2B3C4D5E6F7081`, `DENY`, `TIMEOUT`.
    pub observed: String,
    /// Observed matches expected.
    pub pass: bool,
    /// One line: on a pass, why it passed; on a failure, what the failure means in plain words.
    pub detail: String,
    /// The command/response pairs the card saw, in order (may be empty, e.g. for a reader that
    /// never talked to the card).
    pub exchange: Vec<ExchangeStep>,
}

/// One command/response pair between the reader under test and the test card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExchangeStep {
    /// The C-APDU as uppercase hex.
    pub command: String,
    /// The R-APDU as uppercase hex (empty when the card did not answer).
    pub response: String,
    /// The command decoded in NXP's terms (`AuthenticateEV2First key 01`, `ReadData file 01`).
    pub command_name: String,
    /// What the card did to this step on purpose (a fault of the test card), if anything.
    pub fault: Option<String>,
}

impl AuditReport {
    /// Number of cards that passed.
    pub fn passed(&self) -> usize {
        self.cards.iter().filter(|c| c.pass).count()
    }

    /// Number of cards that failed.
    pub fn failed(&self) -> usize {
        self.cards.len().saturating_sub(self.passed())
    }
}
