//! The nRF52840's access port protection (Nordic nRF52840 Product Specification v1.7, §4.8
//! "Access port protection" and UICR.APPROTECT): the rule a production reader applies at boot.
//!
//! A reader hangs on the attack side of the door. With the debug port open, anyone who opens the
//! housing reads the key record over SWD (K1, the K2 master, the SCBK). A production image
//! therefore carries UICR.APPROTECT = `Enabled` (written when the image is flashed), asks the
//! HAL to keep it so, and refuses to run when the UICR it finds does not say `Enabled`.

/// The address of UICR.APPROTECT on the nRF52840.
pub const UICR_APPROTECT: usize = 0x1000_1208;

/// The word a production image puts at [`UICR_APPROTECT`]: PALL = `0x00`, `Enabled`.
pub const APPROTECT_ENABLED: u32 = 0x0000_0000;

/// Whether the UICR.APPROTECT word protects the access port: PALL (bits 7:0) is `0x00`
/// (`Enabled`). `0xFF` (erased, `Disabled` on build codes before F) and `0x5A` (`HwDisabled`)
/// leave it open, as does any other value, which the chip does not define.
pub fn approtect_enabled(uicr_approtect: u32) -> bool {
    uicr_approtect & 0xFF == 0x00
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pall_enabled_protects() {
        assert!(approtect_enabled(APPROTECT_ENABLED));
        // Bits above PALL are reserved: they do not decide.
        assert!(approtect_enabled(0xFFFF_FF00));
        for open in [
            0xFFFF_FFFF,
            0x0000_005A,
            0xFFFF_FF5A,
            0x0000_0001,
            0x0000_0080,
        ] {
            assert!(!approtect_enabled(open), "{open:08X}");
        }
    }
}
