//! Unit tests of the frame codec and the stream reader on hand-made and damaged streams.

use super::*;
use crate::stream::{StreamError, StreamReader, StreamWriter};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn schema() -> Schema {
    Schema::reference(&["ener", "nhits"], &["x", "y", "z"])
}

/// A small undirected graph in PyG's (a,b),(b,a) order with distinct, awkward float values.
fn paired_graph(n: usize, seed: u64) -> Graph {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut g = Graph {
        fnum: 7,
        dataset_id: 1000 + seed as i64,
        binclass: (seed % 2) as i64,
        num_nodes: n,
        x: (0..n * 2).map(|_| rng.gen::<f32>()).collect(),
        y: (0..n).map(|i| (i % 3) as i64).collect(),
        coords: (0..n * 3).map(|_| rng.gen_range(-300..300)).collect(),
        ..Graph::default()
    };
    for a in 0..n as u32 {
        for b in [a + 1, a + 5] {
            if (b as usize) < n {
                let d: f32 = rng.gen::<f32>() + 1.0;
                let grad: f32 = rng.gen();
                for (s, t) in [(a, b), (b, a)] {
                    g.src.push(s);
                    g.dst.push(t);
                    g.edge_attr.extend([d, grad]);
                    g.edge_weight.push(1.0 / d);
                }
            }
        }
    }
    g
}

fn write_stream(schema: &Schema, prov: &str, graphs: &[Graph]) -> Vec<u8> {
    let mut w = StreamWriter::new(Vec::new(), schema.clone(), prov).unwrap();
    for g in graphs {
        w.write(g).unwrap();
    }
    w.finish().unwrap()
}

fn read_bytes(bytes: &[u8]) -> Result<Vec<Graph>, StreamError> {
    StreamReader::new(bytes, "mem")?.read_all()
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|f| f.to_bits()).collect()
}

#[test]
fn round_trip_varied_graphs() {
    let s = schema();
    let mut graphs = vec![
        paired_graph(10, 1),
        paired_graph(300, 2),
        paired_graph(1, 3),
    ];
    // Unpaired: directed edges only, no weights, no labels allowed only without has_node_labels.
    let mut directed = paired_graph(20, 4);
    directed.src.truncate(5);
    directed.dst.truncate(5);
    directed.edge_attr.truncate(10);
    directed.edge_weight.clear();
    graphs.push(directed);
    // Coordinates and labels that need every integer width.
    let mut wide = paired_graph(4, 5);
    wide.coords = vec![
        0,
        -1,
        127,
        -128,
        128,
        40000,
        -40000,
        i32::MAX as i64 + 1,
        i64::MIN,
        5,
        6,
        7,
    ];
    wide.y = vec![-1, 0, 70000, 2];
    wide.fnum = -3;
    wide.dataset_id = i64::MAX;
    graphs.push(wide);
    let bytes = write_stream(&s, "test run", &graphs);
    let mut r = StreamReader::new(&bytes[..], "mem").unwrap();
    assert_eq!(r.schema(), &s);
    assert_eq!(r.provenance(), ["test run".to_string()]);
    let back = r.read_all().unwrap();
    assert_eq!(back, graphs);
    assert_eq!(r.graphs_read(), 5);
    assert_eq!(r.offset(), bytes.len() as u64);
}

#[test]
fn unlabelled_schema_round_trips_without_y() {
    let mut s = schema();
    s.has_node_labels = false;
    let mut g = paired_graph(12, 9);
    g.y.clear();
    let bytes = write_stream(&s, "", std::slice::from_ref(&g));
    assert_eq!(read_bytes(&bytes).unwrap(), vec![g.clone()]);
    // The labelled schema refuses the same graph on write.
    let err = StreamWriter::new(Vec::new(), schema(), "")
        .unwrap()
        .write(&g)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("schema says every node is labelled"),
        "{err}"
    );
}

