//! Pictures: ROC curves, training curves and event displays.
//!
//! The format follows the output name: `.png` gives a PNG, `.svg` an SVG; other names are refused. Files are
//! rendered in memory and written under a temporary name, then renamed, so a plot that fails
//! half-way never leaves a truncated file. Text is laid out with the system's sans-serif font
//! (fontconfig; DejaVu Sans on Debian).

use crate::classify::Roc;
use crate::segment::class_name;
use anyhow::{anyhow, bail, Context, Result};
use nextgnn_stream::{write_atomic, Graph, Schema};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;
use std::path::Path;

const FONT: &str = "sans-serif";

/// Colours of the voxel classes other, track, blob, then further classes.
const CLASS_COLOURS: [RGBColor; 6] = [
    RGBColor(150, 150, 150),
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
];

/// Line colours for curves (train and valid of one quantity share a colour).
const LINE_COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

fn class_colour(k: usize) -> RGBColor {
    CLASS_COLOURS[k % CLASS_COLOURS.len()]
}

/// Whether `out` asks for a PNG (by its extension) rather than an SVG.
pub fn is_png(out: &Path) -> bool {
    out.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"))
}

/// Refuses picture names that are neither `.svg` nor `.png`, rather than writing SVG under a `.pdf` name.
pub fn check_picture_name(out: &Path) -> Result<()> {
    let ok = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png") || e.eq_ignore_ascii_case("svg"));
    if !ok {
        bail!(
            "{}: pictures are written as SVG or PNG: name the file .svg or .png",
            out.display()
        );
    }
    Ok(())
}

/// Turns a plotters error (generic over the backend) into a message naming the output.
fn plot_err<E: std::fmt::Debug>(out: &Path) -> impl Fn(E) -> anyhow::Error + '_ {
    move |e| anyhow!("{}: drawing failed: {e:?}", out.display())
}

/// Renders with `$draw(&root, args...)` on an SVG or PNG backend chosen by the name of `$out`.
macro_rules! render {
    ($out:expr, $size:expr, $draw:ident ( $($arg:expr),* )) => {{
        let out: &Path = $out;
        let (w, h): (u32, u32) = $size;
        check_picture_name(out)?;
        if is_png(out) {
            let mut buf = vec![0u8; (w * h * 3) as usize];
            {
                let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
                root.fill(&WHITE).map_err(plot_err(out))?;
                $draw(&root, $($arg),*)?;
                root.present().map_err(plot_err(out))?;
            }
            write_atomic(out, &encode_png(&buf, w, h)?)
        } else {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
                root.fill(&WHITE).map_err(plot_err(out))?;
                $draw(&root, $($arg),*)?;
                root.present().map_err(plot_err(out))?;
            }
            write_atomic(out, svg.as_bytes())
        }
    }};
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut wr = enc.write_header().context("encoding PNG")?;
        wr.write_image_data(rgb).context("encoding PNG")?;
    }
    Ok(bytes)
}

/// A value range padded so that a single value or a constant series still gets a visible axis.
fn padded(lo: f64, hi: f64, frac: f64) -> (f64, f64) {
    if !lo.is_finite() || !hi.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo <= f64::EPSILON * lo.abs().max(1.0) {
        let d = if lo == 0.0 { 0.5 } else { lo.abs() * 0.1 };
        return (lo - d, hi + d);
    }
    let d = (hi - lo) * frac;
    (lo - d, hi + d)
}

fn min_max(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        })
}

// ---------------------------------------------------------------------------------------------
// ROC

/// Draws background rejection against signal efficiency for one or more labelled curves.
///
/// Each curve's legend entry carries its AUC, and its best figure of merit `εs/√εb` (among cuts
/// passing at least `fom_min_background` background events, see [`Roc::best_fom`]) is marked.
pub fn roc_plot(curves: &[(&str, &Roc)], fom_min_background: u64, out: &Path) -> Result<()> {
    if curves.is_empty() {
        bail!("{}: no ROC curve to draw", out.display());
    }
    render!(out, (800, 700), draw_roc(curves, fom_min_background, out))
}

