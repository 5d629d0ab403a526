//! `workbench export`: the metrics of some runs as one long-format CSV, and their loss curves as
//! SVG or PNG (plotters, with an embedded font: no system fonts needed).
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::error::RunsError;
use super::events::{ScalarPoint, StepRow};
use super::external::{is_train_loss, ExternalRun};
use super::palette::colours_of;
use super::record::{load_run, read_steps, RunRecord};

/// The header of the exported CSV, one value per row.
pub const CSV_HEADER: [&str; 6] = ["run", "epoch", "step", "wall_s", "metric", "value"];

/// DejaVu Sans (Debian's fonts-dejavu-core 2.37; its licence is beside it in assets/fonts/).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// One run's figures, read once for every format.
#[derive(Debug, Clone)]
pub struct ExportRun {
    /// The run's id (its folder name, or an external run's name), as the CSV and the legend name it.
    pub id: String,
    /// A workbench run's `run.toml` and `metrics.csv`; `None` for a run another tool logged.
    pub record: Option<RunRecord>,
    pub steps: Vec<StepRow>,
    /// A run another tool logged (TensorBoard, Lightning's CSV logger): its series by tag.
    pub scalars: BTreeMap<String, Vec<ScalarPoint>>,
    /// `telemetry.csv` read back (empty when the run has none).
    pub telemetry: crate::telemetry::Telemetry,
    /// The run's run.toml (a workbench run's or a command run's): what legends name it by.
    pub meta: Option<super::RunMeta>,
}

impl ExportRun {
    /// Read the run folder `dir`: `run.toml`, `metrics.csv`, `steps.csv` and `telemetry.csv`.
    pub fn load(dir: &Path) -> Result<ExportRun, RunsError> {
        let record = load_run(dir)?;
        let steps = read_steps(dir)?;
        // Telemetry is optional (older runs): a missing file is no telemetry.
        let telemetry = std::fs::read_to_string(dir.join(crate::telemetry::TELEMETRY_FILE))
            .map(|t| crate::telemetry::parse_telemetry(&t))
            .unwrap_or_default();
        if record.meta.kind == crate::command::RunKind::Command {
            // A command run's series are tags, as an external run's are (drawn against steps).
            let scalars = crate::command::read_command_series(dir, &record.meta);
            let meta = Some(record.meta.clone());
            return Ok(ExportRun { id: record.id(), record: None, steps, scalars, telemetry, meta });
        }
        let meta = Some(record.meta.clone());
        Ok(ExportRun {
            id: record.id(),
            record: Some(record),
            steps,
            scalars: BTreeMap::new(),
            telemetry,
            meta,
        })
    }

    /// A run another tool logged, as read by [`load_external_runs`](super::external::load_external_runs).
    pub fn external(run: &ExternalRun) -> ExportRun {
        ExportRun {
            id: run.key.clone(),
            record: None,
            steps: Vec::new(),
            scalars: run.scalars.clone(),
            telemetry: Default::default(),
            meta: None,
        }
    }

    /// `val_accuracy` or `val_mse`.
    fn val_metric_name(&self) -> &'static str {
        if self.record.as_ref().is_none_or(|r| r.metric() == "accuracy") {
            "val_accuracy"
        } else {
            "val_mse"
        }
    }
}

/// The long-format CSV of every epoch metric and step loss of `runs`, as text: header
/// `run,epoch,step,wall_s,metric,value`, numbers unquoted, empty where unknown. The run's
/// telemetry follows as rows named `telemetry/<column>` (`telemetry/cpu_percent`,
/// `telemetry/gpu0_util_percent`, ...) with `wall_s` its time and no epoch or step.
pub fn csv_text(runs: &[ExportRun]) -> Result<String, RunsError> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut rows: Vec<[String; 6]> = Vec::new();
    for run in runs {
        let epochs = run.record.as_ref().map_or(&[][..], |r| r.epochs.as_slice());
        if epochs.is_empty() && run.steps.is_empty() && run.scalars.values().all(Vec::is_empty) {
            return Err(RunsError::NoMetrics { run: run.id.clone() });
        }
        let opt = |v: Option<String>| v.unwrap_or_default();
        for e in epochs {
            let values = [
                ("train_loss", Some(e.train_loss)),
                ("val_loss", e.val_loss),
                (run.val_metric_name(), e.val_metric),
            ];
            for (metric, value) in values {
                let Some(value) = value else { continue };
                rows.push([
                    run.id.clone(),
                    e.epoch.to_string(),
                    opt(e.step.map(|s| s.to_string())),
                    e.elapsed_s.to_string(),
                    metric.to_string(),
                    value.to_string(),
                ]);
            }
        }
        for s in &run.steps {
            rows.push([
                run.id.clone(),
                s.epoch.to_string(),
                s.step.to_string(),
                opt(s.wall_s.map(|w| w.to_string())),
                "step_loss".into(),
                s.loss.to_string(),
            ]);
        }
        external_rows(run, &mut rows);
        rows.extend(telemetry_rows(run));
    }
    let io = |e: csv::Error| RunsError::Plot { path: "CSV".into(), reason: e.to_string() };
    out.write_record(CSV_HEADER).map_err(io)?;
    for row in &rows {
        out.write_record(row).map_err(io)?;
    }
    let bytes =
        out.into_inner().map_err(|e| RunsError::Plot { path: "CSV".into(), reason: e.to_string() })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// An external run's points, one row per point, the tag as the metric; `wall_s` counts from the
