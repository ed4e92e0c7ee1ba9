//! Installed packages from an rpm database, read without rpm or any C
//! library.
//!
//! Two formats, told apart by content:
//!
//! - **`SQLite`** `rpmdb.sqlite` (EL9 and later, Fedora, Amazon Linux 2023;
//!   `/var/lib/rpm/` or `/usr/lib/sysimage/rpm/`): the rows of the table
//!   `Packages(hnum INTEGER PRIMARY KEY, blob BLOB)`. The reader follows the
//!   database file format, <https://www.sqlite.org/fileformat2.html>: the
//!   100-byte file header, table b-tree interior (0x05) and leaf (0x0D) pages,
//!   cell payloads spilling onto overflow page chains, and record headers of
//!   serial types. It finds the table's root page in `sqlite_master` on
//!   page 1. A `-wal` file next to the database is not read: rpm checkpoints
//!   it when it closes the database.
//! - **Berkeley DB hash** `Packages` (EL7, Amazon Linux 2): every
//!   hash page (types 13 and the pre-4.6 type 2) of the file, key/data pairs
//!   either on the page (`H_KEYDATA`) or on a chain of overflow pages (type 7)
//!   named by an `H_OFFPAGE` item with the total length. Layouts are those of
//!   libdb 5.3 `src/dbinc/db_page.h`, as read by knqyf263/go-rpmdb `pkg/bdb`
//!   and by rpm's own `lib/backend/bdb_ro.c`; files of either byte order.
//!
//! Each value is an rpm header blob without its 8-byte magic: the big-endian
//! index entry count and data length, the index entries (tag, type, offset,
//! count) and the data store, as rpm's header format document
//! (`docs/manual/format_header.md`, linked from `docs/manual/format.md`)
//! describes them. Of its tags, NAME, VERSION and RELEASE are read.
//!
//! Every number read from the file is checked before use: page numbers lie
//! within the file, a page is read at most once (which ends cycles), b-trees
//! are at most 32 levels deep, and lengths are checked against
//! what is left to read before anything is allocated. The payload bytes
//! gathered over a whole file never exceed the file's own length, since a
//! sound file stores each of them once; so the work done is bounded by the
//! input's size whatever it claims.

use thiserror::Error;

/// An installed package: name and version-release as rpm records them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Package {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) release: String,
}

/// Why an rpm database could not be read.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{message}")]
pub(crate) struct RpmDbError {
    message: String,
}

type Result<T> = std::result::Result<T, RpmDbError>;

fn bad(message: impl Into<String>) -> RpmDbError {
    RpmDbError {
        message: message.into(),
    }
}

/// Reads every package header in an rpm database file (either format,
/// detected by content, not name). Fails on the first unreadable structure
/// or header rather than returning part of the database.
pub(crate) fn packages(bytes: &[u8]) -> Result<Vec<Package>> {
    let mut out = Vec::new();
    headers(bytes, &mut |instance, blob| {
        out.push(header::package(instance, blob)?);
        Ok(())
    })?;
    Ok(out)
}

/// The first installed package whose name is in `names`, trying the names
/// in their order.
pub(crate) fn version_of<'a>(pkgs: &'a [Package], names: &[&str]) -> Option<&'a Package> {
    names
        .iter()
        .find_map(|name| pkgs.iter().find(|p| p.name == *name))
}

/// Calls `each` with the instance number and blob of every header in the
/// database, in the file's order.
fn headers(bytes: &[u8], each: &mut dyn FnMut(u64, &[u8]) -> Result<()>) -> Result<()> {
    if bytes.starts_with(sqlite::MAGIC) {
        sqlite::headers(bytes, each)
    } else if bdb::is_hash(bytes) {
        bdb::headers(bytes, each)
    } else {
        Err(bad(
            "neither an SQLite database nor a Berkeley DB hash database",
        ))
    }
}

/// The payload bytes a reader may still gather from one file.
struct Budget(usize);