#[test]
fn paired_compaction_is_bit_exact() {
    let s = schema();
    let mut g = paired_graph(50, 11);
    // Values that a lossy path would change: NaN payloads, -0.0, subnormals, infinities.
    g.edge_attr[0] = f32::from_bits(0x7fc0_1234);
    g.edge_attr[2] = f32::from_bits(0x7fc0_1234);
    g.edge_attr[5] = -0.0;
    g.edge_attr[7] = -0.0;
    g.edge_weight[2] = f32::from_bits(1);
    g.edge_weight[3] = f32::from_bits(1);
    g.x[0] = f32::INFINITY;
    let payload = encode_frame(&g, &s).unwrap();
    let (f, _): (FrameV1, usize) = bincode::borrow_decode_from_slice(&payload, config()).unwrap();
    assert_eq!(f.flags & FLAG_PAIRED, FLAG_PAIRED);
    assert_eq!(
        f.src.len() * 2,
        g.src.len(),
        "one byte per stored edge, half the edges"
    );
    let back = decode_frame(&payload, &s).unwrap();
    assert_eq!(back.src, g.src);
    assert_eq!(back.dst, g.dst);
    assert_eq!(bits(&back.edge_attr), bits(&g.edge_attr));
    assert_eq!(bits(&back.edge_weight), bits(&g.edge_weight));
    assert_eq!(bits(&back.x), bits(&g.x));

    // One bit of difference between the two directions turns compaction off, still exactly.
    let mut h = g.clone();
    h.edge_attr[3] = f32::from_bits(h.edge_attr[3].to_bits() ^ 1);
    let p2 = encode_frame(&h, &s).unwrap();
    let (f2, _): (FrameV1, usize) = bincode::borrow_decode_from_slice(&p2, config()).unwrap();
    assert_eq!(f2.flags & FLAG_PAIRED, 0);
    assert!(p2.len() > payload.len());
    let back2 = decode_frame(&p2, &s).unwrap();
    assert_eq!(bits(&back2.edge_attr), bits(&h.edge_attr));
    assert_eq!(back2.src, h.src);

    // Reversed pair order (b,a),(a,b) is still a pair; a swapped target is not.
    let mut k = g.clone();
    k.dst[1] = k.dst[1].wrapping_add(1) % 50;
    let back3 = decode_frame(&encode_frame(&k, &s).unwrap(), &s).unwrap();
    assert_eq!(back3.dst, k.dst);
}

#[test]
fn paired_edges_with_any_number_of_edge_features_round_trip() {
    // The paired writer has row stores for 1, 2 and 3 features and a general path for more.
    for ne in [1usize, 2, 3, 4, 7] {
        let mut s = schema();
        s.edge_features = (0..ne).map(|i| format!("f{i}")).collect();
        let mut g = paired_graph(40, ne as u64);
        let mut rng = ChaCha8Rng::seed_from_u64(99 + ne as u64);
        let pairs = g.src.len() / 2;
        g.edge_attr.clear();
        for _ in 0..pairs {
            let row: Vec<f32> = (0..ne).map(|_| rng.gen::<f32>() - 0.5).collect();
            g.edge_attr.extend(&row);
            g.edge_attr.extend(&row);
        }
        let payload = encode_frame(&g, &s).unwrap();
        let (f, _): (FrameV1, usize) =
            bincode::borrow_decode_from_slice(&payload, config()).unwrap();
        assert_eq!(f.flags & FLAG_PAIRED, FLAG_PAIRED, "{ne} features");
        assert_eq!(f.edge_attr.len(), pairs * ne * 4, "{ne} features");
        // The stored rows are the even ones, in order.
        let stored: Vec<f32> = f
            .edge_attr
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let even: Vec<f32> = g
            .edge_attr
            .chunks_exact(ne)
            .step_by(2)
            .flatten()
            .copied()
            .collect();
        assert_eq!(bits(&stored), bits(&even), "{ne} features");
        let back = decode_frame(&payload, &s).unwrap();
        assert_eq!(bits(&back.edge_attr), bits(&g.edge_attr), "{ne} features");
        assert_eq!(bits(&back.edge_weight), bits(&g.edge_weight));
        assert_eq!((back.src, back.dst), (g.src.clone(), g.dst.clone()));
    }
}

#[test]
fn concatenated_streams_read_as_one() {
    let s = schema();
    let a = vec![paired_graph(5, 1), paired_graph(6, 2)];
    let b = vec![paired_graph(7, 3)];
    let mut bytes = write_stream(&s, "first", &a);
    bytes.extend(write_stream(&s, "second", &b));
    let mut r = StreamReader::new(&bytes[..], "cat").unwrap();
    let all = r.read_all().unwrap();
    assert_eq!(all, [a, b].concat());
    assert_eq!(r.provenance(), ["first".to_string(), "second".to_string()]);
}

