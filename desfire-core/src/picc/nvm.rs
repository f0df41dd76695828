//! Non-volatile memory and the journal that makes every state change atomic.
//!
//! Layout: the card image ([`super::image`], [`IMAGE_LEN`] bytes) then the journal: a one-byte
//! commit marker, a two-byte entry count, and entries `offset(u32) len(u16) bytes`.
//!
//! A change is written as: the differing byte runs of the new image into the journal, the count,
//! the marker (`01`), the runs into the image, the marker (`00`). At power-up a set marker means
//! the journal is complete: it is applied again (roll forward). A cut before the marker leaves
//! the old image, a cut after it the new one: never a mix.

use super::image::IMAGE_LEN;

/// A byte-addressed non-volatile memory. Each [`Nvm::write`] is one programming operation; a
/// power cut may happen between two of them, or tear the one in progress.
pub trait Nvm {
    /// The memory's own error (e.g. the power was cut).
    type Error: core::fmt::Debug;
    /// Size in bytes.
    fn capacity(&self) -> usize;
    /// Reads `buf.len()` bytes at `offset`.
    fn read(&self, offset: usize, buf: &mut [u8]) -> Result<(), Self::Error>;
    /// Writes `data` at `offset`.
    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), Self::Error>;
}

/// Size of the journal area: the whole image plus the per-run overhead of the worst case.
pub const JOURNAL_LEN: usize = IMAGE_LEN + IMAGE_LEN / 2 + 64;
/// NVM size a card needs.
pub const NVM_LEN: usize = IMAGE_LEN + JOURNAL_LEN;

const MARKER: usize = IMAGE_LEN;
const COUNT: usize = MARKER + 1;
const ENTRIES: usize = COUNT + 2;
/// Runs closer than this are merged into one journal entry.
const MERGE_GAP: usize = 16;
const CHUNK: usize = 64;

/// Why the store failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError<E> {
    /// The memory failed (power cut).
    Nvm(E),
    /// The journal is malformed or does not fit.
    Journal,
}

impl<E: core::fmt::Display> core::fmt::Display for StoreError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Nvm(e) => write!(f, "non-volatile memory failed: {e}"),
            Self::Journal => f.write_str("the journal is malformed or does not fit"),
        }
    }
}

impl<E: core::fmt::Debug + core::fmt::Display> core::error::Error for StoreError<E> {}

/// Makes NVM hold `image` ([`IMAGE_LEN`] bytes), atomically: the runs of bytes where it
/// differs from the NVM (merged across gaps under 16 bytes) go through the journal, then into
/// the image; an image equal to the NVM's writes nothing. The caller gives no buffer: the NVM
/// is read in 64-byte chunks on the stack. [`StoreError::Journal`] when `image` has another
/// length or the memory is smaller than [`NVM_LEN`].
pub fn commit<N: Nvm>(nvm: &mut N, image: &[u8]) -> Result<(), StoreError<N::Error>> {
    if image.len() != IMAGE_LEN || nvm.capacity() < NVM_LEN {
        return Err(StoreError::Journal);
    }
    let mut at = ENTRIES;
    let mut count: u16 = 0;
    let mut runs = Runs::new(image);
    while let Some((start, end)) = runs.next(nvm).map_err(StoreError::Nvm)? {
        let data = image.get(start..end).ok_or(StoreError::Journal)?;
        let len = u16::try_from(data.len()).map_err(|_| StoreError::Journal)?;
        let off = u32::try_from(start).map_err(|_| StoreError::Journal)?;
        let [o0, o1, o2, o3] = off.to_le_bytes();
        let [l0, l1] = len.to_le_bytes();
        let head = [o0, o1, o2, o3, l0, l1];
        let data_at = at.checked_add(6).ok_or(StoreError::Journal)?;
        let next = data_at.checked_add(data.len()).ok_or(StoreError::Journal)?;
        if next > NVM_LEN {
            return Err(StoreError::Journal);
        }
        nvm.write(at, &head).map_err(StoreError::Nvm)?;
        nvm.write(data_at, data).map_err(StoreError::Nvm)?;
        at = next;
        count = count.checked_add(1).ok_or(StoreError::Journal)?;
    }
    if count == 0 {
        return Ok(());
    }
    nvm.write(COUNT, &count.to_le_bytes())
        .map_err(StoreError::Nvm)?;
    nvm.write(MARKER, &[1]).map_err(StoreError::Nvm)?;
    apply(nvm)?;
    Ok(())
}