impl Budget {
    /// Takes `n` bytes of payload, failing when the file cannot hold them.
    fn take(&mut self, n: u64, what: &dyn Fn() -> String) -> Result<usize> {
        match usize::try_from(n) {
            Ok(n) if n <= self.0 => {
                self.0 -= n;
                Ok(n)
            }
            _ => Err(bad(format!(
                "{}: claims {n} bytes, more than the file holds",
                what()
            ))),
        }
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The rpm header blob: index entries, then the data store.
mod header {
    use super::{Package, Result, bad, be32};

    /// At most this many index entries (rpm's own limit is 0xffff).
    pub(super) const MAX_ENTRIES: usize = 65_536;
    /// At most this many bytes of data store (rpm's `HEADER_DATA_MAX`).
    pub(super) const MAX_DATA: usize = 256 << 20;
    /// The largest blob a header can be: counts, index and data store.
    pub(super) const MAX_BLOB: usize = 8 + 16 * MAX_ENTRIES + MAX_DATA;

    /// The magic of a header read from a package file, which databases omit.
    const MAGIC: [u8; 4] = [0x8e, 0xad, 0xe8, 0x01];

    const NAME: u32 = 1000;
    const VERSION: u32 = 1001;
    const RELEASE: u32 = 1002;
    const STRING: u32 = 6;
    const I18NSTRING: u32 = 9;

    /// The package a header blob describes.
    pub(super) fn package(instance: u64, blob: &[u8]) -> Result<Package> {
        let fail = |what: String| bad(format!("package header {instance}: {what}"));
        // Accept a blob with its magic too, as a package file holds it.
        let blob = match blob.strip_prefix(&MAGIC) {
            Some(rest) => rest.get(4..).unwrap_or_default(),
            None => blob,
        };
        let (Some(entries), Some(data)) = (be32(blob, 0), be32(blob, 4)) else {
            return Err(fail(format!("{} bytes, too short", blob.len())));
        };
        let (entries, data) = (entries as usize, data as usize);
        if entries == 0 || entries > MAX_ENTRIES {
            return Err(fail(format!("{entries} index entries")));
        }
        if data > MAX_DATA {
            return Err(fail(format!("{data} bytes of data")));
        }
        let store_at = 8 + 16 * entries;
        let Some(store) = blob.get(store_at..store_at + data) else {
            return Err(fail(format!(
                "{entries} index entries and {data} bytes of data do not fit in {} bytes",
                blob.len()
            )));
        };
        let mut fields: [Option<String>; 3] = [None, None, None];
        for entry in blob[8..store_at].chunks_exact(16) {
            let word = |i: usize| be32(entry, 4 * i).unwrap_or_default();
            let (tag, kind, offset, count) = (word(0), word(1), word(2) as usize, word(3));
            let slot = match tag {
                NAME => 0,
                VERSION => 1,
                RELEASE => 2,
                _ => continue,
            };
            if fields[slot].is_some() {
                continue;
            }
            if (kind != STRING && kind != I18NSTRING) || count == 0 {
                return Err(fail(format!(
                    "tag {tag} has type {kind} and count {count}, not a string"
                )));
            }
            // The first string: of an I18NSTRING, the one of the C locale.
            let text = store
                .get(offset..)
                .and_then(|s| s.iter().position(|&b| b == 0).map(|end| &s[..end]))
                .ok_or_else(|| fail(format!("tag {tag}: no string at offset {offset}")))?;
            fields[slot] = Some(String::from_utf8_lossy(text).into_owned());
        }
        let [Some(name), Some(version), Some(release)] = fields else {
            return Err(fail("no name, version or release".to_owned()));
        };
        Ok(Package {
            name,
            version,
            release,
        })
    }
}

/// A read-only reader of the `SQLite` database file format, enough to list
/// the rows of one rowid table.
mod sqlite {
    use super::{Budget, Result, bad, be16, be32, header};

    pub(super) const MAGIC: &[u8] = b"SQLite format 3\0";
    /// Deeper table b-trees than this are refused (a real one of a few
    /// thousand packages is three levels deep).
    const MAX_DEPTH: usize = 32;

    const LEAF: u8 = 0x0D;
    const INTERIOR: u8 = 0x05;

    /// A database file and what has been read of it.
    pub(super) struct Db<'a> {
        bytes: &'a [u8],
        page_size: usize,
        /// The page size less the bytes reserved at the end of each page.
        pub(super) usable: usize,
        pages: u32,
        seen: Vec<bool>,
        budget: Budget,
    }

    /// One column value of a record.
    #[derive(Debug, PartialEq, Eq)]
    pub(super) enum Value<'p> {
        Null,
        Int(i64),
        Real,
        Text(&'p [u8]),
        Blob(&'p [u8]),
    }

    /// Calls `each` with the rowid and blob of every row of `Packages`.
    pub(super) fn headers(
        bytes: &[u8],
        each: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut db = Db::open(bytes)?;
        let root = db.packages_root()?;
        db.walk(root, &mut |rowid, payload| {
            // hnum is the rowid; its own column is stored as NULL.
            match column(payload, 1)? {
                Value::Blob(blob) => each(rowid, blob),
                other => Err(bad(format!(
                    "SQLite: Packages row {rowid} holds {other:?}, not a header blob"
                ))),
            }
        })
    }

    impl<'a> Db<'a> {
        /// Checks the file header.
        pub(super) fn open(bytes: &'a [u8]) -> Result<Db<'a>> {
            if bytes.len() < 100 {
                return Err(bad("SQLite: file shorter than its 100-byte header"));
            }
            let page_size = match be16(bytes, 16).unwrap_or_default() {
                1 => 65_536,
                n => usize::from(n),
            };
            if !(512..=65_536).contains(&page_size) || !page_size.is_power_of_two() {
                return Err(bad(format!("SQLite: page size {page_size}")));
            }
            // The read version: 1 for a rollback journal, 2 for WAL.
            if !matches!(bytes[19], 1 | 2) {
                return Err(bad(format!(
                    "SQLite: file format read version {} is not 1 or 2",
                    bytes[19]
                )));
            }
            let usable = page_size - usize::from(bytes[20]);
            if usable < 480 {
                return Err(bad(format!("SQLite: usable page size {usable}")));
            }
            let encoding = be32(bytes, 56).unwrap_or_default();
            if encoding != 1 {
                return Err(bad(format!(
                    "SQLite: text encoding {encoding} is not UTF-8"
                )));
            }
            let in_file = u32::try_from(bytes.len() / page_size).unwrap_or(u32::MAX);
            // The page count in the header holds when the change counter
            // matches the version-valid-for number.
            let counted = be32(bytes, 28).unwrap_or_default();
            let pages = if counted != 0 && be32(bytes, 24) == be32(bytes, 92) {
                if counted > in_file {
                    return Err(bad(format!(
                        "SQLite: truncated, the header counts {counted} pages, the file holds {in_file}"
                    )));
                }
                counted
            } else {
                in_file
            };
            if pages == 0 {
                return Err(bad("SQLite: no whole page"));
            }
            Ok(Db {
                bytes,
                page_size,
                usable,
                pages,
                seen: vec![false; pages as usize + 1],
                budget: Budget(bytes.len()),
            })
        }

        /// Page `n` (from 1), its usable part, without marking it read.
        pub(super) fn page(&self, n: u32) -> Result<&'a [u8]> {
            if n == 0 || n > self.pages {
                return Err(bad(format!(
                    "SQLite: page {n} is outside the file's {} pages",
                    self.pages
                )));
            }
            let start = (n as usize - 1) * self.page_size;
            Ok(&self.bytes[start..start + self.usable])
        }

        /// Page `n`, which no structure may have used before.
        fn visit(&mut self, n: u32) -> Result<&'a [u8]> {
            let page = self.page(n)?;
            if std::mem::replace(&mut self.seen[n as usize], true) {
                return Err(bad(format!("SQLite: page {n} is reached twice")));
            }
            Ok(page)
        }

        /// The root page of the table `Packages`, from `sqlite_master`.
        pub(super) fn packages_root(&mut self) -> Result<u32> {
            let mut root = None;
            self.walk(1, &mut |_, row| {
                let (Value::Text(kind), Value::Text(name)) = (column(row, 0)?, column(row, 1)?)
                else {
                    return Ok(());
                };
                if kind == b"table" && name.eq_ignore_ascii_case(b"Packages") && root.is_none() {
                    match column(row, 3)? {
                        Value::Int(n) => root = Some(n),
                        other => {
                            return Err(bad(format!("SQLite: Packages has root page {other:?}")));
                        }
                    }
                }
                Ok(())
            })?;
            let root = root.ok_or_else(|| bad("SQLite: no table Packages"))?;
            u32::try_from(root).map_err(|_| bad(format!("SQLite: Packages has root page {root}")))
        }

        /// Calls `each` with the rowid and payload of every row of the
        /// table b-tree rooted at `root`, in rowid order.
        pub(super) fn walk(
            &mut self,
            root: u32,
            each: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
        ) -> Result<()> {
            let mut scratch = Vec::new();
            let mut stack = vec![(root, 0)];
            while let Some((n, depth)) = stack.pop() {
                if depth > MAX_DEPTH {
                    return Err(bad(format!(
                        "SQLite: b-tree of page {root} deeper than {MAX_DEPTH}"
                    )));
                }
                let page = self.visit(n)?;
                let at = if n == 1 { 100 } else { 0 };
                let kind = page[at];
                let cells = usize::from(be16(page, at + 3).unwrap_or_default());
                let pointers = at + if kind == INTERIOR { 12 } else { 8 };
                if kind != LEAF && kind != INTERIOR {
                    return Err(bad(format!(
                        "SQLite: page {n} has type {kind:#04x}, not a table b-tree page"
                    )));
                }
                if pointers + 2 * cells > page.len() {
                    return Err(bad(format!("SQLite: page {n}: {cells} cells overflow it")));
                }
                let cell = |i: usize| usize::from(be16(page, pointers + 2 * i).unwrap_or_default());
                if kind == INTERIOR {
                    let child = |at: usize| {
                        be32(page, at).ok_or_else(|| {
                            bad(format!("SQLite: page {n}: cell at {at} runs past the page"))
                        })
                    };
                    // Right-most child last, so the left-most is read first.
                    stack.push((child(at + 8)?, depth + 1));
                    for i in (0..cells).rev() {
                        stack.push((child(cell(i))?, depth + 1));
                    }
                    continue;
                }
                for i in 0..cells {
                    self.leaf_cell(n, page, cell(i), &mut scratch, each)?;
                }
            }
            Ok(())
        }

        /// Hands the row of the leaf cell at `at` of page `n` to `each`,
        /// gathering its payload from overflow pages into `scratch` if need be.
        fn leaf_cell(
            &mut self,
            n: u32,
            page: &'a [u8],
            at: usize,
            scratch: &mut Vec<u8>,
            each: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
        ) -> Result<()> {
            let where_ = || format!("SQLite: page {n}: cell at {at}");
            let (size, a) = varint(page, at).ok_or_else(|| bad(where_()))?;
            let (rowid, b) = varint(page, at + a).ok_or_else(|| bad(where_()))?;
            if size > header::MAX_BLOB as u64 + 64 {
                return Err(bad(format!("{}: payload of {size} bytes", where_())));
            }
            let size = self.budget.take(size, &where_)?;
            let local = local_size(size, self.usable);
            let start = at + a + b;
            let Some(here) = page.get(start..start + local) else {
                return Err(bad(format!("{}: runs past the page", where_())));
            };
            if local == size {
                return each(rowid, here);
            }
            let mut next = be32(page, start + local)
                .ok_or_else(|| bad(format!("{}: runs past the page", where_())))?;
            scratch.clear();
            scratch.reserve(size);
            scratch.extend_from_slice(here);
            while scratch.len() < size {
                if next == 0 {
                    return Err(bad(format!(
                        "{}: overflow chain ends {} bytes early",
                        where_(),
                        size - scratch.len()
                    )));
                }
                let overflow = self.visit(next)?;
                let take = (size - scratch.len()).min(self.usable - 4);
                scratch.extend_from_slice(&overflow[4..4 + take]);
                next = be32(overflow, 0).unwrap_or_default();
            }
            each(rowid, scratch)
        }
    }

    /// How many bytes of a payload of `size` bytes a table leaf cell keeps
    /// on its own page, for pages of `usable` bytes.
    pub(super) fn local_size(size: usize, usable: usize) -> usize {
        let most = usable - 35;
        if size <= most {
            return size;
        }
        let least = (usable - 12) * 32 / 255 - 23;
        let k = least + (size - least) % (usable - 4);
        if k <= most { k } else { least }
    }

    /// The variable-length integer at `at` and its length in bytes.
    pub(super) fn varint(b: &[u8], at: usize) -> Option<(u64, usize)> {
        let mut v = 0u64;
        for i in 0..9 {
            let byte = *b.get(at + i)?;
            if i == 8 {
                return Some(((v << 8) | u64::from(byte), 9));
            }
            v = (v << 7) | u64::from(byte & 0x7f);
            if byte & 0x80 == 0 {
                return Some((v, i + 1));
            }
        }
        None
    }

    /// Column `index` of a record; columns past its end read as NULL.
    pub(super) fn column(record: &[u8], index: usize) -> Result<Value<'_>> {
        let broken = || bad("SQLite: broken record header");
        let (size, mut at) = varint(record, 0).ok_or_else(broken)?;
        let size = usize::try_from(size).map_err(|_| broken())?;
        let head = record.get(..size).ok_or_else(broken)?;
        let mut body = size;
        let mut i = 0;
        while at < size {
            let (serial, n) = varint(head, at).ok_or_else(broken)?;
            at += n;
            let len = match serial {
                0 | 8 | 9 => 0,
                1..=4 => serial as usize,
                5 => 6,
                6 | 7 => 8,
                10 | 11 => return Err(bad(format!("SQLite: serial type {serial}"))),
                _ => usize::try_from((serial - 12) / 2).map_err(|_| broken())?,
            };
            if i == index {
                let data = body
                    .checked_add(len)
                    .and_then(|end| record.get(body..end))
                    .ok_or_else(|| bad("SQLite: record shorter than its header says"))?;
                return Ok(match serial {
                    0 => Value::Null,
                    7 => Value::Real,
                    8 => Value::Int(0),
                    9 => Value::Int(1),
                    1..=6 => {
                        // Big-endian two's complement: sign-extend from the top byte.
                        let fill = if data[0] & 0x80 == 0 { 0 } else { 0xff };
                        let mut word = [fill; 8];
                        word[8 - len..].copy_from_slice(data);
                        Value::Int(i64::from_be_bytes(word))
                    }
                    s if s % 2 == 0 => Value::Blob(data),
                    _ => Value::Text(data),
                });
            }
            body = body.checked_add(len).ok_or_else(broken)?;
            i += 1;
        }
        Ok(Value::Null)
    }
}

