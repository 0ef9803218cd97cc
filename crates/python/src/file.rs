//! `ScamperFile`: reading and writing warts (plain or compressed), JSON and text files.
//!
//! Reading decodes on a background thread, in batches, so the decoding of
//! the next records overlaps with the Python code handling the current ones;
//! waiting for a batch releases the GIL and checks for signals every 100 ms.

use std::fs::File;
use std::io::{self, BufWriter, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyType};
use vantage_model::Record;
use vantage_warts::json::JsonEncoder;
use vantage_warts::{Compression, ReadError, Reader, Sink, TypeFilter, Writer};

use crate::record::{self, Rec};

/// Records per batch once reading is under way (the first batch is small so
/// that the first record arrives quickly).
const BATCH: usize = 1024;
const FIRST_BATCH: usize = 32;
/// Batches decoded ahead of the consumer.
const AHEAD: usize = 4;

type Item = Result<Rec, ReadError>;

/// The reading side: a decoder thread and the batch being handed out.
struct ReadSide {
    /// The batches from the decoder thread (`None` only while waiting on it).
    rx: Option<Receiver<Vec<Item>>>,
    cur: std::vec::IntoIter<Item>,
    /// The filter the decoder thread applies from its next batch on.
    shared_filter: Arc<Mutex<Option<TypeFilter>>>,
    /// The filter as type codes, applied again here (batches decoded before a change).
    filter: Option<Vec<u16>>,
    eof: bool,
}

/// The writing side.
enum WriteSide {
    Warts(Box<Writer<Sink<File>>>),
    Json(BufWriter<File>, JsonEncoder),
    Text(BufWriter<File>),
}

enum State {
    Read(Box<ReadSide>),
    Write(WriteSide),
    Closed,
}

fn closed() -> PyErr {
    PyValueError::new_err("I/O operation on closed file")
}

fn runtime(e: impl std::fmt::Display) -> PyErr {
    PyRuntimeError::new_err(e.to_string())
}

/// The decoder thread: sends batches until the end, an unrecoverable error,
/// or the file object going away.
fn decode_loop<R: Read>(
    mut reader: Reader<R>,
    tx: &SyncSender<Vec<Item>>,
    filter: &Mutex<Option<TypeFilter>>,
) {
    let mut size = FIRST_BATCH;
    let mut applied: Option<TypeFilter> = None;
    loop {
        let want = filter.lock().map_or(None, |f| *f);
        if want != applied {
            reader.set_filter(want);
            applied = want;
        }
        let mut batch = Vec::with_capacity(size);
        let mut end = false;
        while batch.len() < size {
            match reader.next_record() {
                Ok(Some(r)) => batch.push(Ok(Rec::from(r))),
                Ok(None) => {
                    end = true;
                    break;
                }
                Err(e) => {
                    let fatal = !e.is_recoverable();
                    batch.push(Err(e));
                    if fatal {
                        end = true;
                        break;
                    }
                }
            }
        }
        if (!batch.is_empty() && tx.send(batch).is_err()) || end {
            return;
        }
        size = BATCH;
    }
}

/// Opens `path` for reading: decompresses, checks the warts magic, and starts
/// the decoder thread.
fn open_read(path: &Path, filter: Option<TypeFilter>) -> io::Result<ReadSide> {
    let f = File::open(path)?;
    let mut src = vantage_warts::decompress(f)?;
    let mut head = [0u8; 2];
    let mut n = 0;
    while n < 2 {
        let k = src.read(&mut head[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    if n > 0 && head[..n] != [0x12, 0x05][..n] {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not a warts file (legacy arts files are not supported)",
        ));
    }
    let joined: Box<dyn Read + Send> = Box::new(Cursor::new(head[..n].to_vec()).chain(src));
    let mut reader = Reader::new(joined);
    reader.set_filter(filter);
    let shared_filter = Arc::new(Mutex::new(filter));
    let (tx, rx) = sync_channel(AHEAD);
    let thread_filter = Arc::clone(&shared_filter);
    std::thread::Builder::new()
        .name("vantage-warts-reader".into())
        .spawn(move || decode_loop(reader, &tx, &thread_filter))?;
    Ok(ReadSide {
        rx: Some(rx),
        cur: Vec::new().into_iter(),
        shared_filter,
        filter: None,
        eof: false,
    })
}

/// The write kind a file name asks for.
fn kind_from_name(name: &str) -> &'static str {
    let ext = Path::new(name).extension().and_then(|e| e.to_str());
    match ext {
        Some("gz") => "warts.gz",
        Some("bz2") => "warts.bz2",
        Some("xz") => "warts.xz",
        Some("json") => "json",
        Some("txt") => "text",
        _ => "warts",
    }
}

fn open_write(path: &Path, kind: &str) -> io::Result<WriteSide> {
    let f = File::create(path)?;
    Ok(match kind {
        "json" => WriteSide::Json(BufWriter::new(f), JsonEncoder::default()),
        "text" => WriteSide::Text(BufWriter::new(f)),
        "warts.gz" => WriteSide::warts(f, Compression::Gzip),
        "warts.bz2" => WriteSide::warts(f, Compression::Bzip2),
        "warts.xz" => WriteSide::warts(f, Compression::Xz),
        _ => WriteSide::warts(f, Compression::None),
    })
}

