//! One actor's events in memory: their canonical JSON, comma-separated, in
//! version order, and where each one starts.
//!
//! The JSON lives in chunks. A stream's first chunk grows as its events arrive
//! (doubling, up to [`CHUNK_BYTES`]); once a chunk is full, the next one is
//! allocated at its full size and never moved. So a stream of any size never
//! needs twice its size in free memory to grow: at most one chunk more. Every
//! allocation that makes the stream grow is fallible: when memory cannot grow,
//! [`Stream::push`] fails and leaves the stream as it was.

use std::collections::TryReserveError;

/// The size of a full chunk (an event larger than that has a chunk of its own).
pub const CHUNK_BYTES: usize = 1 << 20;

/// An actor's events.
#[derive(Debug, Default)]
pub struct Stream {
    chunks: Vec<String>,
    entries: Vec<Entry>,
}

/// Where an event is: its version, its chunk, and where it starts there.
#[derive(Debug, Clone, Copy)]
struct Entry {
    version: i64,
    chunk: u32,
    start: u32,
}

impl Stream {
    /// The latest version, `0` when the stream is empty.
    pub fn latest_version(&self) -> i64 {
        self.entries.last().map_or(0, |entry| entry.version)
    }

    /// How many events the stream holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the stream holds no event.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends an event's JSON; on failure nothing changes.
    pub fn push(&mut self, version: i64, json: &str) -> Result<(), TryReserveError> {
        self.push_with(version, json.len(), |chunk| chunk.push_str(json))
    }

    /// Appends an event's JSON (`length` bytes) that `write` appends to the
    /// chunk it is given; on failure nothing changes (and `write` is not called).
    pub fn push_with(
        &mut self,
        version: i64,
        length: usize,
        write: impl FnOnce(&mut String),
    ) -> Result<(), TryReserveError> {
        let separator = usize::from(self.chunks.last().is_some_and(|chunk| !chunk.is_empty()));
        let fits = self
            .chunks
            .last()
            .is_some_and(|chunk| chunk.capacity() - chunk.len() >= separator + length);
        self.entries.try_reserve(1)?;
        if !fits {
            self.make_room(length)?;
        }
        let chunk_index = self.chunks.len().saturating_sub(1);
        let Some(chunk) = self.chunks.last_mut() else {
            return Ok(()); // make_room always leaves a chunk
        };
        if !chunk.is_empty() {
            chunk.push(',');
        }
        self.entries.push(Entry {
            version,
            chunk: u32::try_from(chunk_index).unwrap_or(u32::MAX),
            start: u32::try_from(chunk.len()).unwrap_or(u32::MAX),
        });
        let start = chunk.len();
        write(chunk);
        debug_assert_eq!(chunk.len() - start, length, "the length written");
        Ok(())
    }

    /// Makes the last chunk able to take `bytes` more (and a separator): the
    /// first chunk grows up to a full chunk; past that, a new full chunk.
    fn make_room(&mut self, bytes: usize) -> Result<(), TryReserveError> {
        if let [only] = self.chunks.as_mut_slice() {
            if only.len() + 1 + bytes <= CHUNK_BYTES {
                let wanted = (only.capacity() * 2).clamp(only.len() + 1 + bytes, CHUNK_BYTES);
                return only.try_reserve_exact(wanted - only.len());
            }
        }
        let capacity = if self.chunks.is_empty() {
            bytes
        } else {
            bytes.max(CHUNK_BYTES)
        };
        let mut chunk = String::new();
        chunk.try_reserve_exact(capacity)?;
        self.chunks.try_reserve(1)?;
        self.chunks.push(chunk);
        Ok(())
    }

    /// Keeps the first `len` events only (taking back a batch that could not be stored whole).
    pub fn truncate(&mut self, len: usize) {
        let Some(kept_end) = len.checked_sub(1).and_then(|last| self.entries.get(last)) else {
            self.entries.clear();
            self.chunks.clear();
            return;
        };
        let chunk = kept_end.chunk as usize;
        let end = self
            .json_of(len - 1)
            .map_or(0, |json| kept_end.start as usize + json.len());
        self.chunks.truncate(chunk + 1);
        if let Some(last) = self.chunks.last_mut() {
            last.truncate(end);
        }
        self.entries.truncate(len);
    }

    /// The JSON of the event at `version`, if there is one.
    pub fn json_at(&self, version: i64) -> Option<&str> {
        let index = self
            .entries
            .binary_search_by_key(&version, |entry| entry.version)
            .ok()?;
        self.json_of(index)
    }

