//! A sweep on paper: one CSV row per cell (`workbench sweep show --csv`, `e` on the board), and a
//! seed group's band chart (mean line, min to max shaded) as SVG and PNG.
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::band::BandPoint;
use super::results::Results;
use crate::runs::RunsError;

/// Write one row per cell: the varying `names`, status, device, the metric, its best and where,
/// epochs, duration, run. Returns how many rows.
pub fn write_cells_csv(path: &Path, names: &[String], r: &Results) -> Result<usize, RunsError> {
    let failed = |e: csv::Error| RunsError::write(path, std::io::Error::other(e.to_string()));
    let mut out = csv::Writer::from_path(path).map_err(failed)?;
    let mut header: Vec<String> = names.to_vec();
    header.extend(
        ["status", "device", "metric", "best", "best_at", "epochs", "duration_s", "run"].map(String::from),
    );
    out.write_record(&header).map_err(failed)?;
    for c in &r.cells {
        let mut row: Vec<String> =
            names.iter().map(|n| c.values.get(n).cloned().unwrap_or_default()).collect();
        row.extend([
            c.status.clone(),
            c.device.clone(),
            r.judged.metric.clone(),
            c.best.map(|b| b.to_string()).unwrap_or_default(),
            c.best_at.map(|b| b.to_string()).unwrap_or_default(),
            c.epochs.to_string(),
            c.duration_s.map(|d| format!("{d:.3}")).unwrap_or_default(),
            c.run.clone(),
        ]);
        out.write_record(&row).map_err(failed)?;
    }
    out.flush().map_err(|e| RunsError::write(path, e))?;
    Ok(r.cells.len())
}

/// What a band chart shows: the group's label, the metric, and the band.
pub struct BandChart<'a> {
    pub title: &'a str,
    pub metric: &'a str,
    /// The x axis's name: `epoch`, or `step` for a command's metric.
    pub x_name: &'a str,
    pub band: &'a [BandPoint],
    /// The sweep's colour family (see `runs::palette::family_colour`), or the first run colour.
    pub colour: (u8, u8, u8),
}

/// Write the band chart as SVG and PNG next to each other (`BASE.svg`, `BASE.png`).
pub fn write_band(base: &Path, chart: &BandChart) -> Result<Vec<std::path::PathBuf>, RunsError> {
    if chart.band.is_empty() {
        return Err(RunsError::Plot {
            path: base.into(),
            reason: "the group has no metric yet to chart".into(),
        });
    }
    // Not with_extension: a label like `lr_0.1` would lose its `.1`.
    let named = |ext: &str| std::path::PathBuf::from(format!("{}.{ext}", base.display()));
    let (svg, png) = (named("svg"), named("png"));
    crate::runs::export::plot_svg(&svg, (1000, 600), |root| draw_band(root, chart))?;
    crate::runs::export::plot_png(&png, (1000, 600), |root| draw_band(root, chart))?;
    Ok(vec![svg, png])
}

fn draw_band<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, c: &BandChart) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let (x0, x1) = (c.band[0].x, c.band[c.band.len() - 1].x.max(c.band[0].x + 1.0));
    let lo = c.band.iter().map(|p| p.min).fold(f64::INFINITY, f64::min);
    let hi = c.band.iter().map(|p| p.max).fold(f64::NEG_INFINITY, f64::max);
    let pad = ((hi - lo) * 0.05).max(1e-6);
    root.fill(&WHITE).map_err(err)?;
    let n_max = c.band.iter().map(|p| p.n).max().unwrap_or(0);
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{}: {} (mean of {n_max} seeds, min to max shaded)", c.title, c.metric),
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, lo - pad..hi + pad)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_label_formatter(&|x: &f64| format!("{x:.0}"))
        .x_desc(c.x_name)
        .y_desc(c.metric)
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    let (r, g, b) = c.colour;
    let colour = RGBColor(r, g, b);
    let outline: Vec<(f64, f64)> =
        c.band.iter().map(|p| (p.x, p.max)).chain(c.band.iter().rev().map(|p| (p.x, p.min))).collect();
    chart.draw_series(std::iter::once(Polygon::new(outline, colour.mix(0.25).filled()))).map_err(err)?;
    let style = colour.stroke_width(2);
    chart
        .draw_series(LineSeries::new(c.band.iter().map(|p| (p.x, p.mean)), style))
        .map_err(err)?
        .label("mean")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}