fn draw_roc<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    curves: &[(&str, &Roc)],
    fom_min_background: u64,
    out: &Path,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let e = plot_err(out);
    let mut chart = ChartBuilder::on(root)
        .caption("ROC: background rejection vs signal efficiency", (FONT, 24))
        .margin(20)
        .x_label_area_size(55)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0f64..1.0, 0.0f64..1.0)
        .map_err(&e)?;
    chart
        .configure_mesh()
        .x_desc("signal efficiency εs")
        .y_desc("background rejection 1 − εb")
        .axis_desc_style((FONT, 20))
        .label_style((FONT, 16))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(&e)?;
    // The diagonal is a classifier that guesses.
    chart
        .draw_series(DashedLineSeries::new(
            vec![(0.0, 1.0), (1.0, 0.0)],
            6,
            6,
            RGBColor(160, 160, 160).stroke_width(1),
        ))
        .map_err(&e)?
        .label("random guess")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 25, y)], RGBColor(160, 160, 160)));
    for (i, (name, roc)) in curves.iter().enumerate() {
        let colour = LINE_COLOURS[i % LINE_COLOURS.len()];
        let style = colour.stroke_width(2);
        chart
            .draw_series(LineSeries::new(
                roc.points.iter().map(|p| (p.efficiency, p.rejection)),
                style,
            ))
            .map_err(&e)?
            .label(format!("{name} (AUC {:.3})", roc.auc()))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 25, y)], style));
        if let Some(w) = roc.best_fom(fom_min_background) {
            chart
                .draw_series(std::iter::once(Circle::new(
                    (w.efficiency, w.rejection),
                    6,
                    colour.filled(),
                )))
                .map_err(&e)?
                .label(format!(
                    "best εs/√εb = {:.2} (εs {:.2}, {:.1}× rejection, cut {:.3})",
                    w.fom, w.efficiency, w.rejection_factor, w.threshold
                ))
                .legend(move |(x, y)| Circle::new((x + 12, y), 5, colour.filled()));
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(&e)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Training curves

/// One series of metrics.csv (NaN where a row has no value).
struct Column {
    name: String,
    values: Vec<f64>,
}

/// metrics.csv read by header name.
struct Metrics {
    epoch: Vec<f64>,
    columns: Vec<Column>,
}

impl Metrics {
    fn get(&self, name: &str) -> Option<&[f64]> {
        self.columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.values.as_slice())
    }

    fn read(path: &Path) -> Result<Metrics> {
        let p = path.display();
        let mut rdr = csv::Reader::from_path(path).with_context(|| format!("{p}: cannot open"))?;
        let header: Vec<String> = rdr
            .headers()
            .with_context(|| format!("{p}: cannot read the CSV header"))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let Some(epoch_col) = header.iter().position(|h| h == "epoch") else {
            bail!("{p}: no 'epoch' column (columns: {})", header.join(", "));
        };
        let mut epoch = Vec::new();
        let mut columns: Vec<Column> = header
            .iter()
            .map(|h| Column {
                name: h.clone(),
                values: Vec::new(),
            })
            .collect();
        // Only the columns drawn must be numbers; others (notes, paths) are carried as gaps.
        let drawn = |name: &str| {
            [
                "epoch",
                "lr",
                "train_loss",
                "valid_loss",
                "train_acc",
                "valid_acc",
            ]
            .contains(&name)
                || name.starts_with("train_iou_")
                || name.starts_with("valid_iou_")
        };
        for rec in rdr.records() {
            let rec = rec.with_context(|| format!("{p}: malformed CSV"))?;
            let line = rec.position().map_or(0, |q| q.line());
            for (i, col) in columns.iter_mut().enumerate() {
                let field = rec.get(i).unwrap_or("").trim();
                // An empty cell (e.g. no validation this epoch) is a gap, not an error.
                let v = if field.is_empty() {
                    f64::NAN
                } else {
                    match field.parse::<f64>() {
                        Ok(v) => v,
                        Err(_) if !drawn(&col.name) => f64::NAN,
                        Err(_) => bail!(
                            "{p}: line {line}, column {}: '{field}' is not a number",
                            col.name
                        ),
                    }
                };
                if i == epoch_col {
                    if !v.is_finite() {
                        bail!("{p}: line {line}: epoch '{field}' is not a number");
                    }
                    epoch.push(v);
                }
                col.values.push(v);
            }
        }
        if epoch.is_empty() {
            bail!("{p}: no epochs yet (header only)");
        }
        Ok(Metrics { epoch, columns })
    }
}

