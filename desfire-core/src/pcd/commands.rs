//! Reader-side builders and response parsers, one per command.
