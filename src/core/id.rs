//! Event ids: random UUID v4 strings.

use std::cell::RefCell;

use super::error::StoreError;

/// Random bytes fetched from the system at a time, so that one call to the
/// system's generator (a JavaScript call in the browser) serves many ids.
const POOL_SIZE: usize = 8192;

thread_local! {
    static POOL: RefCell<RandomPool> = const { RefCell::new(RandomPool { bytes: [0; POOL_SIZE], used: POOL_SIZE }) };
}

struct RandomPool {
    bytes: [u8; POOL_SIZE],
    used: usize,
}

impl RandomPool {
    fn take16(&mut self) -> Result<[u8; 16], getrandom::Error> {
        if self.used + 16 > POOL_SIZE {
            getrandom::getrandom(&mut self.bytes)?;
            self.used = 0;
        }
        let mut out = [0; 16];
        if let Some(chunk) = self.bytes.get(self.used..self.used + 16) {
            out.copy_from_slice(chunk);
        }
        self.used += 16;
        Ok(out)
    }
}

/// A new random UUID v4, e.g. `6f1c2a8e-3b7d-4c1e-9a2f-0d5e8b7c6a41`.
pub fn new_event_id() -> Result<String, StoreError> {
    let mut bytes = POOL
        .with(|pool| pool.borrow_mut().take16())
        .map_err(|error| {
            StoreError::Environment(format!("no source of randomness for event ids: {error}"))
        })?;
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = |nibble: u8| char::from_digit(u32::from(nibble), 16).unwrap_or('0');
    let mut text = String::with_capacity(36);
    for (index, byte) in bytes.iter().enumerate() {
        if matches!(index, 4 | 6 | 8 | 10) {
            text.push('-');
        }
        text.push(hex(byte >> 4));
        text.push(hex(byte & 0x0f));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_distinct_uuid_v4() {
        let ids: HashSet<String> = (0..500).map(|_| new_event_id().unwrap()).collect();
        assert_eq!(ids.len(), 500);
        for id in &ids {
            assert_eq!(id.len(), 36);
            assert_eq!(&id[14..15], "4");
            assert!(matches!(&id[19..20], "8" | "9" | "a" | "b"));
        }
    }
}
