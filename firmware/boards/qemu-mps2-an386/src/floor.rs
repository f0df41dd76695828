//! Time at boot and the trusted-time floor (reader::time), over semihosting: QEMU has no flash
//! that survives a restart, so the file named by `floor=PATH` on the semihosting command line
//! stands for the nRF board's TIME page. Without `floor=` nothing is kept.

use reader::time::FloorStore;

/// Trusted time at boot, Unix seconds: `now=SECONDS` on the semihosting command line when the
/// runner gives one (`desfire audit --firmware` passes the audit's `now`, so the test cards'
/// validity windows, which are relative to it, mean the same to the reader), otherwise the
/// host's clock (semihosting SYS_TIME). Lab only: a real reader has no such channel. And the
/// floor file of `floor=PATH`, if given.
pub fn boot_time() -> (u32, SemihostFloor) {
    let mut line = [0u8; 256];
    // SYS_GET_CMDLINE (0x15): the host writes the command line, NUL-terminated, into `line`.
    // SAFETY: the parameter block names a buffer of this length that lives across the call.
    let r = unsafe { cortex_m_semihosting::syscall!(GET_CMDLINE, line.as_mut_ptr(), line.len()) };
    let end = line.iter().position(|&b| b == 0).unwrap_or(line.len());
    let text = (r == 0)
        .then(|| core::str::from_utf8(line.get(..end)?).ok())
        .flatten()
        .unwrap_or("");
    let arg = |name: &str| text.split(' ').find_map(|a| a.strip_prefix(name));
    let floor = SemihostFloor::new(arg("floor="));
    match arg("now=").and_then(|s| s.parse::<u32>().ok()) {
        Some(now) => {
            defmt::info!("trusted time from the runner: {=u32}", now);
            (now, floor)
        }
        // SAFETY: a semihosting call without arguments.
        None => (
            unsafe { cortex_m_semihosting::syscall!(TIME) as u32 },
            floor,
        ),
    }
}

/// The file, its path NUL-terminated for SYS_OPEN.
#[derive(Debug)]
pub struct SemihostFloor {
    path: [u8; 128],
    len: usize,
}

/// SYS_OPEN modes (ARM semihosting: "rb" = 1, "wb" = 5).
const MODE_RB: usize = 1;
const MODE_WB: usize = 5;

impl SemihostFloor {
    /// The file at `path`; `None` (nothing kept) when there is no path or it is too long.
    pub fn new(path: Option<&str>) -> Self {
        let mut f = Self {
            path: [0; 128],
            len: 0,
        };
        if let Some(p) = path.filter(|p| !p.is_empty() && p.len() < f.path.len())
            && let Some(dst) = f.path.get_mut(..p.len())
        {
            dst.copy_from_slice(p.as_bytes());
            f.len = p.len();
        }
        f
    }

    fn open(&self, mode: usize) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        // SAFETY: a NUL-terminated path that lives across the call, its length without the NUL.
        let fd =
            unsafe { cortex_m_semihosting::syscall!(OPEN, self.path.as_ptr(), mode, self.len) };
        (fd as isize >= 0).then_some(fd)
    }
}

impl FloorStore for SemihostFloor {
    /// `floor[4 LE] || !floor[4 LE]`, as the nRF board's page.
    fn load(&mut self) -> Option<u32> {
        let fd = self.open(MODE_RB)?;
        let mut words = [0u8; 8];
        // SAFETY: the buffer lives across the call; SYS_READ returns the bytes NOT read.
        let left = unsafe { cortex_m_semihosting::syscall!(READ, fd, words.as_mut_ptr(), 8) };
        // SAFETY: a descriptor from SYS_OPEN.
        unsafe { cortex_m_semihosting::syscall!(CLOSE, fd) };
        if left != 0 {
            return None;
        }
        let (a, b) = words.split_at(4);
        let floor = u32::from_le_bytes(a.try_into().ok()?);
        (u32::from_le_bytes(b.try_into().ok()?) == !floor).then_some(floor)
    }

    fn store(&mut self, floor: u32) {
        let Some(fd) = self.open(MODE_WB) else {
            return;
        };
        let mut words = [0u8; 8];
        let (a, b) = words.split_at_mut(4);
        a.copy_from_slice(&floor.to_le_bytes());
        b.copy_from_slice(&(!floor).to_le_bytes());
        // SAFETY: the buffer lives across the calls; a descriptor from SYS_OPEN.
        unsafe {
            cortex_m_semihosting::syscall!(WRITE, fd, words.as_ptr(), 8);
            cortex_m_semihosting::syscall!(CLOSE, fd);
        }
        defmt::info!("time floor {=u32} stored", floor);
    }
}