/// A reader of Berkeley DB hash files, enough to list their key/data pairs.
mod bdb {
    use super::{Budget, Result, bad, header};

    const MAGIC: u32 = 0x0006_1561;
    /// Every page starts with this header: LSN, page number, previous and
    /// next page, entry count, high free offset, level, type.
    const PAGE_HEADER: usize = 26;

    const HASH_UNSORTED: u8 = 2;
    const OVERFLOW: u8 = 7;
    const HASH_META: u8 = 8;
    const HASH: u8 = 13;

    const H_KEYDATA: u8 = 1;
    const H_DUPLICATE: u8 = 2;
    const H_OFFPAGE: u8 = 3;
    const H_OFFDUP: u8 = 4;

    /// Whether `bytes` starts with a hash metadata page, of either byte order.
    pub(super) fn is_hash(bytes: &[u8]) -> bool {
        bytes
            .get(12..16)
            .and_then(|m| <[u8; 4]>::try_from(m).ok())
            .is_some_and(|m| u32::from_le_bytes(m) == MAGIC || u32::from_be_bytes(m) == MAGIC)
    }

    /// Numbers in the file's byte order.
    #[derive(Clone, Copy)]
    struct Order {
        big: bool,
    }

    impl Order {
        fn u16(self, b: &[u8], at: usize) -> u16 {
            let w = [b[at], b[at + 1]];
            if self.big {
                u16::from_be_bytes(w)
            } else {
                u16::from_le_bytes(w)
            }
        }

