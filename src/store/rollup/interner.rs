//! Ids numbered in the order they come, kept in one buffer.
//!
//! A rebuild numbers every customer or user of the store (millions): a map from an owned
//! `Vec<u8>` per id costs a heap block, a 24-byte vector and a bucket each, several times
//! the id's own bytes. Here the ids' bytes sit end to end in one buffer and the table holds
//! only their numbers. They are hashed with foldhash (hashbrown's default), several times
//! quicker than the standard library's SipHash on short ids; the ids come from the
//! user's own files, so flooding resistance buys nothing here.

use std::hash::BuildHasher;

use hashbrown::HashTable;

#[derive(Default)]
pub(super) struct Interner {
    bytes: Vec<u8>,
    /// `ends[i]`: where id `i`'s bytes end in `bytes` (they start where `i - 1`'s end).
    ends: Vec<usize>,
    table: HashTable<u32>,
    hasher: hashbrown::DefaultHashBuilder,
}

impl Interner {
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// The bytes of id `i`.
    pub(super) fn bytes(&self, i: u32) -> &[u8] {
        self.bytes_of(i)
    }

    fn bytes_of(&self, i: u32) -> &[u8] {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    pub(super) fn get(&self, id: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(id);
        self.table.find(hash, |&i| self.bytes_of(i) == id).copied()
    }

    /// The number of `id`, numbering it if it is new; `None` once u32's numbers are spent.
    pub(super) fn intern(&mut self, id: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(id);
        let Self {
            bytes,
            ends,
            table,
            hasher,
        } = self;
        let slice_of = |i: u32| {
            let i = i as usize;
            let start = if i == 0 { 0 } else { ends[i - 1] };
            &bytes[start..ends[i]]
        };
        if let Some(&i) = table.find(hash, |&i| slice_of(i) == id) {
            return Some(i);
        }
        let next = u32::try_from(ends.len()).ok().filter(|&n| n < u32::MAX)?;
        bytes.extend_from_slice(id);
        ends.push(bytes.len());
        let (bytes, ends) = (&*bytes, &*ends);
        table.insert_unique(hash, next, |&i| {
            let i = i as usize;
            let start = if i == 0 { 0 } else { ends[i - 1] };
            hasher.hash_one(&bytes[start..ends[i]])
        });
        Some(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_numbered_in_the_order_they_first_come_and_found_again() {
        let mut ids = Interner::default();
        let words: Vec<String> = (0..10_000).map(|k| format!("c{}", k % 7_000)).collect();
        let mut seen: std::collections::HashMap<&str, u32> = Default::default();
        for w in &words {
            let next = seen.len() as u32;
            let expected = *seen.entry(w).or_insert(next);
            assert_eq!(ids.intern(w.as_bytes()), Some(expected), "{w}");
        }
        assert_eq!(ids.len(), 7_000);
        assert_eq!(ids.get(b"c6999"), Some(seen["c6999"]));
        assert_eq!(ids.get(b"c7000"), None);
        // The empty id and a prefix of another are ids of their own.
        assert_eq!(ids.intern(b""), Some(7_000));
        assert_eq!(ids.intern(b"c1"), Some(seen["c1"]));
        assert_eq!(ids.get(b"c"), None);
        assert_eq!(ids.get(b""), Some(7_000));
    }
}