impl ReadSide {
    /// The next item, waiting for the decoder thread (GIL released) if needed.
    fn next_item(&mut self, py: Python<'_>) -> PyResult<Option<Item>> {
        loop {
            if let Some(item) = self.cur.next() {
                return Ok(Some(item));
            }
            if self.eof {
                return Ok(None);
            }
            let Some(rx) = self.rx.take() else {
                self.eof = true;
                continue;
            };
            let (rx, got) = py.detach(move || {
                let got = rx.recv_timeout(Duration::from_millis(100));
                (rx, got)
            });
            self.rx = Some(rx);
            match got {
                Ok(batch) => self.cur = batch.into_iter(),
                Err(RecvTimeoutError::Timeout) => py.check_signals()?,
                Err(RecvTimeoutError::Disconnected) => self.eof = true,
            }
        }
    }

    fn wanted(&self, r: &Rec) -> bool {
        self.filter.as_ref().is_none_or(|f| f.contains(&r.kind()))
    }

    fn set_filter(&mut self, codes: Vec<u16>) {
        let tf = codes.iter().fold(TypeFilter::none(), |t, c| t.with(*c));
        if let Ok(mut f) = self.shared_filter.lock() {
            *f = Some(tf);
        }
        self.filter = Some(codes);
    }
}

impl WriteSide {
    fn warts(f: File, c: Compression) -> Self {
        Self::Warts(Box::new(Writer::new(Sink::new(f, c))))
    }

    fn write(&mut self, rec: &Record) -> PyResult<()> {
        match self {
            Self::Warts(w) => w.write_record(rec).map_err(runtime),
            Self::Json(out, enc) => match enc.encode_line(rec) {
                Some(line) => out.write_all(line).map_err(runtime),
                None => Ok(()),
            },
            Self::Text(out) => match crate::text::render(rec) {
                Some(t) => out.write_all(t.as_bytes()).map_err(runtime),
                None => Ok(()),
            },
        }
    }

    fn close(self) -> io::Result<()> {
        match self {
            Self::Warts(w) => w.close().map(drop),
            Self::Json(mut out, _) | Self::Text(mut out) => out.flush(),
        }
    }
}

/// A warts file to read (plain, gzip, bzip2 or xz) or a warts, JSON or text
/// file to write.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperFile {
    filename: String,
    filetype: String,
    reading: bool,
    state: Mutex<State>,
}

impl ScamperFile {
    /// Locks the state; while another thread holds it, waits with the GIL
    /// released (that thread may need the GIL to finish).
    fn lock(&self, py: Python<'_>) -> PyResult<MutexGuard<'_, State>> {
        loop {
            match self.state.try_lock() {
                Ok(g) => return Ok(g),
                Err(TryLockError::WouldBlock) => {
                    py.detach(|| std::thread::sleep(Duration::from_micros(200)));
                    py.check_signals()?;
                }
                Err(TryLockError::Poisoned(_)) => {
                    return Err(runtime("ScamperFile state poisoned by a panic"));
                }
            }
        }
    }

    /// The next object; `not_readable` is the error for a file opened for
    /// writing (`read()` raises `RuntimeError`, iteration `ValueError`).
    fn read_one(&self, py: Python<'_>, not_readable: fn() -> PyErr) -> PyResult<Option<Py<PyAny>>> {
        let mut st = self.lock(py)?;
        let rs = match &mut *st {
            State::Read(rs) => rs,
            State::Write(_) => return Err(not_readable()),
            State::Closed => return Err(closed()),
        };
        loop {
            match rs.next_item(py)? {
                None => return Ok(None),
                Some(Ok(rec)) => {
                    if rs.wanted(&rec) {
                        return record::to_py(py, rec, None).map(Some);
                    }
                }
                Some(Err(e)) => return Err(runtime(format!("{}: {e}", self.filename))),
            }
        }
    }

    fn filter_codes(py: Python<'_>, types: &[Bound<'_, PyAny>]) -> PyResult<Vec<u16>> {
        if types.is_empty() {
            return Err(PyValueError::new_err("nothing to filter"));
        }
        types
            .iter()
            .map(|t| {
                let t = t
                    .cast::<PyType>()
                    .map_err(|_| PyValueError::new_err("invalid type"))?;
                record::type_code(py, t).ok_or_else(|| PyValueError::new_err("invalid type"))
            })
            .collect()
    }
}

