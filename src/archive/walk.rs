//! A tar walker that keeps every byte: each logical entry (extension headers,
//! the main header, GNU sparse blocks, data and padding) is read exactly as
//! stored, so a rewrite can copy unchanged entries byte for byte.
//!
//! Header fields are read with the `tar` crate's `Header`; the walking is
//! ours, because the `tar` crate's iterator does not hand out the raw bytes
//! of a logical entry when reading a compressed stream.

use std::io::{self, Read, Write};

use super::input::Input;

/// Tar's block size.
pub(crate) const BLOCK: u64 = 512;
/// The headers of one entry in all (extension headers with their data:
/// PAX records, GNU long names and link names; the main header; GNU sparse
/// blocks) at most. A real entry's take a few KiB at most (a long name, a
/// `security.selinux` label, an ACL).
pub(crate) const MAX_HEADERS: u64 = 1 << 20;
/// The bytes of an entry's path or link target at most, as stored: Linux's
/// `PATH_MAX`.
pub(crate) const MAX_PATH: usize = 4096;
/// The components of an entry's path at most (`.` and empty ones not
/// counted).
pub(crate) const MAX_DEPTH: usize = 256;
/// The bytes of one component of an entry's path at most: Linux's
/// `NAME_MAX`.
pub(crate) const MAX_NAME: usize = 255;
/// Entries claiming more than this are refused as corrupt.
const MAX_SIZE: u64 = 1 << 46;

/// The headers of one logical entry.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Offset of the entry's first header block in the (uncompressed) archive.
    pub(crate) start: u64,
    /// Every header byte: extension headers with their data, the main
    /// header and GNU sparse extension blocks.
    pub(crate) raw: Vec<u8>,
    /// Where the main header starts in `raw`.
    pub(crate) main: usize,
    /// Where the PAX extension header (`x`) starts in `raw`, if any.
    pub(crate) pax: Option<usize>,
    /// The effective path: PAX `path`, else GNU long name, else the header's.
    pub(crate) path: Vec<u8>,
    /// The effective link target.
    pub(crate) link: Option<Vec<u8>>,
    pub(crate) kind: u8,
    /// Bytes of data that follow the headers (before padding).
    pub(crate) size: u64,
    /// Offset of the data.
    pub(crate) data_start: u64,
    /// Whether a PAX `size` record sets the size.
    pub(crate) pax_size: bool,
}

impl Entry {
    pub(crate) fn main_header(&self) -> &[u8] {
        &self.raw[self.main..self.main + BLOCK as usize]
    }

    pub(crate) fn padded_size(&self) -> u64 {
        self.size.div_ceil(BLOCK) * BLOCK
    }
}

/// Why the archive cannot be read.
pub(crate) fn corrupt(offset: u64, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{what} at byte {offset}"),
    )
}

/// Walks the entries of an archive.
pub(crate) struct Walker {
    input: Input,
    /// Bytes consumed so far.
    pub(crate) pos: u64,
    /// Entries read so far.
    entries: usize,
    /// Set once the end of the archive was reached.
    pub(crate) ended: bool,
    /// Whether the end was a zero block (consumed by `next`).
    zero_block: bool,
    /// Buffers of an entry handed back by [`Walker::recycle`].
    spare: Option<(Vec<u8>, Vec<u8>)>,
    block: [u8; BLOCK as usize],
}

impl Walker {
    pub(crate) fn new(input: Input) -> Self {
        Self {
            input,
            pos: 0,
            entries: 0,
            ended: false,
            zero_block: false,
            spare: None,
            block: [0; BLOCK as usize],
        }
    }

    /// Takes back an entry's buffers, for the next entry to fill: a walk
    /// over tens of thousands of entries then allocates none for them.
    pub(crate) fn recycle(&mut self, e: Entry) {
        self.spare = Some((e.raw, e.path));
    }

