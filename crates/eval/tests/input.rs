//! gcn-predict tables are read by column name from CSV and HDF5; bad files give one clear error.

use nextgnn_eval::{read_predictions, read_predictions_many, PredKind};
use nextgnn_stream::Graph;
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().to_string()
}

const EVENTS: &str = "\
file_id,dataset_id,binclass,num_nodes,num_edges,mean_x,mean_y,mean_z,maxE_x,maxE_y,maxE_z,mean_dist,class_0,class_1
0,0,1,55,384,1,2,3,4,5,6,1.2,0.1,0.9
0,1,0,59,414,1,2,3,4,5,6,1.2,0.8,0.2
3,7,1,56,372,1,2,3,4,5,6,1.2,0.45,0.55
";

#[test]
fn event_csv_by_column_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = read_predictions(&write(dir.path(), "ev.csv", EVENTS)).unwrap();
    assert_eq!(p.kind, Some(PredKind::Event));
    assert_eq!(p.len(), 3);
    assert_eq!(p.file_id, vec![0, 0, 3]);
    assert_eq!(p.dataset_id, vec![0, 1, 7]);
    assert_eq!(p.binclass, vec![1, 0, 1]);
    assert_eq!(p.num_classes, 2);
    assert_eq!(p.probs, vec![0.1, 0.9, 0.8, 0.2, 0.45, 0.55]);
    assert!(p.label.is_empty());

    // Reordered columns, an extra column, only the needed ones: same numbers.
    let reordered = "class_1,note,dataset_id,class_0,binclass,file_id\n0.9,a,0,0.1,1,0\n0.2,b,1,0.8,0,0\n0.55,c,7,0.45,1,3\n";
    let q = read_predictions(&write(dir.path(), "re.csv", reordered)).unwrap();
    assert_eq!(
        (q.file_id, q.dataset_id, q.binclass, q.probs),
        (p.file_id, p.dataset_id, p.binclass, p.probs)
    );
}

const VOXELS: &str = "\
file_id,dataset_id,binclass,x,y,z,energy,label,class_0,class_1,class_2
0,4,1,10,20,30,0.01,1,0.2,0.7,0.1
0,4,1,11,20,30,0.02,2,0.1,0.3,0.6
0,4,1,12,21,30,0.03,0,0.5,0.25,0.25
0,5,0,1,1,1,0.03,1,0.1,0.8,0.1
";

#[test]
fn voxel_csv_and_node_matching() {
    let dir = tempfile::tempdir().unwrap();
    let p = read_predictions(&write(dir.path(), "vox.csv", VOXELS)).unwrap();
    assert_eq!(p.kind, Some(PredKind::Voxel));
    assert_eq!(p.num_classes, 3);
    assert_eq!(p.label, vec![1, 2, 0, 1]);
    assert_eq!(p.xyz[2], [12.0, 21.0, 30.0]);
    assert_eq!(p.probs_row(1), &[0.1, 0.3, 0.6]);

    // Nodes in another order than the rows: matched by coordinates.
    let g = Graph {
        fnum: 0,
        dataset_id: 4,
        num_nodes: 3,
        coords: vec![12, 21, 30, 10, 20, 30, 11, 20, 30],
        ..Default::default()
    };
    let probs = p.node_probabilities(&g, 3).unwrap();
    assert_eq!(probs, vec![0.5, 0.25, 0.25, 0.2, 0.7, 0.1, 0.1, 0.3, 0.6]);
    // Coordinates in other units but the same count: row order.
    let g2 = Graph {
        coords: vec![50, 100, 120, 55, 100, 120, 60, 105, 120],
        ..g.clone()
    };
    assert_eq!(p.node_probabilities(&g2, 3).unwrap()[..3], [0.2, 0.7, 0.1]);
    let g3 = Graph {
        dataset_id: 9,
        ..g.clone()
    };
    let e = p.node_probabilities(&g3, 3).unwrap_err().to_string();
    assert!(
        e.starts_with("event 0:9: no VoxelPred rows for this event"),
        "{e}"
    );
    let g4 = Graph {
        num_nodes: 2,
        coords: vec![10, 20, 30, 11, 20, 30],
        ..g
    };
    let e = p.node_probabilities(&g4, 3).unwrap_err().to_string();
    assert!(e.contains("3 VoxelPred rows for 2 voxels"), "{e}");
}