#[test]
fn concatenated_schema_mismatch_names_place() {
    let a = write_stream(&schema(), "a", &[paired_graph(5, 1), paired_graph(5, 2)]);
    let mut other = schema();
    other.node_features = vec!["energy".into(), "nhits".into()];
    let mut bytes = a.clone();
    bytes.extend(write_stream(&other, "b", &[paired_graph(5, 3)]));
    let err = read_bytes(&bytes).unwrap_err();
    assert_eq!(err.offset, a.len() as u64);
    assert_eq!(err.graphs, 2);
    assert_eq!(
        err.to_string(),
        format!(
            "cat: concatenated stream has a different schema (node features [\"ener\", \"nhits\"] vs [\"energy\", \"nhits\"]); join only streams made with the same options (at byte {}, after 2 graphs)",
            a.len()
        )
        .replace("cat:", "mem:")
    );
}

#[test]
fn empty_and_wrong_magic() {
    let e = read_bytes(b"").unwrap_err();
    assert!(
        e.to_string()
            .starts_with("mem: empty input: not a graph stream"),
        "{e}"
    );
    for junk in [
        &b"ab"[..],
        b"PK\x03\x04 torch zip",
        b"\x89NXG\r\n\x1b\n\x01\x00\0\0\0\0",
    ] {
        let e = read_bytes(junk).unwrap_err();
        assert_eq!(
            e.to_string(),
            "mem: not a nextgnn graph stream (wrong magic bytes) (at byte 0, after 0 graphs)"
        );
    }
    let mut v = write_stream(&schema(), "", &[]);
    v[8] = 9;
    let e = read_bytes(&v).unwrap_err();
    assert!(
        e.to_string()
            .contains("stream format version 9, this build reads version 1"),
        "{e}"
    );
}

#[test]
fn header_only_stream_is_valid_and_empty() {
    let v = write_stream(&schema(), "nothing passed the cuts", &[]);
    let mut r = StreamReader::new(&v[..], "mem").unwrap();
    assert!(r.next_graph().unwrap().is_none());
    assert_eq!(r.provenance(), ["nothing passed the cuts".to_string()]);
}

#[test]
fn every_truncation_is_an_error_with_offset() {
    let graphs = vec![paired_graph(8, 1), paired_graph(9, 2), paired_graph(3, 3)];
    let v = write_stream(&schema(), "p", &graphs);
    let header_len = write_stream(&schema(), "p", &[]).len();
    let mut frame_ends = vec![header_len];
    for g in &graphs {
        let end = frame_ends.last().unwrap() + 4 + encode_frame(g, &schema()).unwrap().len();
        frame_ends.push(end);
    }
    assert_eq!(*frame_ends.last().unwrap(), v.len());
    for cut in 0..v.len() {
        let res = read_bytes(&v[..cut]);
        match frame_ends.iter().position(|&e| e == cut) {
            Some(k) => assert_eq!(res.unwrap(), graphs[..k].to_vec(), "cut at frame end {cut}"),
            None => {
                let e = res.unwrap_err();
                let done = frame_ends
                    .iter()
                    .filter(|&&x| x < cut)
                    .count()
                    .saturating_sub(1);
                let msg = e.to_string();
                if cut == 0 {
                    assert!(msg.contains("empty input"), "{msg}");
                } else if cut < 4 {
                    assert!(msg.contains("wrong magic"), "{msg}");
                } else {
                    assert!(msg.contains("truncated"), "cut {cut}: {msg}");
                    assert_eq!(e.graphs, done as u64, "cut {cut}: {msg}");
                    let start = if cut < header_len {
                        0
                    } else {
                        frame_ends[done]
                    };
                    assert_eq!(e.offset, start as u64, "cut {cut}: {msg}");
                }
            }
        }
    }
}

#[test]
fn huge_length_prefix_is_refused_without_allocating() {
    let mut v = write_stream(&schema(), "", &[paired_graph(4, 1)]);
    let header_len = write_stream(&schema(), "", &[]).len();
    v[header_len..header_len + 4].copy_from_slice(&(MAX_FRAME + 1).to_le_bytes());
    let e = read_bytes(&v).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("mem: frame length 268435457 exceeds the 268435456 byte limit (corrupt stream) (at byte {header_len}, after 0 graphs)")
    );
    // A length under the limit that the data does not back is a truncation, found without
    // reserving the claimed size.
    v[header_len..header_len + 4].copy_from_slice(&(MAX_FRAME - 1).to_le_bytes());
    let e = read_bytes(&v).unwrap_err();
    assert!(e.to_string().contains("truncated frame"), "{e}");
    // A header that claims more than 1 MiB.
    let mut h = write_stream(&schema(), "", &[]);
    h[10..14].copy_from_slice(&(MAX_HEADER + 1).to_le_bytes());
    let e = read_bytes(&h).unwrap_err();
    assert!(e.to_string().contains("header claims 1048577 bytes"), "{e}");
}