    fn block(&mut self, out: &mut Vec<u8>) -> io::Result<bool> {
        // Read into the walker's own block, not a fresh zeroed one.
        let b = &mut self.block;
        let mut got = 0;
        while got < b.len() {
            match self.input.read(&mut b[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if got == 0 {
            return Ok(false);
        }
        if got < b.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "archive ends inside a header at byte {}",
                    self.pos + got as u64
                ),
            ));
        }
        self.pos += BLOCK;
        out.extend_from_slice(b);
        Ok(true)
    }

    fn read_exact_data(&mut self, n: u64, out: &mut Vec<u8>) -> io::Result<()> {
        let before = out.len();
        (&mut self.input).take(n).read_to_end(out)?;
        if ((out.len() - before) as u64) < n {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "archive ends inside an entry at byte {}",
                    self.pos + (out.len() - before) as u64
                ),
            ));
        }
        self.pos += n;
        Ok(())
    }

    /// The next entry's headers; `None` at the end of the archive (a zero
    /// block, or the end of the input).
    #[allow(clippy::too_many_lines)] // one loop over the kinds of header block
    pub(crate) fn next(&mut self) -> io::Result<Option<Entry>> {
        if self.ended {
            return Ok(None);
        }
        let start = self.pos;
        let (mut raw, mut path) = self.spare.take().unwrap_or_default();
        raw.clear();
        path.clear();
        let mut pax_path = None;
        let mut pax_link = None;
        let mut pax_size = None;
        let mut pax_at = None;
        let mut gnu_path = None;
        let mut gnu_link = None;
        loop {
            let at = raw.len();
            if !self.block(&mut raw)? {
                if at == 0 {
                    self.ended = true;
                    return Ok(None);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("archive ends after extension headers at byte {}", self.pos),
                ));
            }
            let block = &raw[at..];
            if block.iter().all(|&b| b == 0) {
                if at != 0 {
                    return Err(corrupt(self.pos, "extension headers without an entry"));
                }
                // The end-of-archive block: `copy_rest` writes it back.
                self.ended = true;
                self.zero_block = true;
                return Ok(None);
            }
            check_sum(block, self.pos - BLOCK)?;
            let header = tar::Header::from_byte_slice(block);
            let kind = header.entry_type().as_byte();
            let size = header
                .entry_size()
                .map_err(|_| corrupt(self.pos - BLOCK, "invalid size field"))?;
            match kind {
                b'x' | b'L' | b'K' => {
                    if raw.len() as u64 + size.div_ceil(BLOCK) * BLOCK > MAX_HEADERS {
                        let name = pax_path
                            .as_deref()
                            .or(gnu_path.as_deref())
                            .map_or_else(|| header.path_bytes().into_owned(), <[u8]>::to_vec);
                        return Err(self.over_budget(
                            start,
                            &name,
                            &format!(
                                "its headers take more than {} MiB in all (PAX records, GNU long names)",
                                MAX_HEADERS >> 20
                            ),
                        ));
                    }
                    let data_at = raw.len();
                    self.read_exact_data(size.div_ceil(BLOCK) * BLOCK, &mut raw)?;
                    let data = &raw[data_at..data_at + usize::try_from(size).unwrap_or(0)];
                    match kind {
                        b'x' => {
                            pax_at = Some(at);
                            for ext in tar::PaxExtensions::new(data) {
                                let ext =
                                    ext.map_err(|_| corrupt(self.pos, "malformed PAX record"))?;
                                match ext.key_bytes() {
                                    b"path" => pax_path = Some(ext.value_bytes().to_vec()),
                                    b"linkpath" => pax_link = Some(ext.value_bytes().to_vec()),
                                    b"size" => {
                                        let v = std::str::from_utf8(ext.value_bytes())
                                            .ok()
                                            .and_then(|s| s.parse::<u64>().ok());
                                        pax_size = Some(v.ok_or_else(|| {
                                            corrupt(self.pos, "malformed PAX size")
                                        })?);
                                    }
                                    _ => {}
                                }
                            }
                        }
                        b'L' => gnu_path = Some(trim_nul(data)),
                        _ => gnu_link = Some(trim_nul(data)),
                    }
                }
                _ => {
                    let header =
                        tar::Header::from_byte_slice(&raw[at..at + BLOCK as usize]).clone();
                    let mut size = pax_size.unwrap_or(size);
                    // GNU old sparse: extension blocks follow the header.
                    if kind == b'S' && raw[at + 482] != 0 {
                        loop {
                            let ext_at = raw.len();
                            if !self.block(&mut raw)? {
                                return Err(io::Error::new(
                                    io::ErrorKind::UnexpectedEof,
                                    "archive ends inside sparse headers",
                                ));
                            }
                            if raw[ext_at + 504] == 0 {
                                break;
                            }
                            if raw.len() as u64 > MAX_HEADERS {
                                let name = pax_path.as_deref().or(gnu_path.as_deref()).map_or_else(
                                    || header.path_bytes().into_owned(),
                                    <[u8]>::to_vec,
                                );
                                return Err(self.over_budget(
                                    start,
                                    &name,
                                    &format!(
                                        "its headers take more than {} MiB in all (sparse maps)",
                                        MAX_HEADERS >> 20
                                    ),
                                ));
                            }
                        }
                    }
                    // Entries without data, whatever their size field says.
                    if matches!(kind, b'1' | b'2' | b'3' | b'4' | b'5' | b'6') {
                        size = 0;
                    }
                    if size > MAX_SIZE {
                        return Err(corrupt(start, "entry size out of range"));
                    }
                    match pax_path.or(gnu_path) {
                        Some(p) => path = p,
                        None => path.extend_from_slice(&header.path_bytes()),
                    }
                    let link = pax_link
                        .or(gnu_link)
                        .or_else(|| header.link_name_bytes().map(std::borrow::Cow::into_owned));
                    self.check_path(start, &path, link.as_deref())?;
                    self.entries += 1;
                    return Ok(Some(Entry {
                        start,
                        main: at,
                        pax: pax_at,
                        path,
                        link,
                        kind,
                        size,
                        data_start: self.pos,
                        pax_size: pax_size.is_some(),
                        raw,
                    }));
                }
            }
        }
    }

    /// Checks an entry's path and link target against [`MAX_PATH`] and
    /// [`MAX_DEPTH`].
    fn check_path(&self, start: u64, path: &[u8], link: Option<&[u8]>) -> io::Result<()> {
        if path.len() > MAX_PATH {
            return Err(self.over_budget(
                start,
                path,
                &format!(
                    "its path is {} bytes long, over the limit of {MAX_PATH}",
                    path.len()
                ),
            ));
        }
        if let Some(link) = link.filter(|l| l.len() > MAX_PATH) {
            return Err(self.over_budget(
                start,
                path,
                &format!(
                    "its link target is {} bytes long, over the limit of {MAX_PATH}",
                    link.len()
                ),
            ));
        }
        let mut depth = 0;
        for c in path.split(|&b| b == b'/') {
            if c.len() > MAX_NAME {
                return Err(self.over_budget(
                    start,
                    path,
                    &format!(
                        "its path has a component of {} bytes, over the limit of {MAX_NAME}",
                        c.len()
                    ),
                ));
            }
            depth += usize::from(!c.is_empty() && c != b".");
        }
        if depth > MAX_DEPTH {
            return Err(self.over_budget(
                start,
                path,
                &format!("its path has {depth} components, over the limit of {MAX_DEPTH}"),
            ));
        }
        Ok(())
    }

    /// An entry over one of the reader's budgets: the archive is refused.
    /// The entry is named by its number, offset and (the start of) its path.
    fn over_budget(&self, start: u64, name: &[u8], what: &str) -> io::Error {
        over_budget(self.entries + 1, start, name, what)
    }

    /// Reads the entry's data (and skips its padding).
    pub(crate) fn read_data(&mut self, e: &Entry) -> io::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(usize::try_from(e.size).unwrap_or(0).min(1 << 22));
        self.read_exact_data(e.size, &mut out)?;
        self.skip_bytes(e.padded_size() - e.size)?;
        Ok(out)
    }

    /// Skips the entry's data and padding.
    pub(crate) fn skip_data(&mut self, e: &Entry) -> io::Result<()> {
        self.skip_bytes(e.padded_size())
    }

    fn skip_bytes(&mut self, n: u64) -> io::Result<()> {
        self.input.skip(n)?;
        self.pos += n;
        Ok(())
    }

    /// Copies the entry's data and padding to `out` as stored.
    pub(crate) fn copy_data(&mut self, e: &Entry, out: &mut dyn Write) -> io::Result<()> {
        let n = e.padded_size();
        let copied = io::copy(&mut (&mut self.input).take(n), out)?;
        self.pos += copied;
        if copied < n {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("archive ends inside an entry at byte {}", self.pos),
            ));
        }
        Ok(())
    }

    /// Copies everything after the last entry (end blocks, padding) as stored.
    /// A compressed stream is so read, and verified, to its end.
    pub(crate) fn copy_rest(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.zero_block {
            // The zero block `next` consumed to find the end.
            out.write_all(&[0u8; BLOCK as usize])?;
        }
        let n = io::copy(&mut self.input, out)?;
        self.pos += n;
        Ok(())
    }

    /// Reads past the end of the archive to the end of a compressed stream,
    /// so that all of it is verified: checksums and trailers, and what
    /// follows the stream. For a normal archive that is the rest of the
    /// second end block and the record padding. A plain archive has nothing
    /// to verify and is left alone.
    pub(crate) fn drain(&mut self) -> io::Result<()> {
        if let Input::Stream(r) = &mut self.input {
            self.pos += r.skip(u64::MAX)?;
        }
        Ok(())
    }

    /// How many zero bytes followed a compressed stream read to its end
    /// (padding after the last gzip member).
    pub(crate) fn padding(&self) -> u64 {
        match &self.input {
            Input::Stream(r) => r.padding(),
            Input::File(_) => 0,
        }
    }
}