/// run's first logged point (as a workbench run's counts from its start); empty when unknown.
fn external_rows(run: &ExportRun, rows: &mut Vec<[String; 6]>) {
    let origin =
        run.scalars.values().flatten().map(|p| p.wall_time).filter(|w| w.is_finite()).reduce(f64::min);
    for (tag, points) in &run.scalars {
        for p in points {
            let wall = origin.filter(|_| p.wall_time.is_finite()).map(|o| (p.wall_time - o).to_string());
            rows.push([
                run.id.clone(),
                p.epoch.map(|e| e.to_string()).unwrap_or_default(),
                p.step.to_string(),
                wall.unwrap_or_default(),
                tag.clone(),
                p.value.to_string(),
            ]);
        }
    }
}

/// One row per telemetry value: `run,,,time_s,telemetry/<column>,value`.
fn telemetry_rows(run: &ExportRun) -> Vec<[String; 6]> {
    let t = &run.telemetry;
    let mut rows = Vec::new();
    for row in &t.rows {
        let Some(Some(time)) = row.first() else { continue };
        for (column, value) in t.columns.iter().zip(row).skip(1) {
            let Some(value) = value else { continue };
            rows.push([
                run.id.clone(),
                String::new(),
                String::new(),
                time.to_string(),
                format!("telemetry/{column}"),
                value.to_string(),
            ]);
        }
    }
    rows
}

/// Write [`csv_text`] to `path`; returns the number of data rows.
pub fn write_csv(runs: &[ExportRun], path: &Path) -> Result<usize, RunsError> {
    let text = csv_text(runs)?;
    std::fs::write(path, &text).map_err(|e| RunsError::write(path, e))?;
    Ok(text.lines().count().saturating_sub(1))
}

/// Draw the runs' loss curves (train solid, validation dashed, one colour per run) as SVG.
pub fn write_svg(runs: &[ExportRun], path: &Path, size: (u32, u32)) -> Result<(), RunsError> {
    check_plot(runs, path, size)?;
    plot_svg(path, size, |root| draw(root, runs))
}

/// Draw the runs' loss curves as a PNG of `size` pixels.
pub fn write_png(runs: &[ExportRun], path: &Path, size: (u32, u32)) -> Result<(), RunsError> {
    check_plot(runs, path, size)?;
    plot_png(path, size, |root| draw(root, runs))
}

/// Write what `draw` draws as an SVG file of `size`.
pub fn plot_svg(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(DrawingArea<SVGBackend, Shift>) -> Result<(), String>,
) -> Result<(), RunsError> {
    register_font().map_err(|reason| RunsError::Plot { path: path.into(), reason })?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw(root).map_err(|reason| RunsError::Plot { path: path.into(), reason })?;
    }
    std::fs::write(path, svg).map_err(|e| RunsError::write(path, e))
}

/// Write what `draw` draws as a PNG file of `size` pixels.
pub fn plot_png(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(DrawingArea<BitMapBackend, Shift>) -> Result<(), String>,
) -> Result<(), RunsError> {
    register_font().map_err(|reason| RunsError::Plot { path: path.into(), reason })?;
    let (w, h) = size;
    let mut pixels = vec![0u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        draw(root).map_err(|reason| RunsError::Plot { path: path.into(), reason })?;
    }
    let plot_err = |reason: String| RunsError::Plot { path: path.into(), reason };
    let image =
        image::RgbImage::from_raw(w, h, pixels).ok_or_else(|| plot_err("pixel buffer size".into()))?;
    let mut bytes = std::io::Cursor::new(Vec::new());
    image.write_to(&mut bytes, image::ImageFormat::Png).map_err(|e| plot_err(e.to_string()))?;
    std::fs::write(path, bytes.into_inner()).map_err(|e| RunsError::write(path, e))
}