#[test]
fn bad_csv_inputs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = |name: &str, text: &str| {
        let p = write(dir.path(), name, text);
        read_predictions(&p).unwrap_err().to_string()
    };
    let truth_err = |name: &str, text: &str| {
        let p = write(dir.path(), name, text);
        read_predictions(&p)
            .unwrap()
            .check_truth()
            .unwrap_err()
            .to_string()
    };
    let e = err("empty.csv", "");
    assert!(e.contains("empty.csv: empty file"), "{e}");
    let e = err(
        "header.csv",
        "file_id,dataset_id,binclass,class_0,class_1\n",
    );
    assert!(e.contains("header.csv: EventPred table has no rows"), "{e}");
    let e = err("miss.csv", "file_id,binclass,class_0\n0,1,0.5\n");
    assert!(
        e.contains("miss.csv: EventPred table is missing columns dataset_id, class_1"),
        "{e}"
    );
    let e = err(
        "vmiss.csv",
        "file_id,dataset_id,binclass,x,y,label,class_0,class_1\n0,0,0,1,1,0,0.5,0.5\n",
    );
    assert!(e.contains("VoxelPred table is missing column z "), "{e}");
    let e = err("what.csv", "a,b\n1,2\n");
    assert!(e.contains("what.csv: not a gcn-predict table"), "{e}");
    let e = err(
        "nan.csv",
        "file_id,dataset_id,binclass,class_0,class_1\n0,0,1,0.5,0.5\n0,1,0,NaN,NaN\n",
    );
    assert!(
        e.contains(
            "nan.csv: row 2 (file_id 0, dataset_id 1), column class_0: NaN is not a probability"
        ),
        "{e}"
    );
    let e = err(
        "logit.csv",
        "file_id,dataset_id,binclass,class_0,class_1\n0,0,1,-2.5,3.1\n",
    );
    assert!(e.contains("-2.5 is not a probability in [0, 1]"), "{e}");
    let e = err(
        "text.csv",
        "file_id,dataset_id,binclass,class_0,class_1\n0,zero,1,0.5,0.5\n",
    );
    assert!(
        e.contains("text.csv: line 2, column dataset_id: 'zero' is not a number"),
        "{e}"
    );
    let e = truth_err(
        "bc.csv",
        "file_id,dataset_id,binclass,class_0,class_1\n0,0,1,0.5,0.5\n0,1,2,0.5,0.5\n",
    );
    assert!(
        e.ends_with("bc.csv: row 2 (file_id 0, dataset_id 1): binclass 2 is neither 0 nor 1"),
        "{e}"
    );
    let e = err(
        "frac.csv",
        "file_id,dataset_id,binclass,class_0,class_1\n0,0.5,1,0.5,0.5\n",
    );
    assert!(
        e.contains("column dataset_id: 0.5 is not an integer"),
        "{e}"
    );
    let e = truth_err("lab.csv", "file_id,dataset_id,binclass,x,y,z,label,class_0,class_1,class_2\n0,0,0,1,1,1,3,0.2,0.3,0.5\n");
    assert!(e.contains("label 3 is outside 0..2"), "{e}");
    // Unlabelled voxels (label -1) read fine, for event displays, but cannot be evaluated.
    let unlabelled = write(dir.path(), "unl.csv", "file_id,dataset_id,binclass,x,y,z,label,class_0,class_1,class_2\n0,0,0,1,1,1,-1,0.2,0.3,0.5\n");
    let p = read_predictions(&unlabelled).unwrap();
    assert_eq!(p.label, vec![-1]);
    let e = p.check_truth().unwrap_err().to_string();
    assert!(
        e.contains("label -1: the predicted stream had no true voxel labels"),
        "{e}"
    );
    assert!(read_predictions(&write(dir.path(), "ok.csv", EVENTS))
        .unwrap()
        .check_truth()
        .is_ok());
    let e = err(
        "three.csv",
        "file_id,dataset_id,binclass,class_0,class_1,class_2\n0,0,0,0.2,0.3,0.5\n",
    );
    assert!(e.contains("exactly two probability columns"), "{e}");
    let e = read_predictions(&dir.path().join("nope.csv").to_string_lossy())
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope.csv: cannot open"), "{e}");
    // None of these messages spans lines.
    assert!(!e.contains('\n'));
}

#[test]
fn several_files_are_concatenated_and_must_agree() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.csv", EVENTS);
    let b = write(
        dir.path(),
        "b.csv",
        "file_id,dataset_id,binclass,class_0,class_1\n9,1,0,0.7,0.3\n",
    );
    let p = read_predictions_many(&[a.clone(), b.clone()]).unwrap();
    assert_eq!(p.len(), 4);
    assert_eq!(p.file_id, vec![0, 0, 3, 9]);
    assert_eq!(p.row_origin(3), format!("{b}: row 1"));
    assert_eq!(p.row_origin(1), format!("{a}: row 2"));
    let v = write(dir.path(), "v.csv", VOXELS);
    let e = read_predictions_many(&[a, v]).unwrap_err().to_string();
    assert!(
        e.contains("holds VoxelPred with 3 classes, but earlier inputs hold EventPred with 2"),
        "{e}"
    );
}

