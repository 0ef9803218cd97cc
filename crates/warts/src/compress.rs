//! Transparent compression: gzip, bzip2 and xz, chosen by magic bytes when
//! reading and by file name when writing.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use crate::reader::Reader;
use crate::writer::Writer;

/// A compression format for warts files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Plain warts.
    None,
    /// gzip (`.gz`).
    Gzip,
    /// bzip2 (`.bz2`).
    Bzip2,
    /// xz (`.xz`).
    Xz,
}

impl Compression {
    /// The format whose magic bytes start `head`; `None` (plain) otherwise.
    #[must_use]
    pub fn detect(head: &[u8]) -> Self {
        if head.starts_with(&[0x1f, 0x8b]) {
            Self::Gzip
        } else if head.starts_with(b"BZh") {
            Self::Bzip2
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Self::Xz
        } else {
            Self::None
        }
    }

    /// The format a file name asks for: `.gz`, `.bz2`, `.xz`, else plain.
    #[must_use]
    pub fn from_path(path: &Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some("gz") => Self::Gzip,
            Some("bz2") => Self::Bzip2,
            Some("xz") => Self::Xz,
            _ => Self::None,
        }
    }
}

/// Wraps `src` in the decompressor its first bytes call for (plain warts passes
/// through). Multi-member gzip/bzip2/xz streams are read to the end.
pub fn decompress<R: Read + Send + 'static>(src: R) -> io::Result<Box<dyn Read + Send>> {
    let mut br = BufReader::with_capacity(64 * 1024, src);
    let head = {
        let mut head = br.fill_buf()?.to_vec();
        while head.len() < 6 {
            // A short first read: ask for more without consuming.
            let more = br.fill_buf()?;
            if more.len() <= head.len() {
                break;
            }
            head = more.to_vec();
        }
        head
    };
    Ok(match Compression::detect(&head) {
        Compression::None => Box::new(br),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(br)),
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(br)),
        Compression::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(br)),
    })
}

/// Opens a warts file for reading, decompressing it if its content is gzip,
/// bzip2 or xz (`-` reads standard input).
pub fn open(path: impl AsRef<Path>) -> io::Result<Reader<Box<dyn Read + Send>>> {
    let path = path.as_ref();
    let src: Box<dyn Read + Send> = if path.as_os_str() == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(File::open(path)?)
    };
    Ok(Reader::new(decompress(src)?))
}

/// An output stream, compressed or not. Call [`Sink::finish`] (or
/// [`Writer::close`]) to write the compression trailer and flush.
pub enum Sink<W: Write> {
    /// Plain.
    Plain(BufWriter<W>),
    /// gzip.
    Gzip(flate2::write::GzEncoder<BufWriter<W>>),
    /// bzip2.
    Bzip2(bzip2::write::BzEncoder<BufWriter<W>>),
    /// xz.
    Xz(liblzma::write::XzEncoder<BufWriter<W>>),
}

impl<W: Write> Sink<W> {
    /// Wraps `w` in the compressor for `c` (default levels: gzip 6, bzip2 9, xz 6).
    pub fn new(w: W, c: Compression) -> Self {
        let w = BufWriter::with_capacity(64 * 1024, w);
        match c {
            Compression::None => Self::Plain(w),
            Compression::Gzip => Self::Gzip(flate2::write::GzEncoder::new(
                w,
                flate2::Compression::default(),
            )),
            Compression::Bzip2 => {
                Self::Bzip2(bzip2::write::BzEncoder::new(w, bzip2::Compression::best()))
            }
            Compression::Xz => Self::Xz(liblzma::write::XzEncoder::new(w, 6)),
        }
    }

    /// Writes any compression trailer, flushes, and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        let bw = match self {
            Self::Plain(w) => w,
            Self::Gzip(z) => z.finish()?,
            Self::Bzip2(z) => z.finish()?,
            Self::Xz(z) => z.finish()?,
        };
        bw.into_inner().map_err(io::IntoInnerError::into_error)
    }
}

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Plain(w) => w.write(buf),
            Self::Gzip(w) => w.write(buf),
            Self::Bzip2(w) => w.write(buf),
            Self::Xz(w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Self::Plain(w) => w.write_all(buf),
            Self::Gzip(w) => w.write_all(buf),
            Self::Bzip2(w) => w.write_all(buf),
            Self::Xz(w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Plain(w) => w.flush(),
            Self::Gzip(w) => w.flush(),
            Self::Bzip2(w) => w.flush(),
            Self::Xz(w) => w.flush(),
        }
    }
}

/// Creates a warts file, compressed as its name asks (`.gz`, `.bz2`, `.xz`).
pub fn create(path: impl AsRef<Path>) -> io::Result<Writer<Sink<File>>> {
    let path = path.as_ref();
    let f = File::create(path)?;
    Ok(Writer::new(Sink::new(f, Compression::from_path(path))))
}

impl<W: Write> Writer<Sink<W>> {
    /// Finishes the compression stream and flushes the file.
    pub fn close(self) -> io::Result<W> {
        self.into_inner()?.finish()
    }
}
