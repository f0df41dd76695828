//! Stack high-water mark: paint the unused stack with a pattern at boot, and later find the
//! lowest word the program overwrote.

const PAINT: u32 = 0xCCCC_CCCC;
/// How much stack is painted and watched (the goal is 6 KiB at most).
pub const WATCHED: usize = 64 * 1024;

unsafe extern "C" {
    static _stack_start: u32;
}

fn top() -> usize {
    // Only the address of the linker symbol is taken, never its value.
    core::ptr::addr_of!(_stack_start) as usize
}

/// Paints from `WATCHED` below the top of the stack up to just below the current frame.
#[inline(never)]
pub fn paint() {
    let here = cortex_m::register::msp::read() as usize;
    let mut p = top() - WATCHED;
    // Leave the current frame and a margin alone.
    while p < here - 256 {
        // SAFETY: stack RAM below the live frames, word aligned; nothing uses it yet.
        unsafe { core::ptr::write_volatile(p as *mut u32, PAINT) };
        p += 4;
    }
}

/// Bytes of stack used so far at most.
pub fn high_water_mark() -> usize {
    let mut p = top() - WATCHED;
    while p < top() {
        // SAFETY: as in `paint`.
        if unsafe { core::ptr::read_volatile(p as *const u32) } != PAINT {
            break;
        }
        p += 4;
    }
    top() - p
}
