//! Arbitrary bytes through the stream reader: it may reject them, never panic or over-allocate.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nextgnn_stream::StreamReader;

fuzz_target!(|data: &[u8]| {
    if let Ok(mut r) = StreamReader::new(data, "fuzz") {
        let schema = r.schema().clone();
        // Raw frames too: identity peeking must be as safe as a full decode.
        while let Ok(Some(g)) = r.next_graph() {
            assert!(g.validate(&schema).is_ok(), "decoded graph breaks its schema");
        }
    }
    if let Ok(mut r) = StreamReader::new(data, "fuzz") {
        while let Ok(Some(f)) = r.next_raw() {
            let _ = f.ids();
        }
    }
});