/// Draws loss (train and valid), accuracy and/or per-class IoU, and the learning rate per epoch
/// from a gcn-train `metrics.csv` (columns found by header name; extra columns are ignored).
///
/// Classification files carry `train_acc`, `valid_acc`; segmentation files carry
/// `train_iou_K`, `valid_iou_K` per class K. Train curves are dashed, valid curves solid.
pub fn training_curves(metrics_csv: &Path, out: &Path) -> Result<()> {
    let m = Metrics::read(metrics_csv)?;
    let has_loss = m.get("train_loss").is_some() || m.get("valid_loss").is_some();
    if !has_loss {
        bail!(
            "{}: no train_loss or valid_loss column (columns: {})",
            metrics_csv.display(),
            m.columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    render!(out, (1500, 520), draw_training(&m, out))
}

/// One curve of a panel: legend label, values per epoch, colour, dashed (train) or solid (valid).
struct Curve<'a> {
    label: String,
    values: &'a [f64],
    colour: RGBColor,
    dashed: bool,
}

const LOSS_COLOUR: RGBColor = RGBColor(31, 119, 180);
const ACCURACY_COLOUR: RGBColor = RGBColor(255, 127, 14);

/// Accuracy and per-class IoU curves; IoU curves take the voxel class colours of event displays.
fn score_curves(m: &Metrics) -> Vec<Curve<'_>> {
    let mut curves = Vec::new();
    for (split, dashed) in [("train", true), ("valid", false)] {
        if let Some(values) = m.get(&format!("{split}_acc")) {
            curves.push(Curve {
                label: format!("{split} accuracy"),
                values,
                colour: ACCURACY_COLOUR,
                dashed,
            });
        }
        let mut k = 0;
        while let Some(values) = m.get(&format!("{split}_iou_{k}")) {
            curves.push(Curve {
                label: format!("{split} IoU {}", class_name(k)),
                values,
                colour: class_colour(k),
                dashed,
            });
            k += 1;
        }
    }
    curves
}

/// Integer tick labels only (epochs, voxel indices): fractional ticks get no label.
fn integer_label(v: &f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        String::new()
    }
}

fn draw_training<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    m: &Metrics,
    out: &Path,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let e = plot_err(out);
    let root = root.titled("training curves", (FONT, 24)).map_err(&e)?;
    let panels = root.split_evenly((1, 3));
    let (x0, x1) = min_max(m.epoch.iter().copied());
    let (x0, x1) = if x1 - x0 < 1.0 {
        (x0 - 0.5, x1 + 0.5)
    } else {
        (x0, x1)
    };

    let loss: Vec<Curve> = [("train", true), ("valid", false)]
        .into_iter()
        .filter_map(|(split, dashed)| {
            m.get(&format!("{split}_loss")).map(|values| Curve {
                label: format!("{split} loss"),
                values,
                colour: LOSS_COLOUR,
                dashed,
            })
        })
        .collect();
    let (y0, y1) = min_max(loss.iter().flat_map(|c| c.values.iter().copied()));
    let (y0, y1) = padded(y0, y1, 0.05);
    line_panel(
        &panels[0],
        "loss",
        "loss",
        (x0, x1),
        (y0, y1),
        m,
        &loss,
        out,
    )?;

    let scores = score_curves(m);
    if scores.is_empty() {
        empty_panel(&panels[1], "no accuracy or IoU columns", out)?;
    } else {
        let (y0, y1) = min_max(scores.iter().flat_map(|c| c.values.iter().copied()));
        let (y0, y1) = padded(y0, y1, 0.05);
        let (y0, y1) = (y0.max(0.0), y1.min(1.0));
        let (y0, y1) = if y1 - y0 < 0.01 {
            (y0 - 0.005, y1 + 0.005)
        } else {
            (y0, y1)
        };
        let has_iou = scores.iter().any(|c| c.label.contains("IoU"));
        let title = if has_iou {
            "IoU / accuracy"
        } else {
            "accuracy"
        };
        line_panel(
            &panels[1],
            title,
            title,
            (x0, x1),
            (y0, y1),
            m,
            &scores,
            out,
        )?;
    }

    // A linear axis: plotters' log axis labels only powers of ten, which a scheduler's lr rarely spans.
    match m.get("lr") {
        Some(lr) if lr.iter().any(|v| v.is_finite() && *v > 0.0) => {
            let (_, hi) = min_max(lr.iter().copied());
            let mut chart = ChartBuilder::on(&panels[2])
                .caption("learning rate", (FONT, 20))
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(80)
                .build_cartesian_2d(x0..x1, 0.0..hi * 1.1)
                .map_err(&e)?;
            chart
                .configure_mesh()
                .x_desc("epoch")
                .y_desc("lr")
                .axis_desc_style((FONT, 18))
                .label_style((FONT, 14))
                .x_label_formatter(&integer_label)
                .y_label_formatter(&|v| {
                    if *v == 0.0 {
                        "0".into()
                    } else {
                        format!("{v:.1e}")
                    }
                })
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(&e)?;
            let pts: Vec<(f64, f64)> = m
                .epoch
                .iter()
                .zip(lr)
                .filter(|(_, v)| v.is_finite())
                .map(|(&x, &v)| (x, v))
                .collect();
            let style = BLACK.stroke_width(2);
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), style))
                .map_err(&e)?;
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, BLACK.filled())))
                .map_err(&e)?;
        }
        _ => empty_panel(&panels[2], "no lr column", out)?,
    }
    Ok(())
}

