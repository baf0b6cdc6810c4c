//! Software prefetching for walking a large tree whose nodes are scattered over the heap.
//!
//! Writing a snapshot visits every znode once: its path, its znode struct and its data each sit in their
//! own allocation, so each visit waits on up to three cache misses in a row, and a snapshot of half a
//! million znodes spends most of its time waiting on memory. [`Lookahead`] runs a few items ahead of the
//! consumer and asks the CPU to fetch what they point to, so the misses overlap instead of queuing.

use std::collections::VecDeque;

/// Items between the first prefetch (`far`) and their use; `near` runs halfway, on memory only readable
/// once the far prefetch has landed (a pointer inside the znode struct).
const DISTANCE: usize = 16;

/// An iterator adapter that calls `far` on each item `DISTANCE` items before yielding it and `near`
/// `DISTANCE / 2` items before.
pub(crate) struct Lookahead<I: Iterator, F, N> {
    inner: I,
    window: VecDeque<I::Item>,
    far: F,
    near: N,
}

impl<I, F, N> Lookahead<I, F, N>
where
    I: Iterator,
    F: FnMut(&I::Item),
    N: FnMut(&I::Item),
{
    pub(crate) fn new(inner: I, far: F, near: N) -> Self {
        Lookahead {
            inner,
            window: VecDeque::with_capacity(DISTANCE + 1),
            far,
            near,
        }
    }
}

impl<I, F, N> Iterator for Lookahead<I, F, N>
where
    I: Iterator,
    F: FnMut(&I::Item),
    N: FnMut(&I::Item),
{
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        while self.window.len() <= DISTANCE {
            let Some(item) = self.inner.next() else {
                break;
            };
            (self.far)(&item);
            self.window.push_back(item);
            if let Some(halfway) = self.window.len().checked_sub(DISTANCE / 2 + 1) {
                (self.near)(&self.window[halfway]);
            }
        }
        self.window.pop_front()
    }
}

/// Hints that the cache line at `p` will be read soon. Never faults, whatever `p` is; a no-op off x86-64.
#[inline(always)]
pub(crate) fn prefetch<T: ?Sized>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is only a hint: it reads nothing architecturally and cannot fault on any address.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Prefetching never changes what comes out, and each hook sees each item once, before it is
        /// yielded.
        #[test]
        fn yields_every_item_in_order_after_both_hooks(n in 0usize..100) {
            let mut far_seen = Vec::new();
            let mut near_seen = Vec::new();
            let out: Vec<usize> = Lookahead::new(0..n, |i| far_seen.push(*i), |i| near_seen.push(*i)).collect();
            prop_assert_eq!(&out, &(0..n).collect::<Vec<_>>());
            prop_assert_eq!(&far_seen, &out);
            // `near` skips only the last items, which reach the consumer before they get halfway.
            prop_assert_eq!(&near_seen[..], &out[..n.saturating_sub(DISTANCE / 2)]);
        }
    }
}