        fn u32(self, b: &[u8], at: usize) -> u32 {
            let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
            if self.big {
                u32::from_be_bytes(w)
            } else {
                u32::from_le_bytes(w)
            }
        }
    }

    /// Calls `each` with the instance number and value of every key/data
    /// pair but key 0 (where rpm keeps its next instance number).
    pub(super) fn headers(
        bytes: &[u8],
        each: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<()> {
        if bytes.len() < 512 {
            return Err(bad("Berkeley DB: shorter than a metadata page"));
        }
        let order = Order {
            big: u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) != MAGIC,
        };
        let version = order.u32(bytes, 16);
        if !(8..=10).contains(&version) {
            return Err(bad(format!("Berkeley DB: hash version {version}")));
        }
        let page_size = order.u32(bytes, 20) as usize;
        if !(512..=65_536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(bad(format!("Berkeley DB: page size {page_size}")));
        }
        if bytes[24] != 0 {
            return Err(bad("Berkeley DB: encrypted"));
        }
        if bytes[25] != HASH_META {
            return Err(bad(format!(
                "Berkeley DB: metadata page of type {}, not hash",
                bytes[25]
            )));
        }
        // DBMETA_CHKSUM moves every page's items; rpm's own read-only
        // reader does not handle it either.
        if bytes[26] & 1 != 0 {
            return Err(bad("Berkeley DB: checksummed pages are not supported"));
        }
        let last = order.u32(bytes, 32) as usize;
        let pages = last + 1;
        if bytes.len() / page_size < pages {
            return Err(bad(format!(
                "Berkeley DB: truncated, the last page is {last}, the file holds {}",
                bytes.len() / page_size
            )));
        }
        let mut file = File {
            bytes,
            order,
            page_size,
            pages,
            seen: vec![false; pages],
            budget: Budget(bytes.len()),
            scratch: Vec::new(),
        };
        for n in 1..pages {
            let page = file.page(n);
            if matches!(page[25], HASH | HASH_UNSORTED) {
                file.hash_page(n, page, each)?;
            }
        }
        Ok(())
    }

