//! Property tests of the stdout metric parser: arbitrary bytes never panic, and pairs printed in
//! any of the formats read back as the numbers printed.
// Test code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use workbench::command::metrics::parse_line;
use workbench::command::outcome::{says_out_of_memory, LineTail};

/// Bytes like a script's output: letters, digits, separators, braces, quotes, odd bytes.
fn outputish() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            Just(b'='),
            Just(b':'),
            Just(b' '),
            Just(b','),
            Just(b'{'),
            Just(b'}'),
            Just(b'\''),
            Just(b'"'),
            Just(b'.'),
            Just(b'e'),
            Just(b'-'),
            Just(b'\r'),
            b'0'..=b'9',
            b'a'..=b'z',
            any::<u8>(),
        ],
        0..512,
    )
}

/// A tag the free-text format can carry.
fn key() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,12}".prop_filter("not an x key", |k| {
        !["step", "global_step", "iteration", "iter", "epoch"].contains(&k.as_str())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_parse_without_a_panic(bytes in prop_oneof![outputish(), proptest::collection::vec(any::<u8>(), 0..4096)]) {
        if let Some(line) = parse_line(&bytes) {
            prop_assert!(!line.values.is_empty());
            prop_assert!(line.values.iter().all(|(tag, v)| v.is_finite() && !tag.contains(',')));
        }
        let _ = says_out_of_memory(&bytes);
        let mut tail = LineTail::default();
        tail.push(&bytes);
        prop_assert!(tail.text().len() <= 4096);
    }

    #[test]
    fn printed_pairs_read_back(pairs in proptest::collection::btree_map(key(), -1.0e6f64..1.0e6, 1..6), step in 0i64..1_000_000, style in 0..3u8) {
        let body: Vec<String> = pairs.iter().map(|(k, v)| match style {
            0 => format!("{k}={v}"),
            1 => format!("{k}: {v}"),
            _ => format!("'{k}': {v}"),
        }).collect();
        let line = match style {
            2 => format!("{{'step': {step}, {}}}", body.join(", ")),
            _ => format!("step={step} {}", body.join(" ")),
        };
        let parsed = parse_line(line.as_bytes()).unwrap();
        prop_assert_eq!(parsed.step, Some(step));
        let got: std::collections::BTreeMap<String, f64> = parsed.values.into_iter().collect();
        prop_assert_eq!(got, pairs);
    }
}
