//! The debug port of a production image (feature `debug-port` off): UICR.APPROTECT enabled in
//! the image, asked of embassy-nrf at init, and checked before the key record is read.

use embassy_nrf::config::{Config, Debug};

/// UICR.APPROTECT = enabled, written when a production image is flashed (memory.x
/// `UICR_APPROTECT`; scripts/check_debug_port.sh checks it is in the image).
#[cfg(not(feature = "debug-port"))]
#[unsafe(link_section = ".uicr_approtect")]
#[used]
static UICR_APPROTECT: u32 = reader::debug_port::APPROTECT_ENABLED;

/// embassy-nrf's configuration. Production: it writes UICR.APPROTECT = enabled if it is not
/// (and resets); its default, `Allowed`, would write it open at every boot.
pub fn hal_config() -> Config {
    let mut config = Config::default();
    config.debug = if cfg!(feature = "debug-port") {
        Debug::Allowed
    } else {
        Debug::Disallowed
    };
    config
}

/// Whether the reader may run: a development build says it is one; a production build runs
/// only when UICR.APPROTECT protects the debug port.
pub fn debug_port_ok() -> bool {
    // SAFETY: UICR.APPROTECT, a read-only view of the UICR flash word.
    let approtect =
        unsafe { core::ptr::read_volatile(reader::debug_port::UICR_APPROTECT as *const u32) };
    if cfg!(feature = "debug-port") {
        defmt::warn!("DEVELOPMENT BUILD: SWD debug port open, keys readable; never on a door");
        true
    } else if reader::debug_port::approtect_enabled(approtect) {
        true
    } else {
        defmt::error!(
            "UICR.APPROTECT {=u32:08X}: debug port not protected, refusing",
            approtect
        );
        false
    }
}
