//! Trusted time for the validity window (spec §12 step 10, R9), from the panel over the OSDP
//! Secure Channel, with a floor kept in non-volatile memory so that time never goes backwards,
//! across reboots included.
//!
//! - The panel sets the time with a manufacturer-specific command inside the Secure Channel
//!   ([`crate::osdp::pd`], `osdp_MFG` sub-command [`MFG_SET_TIME`]): only a panel that holds
//!   the SCBK can set it, and only forwards of the floor are taken.
//! - The floor is the latest trusted time the reader has seen, written back to its store
//!   ([`FloorStore`]: a flash page on the nRF52840) when it moves on by
//!   [`FLOOR_WRITE_EVERY_S`] or more (flash endurance: one write an hour is ~90,000 in ten
//!   years). At boot the floor is a lower bound of now, never trusted time itself.
//! - Until the panel has set the time in this boot, [`TrustedClock::now`] says so
//!   ([`Now::Untrusted`]): the board then reports reads in the extended format and leaves the
//!   validity decision to the controller (firmware/README.md, spec reader requirements).

/// `osdp_MFG` sub-command after the 3-byte vendor code: set trusted time, followed by the Unix
/// time in seconds, 4 bytes little-endian.
pub const MFG_SET_TIME: u8 = 0x01;

/// How far the trusted time must have moved past the stored floor before it is written again.
pub const FLOOR_WRITE_EVERY_S: u32 = 3_600;

/// How far a time set by the panel must move the floor before it is written at once (a panel
/// that sets the time at every session does not wear the flash).
pub const FLOOR_WRITE_ON_SET_S: u32 = 60;

/// Where the floor lives between boots.
pub trait FloorStore {
    /// The stored floor, Unix seconds; `None` when nothing was ever stored (erased flash).
    fn load(&mut self) -> Option<u32>;
    /// Stores a new floor (always later than the one before).
    fn store(&mut self, floor: u32);
}

/// What the reader knows about now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Now {
    /// Set by the panel in this boot, plus the time elapsed since.
    Trusted(u32),
    /// No time from the panel yet: the floor plus uptime, a lower bound of now.
    Untrusted(u32),
}

impl Now {
    /// The seconds either way.
    pub fn seconds(self) -> u32 {
        match self {
            Self::Trusted(t) | Self::Untrusted(t) => t,
        }
    }
}

/// Why a time from the panel was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TimeRefused {
    /// Earlier than the floor: time never goes backwards.
    BeforeFloor,
}

impl core::fmt::Display for TimeRefused {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BeforeFloor => f.write_str("time earlier than the floor"),
        }
    }
}

impl core::error::Error for TimeRefused {}

/// The reader's clock: the floor, and the panel's time once it came.
#[derive(Debug)]
pub struct TrustedClock<S> {
    store: S,
    floor: u32,
    stored_floor: u32,
    /// The panel's time and the board's millisecond clock when it came.
    trusted: Option<(u32, u32)>,
    boot_ms: u32,
}

impl<S: FloorStore> TrustedClock<S> {
    /// Loads the floor; `build_time` (the image's build date) is the floor of a reader that
    /// never stored one. `now_ms` is the board's millisecond clock at boot.
    pub fn new(mut store: S, build_time: u32, now_ms: u32) -> Self {
        let floor = store.load().unwrap_or(0).max(build_time);
        Self {
            store,
            floor,
            stored_floor: floor,
            trusted: None,
            boot_ms: now_ms,
        }
    }

    /// The store (the board shares its flash controller with other pages).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// The floor (Unix seconds).
    pub fn floor(&self) -> u32 {
        self.floor
    }

    /// Takes the panel's time `unix` (it came over the Secure Channel at `now_ms`). Refused if
    /// it is earlier than the floor.
    pub fn set(&mut self, unix: u32, now_ms: u32) -> Result<(), TimeRefused> {
        if unix < self.floor {
            return Err(TimeRefused::BeforeFloor);
        }
        self.trusted = Some((unix, now_ms));
        self.advance_floor(unix, FLOOR_WRITE_ON_SET_S);
        Ok(())
    }

