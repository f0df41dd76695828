//! Shared pieces of the integration tests.

pub mod double_card;
