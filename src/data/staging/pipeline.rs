//! Decoding many images on all cores while the source is read in one sequential pass.
//!
//! ```text
//! reader thread ── (slot, bytes) ──► decoder threads ── (slot, pixels) ──► this thread
//!  reads in order                     decode + check        places pixels, reports progress
//! ```
//! The first error stops the reader and the decoders; it is returned with the entry it names. A
//! stop asked for by the progress callback ends it the same way, as [`ReadError::Stopped`].
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use crate::data::error::{EntryError, ReadError};
use crate::data::readers::decode::{decode_into, ColorMode, Shape};
use crate::data::types::{StagePhase, StageProgress};

/// How often progress is reported while images decode.
const PROGRESS_EVERY: Duration = Duration::from_millis(50);

/// One image read from the source: where its pixels go, its name (for errors), its bytes.
pub struct Job {
    pub slot: usize,
    pub name: String,
    pub bytes: Vec<u8>,
}

/// How every image is decoded.
#[derive(Debug, Clone, Copy)]
pub struct DecodeSpec {
    pub shape: Shape,
    pub color: ColorMode,
    pub resize: bool,
    pub max_bytes: u64,
}

/// Hands jobs to the decoders; `false` once staging is being abandoned (stop reading then).
pub type Send<'a> = &'a dyn Fn(Job) -> bool;

/// The zeroed buffer for `total` decoded images of `shape`; a size that overflows or can't be
/// allocated is an error, not an abort.
fn decoded_buffer(total: usize, shape: Shape) -> Result<Vec<u8>, ReadError> {
    let too_big = || {
        ReadError::from(EntryError::general(format!(
            "{total} images of {} need more memory than this machine can allocate once decoded; set a \
             smaller `resize` under [images] in config.toml",
            shape.describe()
        )))
    };
    let bytes = total.checked_mul(shape.len()).ok_or_else(too_big)?;
    let mut pixels = Vec::new();
    pixels.try_reserve_exact(bytes).map_err(|_| too_big())?;
    pixels.resize(bytes, 0);
    Ok(pixels)
}

/// Decode `total` images into one buffer of `total × shape.len()` bytes. `read` runs on its own
/// thread and sends every image once, in the order the source is best read in; what it returns
/// (a content hash, say) is returned beside the pixels.
pub fn decode_all<T, F>(
    total: usize,
    spec: DecodeSpec,
    read: F,
    progress: &mut StageProgress<'_>,
) -> Result<(Vec<u8>, T), ReadError>
where
    T: std::marker::Send,
    F: FnOnce(Send<'_>) -> Result<T, ReadError> + std::marker::Send,
{
    let sample = spec.shape.len();
    let mut pixels = decoded_buffer(total, spec.shape)?;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(1, 8);
    let abort = AtomicBool::new(false);
    let (job_tx, job_rx) = mpsc::sync_channel::<Job>(4 * threads.max(64));
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<Result<(usize, Vec<u8>), EntryError>>();

    let mut failure: Option<ReadError> = None;
    let read_result = std::thread::scope(|s| {
        let abort = &abort;
        let reader = std::thread::Builder::new()
            .name("stage-read".into())
            .spawn_scoped(s, move || {
                let send = |job: Job| !abort.load(Ordering::Relaxed) && job_tx.send(job).is_ok();
                read(&send)
            })
            .map_err(|e| {
                ReadError::from(EntryError::general(format!("could not start a staging thread: {e}")))
            })?;
        for i in 0..threads {
            let done_tx = done_tx.clone();
            let job_rx = &job_rx;
            let started =
                std::thread::Builder::new().name(format!("stage-decode-{i}")).spawn_scoped(s, move || loop {
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    if abort.load(Ordering::Relaxed) {
                        continue; // drain, so the reader never blocks
                    }
                    let mut out = vec![0u8; sample];
                    let result = decode_into(
                        &job.bytes,
                        spec.shape,
                        spec.color,
                        spec.resize,
                        spec.max_bytes,
                        &mut out,
                    )
                    .map(|()| (job.slot, out))
                    .map_err(|why| EntryError::at(&job.name, why.to_string()));
                    if done_tx.send(result).is_err() {
                        return;
                    }
                });
            if let Err(e) = started {
                abort.store(true, Ordering::Relaxed);
                failure = Some(EntryError::general(format!("could not start a staging thread: {e}")).into());
            }
        }
        drop(done_tx);
        // Stop the others if this thread unwinds (a progress callback that panics, say).
        let _stop = StopOnDrop(abort);

        let mut done: u64 = 0;
        let mut last = Instant::now();
        let mut go_on = progress(StagePhase::Decoding, 0, total as u64);
        for result in done_rx.iter() {
            if !go_on {
                // Asked to stop: the reader and the decoders see the flag and wind down; what
                // they still send is drained here, so none of them blocks.
                abort.store(true, Ordering::Relaxed);
                failure.get_or_insert(ReadError::Stopped);
                continue;
            }
            match result {
                Ok((slot, out)) => {
                    pixels[slot * sample..(slot + 1) * sample].copy_from_slice(&out);
                    done += 1;
                    if last.elapsed() >= PROGRESS_EVERY || done == total as u64 {
                        go_on = progress(StagePhase::Decoding, done, total as u64);
                        last = Instant::now();
                    }
                }
                Err(e) => {
                    abort.store(true, Ordering::Relaxed);
                    failure.get_or_insert(e.into());
                }
            }
        }
        match reader.join() {
            Ok(r) => r.map(|value| (done, value)),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    // A reading error (a damaged archive, a zip bomb) comes before the decoding errors it caused,
    // but a stop comes before all: what was read after it doesn't matter.
    if let Some(e) = failure.take_if(|e| matches!(e, ReadError::Stopped)) {
        return Err(e);
    }
    let (done, value) = read_result?;
    if let Some(e) = failure {
        return Err(e);
    }
    if done != total as u64 {
        return Err(
            EntryError::general(format!("only {done} of {total} images were read; stage it again")).into()
        );
    }
    Ok((pixels, value))
}

struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