    /// The JSON of the `index`-th event.
    pub fn json_of(&self, index: usize) -> Option<&str> {
        let entry = self.entries.get(index)?;
        let chunk = self.chunks.get(entry.chunk as usize)?;
        let end = match self.entries.get(index + 1) {
            Some(next) if next.chunk == entry.chunk => next.start as usize - 1,
            _ => chunk.len(),
        };
        chunk.get(entry.start as usize..end)
    }

    /// Appends to `out` the comma-separated JSON of the events with
    /// `version >= from_version` (after a comma when `out` does not end in `[`).
    pub fn write_from(&self, from_version: i64, out: &mut String) -> Result<(), TryReserveError> {
        let first = self
            .entries
            .partition_point(|entry| entry.version < from_version);
        let Some(entry) = self.entries.get(first) else {
            return Ok(());
        };
        let chunks = self.chunks.get(entry.chunk as usize..).unwrap_or_default();
        let mut parts = chunks.iter().enumerate().map(|(offset, chunk)| {
            let start = if offset == 0 { entry.start as usize } else { 0 };
            chunk.get(start..).unwrap_or_default()
        });
        let total: usize = parts.clone().map(|part| part.len() + 1).sum();
        out.try_reserve(total)?;
        for part in parts.by_ref().filter(|part| !part.is_empty()) {
            if !out.ends_with('[') && !out.is_empty() {
                out.push(',');
            }
            out.push_str(part);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(version: i64, size: usize) -> String {
        format!(r#"{{"v":{version},"pad":"{}"}}"#, "x".repeat(size))
    }

    fn read(stream: &Stream, from: i64) -> String {
        let mut out = String::from("[");
        stream.write_from(from, &mut out).unwrap();
        out.push(']');
        out
    }

    #[test]
    fn events_read_back_across_chunks() {
        let mut stream = Stream::default();
        let events: Vec<String> = (1..=40).map(|v| event(v, 100_000)).collect();
        for (version, json) in (1..).zip(&events) {
            stream.push(version, json).unwrap();
        }
        assert!(
            stream.chunks.len() >= 4,
            "4 MB of events take several chunks"
        );
        for (index, json) in events.iter().enumerate() {
            assert_eq!(stream.json_of(index), Some(json.as_str()));
            assert_eq!(stream.json_at(index as i64 + 1), Some(json.as_str()));
        }
        assert_eq!(read(&stream, 0), format!("[{}]", events.join(",")));
        assert_eq!(read(&stream, 31), format!("[{}]", events[30..].join(",")));
        assert_eq!(read(&stream, 41), "[]");
        assert_eq!(stream.latest_version(), 40);
        assert_eq!(stream.len(), 40);
    }

    #[test]
    fn a_stream_never_needs_twice_its_size_to_grow() {
        let mut stream = Stream::default();
        for version in 1..=100 {
            stream.push(version, &event(version, 50_000)).unwrap();
            let allocated: usize = stream.chunks.iter().map(String::capacity).sum();
            let used: usize = stream.chunks.iter().map(String::len).sum();
            // At most the open chunk, and each full one's unused tail, beyond what is used.
            let slack = CHUNK_BYTES + stream.chunks.len() * 60_000;
            assert!(
                allocated <= used + slack,
                "{allocated} allocated for {used}"
            );
            assert!(
                used < CHUNK_BYTES || allocated < 2 * used,
                "never twice its size"
            );
            let full = &stream.chunks[..stream.chunks.len() - 1];
            assert!(full
                .iter()
                .all(|chunk| chunk.capacity() <= CHUNK_BYTES + 60_000));
        }
    }

    #[test]
    fn truncating_takes_back_the_last_events() {
        let mut stream = Stream::default();
        let events: Vec<String> = (1..=30).map(|v| event(v, 100_000)).collect();
        for (version, json) in (1..).zip(&events) {
            stream.push(version, json).unwrap();
        }
        stream.truncate(12);
        assert_eq!(read(&stream, 0), format!("[{}]", events[..12].join(",")));
        stream.push(13, &events[12]).unwrap();
        assert_eq!(
            read(&stream, 12),
            format!("[{},{}]", events[11], events[12])
        );
        stream.truncate(0);
        assert!(stream.is_empty());
        assert_eq!(read(&stream, 0), "[]");
    }

    #[test]
    fn an_event_larger_than_a_chunk_has_one_of_its_own() {
        let mut stream = Stream::default();
        let (small, large) = (event(1, 10), event(2, 3 * CHUNK_BYTES));
        stream.push(1, &small).unwrap();
        stream.push(2, &large).unwrap();
        stream.push(3, &small).unwrap();
        assert_eq!(stream.json_of(1), Some(large.as_str()));
        assert_eq!(read(&stream, 2), format!("[{large},{small}]"));
    }
}