/// Encodes a frame by hand, bypassing the writer's validation.
fn forge(f: &FrameV1) -> Vec<u8> {
    bincode::encode_to_vec(f, config()).unwrap()
}

fn frame_of<'a>(g: &Graph, bufs: &'a [Vec<u8>; 7]) -> FrameV1<'a> {
    FrameV1 {
        fnum: g.fnum,
        dataset_id: g.dataset_id,
        binclass: g.binclass,
        num_nodes: g.num_nodes as u64,
        num_edges: g.src.len() as u64,
        flags: FLAG_Y | FLAG_WEIGHT,
        index_width: 1,
        y_width: 1,
        coord_width: 8,
        x: &bufs[0],
        y: &bufs[1],
        coords: &bufs[2],
        src: &bufs[3],
        dst: &bufs[4],
        edge_attr: &bufs[5],
        edge_weight: &bufs[6],
    }
}

fn buffers(g: &Graph) -> [Vec<u8>; 7] {
    let mut b: [Vec<u8>; 7] = Default::default();
    put_f32(&mut b[0], &g.x, 1, 1);
    put_signed(&mut b[1], &g.y, 1);
    put_signed(&mut b[2], &g.coords, 8);
    put_unsigned(&mut b[3], &g.src, 1, 1);
    put_unsigned(&mut b[4], &g.dst, 1, 1);
    put_f32(&mut b[5], &g.edge_attr, 1, 1);
    put_f32(&mut b[6], &g.edge_weight, 1, 1);
    b
}

#[test]
fn forged_frames_are_rejected_with_reasons() {
    let s = schema();
    let g = paired_graph(6, 1);
    let b = buffers(&g);
    assert_eq!(decode_frame(&forge(&frame_of(&g, &b)), &s).unwrap(), g);

    let mut bad = b.clone();
    bad[4][3] = 6; // target == num_nodes
    let e = decode_frame(&forge(&frame_of(&g, &bad)), &s).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "invalid graph: edge 3 = ({}, 6) points past num_nodes 6",
            g.src[3]
        )
    );

    type Edit = Box<dyn Fn(&mut FrameV1)>;
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|f| f.num_nodes = 7),
            "x holds 48 bytes, expected 56",
        ),
        (
            Box::new(|f| f.num_nodes = MAX_NODES + 1),
            "exceeds the 268435456 node limit",
        ),
        (Box::new(|f| f.flags |= 8), "unknown flags 0x0e"),
        (
            Box::new(|f| f.index_width = 3),
            "bad integer widths: index 3 coords 8",
        ),
        (Box::new(|f| f.y_width = 0), "bad y width 0"),
        (Box::new(|f| f.flags &= !FLAG_Y), "bad y width 1"),
        (Box::new(|f| f.num_edges += 1), "edge sources holds"),
        (
            Box::new(|f| {
                f.flags |= FLAG_PAIRED;
                f.num_edges += 1;
            }),
            "paired edges but odd edge count",
        ),
        (Box::new(|f| f.flags &= !FLAG_WEIGHT), "edge_weight holds"),
    ];
    for (edit, want) in cases {
        let mut f = frame_of(&g, &b);
        edit(&mut f);
        let e = decode_frame(&forge(&f), &s).unwrap_err().to_string();
        assert!(e.contains(want), "{e} does not contain {want}");
    }
    // A labelled schema refuses frames without labels.
    let mut f = frame_of(&g, &b);
    f.flags &= !FLAG_Y;
    f.y_width = 0;
    f.y = &[];
    let e = decode_frame(&forge(&f), &s).unwrap_err().to_string();
    assert!(e.contains("promises node labels"), "{e}");
    // Trailing bytes inside a frame.
    let mut p = forge(&frame_of(&g, &b));
    p.push(0);
    let e = decode_frame(&p, &s).unwrap_err().to_string();
    assert_eq!(e, "corrupt frame: 1 trailing bytes after the graph");
    // An array length varint claiming 2^62 bytes: refused by the limit, nothing reserved.
    let p = forge(&frame_of(&g, &b));
    let ids_len = 1 + 1 + 1 + 1 + 1 + 4; // small varints and the four u8 fields
    let mut q = p[..ids_len].to_vec();
    q.push(253);
    q.extend((1u64 << 62).to_le_bytes());
    let e = decode_frame(&q, &s).unwrap_err().to_string();
    assert!(e.starts_with("corrupt frame:"), "{e}");
}

