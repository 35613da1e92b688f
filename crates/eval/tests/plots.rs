//! The pictures are produced, parse as SVG / decode as PNG, and carry their axis labels and legends.

use nextgnn_eval::plots::{event_display, roc_plot, training_curves, NodeColours};
use nextgnn_eval::Roc;
use nextgnn_stream::{Graph, Schema};
use std::path::Path;

/// Copies a produced picture to `$NEXTGNN_PLOT_DIR` when set, to look at it.
fn keep(path: &Path) {
    if let Some(dir) = std::env::var_os("NEXTGNN_PLOT_DIR") {
        let name = format!(
            "{}-{}",
            std::thread::current()
                .name()
                .unwrap_or("t")
                .replace("::", "_"),
            path.file_name().unwrap().to_string_lossy()
        );
        std::fs::copy(path, Path::new(&dir).join(name)).unwrap();
    }
}

/// All text of an SVG file, one entry per `<text>` element (checks that it is well-formed XML).
fn svg_texts(path: &Path) -> (Vec<String>, roxmltree::Document<'static>) {
    keep(path);
    let src = std::fs::read_to_string(path).unwrap();
    let src: &'static str = Box::leak(src.into_boxed_str());
    let doc = roxmltree::Document::parse(src)
        .unwrap_or_else(|e| panic!("{}: bad SVG: {e}", path.display()));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            n.descendants()
                .filter(|t| t.is_text())
                .filter_map(|t| t.text())
                .collect::<String>()
                .trim()
                .to_string()
        })
        .collect();
    (texts, doc)
}

fn svg_size(doc: &roxmltree::Document) -> (u32, u32) {
    let r = doc.root_element();
    (
        r.attribute("width").unwrap().parse().unwrap(),
        r.attribute("height").unwrap().parse().unwrap(),
    )
}

fn count_tag(doc: &roxmltree::Document, tag: &str) -> usize {
    doc.descendants().filter(|n| n.has_tag_name(tag)).count()
}

/// Decodes a PNG, returning its size and RGB pixels.
fn png_pixels(path: &Path) -> ((u32, u32), Vec<u8>) {
    keep(path);
    let dec = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    ((info.width, info.height), buf)
}

fn has_colour(rgb: &[u8], c: [u8; 3]) -> bool {
    rgb.chunks(3).any(|p| p == c)
}

fn assert_contains(texts: &[String], want: &str) {
    assert!(
        texts.iter().any(|t| t.contains(want)),
        "no text containing {want:?} in {texts:?}"
    );
}

const CLASSIFICATION_METRICS: &str = "\
epoch,lr,train_loss,valid_loss,train_acc,valid_acc,seconds,graphs_per_s,note
1,0.0005,0.69,0.66,0.55,0.60,10.5,1500,x
2,0.0005,0.60,0.58,0.68,0.70,10.1,1520,x
3,0.0003,0.52,0.55,0.75,0.74,10.2,1510,x
4,0.00018,0.47,0.54,0.80,0.76,10.0,1530,x
";

#[test]
fn training_curves_classification_svg() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("metrics.csv");
    std::fs::write(&csv, CLASSIFICATION_METRICS).unwrap();
    let out = dir.path().join("curves.svg");
    training_curves(&csv, &out).unwrap();
    let (texts, doc) = svg_texts(&out);
    assert_eq!(svg_size(&doc), (1500, 520));
    for want in [
        "training curves",
        "epoch",
        "loss",
        "train loss",
        "valid loss",
        "accuracy",
        "train accuracy",
        "valid accuracy",
        "learning rate",
        "lr",
        "5.0e-4",
        "1.0e-4",
    ] {
        assert_contains(&texts, want);
    }
    // Epoch ticks are whole numbers only.
    for epoch in ["1", "2", "3", "4"] {
        assert!(texts.iter().any(|t| t == epoch), "no epoch tick {epoch}");
    }
    assert!(
        !texts.iter().any(|t| t == "1.5" || t == "2.5"),
        "fractional epoch ticks: {texts:?}"
    );
    assert!(
        !texts.iter().any(|t| t.contains("IoU")),
        "no IoU columns, no IoU legend"
    );
    // 4 epochs -> one marker per epoch for each of 4 curves and the lr curve, plus legend marks.
    assert!(count_tag(&doc, "circle") >= 5 * 4, "markers missing");
    // Nothing left behind but the plot and its input (written via a temporary name and renamed).
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn training_curves_segmentation_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("metrics.csv");
    // Columns in another order, one empty valid cell (a gap), extra columns.
    std::fs::write(
        &csv,
        "lr,epoch,train_loss,valid_loss,train_iou_0,train_iou_1,train_iou_2,valid_iou_0,valid_iou_1,valid_iou_2,seconds,graphs_per_s,valid_miou,train_acc,valid_acc\n\
         0.001,1,1.1,1.0,0.30,0.50,0.10,0.35,0.52,0.12,5,900,0.3,0.6,0.62\n\
         0.001,2,0.9,,0.40,0.60,0.20,,,,5,910,,0.7,\n\
         0.0006,3,0.8,0.85,0.50,0.70,0.35,0.52,0.71,0.33,5,905,0.5,0.8,0.79\n",
    )
    .unwrap();
    let svg = dir.path().join("curves.svg");
    training_curves(&csv, &svg).unwrap();
    let (texts, _) = svg_texts(&svg);
    for want in [
        "IoU / accuracy",
        "train IoU other",
        "valid IoU track",
        "valid IoU blob",
        "valid loss",
        "train accuracy",
    ] {
        assert_contains(&texts, want);
    }
    let png = dir.path().join("curves.png");
    training_curves(&csv, &png).unwrap();
    let (size, rgb) = png_pixels(&png);
    assert_eq!(size, (1500, 520));
    // Class colours of the IoU curves (other blue, track red, blob green) and black text/lr.
    for c in [
        [31, 119, 180],
        [214, 39, 40],
        [150, 150, 150],
        [255, 127, 14],
        [0, 0, 0],
    ] {
        assert!(has_colour(&rgb, c), "colour {c:?} missing from the PNG");
    }
}

