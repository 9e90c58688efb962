//! How much one page of a room's messages may hold, and filling a page
//! from a store's candidates within it (every store pages the same way).

use super::SeqMessage;

/// How much a page of messages may hold: at most `count` messages whose
/// sizes, as `size` measures them, add up to at most `bytes`. A page holds
/// at least one message when any is in range, so paging always moves on.
///
/// The store does not know the wire format; the session measures a
/// message as clients will see it (`wire.rs`), so that a reply stays within
/// its byte bound, and the store stops reading once the page is full.
#[derive(Clone, Copy)]
pub struct PageBudget<'a> {
    pub count: u32,
    pub bytes: usize,
    pub size: &'a (dyn Fn(&SeqMessage) -> usize + Sync),
}

impl PageBudget<'_> {
    /// At most `count` messages, whatever their size.
    pub fn count(count: u32) -> PageBudget<'static> {
        PageBudget { count, bytes: usize::MAX, size: &|_| 0 }
    }

    /// Whether a message of `size` still fits after `used` of the budget in
    /// a page that already holds `held` messages.
    pub fn fits(&self, held: usize, used: usize, size: usize) -> bool {
        held == 0 || (held < self.count as usize && used.saturating_add(size) <= self.bytes)
    }

    /// Fills a page from `candidates`, taken in the order given (decoded as
    /// they are taken), up to the first that does not fit: no candidate after
    /// it is read. The page, and whether a candidate was left out.
    pub fn fill<E>(&self, candidates: impl IntoIterator<Item = Result<SeqMessage, E>>) -> Result<(Vec<SeqMessage>, bool), E> {
        let candidates = candidates.into_iter();
        let mut messages = Vec::with_capacity(candidates.size_hint().0.min(self.count as usize));
        let mut used = 0usize;
        for candidate in candidates {
            let message = candidate?;
            let size = (self.size)(&message);
            if !self.fits(messages.len(), used, size) {
                return Ok((messages, true));
            }
            used = used.saturating_add(size);
            messages.push(message);
        }
        Ok((messages, false))
    }
}

impl std::fmt::Debug for PageBudget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageBudget").field("count", &self.count).field("bytes", &self.bytes).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MessageRecord;

    fn candidates(seqs: std::ops::RangeInclusive<u64>, read: &std::cell::Cell<u64>) -> impl Iterator<Item = Result<SeqMessage, ()>> + '_ {
        seqs.map(move |seq| {
            read.set(read.get() + 1);
            Ok(SeqMessage { seq, record: MessageRecord::default() })
        })
    }

    #[test]
    fn a_page_fills_to_its_count_or_bytes_and_reads_no_further() {
        let size = |_: &SeqMessage| 100;
        let read = std::cell::Cell::new(0);
        let by_bytes = PageBudget { count: 10, bytes: 250, size: &size };
        let (page, left_out) = by_bytes.fill(candidates(1..=9, &read)).unwrap();
        assert_eq!((page.iter().map(|m| m.seq).collect::<Vec<_>>(), left_out), (vec![1, 2], true));
        assert_eq!(read.get(), 3, "stops at the first candidate that does not fit");

        let (page, left_out) = PageBudget::count(3).fill(candidates(1..=3, &read)).unwrap();
        assert_eq!((page.len(), left_out), (3, false), "everything fitted");
        let tiny = PageBudget { count: 10, bytes: 1, size: &size };
        assert_eq!(tiny.fill(candidates(5..=9, &read)).unwrap().0.len(), 1, "at least one, so paging moves on");
        let failing = vec![Ok(SeqMessage { seq: 1, record: MessageRecord::default() }), Err("damaged")];
        assert_eq!(PageBudget::count(5).fill(failing).unwrap_err(), "damaged");
    }
}