/// At power-up: finishes a journal whose marker is set.
pub fn recover<N: Nvm>(nvm: &mut N) -> Result<(), StoreError<N::Error>> {
    let mut marker = [0u8; 1];
    nvm.read(MARKER, &mut marker).map_err(StoreError::Nvm)?;
    if marker == [1] {
        apply(nvm)?;
    }
    Ok(())
}

/// Copies every journal entry into the image, then clears the marker.
fn apply<N: Nvm>(nvm: &mut N) -> Result<(), StoreError<N::Error>> {
    let mut count = [0u8; 2];
    nvm.read(COUNT, &mut count).map_err(StoreError::Nvm)?;
    let mut at = ENTRIES;
    let mut buf = [0u8; CHUNK];
    for _ in 0..u16::from_le_bytes(count) {
        let mut head = [0u8; 6];
        nvm.read(at, &mut head).map_err(StoreError::Nvm)?;
        let [o0, o1, o2, o3, l0, l1] = head;
        let off = usize::try_from(u32::from_le_bytes([o0, o1, o2, o3]))
            .map_err(|_| StoreError::Journal)?;
        let len = usize::from(u16::from_le_bytes([l0, l1]));
        if off.checked_add(len).is_none_or(|e| e > IMAGE_LEN) {
            return Err(StoreError::Journal);
        }
        let mut done = 0usize;
        let data_at = at.checked_add(6).ok_or(StoreError::Journal)?;
        while done < len {
            let n = (len.saturating_sub(done)).min(CHUNK);
            let piece = buf.get_mut(..n).ok_or(StoreError::Journal)?;
            nvm.read(data_at.saturating_add(done), piece)
                .map_err(StoreError::Nvm)?;
            nvm.write(off.saturating_add(done), piece)
                .map_err(StoreError::Nvm)?;
            done = done.saturating_add(n);
        }
        at = data_at.checked_add(len).ok_or(StoreError::Journal)?;
    }
    nvm.write(MARKER, &[0]).map_err(StoreError::Nvm)
}

/// Reads the image out of NVM.
pub fn load<N: Nvm>(nvm: &N, image: &mut [u8]) -> Result<(), N::Error> {
    nvm.read(0, image.get_mut(..IMAGE_LEN).unwrap_or(&mut []))
}

/// The runs of bytes where `image` differs from the NVM, merged across small gaps.
struct Runs<'a> {
    image: &'a [u8],
    pos: usize,
}

impl<'a> Runs<'a> {
    fn new(image: &'a [u8]) -> Self {
        Self { image, pos: 0 }
    }

    /// Index of the first differing byte at or after `from`, if any.
    fn next_diff<N: Nvm>(&self, nvm: &N, from: usize) -> Result<Option<usize>, N::Error> {
        let mut at = from;
        let mut buf = [0u8; CHUNK];
        while at < self.image.len() {
            let n = self.image.len().saturating_sub(at).min(CHUNK);
            let stored = buf.get_mut(..n).unwrap_or(&mut []);
            nvm.read(at, stored)?;
            let new = self.image.get(at..at.saturating_add(n)).unwrap_or(&[]);
            if let Some(i) = stored.iter().zip(new).position(|(a, b)| a != b) {
                return Ok(Some(at.saturating_add(i)));
            }
            at = at.saturating_add(n);
        }
        Ok(None)
    }

    /// Index of the first equal byte at or after `from` (the end of a run).
    fn next_same<N: Nvm>(&self, nvm: &N, from: usize) -> Result<usize, N::Error> {
        let mut at = from;
        let mut buf = [0u8; CHUNK];
        while at < self.image.len() {
            let n = self.image.len().saturating_sub(at).min(CHUNK);
            let stored = buf.get_mut(..n).unwrap_or(&mut []);
            nvm.read(at, stored)?;
            let new = self.image.get(at..at.saturating_add(n)).unwrap_or(&[]);
            if let Some(i) = stored.iter().zip(new).position(|(a, b)| a == b) {
                return Ok(at.saturating_add(i));
            }
            at = at.saturating_add(n);
        }
        Ok(self.image.len())
    }