#[test]
fn training_curves_one_epoch_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("metrics.csv");
    // One epoch (gcn-train redraws after every epoch): degenerate ranges must still draw.
    std::fs::write(
        &csv,
        "epoch,lr,train_loss,valid_loss,train_acc,valid_acc\n1,0.0005,0.7,0.7,0.5,0.5\n",
    )
    .unwrap();
    let out = dir.path().join("c.svg");
    training_curves(&csv, &out).unwrap();
    svg_texts(&out);

    std::fs::write(&csv, "epoch,lr,train_loss,valid_loss\n").unwrap();
    let e = training_curves(&csv, &out).unwrap_err().to_string();
    assert!(e.contains("no epochs"), "{e}");
    std::fs::write(&csv, "step,loss\n1,0.5\n").unwrap();
    let e = training_curves(&csv, &out).unwrap_err().to_string();
    assert!(e.contains("no 'epoch' column"), "{e}");
    std::fs::write(&csv, "epoch,accuracy\n1,0.5\n").unwrap();
    let e = training_curves(&csv, &out).unwrap_err().to_string();
    assert!(e.contains("no train_loss or valid_loss"), "{e}");
    std::fs::write(&csv, "epoch,train_loss\n1,abc\n").unwrap();
    let e = training_curves(&csv, &out).unwrap_err().to_string();
    assert!(
        e.contains("line 2, column train_loss: 'abc' is not a number"),
        "{e}"
    );
    let e = training_curves(&dir.path().join("missing.csv"), &out)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.csv"), "{e}");
    std::fs::write(&csv, "epoch,train_loss\n1,0.5\n").unwrap();
    let e = training_curves(&csv, &dir.path().join("no/such/dir/c.svg")).unwrap_err();
    assert!(format!("{e:#}").contains("c.svg"), "{e:#}");
}

fn eight_roc() -> Roc {
    let sig = [true, false, true, true, false, false, true, false];
    let scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2];
    Roc::new(&sig, &scores).unwrap()
}

#[test]
fn roc_plot_svg_and_png() {
    let dir = tempfile::tempdir().unwrap();
    let roc = eight_roc();
    let other = Roc::new(&[true, false, true, false], &[0.9, 0.1, 0.8, 0.2]).unwrap();
    let out = dir.path().join("roc.svg");
    roc_plot(&[("gcn", &roc), ("cut", &other)], 1, &out).unwrap();
    let (texts, doc) = svg_texts(&out);
    assert_eq!(svg_size(&doc), (800, 700));
    for want in [
        "signal efficiency εs",
        "background rejection 1 − εb",
        "gcn (AUC 0.688)",
        "cut (AUC 1.000)",
        "random guess",
        // Best figure of merit of the hand case: 1.5 at εs 0.75, 4× rejection, cut 0.6.
        "best εs/√εb = 1.50 (εs 0.75, 4.0× rejection, cut 0.600)",
    ] {
        assert_contains(&texts, want);
    }
    let png = dir.path().join("roc.PNG");
    roc_plot(&[("gcn", &roc)], 1, &png).unwrap();
    let (size, rgb) = png_pixels(&png);
    assert_eq!(size, (800, 700));
    assert!(has_colour(&rgb, [31, 119, 180]), "curve colour missing");
    assert!(roc_plot(&[], 1, &out).is_err());
}

