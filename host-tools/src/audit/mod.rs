//! The reader audit (`desfire audit`, `desfire demo`): the test cards of
//! `specs/generic-encoding.md` §17 played against a reader under test, one verdict per card.
//!
//! - [`model`]: what an audit found, the data every report format renders.
//! - [`report`]: the terminal table and the report files (JSON, Markdown, HTML, JUnit XML).

pub mod model;
pub mod report;
