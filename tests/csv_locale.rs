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