#[test]
fn edge_out_of_range_in_stream_names_offset() {
    let s = schema();
    let g = paired_graph(6, 1);
    let mut bad = buffers(&g);
    bad[3][0] = 200;
    let payload = forge(&frame_of(&g, &bad));
    let mut v = write_stream(&s, "", std::slice::from_ref(&g));
    let second = v.len();
    v.extend((payload.len() as u32).to_le_bytes());
    v.extend(&payload);
    let mut r = StreamReader::new(&v[..], "bad.gs").unwrap();
    assert_eq!(r.next_graph().unwrap().unwrap(), g);
    let e = r.next_graph().unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("bad.gs: invalid graph: edge 0 = (200, 1) points past num_nodes 6 (at byte {second}, after 1 graphs)")
    );
    // The iterator ends after an error instead of reading on from a broken position.
    assert!(r.next().is_none());
}

#[test]
fn peek_ids_reads_identity_only() {
    let g = paired_graph(9, 4);
    let p = encode_frame(&g, &schema()).unwrap();
    let ids = peek_ids(&p).unwrap();
    assert_eq!(
        (
            ids.fnum,
            ids.dataset_id,
            ids.binclass,
            ids.num_nodes,
            ids.num_edges
        ),
        (7, 1004, 0, 9, g.src.len() as u64)
    );
}

#[test]
fn mutated_streams_never_panic() {
    let graphs: Vec<Graph> = (0..4).map(|k| paired_graph(5 + 3 * k, k as u64)).collect();
    let mut valid = write_stream(&schema(), "fuzz", &graphs);
    valid.extend(write_stream(&schema(), "fuzz2", &graphs[..1]));
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    let (mut ok, mut failed) = (0, 0);
    for _ in 0..4000 {
        let mut v = valid.clone();
        for _ in 0..rng.gen_range(1..6) {
            match rng.gen_range(0..5) {
                0 => {
                    let i = rng.gen_range(0..v.len());
                    v[i] = rng.gen();
                }
                1 => {
                    let i = rng.gen_range(0..v.len());
                    v[i] ^= 1 << rng.gen_range(0..8);
                }
                2 => {
                    let i = rng.gen_range(0..=v.len());
                    v.insert(i, rng.gen());
                }
                3 if v.len() > 1 => {
                    let i = rng.gen_range(0..v.len());
                    v.remove(i);
                }
                _ => {
                    let i = rng.gen_range(0..v.len());
                    v[i] = [0, 0xff, 251, 252, 253, 254][rng.gen_range(0..6)];
                }
            }
        }
        match StreamReader::new(&v[..], "m") {
            Ok(r) => {
                for g in r {
                    match g {
                        Ok(g) => g.validate(&schema()).unwrap(),
                        Err(e) => {
                            assert!(e.to_string().contains("(at byte"), "{e}");
                            failed += 1;
                        }
                    }
                }
                ok += 1;
            }
            Err(_) => failed += 1,
        }
    }
    // Both outcomes occur, so the loop exercises decoding past the header as well as failures.
    assert!(ok > 100 && failed > 100, "ok {ok} failed {failed}");
}

#[test]
fn outputs_to_a_device_or_fifo_are_written_in_place_not_replaced() {
    use std::io::{Read, Write};
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reader_path = fifo.clone();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::fs::File::open(reader_path)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s
    });
    let mut o = crate::Output::create(fifo.to_str().unwrap()).unwrap();
    o.write_all(b"through the pipe").unwrap();
    o.commit().unwrap();
    assert_eq!(reader.join().unwrap(), "through the pipe");
    let ty = std::fs::metadata(&fifo).unwrap().file_type();
    assert!(ty.is_fifo(), "the FIFO itself must survive: {ty:?}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary left"
    );
}
