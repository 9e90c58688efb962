//! A map for state keyed by what clients send (addresses, usernames): capped
//! in entries and in bytes, and forgetting entries left alone for a while.
//!
//! Every such map in the server is one of these, so an attacker who varies
//! the key can make it neither grow without bound nor hold memory after the
//! attack: an entry untouched for `idle` is dropped by [`BoundedMap::sweep`]
//! (the server sweeps on a timer, and on insert when the map is full), and
//! when the map is still full the insert is refused; the caller decides what
//! a refusal means (a throttle forgets one failure; a budget refuses).
//!
//! Bytes are an estimate the caller gives per entry (the key's heap bytes
//! plus the value's largest size), added to the map's own per-entry cost.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Heap bytes a key owns, for the map's byte count.
pub trait HeapBytes {
    fn heap_bytes(&self) -> usize;
}

impl HeapBytes for Box<str> {
    fn heap_bytes(&self) -> usize {
        self.len()
    }
}

impl HeapBytes for crate::address::AddressKey {
    fn heap_bytes(&self) -> usize {
        0
    }
}

impl<A: HeapBytes, B: HeapBytes> HeapBytes for (A, B) {
    fn heap_bytes(&self) -> usize {
        self.0.heap_bytes() + self.1.heap_bytes()
    }
}

/// The map is full (entries or bytes) even after dropping idle entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// Limits of one [`BoundedMap`].
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub max_entries: usize,
    pub max_bytes: usize,
    /// Entries untouched this long are dropped.
    pub idle: Duration,
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    touched: Instant,
    bytes: usize,
}

/// See the module documentation.
#[derive(Debug)]
pub struct BoundedMap<K, V> {
    entries: HashMap<K, Entry<V>>,
    bounds: Bounds,
    bytes: usize,
}

/// The map's own cost per entry beyond the key and value: hash table slot
/// overhead and the entry's time stamp and size.
const ENTRY_OVERHEAD: usize = 32;

impl<K: Hash + Eq, V> BoundedMap<K, V> {
    /// An empty map with these limits.
    pub fn new(bounds: Bounds) -> Self {
        Self { entries: HashMap::new(), bounds, bytes: 0 }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Estimated bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The entry for `key`, refreshed, if there is one.
    pub fn get_mut(&mut self, key: &K, now: Instant) -> Option<&mut V> {
        self.entries.get_mut(key).map(|entry| {
            entry.touched = now;
            &mut entry.value
        })
    }

    /// The entry for `key`, made with `make` if there is none; `bytes` is
    /// what a new entry is counted as (besides the map's own overhead).
    pub fn get_or_insert_with(
        &mut self,
        key: K,
        bytes: usize,
        now: Instant,
        make: impl FnOnce() -> V,
    ) -> Result<&mut V, Full> {
        let cost = bytes + ENTRY_OVERHEAD + std::mem::size_of::<(K, Entry<V>)>();
        let new = !self.entries.contains_key(&key);
        if new && !self.fits(cost) {
            self.sweep(now);
            if !self.fits(cost) {
                return Err(Full);
            }
        }
        let entry = self.entries.entry(key).or_insert_with(|| Entry { value: make(), touched: now, bytes: cost });
        if new {
            self.bytes += cost;
        }
        entry.touched = now;
        Ok(&mut entry.value)
    }

    fn fits(&self, cost: usize) -> bool {
        self.entries.len() < self.bounds.max_entries && self.bytes + cost <= self.bounds.max_bytes
    }

    /// Removes `key`'s entry.
    pub fn remove(&mut self, key: &K) {
        if let Some(entry) = self.entries.remove(key) {
            self.bytes -= entry.bytes;
        }
    }

    /// Drops the entries untouched for `idle`, and hands memory back when
    /// the table is mostly empty. Returns how many were dropped.
    pub fn sweep(&mut self, now: Instant) -> usize {
        let before = self.entries.len();
        let idle = self.bounds.idle;
        let mut freed = 0;
        self.entries.retain(|_, entry| {
            let keep = now.saturating_duration_since(entry.touched) < idle;
            if !keep {
                freed += entry.bytes;
            }
            keep
        });
        self.bytes -= freed;
        if self.entries.capacity() > 64 && self.entries.capacity() > 4 * self.entries.len() {
            self.entries.shrink_to_fit();
        }
        before - self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(max_entries: usize, max_bytes: usize) -> Bounds {
        Bounds { max_entries, max_bytes, idle: Duration::from_secs(60) }
    }

    #[test]
    fn capped_in_entries_until_idle_entries_age_out() {
        let start = Instant::now();
        let mut map = BoundedMap::<u32, u32>::new(bounds(3, usize::MAX));
        for key in 0..3 {
            *map.get_or_insert_with(key, 0, start, || 0).unwrap() += 1;
        }
        assert_eq!(map.get_or_insert_with(3, 0, start, || 0), Err(Full));
        assert!(map.get_or_insert_with(1, 0, start, || 0).is_ok(), "an existing key is always found");
        // Key 0 is touched again later, so it stays; 1 and 2 age out.
        map.get_mut(&0, start + Duration::from_secs(30));
        assert!(map.get_or_insert_with(3, 0, start + Duration::from_secs(61), || 0).is_ok());
        assert_eq!(map.len(), 2, "1 and 2 were swept to make room");
        assert_eq!(map.sweep(start + Duration::from_secs(200)), 2);
        assert!(map.is_empty());
        assert_eq!(map.bytes(), 0);
    }

    #[test]
    fn capped_in_bytes() {
        let start = Instant::now();
        let per_entry = ENTRY_OVERHEAD + std::mem::size_of::<(String, Entry<u8>)>();
        let mut map = BoundedMap::<String, u8>::new(bounds(1000, 2 * (per_entry + 100)));
        assert!(map.get_or_insert_with("a".into(), 100, start, || 0).is_ok());
        assert!(map.get_or_insert_with("b".into(), 100, start, || 0).is_ok());
        assert_eq!(map.get_or_insert_with("c".into(), 100, start, || 0), Err(Full));
        map.remove(&"a".to_owned());
        assert!(map.get_or_insert_with("c".into(), 100, start, || 0).is_ok());
    }
}