#[pymethods]
impl ScamperFile {
    #[new]
    #[pyo3(signature = (filename, mode = "r", kind = None, filter_types = None))]
    fn new(
        py: Python<'_>,
        filename: PathBuf,
        mode: &str,
        kind: Option<&str>,
        filter_types: Option<Vec<Bound<'_, PyAny>>>,
    ) -> PyResult<Self> {
        let path = filename;
        let filename = path.to_string_lossy().into_owned();
        let filename = filename.as_str();
        let (reading, filetype, state) = match mode {
            "r" => {
                if kind.is_some() {
                    return Err(PyValueError::new_err(
                        "kind is only for files opened with mode 'w'",
                    ));
                }
                let codes = filter_types
                    .map(|t| Self::filter_codes(py, &t))
                    .transpose()?;
                let tf = codes
                    .as_ref()
                    .map(|c| c.iter().fold(TypeFilter::none(), |t, k| t.with(*k)));
                let mut rs = py
                    .detach(|| open_read(&path, tf))
                    .map_err(|e| runtime(format!("could not open file: {filename}: {e}")))?;
                rs.filter = codes;
                (true, "warts".to_owned(), State::Read(Box::new(rs)))
            }
            "w" => {
                if filter_types.is_some() {
                    return Err(PyValueError::new_err(
                        "filter_types is only for files opened with mode 'r'",
                    ));
                }
                let kind = match kind {
                    None => kind_from_name(filename),
                    Some(
                        k @ ("warts" | "warts.gz" | "warts.bz2" | "warts.xz" | "json" | "text"),
                    ) => k,
                    Some(k) => return Err(PyValueError::new_err(format!("invalid kind {k:?}"))),
                };
                let ws = open_write(&path, kind)
                    .map_err(|e| runtime(format!("could not open file: {filename}: {e}")))?;
                (false, kind.to_owned(), State::Write(ws))
            }
            _ => return Err(PyValueError::new_err("invalid mode")),
        };
        Ok(Self {
            filename: filename.to_owned(),
            filetype,
            reading,
            state: Mutex::new(state),
        })
    }

    /// The file's type: `warts` when reading; the kind written when writing.
    #[getter]
    fn filetype(&self) -> &str {
        &self.filetype
    }

    /// The file name given when opening.
    #[getter]
    fn filename(&self) -> &str {
        &self.filename
    }

    /// Returns only results of these classes from now on (replaces any earlier filter).
    #[pyo3(signature = (*types))]
    fn filter_types(&self, py: Python<'_>, types: &Bound<'_, PyTuple>) -> PyResult<()> {
        let list: Vec<Bound<'_, PyAny>> = types.iter().collect();
        // Accept a single list argument too, as the constructor does.
        let list = match list.as_slice() {
            [one] if one.cast::<pyo3::types::PyList>().is_ok() => {
                one.extract::<Vec<Bound<'_, PyAny>>>()?
            }
            _ => list,
        };
        let codes = Self::filter_codes(py, &list)?;
        let mut st = self.lock(py)?;
        match &mut *st {
            State::Read(rs) => {
                rs.set_filter(codes);
                Ok(())
            }
            State::Write(_) => Err(PyValueError::new_err(
                "cannot filter a file opened for writing",
            )),
            State::Closed => Err(closed()),
        }
    }

    /// The next object, or `None` at the end of the file.
    fn read(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.read_one(py, || runtime("file not opened for reading"))
    }

    /// Writes a result (lists and cycles are written with the results that
    /// refer to them, or on their own; addresses are accepted and ignored).
    fn write(&self, py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<()> {
        let rec = record::from_py(obj)?;
        let mut st = self.lock(py)?;
        match &mut *st {
            State::Write(ws) => match rec {
                Some(rec) => ws.write(&rec),
                None => Ok(()),
            },
            State::Read(_) => Err(runtime("file not opened for writing")),
            State::Closed => Err(closed()),
        }
    }

    /// Closes the file (flushing and finishing compression); closing twice is fine.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let old = {
            let mut st = self.lock(py)?;
            std::mem::replace(&mut *st, State::Closed)
        };
        match old {
            State::Write(ws) => py.detach(|| ws.close()).map_err(runtime),
            State::Read(_) | State::Closed => Ok(()),
        }
    }

    /// Whether the file was opened for reading.
    fn is_read(&self) -> bool {
        self.reading
    }

    /// Whether the file was opened for writing.
    fn is_write(&self) -> bool {
        !self.reading
    }

    fn __iter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        let py = slf.py();
        {
            let st = slf.get().lock(py)?;
            match &*st {
                State::Read(_) => {}
                State::Write(_) => return Err(PyValueError::new_err("not readable")),
                State::Closed => return Err(closed()),
            }
        }
        Ok(slf)
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.read_one(py, || PyValueError::new_err("not readable"))
    }

    fn __enter__(slf: Bound<'_, Self>) -> PyResult<Bound<'_, Self>> {
        if matches!(*slf.get().lock(slf.py())?, State::Closed) {
            return Err(closed());
        }
        Ok(slf)
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        let mode = if self.reading { "r" } else { "w" };
        format!(
            "ScamperFile({:?}, '{mode}', filetype={:?})",
            self.filename, self.filetype
        )
    }
}

impl Drop for ScamperFile {
    fn drop(&mut self) {
        if let Ok(st) = self.state.get_mut()
            && let State::Write(ws) = std::mem::replace(st, State::Closed)
        {
            let _ = ws.close();
        }
    }
}
