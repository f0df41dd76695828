//! The reader audit (`desfire audit`, `desfire demo`): the test cards of
//! `specs/generic-encoding.md` §17 played against a reader under test, one verdict per card.
//!
//! - [`model`]: what an audit found, the data every report format renders.

pub mod model;