/// EventPred as gcn-predict writes it in HDF5: a compound table at the root, narrow integer types.
#[derive(hdf5::H5Type, Clone, Copy)]
#[repr(C)]
struct EventRow {
    file_id: i64,
    dataset_id: i64,
    binclass: i8,
    num_nodes: i32,
    num_edges: i32,
    mean_x: f32,
    mean_dist: f32,
    class_0: f32,
    class_1: f32,
}

#[derive(hdf5::H5Type, Clone, Copy)]
#[repr(C)]
struct VoxelRow {
    file_id: i64,
    dataset_id: i64,
    binclass: i8,
    x: i16,
    y: i16,
    z: i16,
    energy: f64,
    label: i8,
    class_0: f64,
    class_1: f64,
    class_2: f64,
}

#[test]
fn hdf5_tables_by_field_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ev.h5");
    let rows = [
        EventRow {
            file_id: 2,
            dataset_id: 10,
            binclass: 1,
            num_nodes: 5,
            num_edges: 8,
            mean_x: 1.0,
            mean_dist: 1.2,
            class_0: 0.25,
            class_1: 0.75,
        },
        EventRow {
            file_id: 2,
            dataset_id: 11,
            binclass: 0,
            num_nodes: 6,
            num_edges: 10,
            mean_x: 1.0,
            mean_dist: 1.2,
            class_0: 0.875,
            class_1: 0.125,
        },
    ];
    {
        let f = hdf5::File::create(&path).unwrap();
        f.new_dataset_builder()
            .with_data(&rows)
            .create("EventPred")
            .unwrap();
    }
    let p = read_predictions(&path.to_string_lossy()).unwrap();
    assert_eq!(p.kind, Some(PredKind::Event));
    assert_eq!(p.file_id, vec![2, 2]);
    assert_eq!(p.dataset_id, vec![10, 11]);
    assert_eq!(p.binclass, vec![1, 0]);
    assert_eq!(p.probs, vec![0.25, 0.75, 0.875, 0.125]);
    assert!(
        p.sources[0].ends_with("ev.h5:/EventPred"),
        "{:?}",
        p.sources
    );

    // pandas' table layout keeps the table one level down, as NAME/table.
    let vpath = dir.path().join("vox.h5");
    let vrows = [
        VoxelRow {
            file_id: 0,
            dataset_id: 1,
            binclass: 1,
            x: 3,
            y: 4,
            z: 5,
            energy: 0.1,
            label: 2,
            class_0: 0.1,
            class_1: 0.2,
            class_2: 0.7,
        },
        VoxelRow {
            file_id: 0,
            dataset_id: 1,
            binclass: 1,
            x: 3,
            y: 4,
            z: 6,
            energy: 0.2,
            label: 0,
            class_0: 0.6,
            class_1: 0.3,
            class_2: 0.1,
        },
    ];
    {
        let f = hdf5::File::create(&vpath).unwrap();
        let g = f.create_group("VoxelPred").unwrap();
        g.new_dataset_builder()
            .with_data(&vrows)
            .create("table")
            .unwrap();
    }
    let v = read_predictions(&vpath.to_string_lossy()).unwrap();
    assert_eq!(v.kind, Some(PredKind::Voxel));
    assert_eq!(v.label, vec![2, 0]);
    assert_eq!(v.xyz, vec![[3.0, 4.0, 5.0], [3.0, 4.0, 6.0]]);
    assert_eq!(v.probs_row(0), &[0.1, 0.2, 0.7]);

    // A file without either table, and a table without a needed column.
    let other = dir.path().join("other.h5");
    {
        let f = hdf5::File::create(&other).unwrap();
        f.new_dataset_builder()
            .with_data(&[1.0f64, 2.0])
            .create("Something")
            .unwrap();
    }
    let e = read_predictions(&other.to_string_lossy())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("other.h5: no EventPred or VoxelPred table at the file root"),
        "{e}"
    );

    #[derive(hdf5::H5Type, Clone, Copy)]
    #[repr(C)]
    struct Short {
        file_id: i64,
        dataset_id: i64,
        binclass: i8,
        class_0: f32,
    }
    let short = dir.path().join("short.h5");
    {
        let f = hdf5::File::create(&short).unwrap();
        f.new_dataset_builder()
            .with_data(&[Short {
                file_id: 0,
                dataset_id: 0,
                binclass: 1,
                class_0: 0.5,
            }])
            .create("EventPred")
            .unwrap();
    }
    let e = read_predictions(&short.to_string_lossy())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("short.h5:/EventPred: EventPred table is missing column class_1"),
        "{e}"
    );

    // An empty table.
    let empty = dir.path().join("empty.h5");
    {
        let f = hdf5::File::create(&empty).unwrap();
        let none: [EventRow; 0] = [];
        f.new_dataset_builder()
            .with_data(&none)
            .create("EventPred")
            .unwrap();
    }
    let e = read_predictions(&empty.to_string_lossy())
        .unwrap_err()
        .to_string();
    assert!(e.contains("EventPred table has no rows"), "{e}");
}