fn empty_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    msg: &str,
    out: &Path,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (w, h) = area.dim_in_pixel();
    area.draw(&Text::new(
        msg.to_string(),
        (w as i32 / 2 - 100, h as i32 / 2),
        (FONT, 18).into_font().color(&RGBColor(120, 120, 120)),
    ))
    .map_err(plot_err(out))?;
    Ok(())
}

const LEGEND_ROW: i32 = 20;

#[allow(clippy::too_many_arguments)]
fn line_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    ylabel: &str,
    (x0, x1): (f64, f64),
    (y0, y1): (f64, f64),
    m: &Metrics,
    curves: &[Curve],
    out: &Path,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let e = plot_err(out);
    // The legend goes in a strip under the chart (train left, valid right), never over the data.
    let rows = curves
        .iter()
        .filter(|c| c.dashed)
        .count()
        .max(curves.iter().filter(|c| !c.dashed).count());
    let (w, h) = area.dim_in_pixel();
    let (chart_area, legend_area) =
        area.split_vertically(h - (rows as u32 * LEGEND_ROW as u32 + 14));
    let mut chart = ChartBuilder::on(&chart_area)
        .caption(title, (FONT, 20))
        .margin(15)
        .margin_bottom(5)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(&e)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(ylabel)
        .axis_desc_style((FONT, 18))
        .label_style((FONT, 14))
        .x_label_formatter(&integer_label)
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(&e)?;
    let (mut row_train, mut row_valid) = (0, 0);
    for c in curves {
        let style = c.colour.stroke_width(2);
        let pts: Vec<(f64, f64)> = m
            .epoch
            .iter()
            .zip(c.values.iter())
            .filter(|(_, v)| v.is_finite())
            .map(|(&x, &v)| (x, v))
            .collect();
        if c.dashed {
            chart
                .draw_series(DashedLineSeries::new(pts.iter().copied(), 8, 5, style))
                .map_err(&e)?;
        } else {
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), style))
                .map_err(&e)?;
        }
        chart
            .draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.colour.filled())))
            .map_err(&e)?;
        let row = if c.dashed {
            &mut row_train
        } else {
            &mut row_valid
        };
        let x = if c.dashed {
            75
        } else {
            75 + (w as i32 - 75) / 2
        };
        let y = 4 + *row * LEGEND_ROW + LEGEND_ROW / 2;
        *row += 1;
        let gap = if c.dashed { 6 } else { 0 };
        legend_area
            .draw(
                &(EmptyElement::at((x, y))
                    + PathElement::new(vec![(0, 0), (10, 0)], style)
                    + PathElement::new(vec![(10 + gap, 0), (26, 0)], style)
                    + Text::new(c.label.clone(), (34, -8), (FONT, 15))),
            )
            .map_err(&e)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Event display

/// What colours the voxels of an event display.
#[derive(Debug, Clone, Copy)]
pub enum NodeColours<'a> {
    /// The true node class `y` of the graph (other, track, blob).
    TrueClass,
    /// A predicted class per node (e.g. the argmax of gcn-predict's class_k).
    PredictedClass(&'a [usize]),
    /// A value in [0, 1] per node (e.g. the predicted probability of one class), on a colour scale.
    Probability {
        /// One value per node.
        values: &'a [f64],
        /// What the value is, for the colour bar (e.g. "P(blob)").
        name: &'a str,
    },
}

