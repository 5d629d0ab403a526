//! CSV files exported by spreadsheets in locales with decimal commas.
// Test code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use workbench::config::DatasetConfig;
use workbench::data::csv_table::parse_csv;

#[test]
fn a_semicolon_csv_with_decimal_commas_is_read_as_numbers() {
    let text = "länge;breite;art\n5,1;3,5;setosa\n4,9;-0,25;setosa\n6,3;2,5;virginica\n7,1;3;virginica\n";
    let t = parse_csv(Path::new("eu.csv"), text.as_bytes(), &DatasetConfig::default()).expect("reads");
    assert_eq!(t.schema.delimiter, ';');
    assert_eq!(t.schema.features.len(), 2, "both measure columns are numbers");
    assert_eq!(&t.x[..4], &[5.1, 3.5, 4.9, -0.25]);
    // A comma-delimited file keeps its commas as separators.
    let text = "a,b,c\n1,2,x\n3,4,y\n5,6,x\n";
    let t = parse_csv(Path::new("us.csv"), text.as_bytes(), &DatasetConfig::default()).expect("reads");
    assert_eq!((t.schema.delimiter, t.schema.features.len()), (',', 2));
}

#[test]
fn no_numeric_features_says_which_delimiter_and_shows_a_row() {
    let text = "name,colour\nalpha,red\nbeta,blue\n";
    let err = parse_csv(Path::new("words.csv"), text.as_bytes(), &DatasetConfig::default())
        .expect_err("no numbers");
    let msg = err.to_string();
    assert!(msg.contains("no numeric feature columns") && msg.contains("split by ','"), "{msg}");
    assert!(msg.contains("line 1") && msg.contains("name | colour"), "{msg}");
}

/// A `;`-delimited table with decimal commas: `rows` rows, each cell written once with a comma.
fn european_table(rows: usize) -> String {
    let mut s = String::from("länge;breite;wert;art\n");
    for i in 0..rows {
        let art = ["setosa", "versicolor", "virginica"][i % 3];
        s.push_str(&format!("{},{};-{},{};{};{art}\n", i % 9, i % 10, i % 4, (i * 7) % 100, i % 5));
    }
    s
}

#[test]
fn a_large_semicolon_csv_with_decimal_commas_streams_the_same_numbers() {
    use workbench::data::staging::table::{self, TableSpec, HEAD_BYTES};
    use workbench::data::Targets;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("eu.csv");
    std::fs::write(&csv, european_table(5_000)).unwrap();
    let size = std::fs::metadata(&csv).unwrap().len();
    assert!(size > 100_000 && size > HEAD_BYTES as u64, "{size} bytes: over the head, so it streams");
    let config = DatasetConfig::default();
    let whole = workbench::data::csv_table::load_csv(&csv, &config).expect("the small path reads it");
    assert_eq!(whole.schema.features.len(), 3);
    assert_eq!(&whole.x[..6], &[0.0, -0.0, 0.0, 1.1, -1.7, 1.0]);
    let cache = dir.path().join("cache");
    let spec = TableSpec { name: "eu", source: &csv, config: &config, cache_dir: &cache };
    let loaded = table::load(&spec, &mut |_, _, _| true).expect("the streaming path reads it");
    assert_eq!(loaded.x.size(), [5_000, 3]);
    assert_eq!(Vec::<f32>::try_from(loaded.x.flatten(0, -1)).unwrap(), whole.x);
    let Targets::Classes(labels) = &whole.y else { panic!("classes expected") };
    assert_eq!(&Vec::<i64>::try_from(&loaded.y).unwrap(), labels);
    // Listing reads the head with the same rule: three numeric features, no "no numeric features".
    let summary = workbench::data::staging::table_summary::summarize("eu", &csv, &config, &cache).unwrap();
    assert_eq!(summary.features, 3);
}

