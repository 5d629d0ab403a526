//! Logging through `tracing`: to a daily log file in the per-user state folder, and to an optional
//! tap that the TUI's log pane reads, so no error hides in a file. `RUST_LOG` sets the filter.
//!
//! Nothing here writes to stdout or stderr: the TUI owns the screen.
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// One log event, as the log pane shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub level: Level,
    pub target: String,
    pub message: String,
}

type Tap = Box<dyn Fn(LogLine) + Send>;

/// Where log lines go besides the file (the TUI's event channel while it runs).
static TAP: Mutex<Option<Tap>> = Mutex::new(None);

/// Send log lines at INFO and above to `tap` as well as to the file (replaces any earlier tap).
pub fn set_tap(tap: impl Fn(LogLine) + Send + 'static) {
    if let Ok(mut slot) = TAP.lock() {
        *slot = Some(Box::new(tap));
    }
}

pub fn clear_tap() {
    if let Ok(mut slot) = TAP.lock() {
        *slot = None;
    }
}

/// Keeps the background log writer alive; drop it last so buffered lines reach the file.
pub struct LogGuard {
    _guard: Option<tracing_appender::non_blocking::WorkerGuard>,
    pub file: Option<PathBuf>,
}

/// The log file for today, in `dir`.
fn log_file_prefix() -> &'static str {
    "workbench.log"
}

/// Set up logging. Failure to open the log folder is not fatal: logs then only reach the tap.
pub fn init(dir: &Path) -> LogGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let appender = std::fs::create_dir_all(dir).ok().and_then(|_| {
        tracing_appender::rolling::Builder::new()
            .rotation(tracing_appender::rolling::Rotation::DAILY)
            .filename_prefix(log_file_prefix())
            .max_log_files(7)
            .build(dir)
            .ok()
    });
    let (file_layer, guard, file) = match appender {
        Some(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let layer =
                tracing_subscriber::fmt::layer().with_writer(writer).with_ansi(false).with_target(true);
            (Some(layer), Some(guard), Some(current_log_file(dir)))
        }
        None => (None, None, None),
    };
    let _ = tracing_subscriber::registry().with(filter).with(file_layer).with(TapLayer).try_init();
    LogGuard { _guard: guard, file }
}

/// The file today's lines go to (the rolling appender adds the date).
pub fn current_log_file(dir: &Path) -> PathBuf {
    let today = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    dir.join(format!("{}.{}", log_file_prefix(), &today[..10]))
}

/// Forwards events at INFO and above to the tap, when one is set.
struct TapLayer;

impl<S: Subscriber> Layer<S> for TapLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        if level > Level::INFO {
            return;
        }
        let Ok(slot) = TAP.lock() else { return };
        let Some(tap) = slot.as_ref() else { return };
        let mut visitor = MessageVisitor::default();
        event.record(&mut visitor);
        tap(LogLine { level, target: event.metadata().target().to_string(), message: visitor.finish() });
    }
}

/// Collects `message` and the other fields into one line: `message key=value ...`.
#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: Vec<String>,
}

impl MessageVisitor {
    fn finish(self) -> String {
        if self.fields.is_empty() {
            self.message
        } else {
            format!("{} {}", self.message, self.fields.join(" "))
        }
    }
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.fields.push(format!("{}={value}", field.name()));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.fields.push(format!("{}={value:?}", field.name()));
        }
    }
}

/// Replace the default panic printout: panics are logged, and a panic on the main thread prints a
/// single line (after `before_print`, which the TUI uses to restore the terminal). Worker panics
/// are caught by the worker and reported as a failed run.
pub fn install_panic_hook(log_file: Option<PathBuf>, before_print: fn()) {
    std::panic::set_hook(Box::new(move |info| {
        let message = if let Some(s) = info.payload().downcast_ref::<&str>() {
            s.to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "unknown panic".into()
        };
        let first_line = message.lines().next().unwrap_or_default().to_string();
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        let thread = std::thread::current().name().unwrap_or("unnamed").to_string();
        tracing::error!(target: "panic", thread = %thread, location = %location, "{message}");
        if thread == "main" {
            before_print();
            let log = log_file.as_ref().map(|p| format!("; details in {}", p.display())).unwrap_or_default();
            eprintln!("error: internal error: {first_line} (at {location}){log}");
        }
    }));
}