    struct File<'a> {
        bytes: &'a [u8],
        order: Order,
        page_size: usize,
        pages: usize,
        /// Overflow pages already read: each belongs to one item.
        seen: Vec<bool>,
        budget: Budget,
        scratch: Vec<u8>,
    }

    impl<'a> File<'a> {
        /// Page `n`, which must be below `pages`.
        fn page(&self, n: usize) -> &'a [u8] {
            &self.bytes[n * self.page_size..(n + 1) * self.page_size]
        }

        fn check_number(&self, n: usize, page: &[u8]) -> Result<()> {
            let said = self.order.u32(page, 8);
            if said as usize == n {
                Ok(())
            } else {
                Err(bad(format!("Berkeley DB: page {n} says it is page {said}")))
            }
        }

        /// The key/data pairs of hash page `n`.
        fn hash_page(
            &mut self,
            n: usize,
            page: &'a [u8],
            each: &mut dyn FnMut(u64, &[u8]) -> Result<()>,
        ) -> Result<()> {
            self.check_number(n, page)?;
            let entries = usize::from(self.order.u16(page, 20));
            let index_end = PAGE_HEADER + 2 * entries;
            if entries % 2 != 0 || index_end > self.page_size {
                return Err(bad(format!("Berkeley DB: page {n} has {entries} entries")));
            }
            // Items lie from the end of the page down, in index order: each
            // ends where the one before it starts.
            let (order, page_size) = (self.order, self.page_size);
            let item = |i: usize| -> Result<&'a [u8]> {
                let start = usize::from(order.u16(page, PAGE_HEADER + 2 * i));
                let end = match i {
                    0 => page_size,
                    _ => usize::from(order.u16(page, PAGE_HEADER + 2 * (i - 1))),
                };
                if index_end <= start && start < end && end <= page_size {
                    Ok(&page[start..end])
                } else {
                    Err(bad(format!(
                        "Berkeley DB: page {n}: item {i} at {start}..{end}"
                    )))
                }
            };
            for pair in 0..entries / 2 {
                let (key, value) = (item(2 * pair)?, item(2 * pair + 1)?);
                let key = match key.split_first() {
                    Some((&H_KEYDATA, key)) if key.len() == 4 => key,
                    _ => {
                        return Err(bad(format!(
                            "Berkeley DB: page {n}: key {pair} is not a 4-byte instance number"
                        )));
                    }
                };
                let instance = self.order.u32(key, 0);
                if instance == 0 {
                    continue;
                }
                let what = || format!("Berkeley DB: header {instance} on page {n}");
                match value[0] {
                    H_KEYDATA => {
                        let blob = &value[1..];
                        self.budget.take(blob.len() as u64, &what)?;
                        each(u64::from(instance), blob)?;
                    }
                    H_OFFPAGE if value.len() >= 12 => {
                        let first = self.order.u32(value, 4) as usize;
                        let length = u64::from(self.order.u32(value, 8));
                        if length > header::MAX_BLOB as u64 {
                            return Err(bad(format!("{}: {length} bytes", what())));
                        }
                        let length = self.budget.take(length, &what)?;
                        self.overflow(first, length, &what)?;
                        each(u64::from(instance), &self.scratch)?;
                    }
                    H_DUPLICATE | H_OFFDUP => {
                        return Err(bad(format!("{}: duplicate data items", what())));
                    }
                    kind => return Err(bad(format!("{}: item of type {kind}", what()))),
                }
            }
            Ok(())
        }

        /// Gathers `length` bytes into `scratch` from the chain of overflow
        /// pages starting at page `first`.
        fn overflow(
            &mut self,
            first: usize,
            length: usize,
            what: &dyn Fn() -> String,
        ) -> Result<()> {
            self.scratch.clear();
            self.scratch.reserve(length);
            let mut next = first;
            while self.scratch.len() < length {
                if next == 0 || next >= self.pages {
                    return Err(bad(format!(
                        "{}: overflow page {next} with {} bytes still to read",
                        what(),
                        length - self.scratch.len()
                    )));
                }
                if std::mem::replace(&mut self.seen[next], true) {
                    return Err(bad(format!("{}: overflow page {next} read twice", what())));
                }
                let page = self.page(next);
                self.check_number(next, page)?;
                // On an overflow page, the high free offset is the length held.
                let held = usize::from(self.order.u16(page, 22));
                if page[25] != OVERFLOW
                    || held == 0
                    || PAGE_HEADER + held > self.page_size
                    || held > length - self.scratch.len()
                {
                    return Err(bad(format!(
                        "{}: overflow page {next} of type {} holding {held} bytes",
                        what(),
                        page[25]
                    )));
                }
                self.scratch
                    .extend_from_slice(&page[PAGE_HEADER..PAGE_HEADER + held]);
                next = self.order.u32(page, 16) as usize;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQLITE: &[u8] = include_bytes!("../../testdata/rpmdb/sqlite/rpmdb.sqlite");
    const BDB: &[u8] = include_bytes!("../../testdata/rpmdb/bdb/Packages");
    const BDB_BE: &[u8] = include_bytes!("../../testdata/rpmdb/bdb-be/Packages");

    const EXPECTED: [(&str, &str, &str); 3] = [
        ("bash", "5.1.8", "6.el9"),
        ("kubeadm", "1.29.4", "150500.1.1"),
        ("kubelet", "1.29.4", "150500.1.1"),
    ];

    fn sorted(pkgs: &[Package]) -> Vec<(&str, &str, &str)> {
        let mut v: Vec<_> = pkgs
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.release.as_str()))
            .collect();
        v.sort_unstable();
        v
    }

    fn blobs(bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let mut out = Vec::new();
        headers(bytes, &mut |i, b| {
            out.push((i, b.to_vec()));
            Ok(())
        })
        .unwrap();
        out.sort();
        out
    }

    #[test]
    fn reads_the_sqlite_database_rpm_wrote() {
        let pkgs = packages(SQLITE).unwrap();
        assert_eq!(sorted(&pkgs), EXPECTED);
        // rowid order, which is the install order.
        let names: Vec<_> = pkgs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["bash", "kubeadm", "kubelet"]);
    }

    #[test]
    fn reads_berkeley_db_files_of_both_byte_orders() {
        assert_eq!(sorted(&packages(BDB).unwrap()), EXPECTED);
        assert_eq!(sorted(&packages(BDB_BE).unwrap()), EXPECTED);
    }

    #[test]
    fn all_formats_give_the_same_header_blobs() {
        let from_sqlite = blobs(SQLITE);
        let instances: Vec<_> = from_sqlite.iter().map(|(i, _)| *i).collect();
        assert_eq!(instances, [1, 2, 3]);
        assert_eq!(blobs(BDB), from_sqlite);
        assert_eq!(blobs(BDB_BE), from_sqlite);
    }

    #[test]
    fn fixtures_cover_local_and_overflowing_payloads() {
        let db = sqlite::Db::open(SQLITE).unwrap();
        let sizes: Vec<_> = blobs(SQLITE).iter().map(|(_, b)| b.len()).collect();
        // Kept whole on the leaf page, and spilling onto overflow pages.
        assert!(sizes.iter().any(|&s| s < db.usable - 35), "{sizes:?}");
        assert!(sizes.iter().any(|&s| s > 2 * db.usable), "{sizes:?}");

        for bytes in [BDB, BDB_BE] {
            let kinds = bdb_value_kinds(bytes);
            assert!(kinds.contains(&1), "no value on a hash page: {kinds:?}");
            assert!(kinds.contains(&3), "no value on overflow pages: {kinds:?}");
        }
    }

    /// The item type of every data item of every hash page, read directly.
    fn bdb_value_kinds(bytes: &[u8]) -> Vec<u8> {
        let big = bytes[12] == 0;
        let u16_at = |b: &[u8], at: usize| {
            let w = [b[at], b[at + 1]];
            usize::from(if big {
                u16::from_be_bytes(w)
            } else {
                u16::from_le_bytes(w)
            })
        };
        assert_eq!(u16_at(bytes, if big { 22 } else { 20 }), 8192);
        let mut kinds = Vec::new();
        for page in bytes.chunks_exact(8192).skip(1) {
            if page[25] == 13 {
                for i in (1..u16_at(page, 20)).step_by(2) {
                    kinds.push(page[u16_at(page, 26 + 2 * i)]);
                }
            }
        }
        kinds
    }

    #[test]
    fn version_of_tries_names_in_order() {
        let pkg = |name: &str, version: &str| Package {
            name: name.to_owned(),
            version: version.to_owned(),
            release: "1".to_owned(),
        };
        let pkgs = [
            pkg("kubeadm", "1.28.0"),
            pkg("bash", "5"),
            pkg("kubelet", "1.29.4"),
        ];
        let found = version_of(&pkgs, &["kubelet", "kubeadm"]).unwrap();
        assert_eq!(found.version, "1.29.4");
        let found = version_of(&pkgs[..2], &["kubelet", "kubeadm"]).unwrap();
        assert_eq!(found.version, "1.28.0");
        assert_eq!(version_of(&pkgs[1..2], &["kubelet", "kubeadm"]), None);

        let pkgs = packages(SQLITE).unwrap();
        let found = version_of(&pkgs, &["kubelet", "kubeadm"]).unwrap();
        assert_eq!(
            (
                found.name.as_str(),
                found.version.as_str(),
                found.release.as_str()
            ),
            ("kubelet", "1.29.4", "150500.1.1")
        );
    }

    #[test]
    fn refuses_other_files() {
        for bytes in [
            &b""[..],
            b"Package: kubelet\nVersion: 1.29.4\n",
            b"SQLite format 3\0",
            &[0u8; 4096],
        ] {
            assert!(packages(bytes).is_err());
        }
    }

    #[test]
    fn truncated_files_are_errors() {
        for bytes in [SQLITE, BDB, BDB_BE] {
            let step = bytes.len() / 401;
            let mut cuts: Vec<usize> = (0..bytes.len()).step_by(step).collect();
            for page in (0..bytes.len()).step_by(512) {
                cuts.extend([page.saturating_sub(1), page + 1]);
            }
            for cut in cuts {
                let cut = cut.min(bytes.len() - 1);
                assert!(packages(&bytes[..cut]).is_err(), "cut at {cut}");
            }
        }
    }

    #[test]
    fn truncated_files_with_matching_headers_do_not_panic() {
        let mut sizes = 0;
        for (bytes, page) in [(SQLITE, 4096), (BDB, 8192), (BDB_BE, 8192)] {
            for pages in 1..bytes.len() / page {
                let mut cut = bytes[..pages * page].to_vec();
                if bytes == SQLITE {
                    cut[28..32].copy_from_slice(&(pages as u32).to_be_bytes());
                } else {
                    let last = pages as u32 - 1;
                    let last = if bytes == BDB {
                        last.to_le_bytes()
                    } else {
                        last.to_be_bytes()
                    };
                    cut[32..36].copy_from_slice(&last);
                }
                if let Ok(pkgs) = packages(&cut) {
                    sizes += pkgs.len();
                }
            }
        }
        // Some prefixes hold all the packages, some break off in them.
        assert!(sizes > 0);
    }

    /// A small deterministic pseudo-random generator (xorshift64*).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn flipped_bytes_do_not_panic() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for bytes in [SQLITE, BDB, BDB_BE] {
            // Mostly the bytes that say something, sometimes any byte.
            let live: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] != 0).collect();
            let mut ok = 0;
            for _ in 0..1500 {
                let mut copy = bytes.to_vec();
                for _ in 0..=rng.below(4) {
                    let at = if rng.below(4) == 0 {
                        rng.below(bytes.len())
                    } else {
                        live[rng.below(live.len())]
                    };
                    copy[at] ^= 1 + rng.below(255) as u8;
                }
                ok += usize::from(packages(&copy).is_ok());
            }
            // Flips in unread pages or string contents leave the file readable.
            assert!(ok > 0);
        }
    }

    /// The leaf pages of the table b-tree rooted at `root`, read directly.
    fn leaves(db: &sqlite::Db<'_>, root: u32) -> Vec<u32> {
        let page = db.page(root).unwrap();
        match page[0] {
            0x0D => vec![root],
            0x05 => {
                let cells = usize::from(be16(page, 3).unwrap());
                let mut children: Vec<u32> = (0..cells)
                    .map(|i| be32(page, usize::from(be16(page, 12 + 2 * i).unwrap())).unwrap())
                    .collect();
                children.push(be32(page, 8).unwrap());
                children.into_iter().flat_map(|c| leaves(db, c)).collect()
            }
            other => panic!("page {root} has type {other}"),
        }
    }

    /// The file offsets of the cells of the `Packages` leaf pages.
    fn packages_cells() -> Vec<usize> {
        let mut db = sqlite::Db::open(SQLITE).unwrap();
        let root = db.packages_root().unwrap();
        let mut out = Vec::new();
        for leaf in leaves(&db, root) {
            let page = db.page(leaf).unwrap();
            let base = (leaf as usize - 1) * 4096;
            for i in 0..usize::from(be16(page, 3).unwrap()) {
                out.push(base + usize::from(be16(page, 8 + 2 * i).unwrap()));
            }
        }
        out
    }

    #[test]
    fn sqlite_page_cycles_are_errors() {
        let root = sqlite::Db::open(SQLITE).unwrap().packages_root().unwrap();
        let at = (root as usize - 1) * 4096;
        assert_eq!(SQLITE[at], 0x05, "Packages has an interior root page");
        let mut copy = SQLITE.to_vec();
        // The right-most child pointer of the Packages root names the root.
        copy[at + 8..at + 12].copy_from_slice(&root.to_be_bytes());
        let err = packages(&copy).unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
        // sqlite_master's root (page 1) names itself.
        let mut copy = SQLITE.to_vec();
        copy[108..112].copy_from_slice(&1u32.to_be_bytes());
        assert!(packages(&copy).is_err());
        // A child past the end of the file.
        let mut copy = SQLITE.to_vec();
        copy[at + 8..at + 12].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(packages(&copy).is_err());
    }

    #[test]
    fn sqlite_overflow_cycles_are_errors() {
        let db = sqlite::Db::open(SQLITE).unwrap();
        let mut spilled = 0;
        for cell in packages_cells() {
            let (size, a) = sqlite::varint(SQLITE, cell).unwrap();
            let (_, b) = sqlite::varint(SQLITE, cell + a).unwrap();
            let local = sqlite::local_size(size as usize, db.usable);
            if local == size as usize {
                continue;
            }
            spilled += 1;
            let pointer = cell + a + b + local;
            let first = be32(SQLITE, pointer).unwrap();
            let at = (first as usize - 1) * 4096;
            let mut copy = SQLITE.to_vec();
            copy[at..at + 4].copy_from_slice(&first.to_be_bytes());
            let err = packages(&copy).unwrap_err();
            assert!(err.to_string().contains("twice"), "{err}");
            // The chain ends before the payload does.
            let mut copy = SQLITE.to_vec();
            copy[at..at + 4].copy_from_slice(&[0; 4]);
            assert!(packages(&copy).is_err());
            // The overflow pointer names page 1.
            let mut copy = SQLITE.to_vec();
            copy[pointer..pointer + 4].copy_from_slice(&1u32.to_be_bytes());
            assert!(packages(&copy).is_err());
        }
        assert_eq!(spilled, 1);
    }

    #[test]
    fn sqlite_giant_payloads_are_errors() {
        let cells = packages_cells();
        assert_eq!(cells.len(), 3);
        for cell in cells {
            // 0xffff_ffff bytes, as a 5-byte varint.
            let mut copy = SQLITE.to_vec();
            copy[cell..cell + 5].copy_from_slice(&[0x8f, 0xff, 0xff, 0xff, 0x7f]);
            let err = packages(&copy).unwrap_err();
            assert!(err.to_string().contains("4294967295"), "{err}");
            // 1 MiB: under the header limits, over what the file holds.
            let mut copy = SQLITE.to_vec();
            copy[cell..cell + 3].copy_from_slice(&[0xc0, 0x80, 0x00]);
            let err = packages(&copy).unwrap_err();
            assert!(err.to_string().contains("claims 1048576 bytes"), "{err}");
            // The largest 9-byte varint.
            let mut copy = SQLITE.to_vec();
            copy[cell..cell + 9].copy_from_slice(&[0xff; 9]);
            assert!(packages(&copy).is_err());
        }
    }

    /// The file offset of the `H_OFFPAGE` item of a Berkeley DB fixture.
    fn bdb_offpage(bytes: &[u8], big: bool) -> usize {
        let u16_at = |at: usize| {
            let w = [bytes[at], bytes[at + 1]];
            usize::from(if big {
                u16::from_be_bytes(w)
            } else {
                u16::from_le_bytes(w)
            })
        };
        for page in (8192..bytes.len()).step_by(8192) {
            if bytes[page + 25] == 13 {
                for i in (1..u16_at(page + 20)).step_by(2) {
                    let at = page + u16_at(page + 26 + 2 * i);
                    if bytes[at] == 3 {
                        return at;
                    }
                }
            }
        }
        panic!("no H_OFFPAGE item")
    }

    #[test]
    fn bdb_overflow_cycles_and_giant_lengths_are_errors() {
        for (bytes, big) in [(BDB, false), (BDB_BE, true)] {
            let u32_bytes = |v: u32| {
                if big {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                }
            };
            let item = bdb_offpage(bytes, big);
            let first = &bytes[item + 4..item + 8];
            let first = if big {
                u32::from_be_bytes(first.try_into().unwrap())
            } else {
                u32::from_le_bytes(first.try_into().unwrap())
            };
            let page = first as usize * 8192;
            // The first overflow page's next page is itself.
            let mut copy = bytes.to_vec();
            copy[page + 16..page + 20].copy_from_slice(&u32_bytes(first));
            let err = packages(&copy).unwrap_err();
            assert!(err.to_string().contains("twice"), "{err}");
            // A length of 4 GiB, and one just over the file's size.
            for length in [u32::MAX, bytes.len() as u32 + 1] {
                let mut copy = bytes.to_vec();
                copy[item + 8..item + 12].copy_from_slice(&u32_bytes(length));
                let err = packages(&copy).unwrap_err();
                assert!(err.to_string().contains(&length.to_string()), "{err}");
            }
            // Overflow pointers to the metadata page, a hash page, past the end.
            for target in [0, 1, u32::MAX] {
                let mut copy = bytes.to_vec();
                copy[item + 4..item + 8].copy_from_slice(&u32_bytes(target));
                assert!(packages(&copy).is_err());
            }
        }
    }

    /// A header blob with the given index entries and data store.
    fn blob(entries: &[[u32; 4]], store: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend((entries.len() as u32).to_be_bytes());
        b.extend((store.len() as u32).to_be_bytes());
        for e in entries {
            for w in e {
                b.extend(w.to_be_bytes());
            }
        }
        b.extend(store);
        b
    }

    #[test]
    fn header_parsing() {
        let store = b"kubelet\0C\x001.29.4\0x\0";
        let good = [[1000, 6, 0, 1], [1001, 9, 10, 1], [1002, 6, 17, 1]];
        let pkg = header::package(1, &blob(&good, store)).unwrap();
        assert_eq!(
            (
                pkg.name.as_str(),
                pkg.version.as_str(),
                pkg.release.as_str()
            ),
            ("kubelet", "1.29.4", "x")
        );
        // With the magic of a header in a package file.
        let mut with_magic = vec![0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
        with_magic.extend(blob(&good, store));
        assert_eq!(header::package(1, &with_magic).unwrap(), pkg);

        let cases: [&[[u32; 4]]; 5] = [
            &[[1000, 6, 0, 1], [1001, 6, 10, 1]],
            &[[1000, 6, 0, 1], [1001, 6, 10, 1], [1002, 6, 21, 1]],
            &[[1000, 6, 0, 1], [1001, 6, 10, 1], [1002, 6, 19, 1]],
            &[[1000, 4, 0, 1], [1001, 6, 10, 1], [1002, 6, 17, 1]],
            &[[1000, 6, 0, 0], [1001, 6, 10, 1], [1002, 6, 17, 1]],
        ];
        for entries in cases {
            assert!(
                header::package(1, &blob(entries, store)).is_err(),
                "{entries:?}"
            );
        }
        // Counts claiming more than the blob, or more than rpm allows.
        for (entries, data) in [
            (u32::MAX, 0),
            (3, u32::MAX),
            (65_537, 0),
            (3, 300 << 20),
            (1000, 19),
        ] {
            let mut b = blob(&good, store);
            b[..4].copy_from_slice(&entries.to_be_bytes());
            b[4..8].copy_from_slice(&data.to_be_bytes());
            assert!(header::package(1, &b).is_err());
        }
        assert!(header::package(1, &[0, 0, 0]).is_err());
    }

    #[test]
    fn record_columns() {
        // Header of 5 bytes: NULL, int8, text of 3, blob of 2; then the body.
        let record = [5, 0, 1, 19, 16, 0xfe, b'a', b'b', b'c', 7, 8];
        assert_eq!(sqlite::column(&record, 0).unwrap(), sqlite::Value::Null);
        assert_eq!(sqlite::column(&record, 1).unwrap(), sqlite::Value::Int(-2));
        assert_eq!(
            sqlite::column(&record, 2).unwrap(),
            sqlite::Value::Text(b"abc")
        );
        assert_eq!(
            sqlite::column(&record, 3).unwrap(),
            sqlite::Value::Blob(&[7, 8])
        );
        assert_eq!(sqlite::column(&record, 4).unwrap(), sqlite::Value::Null);
        assert!(sqlite::column(&record[..10], 3).is_err());
        assert!(sqlite::column(&[9, 0], 0).is_err());
        assert_eq!(sqlite::varint(&[0x81, 0x00], 0), Some((128, 2)));
        assert_eq!(sqlite::varint(&[0xff; 9], 0), Some((u64::MAX, 9)));
        assert_eq!(sqlite::varint(&[0x81], 0), None);
    }
}
