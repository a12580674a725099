//! The serialised answers of `GET …/clusters`, kept until they may have changed.
//!
//! The console polls the clusters list; building a page of 100 clusters means a count over the
//! project, an `OFFSET` walk, and ≈150 KB of JSON (docs/performance.md). An answer depends on the
//! database and on the clock (a transition that comes due changes a status without a write), so
//! an entry holds the write generation it was read at and the time its first pending transition
//! comes due; it is served while both still hold, byte for byte what a fresh read would build.

use axum::body::Bytes;
use std::collections::HashMap;
use std::sync::Mutex;

/// (project id, page, page size).
pub type ListKey = (u64, i64, i64);

/// Enough for every page a few consoles poll; past it the cache starts over rather than
/// tracking use (a miss costs one read).
const MAX_ENTRIES: usize = 1024;

#[derive(Clone)]
struct Entry {
    generation: u64,
    /// The answer is the same until this instant (ms since the epoch); `i64::MAX` when no
    /// transition is pending on the page.
    valid_until_ms: i64,
    body: Bytes,
}

#[derive(Default)]
pub struct ListCache {
    entries: Mutex<HashMap<ListKey, Entry>>,
}

impl ListCache {
    /// The cached answer for `key`, if it was read at `generation` and `now_ms` is before it
    /// changes by itself.
    pub fn get(&self, key: ListKey, generation: u64, now_ms: i64) -> Option<Bytes> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let e = entries.get(&key)?;
        (e.generation == generation && now_ms < e.valid_until_ms).then(|| e.body.clone())
    }

    pub fn put(&self, key: ListKey, generation: u64, valid_until_ms: i64, body: Bytes) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.retain(|_, e| e.generation == generation);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, Entry { generation, valid_until_ms, body });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_served_only_at_its_generation_and_before_it_expires() {
        let cache = ListCache::default();
        let key = (7, 1, 100);
        cache.put(key, 3, 1_000, Bytes::from_static(b"{}"));
        assert_eq!(cache.get(key, 3, 999).as_deref(), Some(&b"{}"[..]));
        assert!(cache.get(key, 3, 1_000).is_none(), "a transition came due");
        assert!(cache.get(key, 4, 0).is_none(), "a write happened since");
        assert!(cache.get((7, 2, 100), 3, 0).is_none(), "another page");
    }

    #[test]
    fn a_full_cache_drops_stale_entries_first_and_never_grows_past_its_bound() {
        let cache = ListCache::default();
        for i in 0..MAX_ENTRIES as u64 {
            cache.put((i, 1, 10), 1, i64::MAX, Bytes::new());
        }
        cache.put((0, 1, 10), 2, i64::MAX, Bytes::new());
        cache.put((u64::MAX, 1, 10), 2, i64::MAX, Bytes::new());
        let entries = cache.entries.lock().unwrap();
        assert_eq!(entries.len(), 2, "only the generation-2 entries survive");
        drop(entries);
        assert!(cache.get((u64::MAX, 1, 10), 2, 0).is_some());
        for i in 0..=MAX_ENTRIES as u64 {
            cache.put((i, 2, 10), 2, i64::MAX, Bytes::new());
        }
        assert!(cache.entries.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
