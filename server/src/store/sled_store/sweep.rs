//! Walking a whole tree in small chunks, each on tokio's blocking pool, so
//! that a sweep of a large store never holds a thread (or the runtime) for
//! long: the expired-token sweep and the pruning of idempotency records.

use super::{SledStore, StoreError};

/// Entries looked at per blocking call.
const CHUNK: usize = 10_000;

/// Where a sweep over a tree stopped; the next chunk starts after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SweepCursor(Vec<u8>);

/// What one chunk of a sweep did.
#[derive(Debug, Default)]
pub(super) struct Swept {
    /// Entries removed in this chunk.
    pub removed: usize,
    /// Where the next chunk starts; `None` when the pass is complete.
    pub next: Option<SweepCursor>,
}

/// Visits up to `max` entries of `tree` after `from`, in key order; `visit`
/// says whether it removed the entry.
pub(super) fn sweep_chunk(
    tree: &sled::Tree,
    from: Option<&SweepCursor>,
    max: usize,
    mut visit: impl FnMut(&[u8], &[u8]) -> Result<bool, StoreError>,
) -> Result<Swept, StoreError> {
    use std::ops::Bound;
    let start = match from {
        Some(cursor) => Bound::Excluded(cursor.0.clone()),
        None => Bound::Unbounded,
    };
    let mut swept = Swept::default();
    for (seen, entry) in tree.range::<Vec<u8>, _>((start, Bound::Unbounded)).enumerate() {
        let (key, value) = entry?;
        if visit(&key, &value)? {
            swept.removed += 1;
        }
        if seen + 1 >= max {
            swept.next = Some(SweepCursor(key.to_vec()));
            break;
        }
    }
    Ok(swept)
}

impl SledStore {
    /// Runs `chunk` on the blocking pool until the pass is complete; returns
    /// how many entries it removed.
    pub(super) async fn sweep(
        &self,
        chunk: impl Fn(&SledStore, Option<&SweepCursor>, usize) -> Result<Swept, StoreError> + Send + Clone + 'static,
    ) -> Result<usize, StoreError> {
        let mut removed = 0;
        let mut cursor: Option<SweepCursor> = None;
        loop {
            let (store, chunk, from) = (self.clone(), chunk.clone(), cursor.take());
            let swept = tokio::task::spawn_blocking(move || chunk(&store, from.as_ref(), CHUNK)).await??;
            removed += swept.removed;
            match swept.next {
                Some(next) => cursor = Some(next),
                None => return Ok(removed),
            }
        }
    }
}
