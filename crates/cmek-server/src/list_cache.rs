//! The serialised answers of `GET …/clusters`, kept until they may have changed.
//!
//! The console polls the clusters list; building a page of 100 clusters means a count over the
//! project, an `OFFSET` walk, and ≈150 KB of JSON (docs/performance.md). An answer depends on the
//! database and on the clock (a transition that comes due changes a status without a write), so
//! an entry holds the write generation it was read at and the time its first pending transition
//! comes due; it is served while both still hold, byte for byte what a fresh read would build.

use bytes::Bytes;
use std::collections::HashMap;
use std::sync::Mutex;

/// (project id, page, page size).
pub type ListKey = (u64, i64, i64);

/// Enough for every page a few consoles poll (a page of 100 clusters is ≈150 KB); past it the
/// cache drops what is stale, then starts over rather than tracking use (a miss costs one read).
const MAX_BYTES: usize = 32 * 1024 * 1024;

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
    entries: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<ListKey, Entry>,
    /// The bodies' bytes in `map`.
    bytes: usize,
}

impl ListCache {
    /// The cached answer for `key`, if it was read at `generation` and `now_ms` is before it
    /// changes by itself.
    pub fn get(&self, key: ListKey, generation: u64, now_ms: i64) -> Option<Bytes> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let e = entries.map.get(&key)?;
        (e.generation == generation && now_ms < e.valid_until_ms).then(|| e.body.clone())
    }

    pub fn put(&self, key: ListKey, generation: u64, valid_until_ms: i64, body: Bytes) {
        if body.len() > MAX_BYTES {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let e = &mut *entries;
        if let Some(old) = e.map.remove(&key) {
            e.bytes -= old.body.len();
        }
        if e.bytes + body.len() > MAX_BYTES {
            e.map.retain(|_, x| x.generation == generation);
            e.bytes = e.map.values().map(|x| x.body.len()).sum();
            if e.bytes + body.len() > MAX_BYTES {
                e.map.clear();
                e.bytes = 0;
            }
        }
        e.bytes += body.len();
        e.map.insert(key, Entry { generation, valid_until_ms, body });
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
    fn a_full_cache_drops_stale_entries_first_and_never_holds_more_than_its_bytes() {
        let cache = ListCache::default();
        let page = |n: usize| Bytes::from(vec![b' '; n]);
        let quarter = MAX_BYTES / 4;
        for i in 0..3 {
            cache.put((i, 1, 100), 1, i64::MAX, page(quarter));
        }
        // Replacing an entry counts its bytes once.
        cache.put((0, 1, 100), 2, i64::MAX, page(quarter));
        assert_eq!(cache.entries.lock().unwrap().bytes, 3 * quarter);
        // No room for two more quarters: the generation-1 entries go, the fresh one stays.
        cache.put((9, 1, 100), 2, i64::MAX, page(quarter));
        cache.put((10, 1, 100), 2, i64::MAX, page(quarter));
        let e = cache.entries.lock().unwrap();
        let mut keys: Vec<u64> = e.map.keys().map(|k| k.0).collect();
        keys.sort();
        assert_eq!(keys, [0, 9, 10]);
        assert_eq!(e.bytes, 3 * quarter);
        drop(e);
        // Nothing stale left to drop: it starts over rather than growing.
        cache.put((11, 1, 100), 2, i64::MAX, page(quarter));
        cache.put((12, 1, 100), 2, i64::MAX, page(quarter));
        let e = cache.entries.lock().unwrap();
        assert!(e.bytes <= MAX_BYTES, "{} bytes held", e.bytes);
        assert!(e.map.contains_key(&(12, 1, 100)));
        drop(e);
        // A body larger than the whole cache is not kept.
        cache.put((13, 1, 100), 2, i64::MAX, page(MAX_BYTES + 1));
        assert!(cache.get((13, 1, 100), 2, 0).is_none());
    }
}