#[test]
fn a_decimal_comma_target_streams_as_the_same_values() {
    use workbench::data::staging::table::{self, TableSpec};
    use workbench::data::Targets;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("reg.csv");
    let mut s = String::from("x;y\n");
    for i in 0..8_000 {
        s.push_str(&format!("{};{},{}\n", i % 50, i % 37, i % 10));
    }
    std::fs::write(&csv, s).unwrap();
    let config = DatasetConfig::default();
    let whole = workbench::data::csv_table::load_csv(&csv, &config).unwrap();
    let Targets::Values(values) = &whole.y else { panic!("regression expected: {:?}", whole.schema.task) };
    let cache = dir.path().join("cache");
    let spec = TableSpec { name: "reg", source: &csv, config: &config, cache_dir: &cache };
    let loaded = table::load(&spec, &mut |_, _, _| true).unwrap();
    assert_eq!(&Vec::<f32>::try_from(&loaded.y).unwrap(), values);
    assert_eq!(values[1], 1.1);
}

#[test]
fn a_comma_csv_whose_numbers_were_cut_by_decimal_commas_says_what_was_seen() {
    // Exported with `,` between fields *and* as the decimal mark: each number is cut in two.
    let text = "länge,breite,art\n5,1,3,5,setosa\n4,9,3,0,setosa\n";
    let err =
        parse_csv(Path::new("cut.csv"), text.as_bytes(), &DatasetConfig::default()).expect_err("ragged");
    let msg = err.to_string();
    assert!(msg.contains("decimal commas") && msg.contains("split by ','"), "{msg}");
    assert!(msg.contains("first row has 3 columns") && msg.contains("has 5"), "{msg}");
    assert!(msg.contains("5,1,3,5,setosa") && msg.contains("line 2"), "{msg}");
    assert!(msg.contains("delimiter = \";\"") && msg.contains("`.` as the decimal separator"), "{msg}");
    assert_eq!(err.line, Some(2));

    // A ragged row that decimal commas can't explain keeps the usual message.
    let text = "a,b,c\n1.5,2.5,x\n1.5,2.5,x,y\n";
    let msg =
        parse_csv(Path::new("r.csv"), text.as_bytes(), &DatasetConfig::default()).unwrap_err().to_string();
    assert!(msg.contains("has 4 fields where the first row has 3") && !msg.contains("decimal"), "{msg}");
    // Text cells can't be halves of a number either.
    let text = "a,b,c\n1,2,x\nfoo,bar,x,y\n";
    let msg =
        parse_csv(Path::new("r.csv"), text.as_bytes(), &DatasetConfig::default()).unwrap_err().to_string();
    assert!(!msg.contains("decimal"), "{msg}");
}

#[test]
fn a_configured_delimiter_replaces_the_sniffed_one() {
    // `;` with one column of decimal commas; forcing `;` reads it, and a bad setting is explained.
    let text = "a;b;c\n5,1;3;x\n4,9;2;y\n6,0;1;x\n";
    let config = DatasetConfig { delimiter: Some(';'), ..Default::default() };
    let t = parse_csv(Path::new("eu.csv"), text.as_bytes(), &config).expect("reads");
    assert_eq!(&t.x[..2], &[5.1, 3.0]);
    let bad = DatasetConfig { delimiter: Some('é'), ..Default::default() };
    let msg = parse_csv(Path::new("eu.csv"), text.as_bytes(), &bad).unwrap_err().to_string();
    assert!(msg.contains("delimiter") && msg.contains("ASCII"), "{msg}");
}

#[test]
fn streaming_a_cut_number_row_after_the_head_says_the_same() {
    use workbench::data::staging::table::{self, TableSpec};
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("late.csv");
    let mut s = String::from("a,b,art\n");
    for i in 0..12_000 {
        s.push_str(&format!("{},{},x\n", i % 50, i % 7));
    }
    s.push_str("5,1,3,5,x\n");
    std::fs::write(&csv, s).unwrap();
    let config = DatasetConfig::default();
    let cache = dir.path().join("cache");
    let spec = TableSpec { name: "late", source: &csv, config: &config, cache_dir: &cache };
    let Err(e) = table::load(&spec, &mut |_, _, _| true) else { panic!("a ragged row expected") };
    let msg = e.to_string();
    assert!(msg.contains("decimal commas") && msg.contains("line 12002"), "{msg}");
}