/// Entry `entry` (from 1), at `start` and named `name`, is over one of the
/// reader's budgets: the archive is refused, naming the entry by its
/// number, its offset and the start of its name.
pub(crate) fn over_budget(entry: usize, start: u64, name: &[u8], what: &str) -> io::Error {
    const SHOWN: usize = 60;
    let mut shown = String::from_utf8_lossy(&name[..name.len().min(SHOWN)]).into_owned();
    if name.len() > SHOWN {
        shown.push('…');
    }
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("entry {entry} at byte {start} ({shown:?}): {what}"),
    )
}

fn trim_nul(data: &[u8]) -> Vec<u8> {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    data[..end].to_vec()
}

/// Verifies a header's checksum: the sum of its bytes with the checksum
/// field counted as spaces, unsigned (or signed, as some old tars wrote it).
fn check_sum(block: &[u8], offset: u64) -> io::Result<()> {
    let field = &block[148..156];
    let digits = field
        .iter()
        .skip_while(|&&b| b == b' ')
        .take_while(|&&b| b != 0 && b != b' ');
    let mut want = 0u32;
    let mut any = false;
    for &d in digits {
        if !(b'0'..=b'7').contains(&d) || want > u32::MAX >> 3 {
            return Err(corrupt(offset, "not a tar header (bad checksum field)"));
        }
        want = want * 8 + u32::from(d - b'0');
        any = true;
    }
    if !any {
        return Err(corrupt(offset, "not a tar header (bad checksum field)"));
    }
    let unsigned = |bytes: &[u8]| bytes.iter().map(|&b| u32::from(b)).sum::<u32>();
    let spaces = 8 * u32::from(b' ');
    if unsigned(block) - unsigned(field) + spaces == want {
        return Ok(());
    }
    let signed = |bytes: &[u8]| {
        bytes
            .iter()
            .map(|&b| i64::from(b.cast_signed()))
            .sum::<i64>()
    };
    if signed(block) - signed(field) + i64::from(spaces) == i64::from(want) {
        Ok(())
    } else {
        Err(corrupt(offset, "header checksum mismatch"))
    }
}

