//! The reader side (PCD).