/// A 6-voxel event: a short track (class 1) ending in a blob (class 2), one "other" voxel apart.
fn event() -> (Graph, Schema) {
    let schema = Schema::reference(&["ener", "nhits"], &["x", "y", "z"]);
    let coords = vec![0, 0, 0, 1, 0, 0, 2, 1, 0, 3, 1, 1, 3, 2, 1, 8, 8, 5];
    let pairs = [(0u32, 1u32), (1, 2), (2, 3), (3, 4)];
    let mut src = Vec::new();
    let mut dst = Vec::new();
    for (a, b) in pairs {
        src.extend([a, b]);
        dst.extend([b, a]);
    }
    let e = src.len();
    let g = Graph {
        fnum: 3,
        dataset_id: 17,
        binclass: 1,
        num_nodes: 6,
        x: vec![0.1; 12],
        y: vec![1, 1, 1, 2, 2, 0],
        coords,
        src,
        dst,
        edge_attr: vec![1.0; e * 2],
        edge_weight: vec![1.0; e],
    };
    g.validate(&schema).unwrap();
    (g, schema)
}

#[test]
fn event_display_classes_svg() {
    let dir = tempfile::tempdir().unwrap();
    let (g, schema) = event();
    let out = dir.path().join("ev.svg");
    event_display(&g, &schema, NodeColours::TrueClass, true, &out).unwrap();
    let (texts, doc) = svg_texts(&out);
    assert_eq!(svg_size(&doc), (1500, 560));
    for want in [
        "xy projection",
        "xz projection",
        "yz projection",
        "track",
        "blob",
        "other",
        "event 3:17",
        "true voxel class",
        "6 voxels, 8 directed edges",
    ] {
        assert_contains(&texts, want);
    }
    // 6 voxels in 3 projections plus 3 legend marks.
    assert_eq!(count_tag(&doc, "circle"), 6 * 3 + 3);
    // 4 undirected edges in 3 projections, drawn as polylines (beside the axes' own lines).
    let with_edges = count_tag(&doc, "polyline");
    let out2 = dir.path().join("ev_noedges.svg");
    event_display(&g, &schema, NodeColours::TrueClass, false, &out2).unwrap();
    let (_, doc2) = svg_texts(&out2);
    assert_eq!(with_edges - count_tag(&doc2, "polyline"), 4 * 3);
}

#[test]
fn event_display_predictions_png_and_probability() {
    let dir = tempfile::tempdir().unwrap();
    let (g, schema) = event();
    let pred = [1usize, 1, 2, 2, 2, 1];
    let out = dir.path().join("ev.png");
    event_display(&g, &schema, NodeColours::PredictedClass(&pred), true, &out).unwrap();
    let (size, rgb) = png_pixels(&out);
    assert_eq!(size, (1500, 560));
    assert!(has_colour(&rgb, [214, 39, 40]), "blob colour missing");
    assert!(has_colour(&rgb, [31, 119, 180]), "track colour missing");

    let p = [0.1, 0.2, 0.6, 0.9, 0.95, 0.0];
    let out = dir.path().join("prob.svg");
    event_display(
        &g,
        &schema,
        NodeColours::Probability {
            values: &p,
            name: "P(blob)",
        },
        false,
        &out,
    )
    .unwrap();
    let (texts, doc) = svg_texts(&out);
    assert_eq!(svg_size(&doc), (1620, 560));
    assert_contains(&texts, "P(blob)");
    assert!(
        !texts.iter().any(|t| t == "track"),
        "no class legend for probabilities"
    );
    // The colour bar: 100 rectangles of the scale.
    assert!(count_tag(&doc, "rect") >= 100);
}

#[test]
fn event_display_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ev.svg");
    let (g, schema) = event();
    let e = event_display(
        &g,
        &schema,
        NodeColours::PredictedClass(&[1, 2]),
        true,
        &out,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "event 3:17: 2 predicted classes for 6 voxels"
    );
    let e = event_display(
        &g,
        &schema,
        NodeColours::Probability {
            values: &[0.5, 0.1, 0.1, 0.1, 0.1, f64::NAN],
            name: "p",
        },
        true,
        &out,
    )
    .unwrap_err();
    assert!(e.to_string().contains("NaN is not a finite number"), "{e}");
    let mut unlabelled = g.clone();
    unlabelled.y.clear();
    let mut s2 = schema.clone();
    s2.has_node_labels = false;
    let e = event_display(&unlabelled, &s2, NodeColours::TrueClass, true, &out).unwrap_err();
    assert!(e.to_string().contains("no node labels"), "{e}");
    let mut flat = schema.clone();
    flat.coord_names.pop();
    let e = event_display(&g, &flat, NodeColours::TrueClass, true, &out).unwrap_err();
    assert!(e.to_string().contains("needs 3 coordinates"), "{e}");
    assert!(!out.exists());
}