/// Every run has an epoch to draw; the size is sane; the font is there.
fn check_plot(runs: &[ExportRun], path: &Path, (w, h): (u32, u32)) -> Result<(), RunsError> {
    if let Some(run) = runs.iter().find(|r| points(r, false).is_empty()) {
        return Err(match run.record {
            Some(_) => RunsError::NoMetrics { run: run.id.clone() },
            None => RunsError::NoLossTag { run: run.id.clone() },
        });
    }
    if !(16..=10_000).contains(&w) || !(16..=10_000).contains(&h) {
        let reason = format!("a {w}×{h} image; give a width and height from 16 to 10000 pixels");
        return Err(RunsError::Plot { path: path.into(), reason });
    }
    Ok(())
}

/// plotters' ab_glyph text needs the font registered once per process.
fn register_font() -> Result<(), String> {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .map_err(|_| "the embedded font (DejaVu Sans) could not be read".to_string())
    })
    .clone()
}

/// (epoch, loss) points.
type Curve = Vec<(f64, f64)>;

/// The finite (epoch, loss) points of one curve; (step, value) of an external run's training-loss
/// tag, or its first validation-loss tag.
fn points(run: &ExportRun, val: bool) -> Curve {
    let Some(record) = &run.record else {
        let tag = run.scalars.keys().find(|t| {
            let lower = t.to_lowercase();
            if val {
                lower.contains("loss") && lower.contains("val")
            } else {
                is_train_loss(t)
            }
        });
        let pts = tag.and_then(|t| run.scalars.get(t)).map_or(&[][..], Vec::as_slice);
        return pts.iter().map(|p| (p.step as f64, p.value)).filter(|(_, y)| y.is_finite()).collect();
    };
    record
        .epochs
        .iter()
        .filter_map(|e| Some((e.epoch as f64, if val { e.val_loss? } else { e.train_loss })))
        .filter(|(_, y)| y.is_finite())
        .collect()
}

/// What the x axis counts: epochs for the workbench's runs, steps for other tools'.
fn x_description(runs: &[ExportRun]) -> &'static str {
    match (runs.iter().any(|r| r.record.is_some()), runs.iter().any(|r| r.record.is_none())) {
        (true, true) => "epoch (workbench runs), step (other tools' runs)",
        (false, true) => "step",
        _ => "epoch",
    }
}

/// The legend's name of each run: what differs among them (`lr=0.1 seed=2`), else its id.
pub fn legend_names(runs: &[ExportRun]) -> Vec<String> {
    let metas: Vec<Option<&super::RunMeta>> = runs.iter().map(|r| r.meta.as_ref()).collect();
    super::labels::differing_labels(&metas).unwrap_or_else(|| runs.iter().map(|r| r.id.clone()).collect())
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, runs: &[ExportRun]) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let names = legend_names(runs);
    // A sweep's runs in shades of one colour, as in the TUI's overlay.
    let sweeps: Vec<Option<&str>> =
        runs.iter().map(|r| r.meta.as_ref().and_then(|m| m.sweep.as_deref())).collect();
    let colours = colours_of(&sweeps);
    let curves: Vec<(Curve, Curve)> = runs.iter().map(|r| (points(r, false), points(r, true))).collect();
    let all = curves.iter().flat_map(|(t, v)| t.iter().chain(v));
    let (mut x_max, mut y_min, mut y_max) = (1.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in all {
        x_max = x_max.max(x);
        y_min = y_min.min(y);
        y_max = y_max.max(y);
    }
    if !y_min.is_finite() {
        (y_min, y_max) = (0.0, 1.0); // every loss diverged: draw empty axes
    }
    let pad = ((y_max - y_min) * 0.05).max(1e-6);
    root.fill(&WHITE).map_err(err)?;
    let title = if runs.len() == 1 {
        format!("Loss per {}: {}", x_description(runs), runs[0].id)
    } else {
        format!("Loss per {}", x_description(runs))
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..x_max, (y_min - pad).max(0.0).min(y_min)..y_max + pad)
        .map_err(err)?;
    // Epochs are whole: no "2.0" on the axis once there are enough of them to label whole ones.
    let whole = |x: &f64| format!("{x:.0}");
    let tenths = |x: &f64| format!("{x:.1}");
    let x_format: &dyn Fn(&f64) -> String = if x_max >= 5.0 { &whole } else { &tenths };
    chart
        .configure_mesh()
        .x_label_formatter(x_format)
        .x_desc(x_description(runs))
        .y_desc("loss")
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    for (i, ((train, val), name)) in curves.into_iter().zip(&names).enumerate() {
        let (r, g, b) = colours[i];
        let colour = RGBColor(r, g, b);
        let style = colour.stroke_width(2);
        chart
            .draw_series(LineSeries::new(train, style))
            .map_err(err)?
            .label(format!("{name} train"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        if !val.is_empty() {
            chart
                .draw_series(DashedLineSeries::new(val, 6, 4, style))
                .map_err(err)?
                .label(format!("{name} val"))
                .legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (8, 0)], style)
                        + PathElement::new(vec![(14, 0), (24, 0)], style)
                });
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}
