//! The two flash pages outside the image (memory.x): the provisioned key record (`KEYS`) and
//! the trusted-time floor (`TIME`), both written through the NVMC.

use embassy_nrf::nvmc::Nvmc;
use embedded_storage::nor_flash::{NorFlash, ReadNorFlash};
use reader::provisioned::RECORD_LEN;

unsafe extern "C" {
    static _keys_start: u8;
    static _keys_len: u8;
    static _time_start: u8;
}

/// The provisioned key record (flash page `KEYS`).
pub fn key_record() -> &'static [u8] {
    // SAFETY: `_keys_start` is the start of the 4 KiB KEYS region of memory.x, memory-mapped
    // flash that this firmware writes only to erase it (on tamper, after which the record is
    // never read again); RECORD_LEN is within it.
    unsafe { core::slice::from_raw_parts(core::ptr::addr_of!(_keys_start), RECORD_LEN) }
}

/// Erases the KEYS flash page (tamper, R17): the key record is gone for good, and the next
/// boot finds no record and refuses to run until the reader is provisioned again.
pub fn erase_key_record(nvmc: &mut Nvmc<'_>) {
    // Only the addresses of the linker symbols are taken (`_keys_len` is a length, not data).
    let start = core::ptr::addr_of!(_keys_start) as u32;
    let len = core::ptr::addr_of!(_keys_len) as u32;
    match nvmc.erase(start, start.saturating_add(len)) {
        Ok(()) => defmt::warn!("key record erased"),
        Err(e) => defmt::error!("erasing the key record failed: {}", e),
    }
}

/// The trusted-time floor in the TIME flash page: `floor[4 LE] || !floor[4 LE]`, so that
/// erased flash and a torn write both read as "no floor".
pub struct FlashFloor(pub Nvmc<'static>);

impl FlashFloor {
    fn page() -> u32 {
        core::ptr::addr_of!(_time_start) as u32
    }
}

impl reader::time::FloorStore for FlashFloor {
    fn load(&mut self) -> Option<u32> {
        let mut words = [0u8; 8];
        self.0.read(Self::page(), &mut words).ok()?;
        let (a, b) = words.split_at(4);
        let floor = u32::from_le_bytes(a.try_into().ok()?);
        (u32::from_le_bytes(b.try_into().ok()?) == !floor).then_some(floor)
    }

    fn store(&mut self, floor: u32) {
        let mut words = [0u8; 8];
        words[..4].copy_from_slice(&floor.to_le_bytes());
        words[4..].copy_from_slice(&(!floor).to_le_bytes());
        let page = Self::page();
        let written = self
            .0
            .erase(page, page.saturating_add(4096))
            .and_then(|()| self.0.write(page, &words));
        if let Err(e) = written {
            defmt::error!("writing the time floor failed: {}", e);
        }
    }
}