/// A new header for `old` with a different data size (checksum updated).
pub(crate) fn resized_header(old: &[u8], size: u64) -> Vec<u8> {
    let mut h = tar::Header::new_old();
    h.as_mut_bytes().copy_from_slice(old);
    h.set_size(size);
    h.set_cksum();
    h.as_bytes().to_vec()
}

/// A PAX extension block (header + records) with its `size` record changed.
pub(crate) fn resized_pax(header: &[u8], records: &[u8], size: u64) -> io::Result<Vec<u8>> {
    let mut out_records = Vec::new();
    for ext in tar::PaxExtensions::new(records) {
        let ext = ext.map_err(|_| corrupt(0, "malformed PAX record"))?;
        let value = if ext.key_bytes() == b"size" {
            size.to_string().into_bytes()
        } else {
            ext.value_bytes().to_vec()
        };
        out_records.extend(pax_record(ext.key_bytes(), &value));
    }
    let mut block = resized_header(header, out_records.len() as u64);
    block.extend_from_slice(&out_records);
    block.resize(block.len().div_ceil(BLOCK as usize) * BLOCK as usize, 0);
    Ok(block)
}

/// `"<len> <key>=<value>\n"`, where `<len>` counts the whole record.
fn pax_record(key: &[u8], value: &[u8]) -> Vec<u8> {
    let body = key.len() + value.len() + 3; // space, '=', newline
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    let mut r = format!("{len} ").into_bytes();
    r.extend_from_slice(key);
    r.push(b'=');
    r.extend_from_slice(value);
    r.push(b'\n');
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_lengths_count_themselves() {
        assert_eq!(pax_record(b"size", b"5"), b"9 size=5\n");
        assert_eq!(pax_record(b"size", b"12345"), b"14 size=12345\n");
        let long = pax_record(b"path", &[b'a'; 95]);
        assert_eq!(
            long.len().to_string(),
            String::from_utf8_lossy(&long).split(' ').next().unwrap()
        );
    }

    fn header(name: &[u8]) -> Vec<u8> {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_size(3);
        h.set_cksum();
        h.as_bytes().to_vec()
    }

    #[test]
    fn checksums_are_checked_in_every_spelling() {
        let good = header(b"etc/kubelet.conf");
        check_sum(&good, 0).unwrap();
        // Leading spaces, and a field ending in a space instead of a NUL.
        let mut spaced = good.clone();
        let digits: Vec<u8> = good[148..156]
            .iter()
            .copied()
            .take_while(|&b| b != 0)
            .collect();
        spaced[148..156].fill(b' ');
        spaced[155 - digits.len()..155].copy_from_slice(&digits);
        check_sum(&spaced, 0).unwrap();
        // Old tars summed signed bytes: a name with bytes over 0x7f.
        let mut signed = header("etc/ünïcode".as_bytes());
        let sum: i64 = signed
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    i64::from(b.cast_signed())
                }
            })
            .sum();
        signed[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        check_sum(&signed, 0).unwrap();

        let mut flipped = good.clone();
        flipped[0] ^= 1;
        let e = check_sum(&flipped, 1024).unwrap_err();
        assert_eq!(e.to_string(), "header checksum mismatch at byte 1024");
        let mut garbage = good.clone();
        garbage[148..156].copy_from_slice(b"12x4567\0");
        let e = check_sum(&garbage, 0).unwrap_err();
        assert!(e.to_string().contains("bad checksum field"), "{e}");
        let mut empty = good;
        empty[148..156].fill(0);
        assert!(check_sum(&empty, 0).is_err());
    }
}
