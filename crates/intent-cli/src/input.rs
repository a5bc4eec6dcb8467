//! NDJSON input: files or stdin, plain or gzip (detected by its magic bytes), cut into blocks of
//! whole lines for parallel parsing.

use anyhow::{Context, Result};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Spent block buffers, handed back by the parsers so the reader reuses them instead of asking
/// the allocator (and the kernel) for fresh pages for every block.
pub static SPARE: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());

/// Returns a spent buffer for reuse.
pub fn recycle(mut data: Vec<u8>) {
    data.clear();
    let mut spare = SPARE.lock().expect("spare buffers");
    if spare.len() < 16 {
        spare.push(data);
    }
}

fn buffer(capacity: usize) -> Vec<u8> {
    let mut data = SPARE
        .lock()
        .expect("spare buffers")
        .pop()
        .unwrap_or_default();
    data.reserve(capacity);
    data
}

/// A block of whole lines.
pub struct Block {
    /// Position of the block in the input (0, 1, 2, ...).
    pub seq: usize,
    /// Which input it came from.
    pub file: u16,
    /// The bytes, ending with a newline (or the end of the input).
    pub data: Vec<u8>,
}

/// The name of an input for messages.
pub fn display(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    }
}

/// Counts bytes read from the underlying (possibly compressed) source.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Opens an input; `-` is stdin. Gzip is recognised by content, not by name.
pub fn open(path: &Path, read: Arc<AtomicU64>) -> Result<Box<dyn Read + Send>> {
    let raw: Box<dyn Read + Send> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(File::open(path).with_context(|| format!("opening {}", path.display()))?)
    };
    // A small buffer: it is there to sniff the gzip magic; large reads pass it by.
    let mut buffered = BufReader::with_capacity(16 << 10, Counting { inner: raw, read });
    let head = buffered
        .fill_buf()
        .with_context(|| format!("reading {}", display(path)))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::bufread::MultiGzDecoder::new(buffered),
        )))
    } else {
        Ok(Box::new(buffered))
    }
}

/// Total size on disk of the inputs (stdin counts 0).
pub fn total_size(paths: &[PathBuf]) -> u64 {
    paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// Reads the inputs in order and hands out blocks of about `size` bytes of whole lines.
pub fn blocks(
    paths: &[PathBuf],
    size: usize,
    read: Arc<AtomicU64>,
    mut emit: impl FnMut(Block) -> Result<()>,
) -> Result<()> {
    let stdin = [PathBuf::from("-")];
    let paths = if paths.is_empty() { &stdin[..] } else { paths };
    let mut seq = 0;
    for (fi, path) in paths.iter().enumerate() {
        let mut reader = open(path, read.clone())?;
        let mut carry: Vec<u8> = Vec::new();
        loop {
            let mut data = buffer(size + carry.len() + 4096);
            data.append(&mut carry);
            let start = data.len();
            let want = size.max(start + 4096) - start;
            (&mut reader)
                .take(want as u64)
                .read_to_end(&mut data)
                .with_context(|| format!("reading {}", display(path)))?;
            let filled = data.len();
            let eof = filled - start < want;
            if !eof {
                // Keep the partial last line for the next block.
                match data.iter().rposition(|&b| b == b'\n') {
                    Some(cut) => carry.extend_from_slice(&data[cut + 1..]),
                    None => {
                        // A line longer than the block: grow until it ends.
                        carry = data;
                        continue;
                    }
                }
                data.truncate(data.len() - carry.len());
            }
            if !data.is_empty() {
                // Line numbers are counted by the parsers, which scan the block anyway.
                emit(Block {
                    seq,
                    file: fi as u16,
                    data,
                })?;
                seq += 1;
            }
            if eof {
                break;
            }
        }
    }
    Ok(())
}

/// Calls `f(line_number, line)` for the given lines (sorted) of one input.
pub fn pick_lines(
    path: &Path,
    wanted: &[u64],
    mut f: impl FnMut(u64, &str) -> Result<()>,
) -> Result<()> {
    let reader = open(path, Arc::new(AtomicU64::new(0)))?;
    let mut reader = BufReader::new(reader);
    let mut buf = String::new();
    let mut next = wanted.iter().peekable();
    let mut n = 0u64;
    while next.peek().is_some() {
        buf.clear();
        if reader.read_line(&mut buf)? == 0 {
            break;
        }
        n += 1;
        if next.peek() == Some(&&n) {
            next.next();
            f(n, buf.trim_end())?;
        }
    }
    Ok(())
}
