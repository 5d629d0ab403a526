//! Reading one TensorBoard event file incrementally: from the last whole record read to the end.
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use prost::Message;

use super::proto::{self, summary::value::Value as SummaryValue, DataType};
use super::record::{parse_record, Frame};
use super::ExternalError;
use crate::runs::events::ScalarPoint;

/// How much of a file is read at a time: a 200 MB file is never held whole.
const CHUNK: u64 = 8 << 20;

/// What one read of an event file found.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct EventBatch {
    /// New points per tag, in the order they were logged.
    pub scalars: BTreeMap<String, Vec<ScalarPoint>>,
    /// Hyperparameters from an `add_hparams` record (sorted by name), if one was read.
    pub hparams: Option<Vec<(String, String)>>,
    /// Whole records read (good or not).
    pub records: u64,
    /// Records skipped because their data's CRC failed or they did not decode.
    pub corrupt: u64,
}

/// Follows one `events.out.tfevents.*` file. Keeps the byte offset of the end of the last whole
/// record, so each read costs only what was appended; never writes to the file.
#[derive(Debug)]
pub struct EventFileReader {
    path: PathBuf,
    offset: u64,
    problem: Option<String>,
    /// Tags seen with the `scalars` plugin: later tensors of the tag may come without metadata.
    scalar_tags: HashSet<String>,
}

impl EventFileReader {
    /// A reader at the start of `path` (nothing is read yet).
    pub fn new(path: impl Into<PathBuf>) -> EventFileReader {
        EventFileReader { path: path.into(), offset: 0, problem: None, scalar_tags: HashSet::new() }
    }

    /// The file followed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes read so far: the end of the last whole record.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Why the file can't be read (further), if so: not an event file, damaged from some offset on.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// Read the records appended since the last call. A record cut off at the end is left for
    /// the next call; a record whose data fails its CRC is skipped with one warning; a length
    /// that fails its CRC stops the reading for good and sets [`problem`](Self::problem).
    pub fn read_new(&mut self) -> Result<EventBatch, ExternalError> {
        let mut batch = EventBatch::default();
        if self.problem.is_some() {
            return Ok(batch);
        }
        let path = self.path.clone();
        let io = |source| ExternalError::Io { path: path.clone(), source };
        let len = std::fs::metadata(&self.path).map_err(io)?.len();
        if len < self.offset {
            self.set_problem(format!(
                "the file shrank to {len} bytes after {} were read; it was replaced or truncated",
                self.offset
            ));
            return Ok(batch);
        }
        if len == self.offset {
            return Ok(batch);
        }
        let mut file = File::open(&self.path).map_err(io)?;
        file.seek(SeekFrom::Start(self.offset)).map_err(io)?;
        let mut buf: Vec<u8> = Vec::with_capacity((len - self.offset).min(CHUNK) as usize);
        loop {
            let got = (&mut file).take(CHUNK).read_to_end(&mut buf).map_err(io)?;
            let used = self.parse_buffer(&buf, &mut batch);
            self.offset += used as u64;
            buf.drain(..used);
            if got == 0 || self.problem.is_some() {
                break;
            }
        }
        Ok(batch)
    }

    /// Parse the whole records at the start of `buf`; returns the bytes used.
    fn parse_buffer(&mut self, buf: &[u8], batch: &mut EventBatch) -> usize {
        let mut pos = 0;
        while pos < buf.len() {
            let at = self.offset + pos as u64;
            match parse_record(&buf[pos..]) {
                Ok(Frame::Incomplete) => break,
                Ok(Frame::Record { data, size }) => {
                    batch.records += 1;
                    match proto::Event::decode(data) {
                        Ok(event) => self.take_event(event, batch),
                        Err(e) => {
                            batch.corrupt += 1;
                            tracing::warn!(
                                "{}: record at byte {at} is not a TensorBoard event ({e}); skipped",
                                self.path.display()
                            );
                        }
                    }
                    pos += size;
                }
                Err(ExternalError::DataCrc { size }) => {
                    batch.records += 1;
                    batch.corrupt += 1;
                    tracing::warn!(
                        "{}: record at byte {at} fails its CRC check (corrupt); skipped, reading on",
                        self.path.display()
                    );
                    pos += size;
                }
                Err(e @ ExternalError::RecordTooLong { .. }) => {
                    self.set_problem(format!("damaged from byte {at} on: {e}; read up to there"));
                    break;
                }
                Err(_) => {
                    let problem = if at == 0 {
                        "not a TensorBoard event file: its first record's length check fails".to_string()
                    } else {
                        format!("damaged from byte {at} on: a record's length check fails; read up to there")
                    };
                    self.set_problem(problem);
                    break;
                }
            }
        }
        pos
    }