    /// Now, and the floor moved on (and written back when it moved far enough).
    pub fn now(&mut self, now_ms: u32) -> Now {
        match self.trusted {
            Some((base, at)) => {
                let t = base.saturating_add(now_ms.wrapping_sub(at) / 1000);
                self.advance_floor(t, FLOOR_WRITE_EVERY_S);
                Now::Trusted(t)
            }
            None => Now::Untrusted(
                self.floor
                    .saturating_add(now_ms.wrapping_sub(self.boot_ms) / 1000),
            ),
        }
    }

    fn advance_floor(&mut self, t: u32, write_after: u32) {
        if t > self.floor {
            self.floor = t;
        }
        if self.floor.saturating_sub(self.stored_floor) >= write_after {
            self.store.store(self.floor);
            self.stored_floor = self.floor;
        }
    }

    /// Writes the floor now if it moved since the last write (before a reset the board knows
    /// of).
    pub fn flush(&mut self) {
        if self.floor > self.stored_floor {
            self.store.store(self.floor);
            self.stored_floor = self.floor;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::vec::Vec;

    /// A flash page shared across "reboots", counting writes.
    #[derive(Clone, Default)]
    struct Page(Rc<RefCell<(Option<u32>, Vec<u32>)>>);

    impl FloorStore for Page {
        fn load(&mut self) -> Option<u32> {
            self.0.borrow().0
        }
        fn store(&mut self, floor: u32) {
            let mut p = self.0.borrow_mut();
            p.0 = Some(floor);
            p.1.push(floor);
        }
    }

    const BUILD: u32 = 1_790_000_000;

    #[test]
    fn untrusted_until_the_panel_sets_the_time_then_trusted() {
        let mut c = TrustedClock::new(Page::default(), BUILD, 500);
        assert_eq!(c.now(2_500), Now::Untrusted(BUILD + 2));
        c.set(BUILD + 1_000, 3_000).unwrap();
        assert_eq!(c.now(3_000), Now::Trusted(BUILD + 1_000));
        assert_eq!(c.now(13_999), Now::Trusted(BUILD + 1_010));
        // The board's millisecond clock wraps.
        let mut c = TrustedClock::new(Page::default(), BUILD, 0);
        c.set(BUILD, u32::MAX - 999).unwrap();
        assert_eq!(c.now(1_000), Now::Trusted(BUILD + 2));
    }

    #[test]
    fn the_floor_survives_a_restart_and_time_never_goes_backwards() {
        let page = Page::default();
        let mut c = TrustedClock::new(page.clone(), BUILD, 0);
        let t = BUILD + 5 * 86_400;
        c.set(t, 0).unwrap();
        assert_eq!(
            page.0.borrow().0,
            Some(t),
            "the first trusted time is stored"
        );
        // Reboot: the floor is back, a lower bound, not trusted.
        let mut c = TrustedClock::new(page.clone(), BUILD, 0);
        assert_eq!(c.floor(), t);
        assert_eq!(c.now(1_000), Now::Untrusted(t + 1));
        // A panel (or someone on the bus with the SCBK) cannot wind the clock back.
        assert_eq!(c.set(t - 1, 2_000), Err(TimeRefused::BeforeFloor));
        assert_eq!(c.now(2_000), Now::Untrusted(t + 2));
        c.set(t + 60, 3_000).unwrap();
        assert_eq!(c.now(3_000), Now::Trusted(t + 60));
    }

    #[test]
    fn the_floor_is_written_about_once_an_hour() {
        let page = Page::default();
        let mut c = TrustedClock::new(page.clone(), BUILD, 0);
        c.set(BUILD + 10, 0).unwrap();
        for minute in 0..(3 * 60) {
            c.now(minute * 60_000);
        }
        let writes = page.0.borrow().1.clone();
        // 10 s past the build time is not worth a write; then one an hour.
        assert_eq!(writes, [BUILD + 10 + 3_600, BUILD + 10 + 7_200]);
        c.flush();
        assert_eq!(page.0.borrow().0, Some(c.floor()));
    }

    #[test]
    fn an_erased_store_starts_at_the_build_time() {
        let mut c = TrustedClock::new(Page::default(), BUILD, 0);
        assert_eq!(c.floor(), BUILD);
        assert_eq!(c.set(BUILD - 1, 0), Err(TimeRefused::BeforeFloor));
    }
}
