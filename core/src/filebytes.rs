//! The bytes of the explorer's file once its table is built: kept whole,
//! or read back row by row from where they are when the table let them go
//! as it read them ([`crate::whatif::TableBuilder::letting_go`]): in the
//! browser, the chosen file itself or a download's chunks
//! (`web/filebytes.js`). Rows are read back to be shown (the most expensive
//! conversations, those whose estimate differs most) and exported.

use crate::csv::Records;

/// Where a table that did not keep its file's bytes reads a row back from.
pub trait FileSource: std::fmt::Debug {
    /// Copies the file's bytes from `offset` into `out`: how many (fewer
    /// than `out` holds only at the end of the file), or `None` when they
    /// can no longer be read.
    fn read_at(&self, offset: usize, out: &mut [u8]) -> Option<usize>;
}

/// A row that could not be read back as it was read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RereadError {
    /// The file's bytes can no longer be read.
    #[error("the file can no longer be read (at byte {offset}): it changed or was removed after it was opened; open it again")]
    Unreadable {
        /// Where the row starts in the file.
        offset: usize,
    },
    /// The bytes there are not the row read.
    #[error("the file changed after it was opened (the row at byte {offset} is not the one read): open it again")]
    Changed {
        /// Where the row starts in the file.
        offset: usize,
    },
}

/// The bytes of a table's file: kept, or read back from where they are.
pub(crate) enum FileBytes {
    Kept(Vec<u8>),
    Outside { len: usize, source: Box<dyn FileSource> },
}

impl FileBytes {
    pub(crate) fn len(&self) -> usize {
        match self {
            FileBytes::Kept(data) => data.len(),
            FileBytes::Outside { len, .. } => *len,
        }
    }
}

/// The length only: two tables of the same file are equal whether they
/// kept its bytes or not (the tests compare them so).
impl std::fmt::Debug for FileBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileBytes({})", self.len())
    }
}

/// Bytes first read back for a row (doubled until its record is whole): a
/// row is about 200 bytes. The tests read a few bytes at a time, so that
/// every record spans reads.
const FIRST_READ: usize = if cfg!(test) { 8 } else { 16 << 10 };

/// Bytes read at a time for rows read in the file's order (an export).
pub(crate) const BLOCK: usize = 1 << 20;

/// Reads rows back from a table's file by their offsets: from the bytes
/// kept, or from the file's source, a row at a time, or a block at a time
/// for rows that follow one another.
pub(crate) struct Rereader<'t> {
    file: &'t FileBytes,
    block: Vec<u8>,
    /// The file offset of `block[0]`.
    start: usize,
}

impl<'t> Rereader<'t> {
    pub(crate) fn new(file: &'t FileBytes) -> Rereader<'t> {
        Rereader { file, block: Vec::new(), start: 0 }
    }

    /// The file's bytes from `offset` (where a record starts), at least
    /// `at_least` of them when the file has them, and whether they reach its
    /// end: the caller asks for more while its record is not whole in them.
    pub(crate) fn bytes_at(&mut self, offset: usize, at_least: usize) -> Result<(&[u8], bool), RereadError> {
        let (len, source) = match self.file {
            FileBytes::Kept(data) => {
                return data.get(offset..).map(|b| (b, true)).ok_or(RereadError::Changed { offset })
            }
            FileBytes::Outside { len, source } => (*len, source),
        };
        if offset >= len {
            return Err(RereadError::Changed { offset });
        }
        let end = self.start + self.block.len();
        if offset >= self.start && offset < end && offset + at_least.min(len - offset) <= end {
            return Ok((&self.block[offset - self.start..], end == len));
        }
        // Within or right after the last bytes read: rows read in order.
        let first = if offset >= self.start && offset <= end && end > 0 { BLOCK } else { FIRST_READ };
        let n = first.max(at_least).min(len - offset);
        self.block.resize(n, 0);
        self.start = offset;
        if source.read_at(offset, &mut self.block) != Some(n) {
            self.block.clear();
            return Err(RereadError::Unreadable { offset });
        }
        Ok((&self.block, offset + n == len))
    }
}

/// The records of `bytes`, which start at a record (never at the file's
/// start: a BOM there is a row's text, as the builder read it).
pub(crate) fn records_from(bytes: &[u8]) -> Records<'_> {
    Records::resume(bytes, 0, 1)
}