    fn set_problem(&mut self, problem: String) {
        tracing::warn!("{}: {problem}", self.path.display());
        self.problem = Some(problem);
    }

    fn take_event(&mut self, event: proto::Event, batch: &mut EventBatch) {
        let Some(proto::event::What::Summary(summary)) = event.what else {
            return;
        };
        for value in summary.value {
            let plugin = value.metadata.as_ref().and_then(|m| m.plugin_data.as_ref());
            if let Some(p) = plugin.filter(|p| p.plugin_name == "hparams") {
                if let Some(h) = session_hparams(&p.content) {
                    batch.hparams = Some(h);
                }
                continue;
            }
            let Some(v) = self.scalar_value(&value) else {
                continue;
            };
            let point = ScalarPoint { step: event.step, wall_time: event.wall_time, value: v, epoch: None };
            match batch.scalars.get_mut(value.tag.as_str()) {
                Some(points) => points.push(point),
                None => {
                    batch.scalars.insert(value.tag, vec![point]);
                }
            }
        }
    }

    /// A scalar's value: `simple_value`, or a one-element float/double tensor of the `scalars`
    /// plugin (its metadata may come only with the tag's first value, as TensorFlow writes it).
    fn scalar_value(&mut self, value: &proto::summary::Value) -> Option<f64> {
        match value.value.as_ref()? {
            SummaryValue::SimpleValue(x) => Some(f64::from(*x)),
            SummaryValue::Tensor(t) => {
                let plugin = value.metadata.as_ref().and_then(|m| m.plugin_data.as_ref());
                match plugin.map(|p| p.plugin_name.as_str()) {
                    Some("scalars") if !self.scalar_tags.contains(&value.tag) => {
                        self.scalar_tags.insert(value.tag.clone());
                    }
                    Some("scalars") => {}
                    Some(name) if !name.is_empty() => return None,
                    _ if !self.scalar_tags.contains(&value.tag) => return None,
                    _ => {}
                }
                tensor_scalar(t)
            }
            SummaryValue::ObsoleteOldStyleHistogram(_) => None,
        }
    }
}

/// The value of a one-element DT_FLOAT or DT_DOUBLE tensor (from `float_val`/`double_val` or the
/// little-endian `tensor_content`).
fn tensor_scalar(t: &proto::TensorProto) -> Option<f64> {
    // One element: every dimension is 1 (no product is taken: a file's dims can be any i64).
    if t.tensor_shape.as_ref().is_some_and(|s| s.dim.iter().any(|d| d.size != 1)) {
        return None;
    }
    match DataType::try_from(t.dtype).ok()? {
        DataType::DtFloat => t.float_val.first().map(|x| f64::from(*x)).or_else(|| {
            let b: [u8; 4] = t.tensor_content.get(..4)?.try_into().ok()?;
            Some(f64::from(f32::from_le_bytes(b)))
        }),
        DataType::DtDouble => t.double_val.first().copied().or_else(|| {
            let b: [u8; 8] = t.tensor_content.get(..8)?.try_into().ok()?;
            Some(f64::from_le_bytes(b))
        }),
        DataType::DtInvalid => None,
    }
}

/// The hyperparameters of an hparams plugin value holding a `SessionStartInfo`, sorted by name.
fn session_hparams(content: &[u8]) -> Option<Vec<(String, String)>> {
    let data = proto::HParamsPluginData::decode(content).ok()?;
    let proto::h_params_plugin_data::Data::SessionStartInfo(info) = data.data?;
    let mut out: Vec<(String, String)> =
        info.hparams.into_iter().map(|(k, v)| (k, hparam_text(&v))).collect();
    out.sort();
    Some(out)
}

/// An hparam as text: integers without a fraction, other numbers in Rust's shortest form.
fn hparam_text(v: &proto::Value) -> String {
    use proto::value::Kind;
    match &v.kind {
        Some(Kind::NumberValue(x)) if x.fract() == 0.0 && x.abs() < 1e15 => format!("{}", *x as i64),
        Some(Kind::NumberValue(x)) => format!("{x}"),
        Some(Kind::StringValue(s)) => s.clone(),
        Some(Kind::BoolValue(b)) => b.to_string(),
        Some(Kind::NullValue(_)) | None => String::new(),
    }
}

/// Read a whole event file at once (for `export` and the benchmark).
pub fn read_event_file(path: &Path) -> Result<(EventBatch, Option<String>), ExternalError> {
    let mut reader = EventFileReader::new(path);
    let batch = reader.read_new()?;
    Ok((batch, reader.problem.take()))
}
