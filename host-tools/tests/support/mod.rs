//! Shared pieces of the integration tests.

pub mod cli;
pub mod double_card;
