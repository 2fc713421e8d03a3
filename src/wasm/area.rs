//! Input areas: bytes of the WebAssembly memory that JavaScript writes into
//! directly (JSON as UTF-8, with `TextEncoder.encodeInto` or byte by byte), so
//! that handing JSON to the core needs no allocation to cross for.

use crate::core::InvalidInput;

/// Makes `area` at least `bytes` long and returns where it starts in the
/// WebAssembly memory: `0` when the memory cannot grow to hold it. The area
/// moves when it grows, and a view of the memory is detached whenever the
/// memory grows.
pub(super) fn grow(area: &mut Vec<u8>, bytes: u32) -> u32 {
    let wanted = bytes as usize;
    if area.len() < wanted {
        if area.try_reserve_exact(wanted - area.len()).is_err() {
            return 0;
        }
        area.resize(wanted, 0);
    }
    area.as_ptr() as usize as u32
}

/// The first `length` bytes of `area` as text.
pub(super) fn written(area: &[u8], length: u32) -> Result<&str, InvalidInput> {
    let bytes = area
        .get(..length as usize)
        .ok_or_else(|| InvalidInput::new("", "is longer than the input area"))?;
    std::str::from_utf8(bytes).map_err(|_| InvalidInput::new("", "must be UTF-8 text"))
}