    fn next<N: Nvm>(&mut self, nvm: &N) -> Result<Option<(usize, usize)>, N::Error> {
        let Some(start) = self.next_diff(nvm, self.pos)? else {
            self.pos = self.image.len();
            return Ok(None);
        };
        let mut end = self.next_same(nvm, start)?;
        // Merge the next run when the gap is small; runs stay below u16::MAX bytes.
        loop {
            match self.next_diff(nvm, end)? {
                Some(d)
                    if d.saturating_sub(end) < MERGE_GAP && d.saturating_sub(start) < 60_000 =>
                {
                    end = self.next_same(nvm, d)?;
                }
                _ => break,
            }
        }
        self.pos = end;
        Ok(Some((start, end)))
    }
}

/// An NVM in RAM for tests and the virtual card, with power cuts on demand.
#[derive(Clone)]
pub struct RamNvm<const N: usize> {
    mem: [u8; N],
    writes: u64,
    cut_at: Option<u64>,
    dead: bool,
}

impl<const N: usize> core::fmt::Debug for RamNvm<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RamNvm")
            .field("writes", &self.writes)
            .field("cut_at", &self.cut_at)
            .field("dead", &self.dead)
            .finish_non_exhaustive()
    }
}

/// The power was cut: the memory takes no further write until [`RamNvm::power_on`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowerCut;

impl core::fmt::Display for PowerCut {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the power was cut")
    }
}

impl core::error::Error for PowerCut {}

impl<const N: usize> Default for RamNvm<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> RamNvm<N> {
    /// Blank memory (all `FF`, as erased EEPROM reads).
    pub const fn new() -> Self {
        Self {
            mem: [0xFF; N],
            writes: 0,
            cut_at: None,
            dead: false,
        }
    }

    /// Cuts the power during write number `n + 1` from now: `n` writes complete, the next one
    /// is torn (its first half lands) and every later one is lost.
    pub fn cut_after(&mut self, n: u64) {
        self.cut_at = Some(self.writes.saturating_add(n));
    }

    /// Restores power (the card is then opened again from this memory).
    pub fn power_on(&mut self) {
        self.cut_at = None;
        self.dead = false;
    }

    /// Whether a cut happened.
    pub fn is_cut(&self) -> bool {
        self.dead
    }

    /// Writes completed so far.
    pub fn writes(&self) -> u64 {
        self.writes
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.mem
    }
}

impl<const N: usize> Nvm for RamNvm<N> {
    type Error = PowerCut;

    fn capacity(&self) -> usize {
        N
    }

    fn read(&self, offset: usize, buf: &mut [u8]) -> Result<(), PowerCut> {
        let end = offset.checked_add(buf.len()).ok_or(PowerCut)?;
        buf.copy_from_slice(self.mem.get(offset..end).ok_or(PowerCut)?);
        Ok(())
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), PowerCut> {
        if self.dead {
            return Err(PowerCut);
        }
        let end = offset.checked_add(data.len()).ok_or(PowerCut)?;
        let dst = self.mem.get_mut(offset..end).ok_or(PowerCut)?;
        if self.cut_at == Some(self.writes) {
            // A torn write: the first half reaches the cells.
            let half = data.len() / 2;
            if let (Some(d), Some(s)) = (dst.get_mut(..half), data.get(..half)) {
                d.copy_from_slice(s);
            }
            self.dead = true;
            return Err(PowerCut);
        }
        dst.copy_from_slice(data);
        self.writes = self.writes.saturating_add(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;

    fn image(seed: u8, changes: &[usize]) -> std::vec::Vec<u8> {
        let mut v = std::vec![seed; IMAGE_LEN];
        for c in changes {
            v[*c] ^= 0xA5;
        }
        v
    }

    #[test]
    fn commit_is_all_or_nothing_under_every_cut() {
        let old = image(0, &[]);
        let new = image(0, &[3, 4, 100, 101, 5000, IMAGE_LEN - 1]);
        let mut base = std::boxed::Box::new(RamNvm::<NVM_LEN>::new());
        commit(&mut *base, &old).unwrap();
        let mut n = 0;
        loop {
            let mut nvm = base.clone();
            nvm.cut_after(n);
            let done = commit(&mut *nvm, &new).is_ok();
            nvm.power_on();
            recover(&mut *nvm).unwrap();
            let now = &nvm.bytes()[..IMAGE_LEN];
            assert!(now == &old[..] || now == &new[..], "cut after {n}");
            if done {
                assert_eq!(now, &new[..]);
                break;
            }
            n += 1;
        }
        assert!(n > 5);
    }
}