/// Draws one event's voxels in the xy, xz and yz projections, coloured by class or probability,
/// with the graph's edges as thin lines when `draw_edges` is set.
///
/// Needs three coordinate columns (`schema.coord_names`). Where voxels overlap in a projection,
/// the higher class (or value) is drawn on top, so blobs stay visible behind tracks.
pub fn event_display(
    g: &Graph,
    schema: &Schema,
    colours: NodeColours<'_>,
    draw_edges: bool,
    out: &Path,
) -> Result<()> {
    let ev = format!("event {}:{}", g.fnum, g.dataset_id);
    let c = schema.coord_names.len();
    if c < 3 {
        bail!(
            "{ev}: an event display needs 3 coordinates, the stream has {c} ({:?})",
            schema.coord_names
        );
    }
    g.validate(schema).map_err(|m| anyhow!("{ev}: {m}"))?;
    if g.num_nodes == 0 {
        bail!("{ev}: no voxels to draw");
    }
    let n = g.num_nodes;
    let check_len = |len: usize, what: &str| {
        if len != n {
            bail!("{ev}: {len} {what} for {n} voxels");
        }
        Ok(())
    };
    match colours {
        NodeColours::TrueClass => {
            if g.y.is_empty() {
                bail!("{ev}: the stream has no node labels (y) to colour by; give predictions instead");
            }
            if let Some(v) = g.y.iter().find(|&&v| v < 0) {
                bail!("{ev}: node label {v} is negative");
            }
        }
        NodeColours::PredictedClass(p) => check_len(p.len(), "predicted classes")?,
        NodeColours::Probability { values, .. } => {
            check_len(values.len(), "values")?;
            if let Some(v) = values.iter().find(|v| !v.is_finite()) {
                bail!("{ev}: node value {v} is not a finite number");
            }
        }
    }
    let size = match colours {
        NodeColours::Probability { .. } => (1620, 560),
        _ => (1500, 560),
    };
    render!(out, size, draw_event(g, schema, colours, draw_edges, out))
}

