//! Native DESFire instruction codes (the INS byte of the ISO wrapping). The named codes and
//! their names come from the command table in [`super::command`], which also gives [`Ins::name`].

/// A native command code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ins(pub u8);

impl core::fmt::Debug for Ins {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(name) => write!(f, "Ins({:#04x} {name})", self.0),
            None => write!(f, "Ins({:#04x})", self.0),
        }
    }
}

impl core::fmt::Display for Ins {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Unknown({:02X})", self.0),
        }
    }
}
