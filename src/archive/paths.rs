//! The paths named by an archive's entries, found by hash: each path
//! once, with the node of the last entry that names it, and the names each
//! directory lists. Ancestors that no entry names are implied directories.
//!
//! A path is kept as its last component and its parent's position, so an
//! entry costs the index its new components, not every ancestor's full
//! path again: a deep path implies its ancestors in memory proportional to
//! its own length.

use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::HashTable;

/// What an archive entry is, as the index keeps it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum TNode {
    File {
        size: u64,
        data: Option<Arc<Vec<u8>>>,
        offset: u64,
        ordinal: usize,
    },
    Dir,
    Symlink(String),
    Other,
}

/// Hashes in-image paths. Entry names come from the archive, so the hasher
/// is seeded per run (no fixed collisions to craft); foldhash is several
/// times faster than the standard `SipHash` on short paths.
pub(super) type PathHasher = foldhash::fast::RandomState;

/// An entry as the walk hands it over: its in-image path, with the hashes
/// that the index finds it and its parent by, computed on the walk's thread.
#[derive(Debug)]
pub(super) struct Named {
    path: String,
    /// The length of the parent's path.
    parent_len: usize,
    hash: u64,
    parent_hash: u64,
    node: TNode,
    /// The entry's number (from 1) and offset, to name it in errors.
    pub(super) entry: usize,
    pub(super) start: u64,
}

impl Named {
    pub(super) fn path(&self) -> &str {
        &self.path
    }

    /// `path` is normalised, and its last `/` is at `slash`.
    pub(super) fn new(
        path: String,
        slash: usize,
        node: TNode,
        (entry, start): (usize, u64),
        hasher: &PathHasher,
    ) -> Self {
        let parent_len = slash.max(1);
        Self {
            entry,
            start,
            hash: hasher.hash_one(path.as_str()),
            parent_hash: hasher.hash_one(&path[..parent_len]),
            parent_len,
            path,
            node,
        }
    }
}

/// The last component of a normalised path.
fn last_component(path: &str) -> &str {
    &path[path.rfind('/').map_or(0, |i| i + 1)..]
}

/// The directory holding `path` (`/` for `/` itself).
fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// Ends a list of names in [`Record`].
const NONE: usize = usize::MAX;

/// A path of the index.
#[derive(Debug)]
struct Record {
    /// The hash of the full path.
    hash: u64,
    /// The position of the directory holding it (of the root: [`NONE`]).
    parent: usize,
    /// Its last component, in [`Paths::names`].
    name_at: usize,
    name_len: usize,
    node: TNode,
    /// The directory's names form a list: its first name (the one added
    /// last), and then each name's next one in its parent's list.
    first_child: usize,
    next_sibling: usize,
}

/// The paths named by the entries, inserted in archive order.
pub(super) struct Paths {
    /// Every path, in the order the entries first imply it; the root first
    /// (`records[0]`, with an empty name).
    records: Vec<Record>,
    /// The last components of every path, one after the other.
    names: String,
    /// Positions in `records`, found by path.
    table: HashTable<usize>,
    /// The directory that the last new path went in: entries come
    /// directory by directory.
    last_directory: usize,
}

impl Paths {
    /// The root directory only.
    pub(super) fn new(hasher: &PathHasher) -> Self {
        Self::with_capacity(hasher, 0)
    }

    /// The root directory only, with room for `paths`.
    pub(super) fn with_capacity(hasher: &PathHasher, capacity: usize) -> Self {
        let mut paths = Paths {
            records: Vec::with_capacity(capacity),
            names: String::new(),
            table: HashTable::with_capacity(capacity),
            last_directory: 0,
        };
        paths.add("", hasher.hash_one("/"), TNode::Dir, NONE);
        paths
    }

    /// How many paths the index holds.
    pub(super) fn len(&self) -> usize {
        self.records.len()
    }

    fn position(&self, hash: u64, path: &str) -> Option<usize> {
        self.table.find(hash, |&i| self.is(i, path)).copied()
    }

    fn name(&self, r: &Record) -> &str {
        &self.names[r.name_at..r.name_at + r.name_len]
    }

    /// Whether the record at `i` is `path`: its components, from the last,
    /// are those of the record and its ancestors.
    fn is(&self, mut i: usize, path: &str) -> bool {
        let mut rest = path;
        while i != 0 {
            let r = &self.records[i];
            let Some(slash) = rest.rfind('/') else {
                return false;
            };
            if &rest[slash + 1..] != self.name(r) {
                return false;
            }
            rest = &rest[..slash];
            i = r.parent;
        }
        rest.is_empty() || rest == "/"
    }

    /// The node of `path` (of hash `hash`).
    pub(super) fn get(&self, hash: u64, path: &str) -> Option<&TNode> {
        Some(&self.records[self.position(hash, path)?].node)
    }

    /// Adds the next entry. A later entry replaces an earlier one of the
    /// same path, as when unpacking.
    pub(super) fn insert(&mut self, named: Named, hasher: &PathHasher) {
        if let Some(i) = self.position(named.hash, &named.path) {
            let r = &mut self.records[i];
            r.node = named.node;
            return;
        }
        let up = self.directory(&named.path[..named.parent_len], named.parent_hash, hasher);
        self.add(last_component(&named.path), named.hash, named.node, up);
    }

    /// The position of the directory `path` (of hash `hash`), which lists
    /// the names below it. A path missing from the index is added as an
    /// implied directory, with its missing ancestors.
    fn directory(&mut self, path: &str, hash: u64, hasher: &PathHasher) -> usize {
        let last = self.last_directory;
        if self.records[last].hash == hash && self.is(last, path) {
            return last;
        }
        let i = match self.position(hash, path) {
            Some(i) => i,
            None => self.add_ancestors(path, hash, hasher),
        };
        self.last_directory = i;
        i
    }

    /// Adds the missing directory `path` and its missing ancestors, and
    /// gives its position.
    fn add_ancestors(&mut self, path: &str, hash: u64, hasher: &PathHasher) -> usize {
        // Missing paths, nearest first, up to the first one present (the
        // root is always present).
        let mut missing = vec![(path, hash)];
        let mut up = loop {
            let (p, _) = missing[missing.len() - 1];
            let up = parent(p);
            let hash = hasher.hash_one(up);
            match self.position(hash, up) {
                Some(i) => break i,
                None => missing.push((up, hash)),
            }
        };
        for (p, hash) in missing.into_iter().rev() {
            up = self.add(last_component(p), hash, TNode::Dir, up);
        }
        up
    }

    /// Adds a new path, named `name` in the directory at position `parent`.
    fn add(&mut self, name: &str, hash: u64, node: TNode, parent: usize) -> usize {
        let i = self.records.len();
        let next_sibling = match self.records.get_mut(parent) {
            Some(p) => std::mem::replace(&mut p.first_child, i),
            None => NONE,
        };
        let name_at = self.names.len();
        self.names.push_str(name);
        self.records.push(Record {
            hash,
            parent,
            name_at,
            name_len: name.len(),
            node,
            first_child: NONE,
            next_sibling,
        });
        let records = &self.records;
        self.table.insert_unique(hash, i, |&j| records[j].hash);
        i
    }

    /// Appends the names listed in the directory `dir` (of hash `hash`).
    pub(super) fn names(&self, hash: u64, dir: &str, out: &mut Vec<String>) {
        let mut i = self
            .position(hash, dir)
            .map_or(NONE, |d| self.records[d].first_child);
        while i != NONE {
            let r = &self.records[i];
            out.push(self.name(r).to_owned());
            i = r.next_sibling;
        }
    }
}