fn draw_event<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    g: &Graph,
    schema: &Schema,
    colours: NodeColours<'_>,
    draw_edges: bool,
    out: &Path,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let e = plot_err(out);
    let c = schema.coord_names.len();
    let n = g.num_nodes;
    let coord = |i: usize, a: usize| g.coords[i * c + a] as f64;
    let by = match colours {
        NodeColours::TrueClass => "true voxel class",
        NodeColours::PredictedClass(_) => "predicted voxel class",
        NodeColours::Probability { name, .. } => name,
    };
    let title = format!(
        "event {}:{}  |  binclass {}  |  {} voxels, {} directed edges  |  colour: {}",
        g.fnum,
        g.dataset_id,
        g.binclass,
        n,
        g.num_edges(),
        by
    );
    let root = root.titled(&title, (FONT, 22)).map_err(&e)?;
    let (plots, bar) = match colours {
        NodeColours::Probability { .. } => {
            let (w, _) = root.dim_in_pixel();
            let (a, b) = root.split_horizontally(w - 120);
            (a, Some(b))
        }
        _ => (root.clone(), None),
    };
    let panels = plots.split_evenly((1, 3));

    // Node colour and drawing key (higher keys drawn last, on top).
    let node_style: Vec<(RGBColor, f64)> = (0..n)
        .map(|i| match colours {
            NodeColours::TrueClass => (class_colour(g.y[i] as usize), g.y[i] as f64),
            NodeColours::PredictedClass(p) => (class_colour(p[i]), p[i] as f64),
            NodeColours::Probability { values, .. } => {
                let v = values[i].clamp(0.0, 1.0);
                (ViridisRGB.get_color(v as f32), v)
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| node_style[a].1.total_cmp(&node_style[b].1).then(a.cmp(&b)));

    let classes_present: Vec<usize> = {
        let mut k: Vec<usize> = match colours {
            NodeColours::TrueClass => g.y.iter().map(|&v| v as usize).collect(),
            NodeColours::PredictedClass(p) => p.to_vec(),
            NodeColours::Probability { .. } => Vec::new(),
        };
        k.sort_unstable();
        k.dedup();
        k
    };

    for (pi, (a, b)) in [(0usize, 1usize), (0, 2), (1, 2)].into_iter().enumerate() {
        let (xa, xb) = padded_int_range(min_max((0..n).map(|i| coord(i, a))));
        let (ya, yb) = padded_int_range(min_max((0..n).map(|i| coord(i, b))));
        let name_a = &schema.coord_names[a];
        let name_b = &schema.coord_names[b];
        let mut chart = ChartBuilder::on(&panels[pi])
            .caption(format!("{name_a}{name_b} projection"), (FONT, 20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .build_cartesian_2d(xa..xb, ya..yb)
            .map_err(&e)?;
        chart
            .configure_mesh()
            .x_desc(name_a.as_str())
            .y_desc(name_b.as_str())
            .x_label_formatter(&integer_label)
            .y_label_formatter(&integer_label)
            .axis_desc_style((FONT, 18))
            .label_style((FONT, 14))
            .light_line_style(RGBColor(240, 240, 240))
            .draw()
            .map_err(&e)?;
        if draw_edges {
            let edge_style = RGBColor(150, 150, 150).stroke_width(1);
            chart
                .draw_series(
                    g.src
                        .iter()
                        .zip(&g.dst)
                        .filter(|(s, d)| s < d)
                        .map(|(&s, &d)| {
                            let (s, d) = (s as usize, d as usize);
                            PathElement::new(
                                vec![(coord(s, a), coord(s, b)), (coord(d, a), coord(d, b))],
                                edge_style,
                            )
                        }),
                )
                .map_err(&e)?;
        }
        chart
            .draw_series(
                order
                    .iter()
                    .map(|&i| Circle::new((coord(i, a), coord(i, b)), 4, node_style[i].0.filled())),
            )
            .map_err(&e)?;
        if pi == 0 && !classes_present.is_empty() {
            // Invisible series that only carry the legend entries, one per class present.
            for &k in &classes_present {
                let col = class_colour(k);
                chart
                    .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                    .map_err(&e)?
                    .label(class_name(k))
                    .legend(move |(x, y)| Circle::new((x + 8, y), 5, col.filled()));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .label_font((FONT, 15))
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(&e)?;
        }
    }

    if let (Some(bar), NodeColours::Probability { name, .. }) = (bar, colours) {
        let mut chart = ChartBuilder::on(&bar)
            .margin_top(60)
            .margin_bottom(60)
            .margin_right(10)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0f64..1.0, 0.0f64..1.0)
            .map_err(&e)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .disable_x_axis()
            .disable_y_mesh()
            .y_desc(name)
            .axis_desc_style((FONT, 18))
            .label_style((FONT, 14))
            .draw()
            .map_err(&e)?;
        let steps = 100;
        chart
            .draw_series((0..steps).map(|s| {
                let lo = s as f64 / steps as f64;
                let hi = (s + 1) as f64 / steps as f64;
                Rectangle::new(
                    [(0.0, lo), (1.0, hi)],
                    ViridisRGB.get_color(lo as f32).filled(),
                )
            }))
            .map_err(&e)?;
    }
    Ok(())
}

/// Axis range around integer voxel coordinates with half a voxel (at least) of room either side.
fn padded_int_range((lo, hi): (f64, f64)) -> (f64, f64) {
    let span = (hi - lo).max(1.0);
    let pad = (span * 0.05).max(0.5);
    (lo - pad, hi + pad)
}

/// Draws one event coloured by its true class, or by a gcn-predict VoxelPred file: the predicted
/// class, or with `prob_class` the probability of that class. This is `graphinfo --plot`.
pub fn event_picture(
    g: &Graph,
    schema: &Schema,
    voxel_pred: Option<&str>,
    prob_class: Option<usize>,
    draw_edges: bool,
    out: &Path,
) -> Result<()> {
    let Some(pred_path) = voxel_pred else {
        if prob_class.is_some() {
            bail!("a class probability needs a VoxelPred file from gcn-predict (--pred FILE)");
        }
        return event_display(g, schema, NodeColours::TrueClass, draw_edges, out);
    };
    let preds = crate::read_predictions(pred_path)?;
    let probs = preds.node_probabilities(g, schema.coord_names.len())?;
    let k = preds.num_classes;
    match prob_class {
        None => {
            let classes: Vec<usize> = probs.chunks(k).map(crate::segment::argmax).collect();
            event_display(
                g,
                schema,
                NodeColours::PredictedClass(&classes),
                draw_edges,
                out,
            )
        }
        Some(c) if c >= k => bail!(
            "{pred_path}: class {c} is not among its {k} predicted classes (class_0..class_{})",
            k - 1
        ),
        Some(c) => {
            let values: Vec<f64> = probs.chunks(k).map(|p| p[c]).collect();
            let name = format!("P({})", crate::segment::class_name(c));
            event_display(
                g,
                schema,
                NodeColours::Probability {
                    values: &values,
                    name: &name,
                },
                draw_edges,
                out,
            )
        }
    }
}
