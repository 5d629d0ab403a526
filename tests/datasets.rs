//! Dataset discovery, schema inference, config overrides and every bad-input case.
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::path::Path;

use common::*;
use workbench::config::{DatasetConfig, TaskOverride};
use workbench::data::csv_table::{load_csv, parse_csv};
use workbench::data::{ColumnRole, DataErrorKind, Task};

fn parse(text: &str) -> Result<workbench::data::csv_table::CsvDataset, workbench::data::DataError> {
    parse_csv(Path::new("t.csv"), text.as_bytes(), &DatasetConfig::default())
}

#[test]
fn shipped_iris_matches_the_published_data() {
    let table =
        load_csv(&shipped_datasets().join("iris.csv"), &DatasetConfig::default()).expect("iris loads");
    assert_eq!(table.rows, 150);
    assert_eq!(table.schema.feature_names(), ["sepal_length", "sepal_width", "petal_length", "petal_width"]);
    assert_eq!(table.schema.target_name(), "species");
    assert_eq!(
        table.schema.task,
        Task::Classification { classes: vec!["setosa".into(), "versicolor".into(), "virginica".into()] }
    );
    let workbench::data::Targets::Classes(labels) = &table.y else { panic!("iris is classification") };
    assert_eq!(workbench::data::class_counts(labels, 3), vec![50, 50, 50]);
    // Fisher's published means: 5.84, 3.05 (3.057 in the corrected data), 3.76, 1.20.
    let published = [5.843, 3.057, 3.758, 1.199];
    for (col, want) in published.iter().enumerate() {
        let mean: f64 = (0..150).map(|r| table.x[r * 4 + col] as f64).sum::<f64>() / 150.0;
        assert!((mean - want).abs() < 0.001, "column {col}: mean {mean} vs published {want}");
    }
}

#[test]
fn infers_header_delimiter_target_and_task() {
    let t = parse("a;b;label\n1;2;x\n3;4;y\n5;6;x\n").unwrap();
    assert_eq!(t.schema.delimiter, ';');
    assert!(t.schema.has_header);
    assert_eq!(t.schema.target_name(), "label");
    assert_eq!(t.schema.task, Task::Classification { classes: vec!["x".into(), "y".into()] });

    let t = parse("1\t2\t0.5\n3\t4\t1.5\n5\t6\t2.25\n").unwrap();
    assert_eq!(t.schema.delimiter, '\t');
    assert!(!t.schema.has_header, "all-numeric first row is data");
    assert_eq!(t.schema.columns, ["col1", "col2", "col3"]);
    assert_eq!(t.schema.target_name(), "col3", "no named target: the last column");
    assert_eq!(t.schema.task, Task::Regression);
    assert_eq!(t.rows, 3);
}

#[test]
fn a_named_target_wins_over_the_last_column() {
    let t = parse("y,f1,f2\n1.5,1,2\n2.5,3,4\n3.5,5,6\n").unwrap();
    assert_eq!(t.schema.target_name(), "y");
    assert_eq!(t.schema.feature_names(), ["f1", "f2"]);
}

#[test]
fn small_integer_targets_are_classes_and_sorted_numerically() {
    let mut text = String::from("f,target\n");
    for i in 0..30 {
        text.push_str(&format!("{i},{}\n", [2, 10, 1][i % 3]));
    }
    let t = parse(&text).unwrap();
    assert_eq!(t.schema.task, Task::Classification { classes: vec!["1".into(), "2".into(), "10".into()] });

    let mut many = String::from("f,target\n");
    for i in 0..40 {
        many.push_str(&format!("{i},{i}\n"));
    }
    assert_eq!(parse(&many).unwrap().schema.task, Task::Regression, "40 distinct integers are a quantity");
}

#[test]
fn a_text_column_that_is_not_the_target_is_left_out_with_a_reason() {
    let t = parse("name,x,class\nann,1,a\nbob,2,b\ncid,3,a\n").unwrap();
    assert_eq!(t.schema.feature_names(), ["x"]);
    assert!(matches!(&t.schema.roles[0], ColumnRole::Ignored(why) if why.contains("text")));
}

#[test]
fn config_overrides_target_features_classes_and_task() {
    let text = "a,b,c,kind\n1,2,3,p\n4,5,6,q\n7,8,9,r\n1,1,1,p\n";
    let path = Path::new("t.csv");
    let cfg =
        DatasetConfig { target: Some("c".into()), features: Some(vec!["a".into()]), ..Default::default() };
    let t = parse_csv(path, text.as_bytes(), &cfg).unwrap();
    assert_eq!(t.schema.target_name(), "c");
    assert_eq!(t.schema.feature_names(), ["a"]);
    let classes: Vec<String> = ["1", "3", "6", "9"].map(String::from).to_vec();
    assert_eq!(t.schema.task, Task::Classification { classes }, "integer classes sort numerically");

    let cfg = DatasetConfig {
        target: Some("c".into()),
        task: Some(TaskOverride::Regression),
        ..Default::default()
    };
    assert_eq!(parse_csv(path, text.as_bytes(), &cfg).unwrap().schema.task, Task::Regression);

    let cfg = DatasetConfig { classes: Some(vec!["q".into(), "p".into()]), ..Default::default() };
    let t = parse_csv(path, text.as_bytes(), &cfg).unwrap();
    assert_eq!(t.rows, 3, "the r row is filtered out");
    assert_eq!(t.schema.task, Task::Classification { classes: vec!["q".into(), "p".into()] });
    assert_eq!(t.y, workbench::data::Targets::Classes(vec![1, 0, 1]), "class order follows the config list");

    let cfg = DatasetConfig { classes: Some(vec!["p".into(), "zzz".into()]), ..Default::default() };
    let e = parse_csv(path, text.as_bytes(), &cfg).unwrap_err();
    assert!(matches!(&e.kind, DataErrorKind::UnknownClass { name, .. } if name == "zzz"), "{e}");
    assert!(e.to_string().contains("its classes are: p, q, r"), "{e}");

    let cfg = DatasetConfig { target: Some("nope".into()), ..Default::default() };
    let e = parse_csv(path, text.as_bytes(), &cfg).unwrap_err();
    assert!(e.to_string().contains("has no column \"nope\"; its columns are: a, b, c, kind"), "{e}");
}

#[test]
fn an_empty_file_is_refused() {
    let e = parse("").unwrap_err();
    assert_eq!(e.kind, DataErrorKind::Empty);
    assert_eq!(e.to_string(), "t.csv: the file is empty; a CSV needs a header row and data rows");
    assert_eq!(parse("\n\n  \n").unwrap_err().kind, DataErrorKind::Empty);
}

#[test]
fn a_header_only_file_is_refused() {
    let e = parse("a,b,target\n").unwrap_err();
    assert_eq!(e.kind, DataErrorKind::HeaderOnly);
    assert!(e.to_string().contains("header row but no data rows"));
}

#[test]
fn ragged_rows_name_the_line() {
    let e = parse("a,b,c\n1,2,x\n3,4,y\n5,6\n7,8,x\n").unwrap_err();
    assert_eq!(e.kind, DataErrorKind::Ragged { expected: 3, found: 2 });
    assert_eq!(e.line, Some(4));
    assert!(e.to_string().starts_with("t.csv, line 4: has 2 fields where the first row has 3"), "{e}");
}

#[test]
fn text_in_a_numeric_column_names_line_and_column() {
    let e = parse("a,b,c\n1,2,x\n3,oops,y\n5,6,x\n").unwrap_err();
    assert_eq!(e.kind, DataErrorKind::NotNumeric { value: "oops".into() });
    assert_eq!(e.line, Some(3));
    assert_eq!(e.column.as_ref().map(|c| (c.index, c.name.as_str())), Some((2, "b")));
    assert!(e.to_string().starts_with("t.csv, line 3, column 2 (b): \"oops\" is not a number"), "{e}");
}

#[test]
fn missing_values_are_refused_or_dropped_on_request() {
    let text = "a,b,c\n1,2,x\n3,,y\n5,NA,x\n6,7,y\n";
    let e = parse(text).unwrap_err();
    assert_eq!(e.kind, DataErrorKind::Missing { value: String::new() });
    assert_eq!((e.line, e.column.as_ref().map(|c| c.index)), (Some(3), Some(2)));
    assert!(e.to_string().contains("drop_missing = true"), "{e}");

    let cfg = DatasetConfig { drop_missing: true, ..Default::default() };
    let t = parse_csv(Path::new("t.csv"), text.as_bytes(), &cfg).unwrap();
    assert_eq!(t.rows, 2);
    assert_eq!(t.schema.dropped_rows, 2);
}

#[test]
fn a_single_class_target_is_refused() {
    let e = parse("a,b,class\n1,2,x\n3,4,x\n").unwrap_err();
    assert_eq!(e.kind, DataErrorKind::SingleClass { class: "x".into() });
    assert!(e.to_string().contains("column 3 (class): the target has a single class (\"x\")"), "{e}");
}

#[test]
fn bytes_that_are_not_utf8_name_line_and_column() {
    let mut bytes = b"a,b,c\n1,2,x\n3,4,caf".to_vec();
    bytes.push(0xE9); // Latin-1 "é"
    bytes.extend_from_slice(b"\n");
    let e = parse_csv(Path::new("t.csv"), &bytes, &DatasetConfig::default()).unwrap_err();
    assert_eq!(e.kind, DataErrorKind::NotUtf8 { byte_offset: 19 });
    assert_eq!(e.line, Some(3));
    assert_eq!(e.column.as_ref().map(|c| c.index), Some(8));
    assert!(e.to_string().contains("save the file as UTF-8"), "{e}");
}

#[test]
fn files_that_are_not_csv_are_named_as_such() {
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    let e = parse_csv(Path::new("t.csv"), png, &DatasetConfig::default()).unwrap_err();
    assert_eq!(e.kind, DataErrorKind::NotCsv("it is a PNG image".into()));
    let e = parse("just some prose\nwith no delimiters at all\n").unwrap_err();
    assert!(matches!(e.kind, DataErrorKind::NotCsv(_)), "{e}");
    assert!(e.to_string().contains("no delimiter"), "{e}");
}

#[test]
fn unreadable_files_and_bad_files_leave_the_others_usable() {
    let dir = tempdir();
    std::fs::copy(shipped_datasets().join("iris.csv"), dir.path().join("iris.csv")).unwrap();
    write(dir.path(), "empty.csv", "");
    write(dir.path(), "ragged.csv", "a,b\n1,2\n3\n");
    std::os::unix::fs::symlink("/nonexistent/remote/drive/data.csv", dir.path().join("remote.csv")).unwrap();
    write(dir.path(), "notes.txt", "not a dataset");
    let catalog = scan(dir.path());
    let names: Vec<&str> = catalog.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["empty", "iris", "ragged", "remote"]);
    assert!(catalog.get("iris").unwrap().is_usable());
    let remote = catalog.get("remote").unwrap().summary.as_ref().unwrap_err();
    assert!(matches!(remote.kind, DataErrorKind::Unreadable(_)));
    assert!(remote.to_string().contains("cannot be read: No such file or directory"), "{remote}");
    assert_eq!(catalog.get("empty").unwrap().summary.as_ref().unwrap_err().kind, DataErrorKind::Empty);
}

#[test]
fn a_missing_datasets_folder_is_reported() {
    let dir = tempdir();
    let catalog = scan(&dir.path().join("nope"));
    assert!(catalog.entries.is_empty());
    assert!(catalog.problem.as_deref().unwrap().contains("cannot be read"));
}

#[test]
fn config_defined_datasets_view_a_file() {
    let cfg = DatasetConfig {
        file: Some("iris.csv".into()),
        classes: Some(vec!["setosa".into(), "versicolor".into()]),
        ..Default::default()
    };
    let catalog = scan_with(&shipped_datasets(), "two-iris", cfg);
    let summary = catalog.get("two-iris").unwrap().summary.as_ref().unwrap();
    assert_eq!(summary.rows, 100);
    assert_eq!(summary.class_counts, vec![50, 50]);
    assert!(catalog.get("iris").unwrap().is_usable(), "the file itself stays listed");

    let missing = DatasetConfig { file: Some("gone.csv".into()), ..Default::default() };
    let catalog = scan_with(&shipped_datasets(), "gone", missing);
    let e = catalog.get("gone").unwrap().summary.as_ref().unwrap_err();
    assert!(e.to_string().contains("does not exist; check `file` under [datasets.gone]"), "{e}");
}

#[test]
fn nothing_is_written_into_the_datasets_folder() {
    let dir = tempdir();
    std::fs::copy(shipped_datasets().join("iris.csv"), dir.path().join("iris.csv")).unwrap();
    write(dir.path(), "bad.csv", "a,b\n1,x\n2,y\n");
    let listing = |p: &Path| -> Vec<(String, u64, std::time::SystemTime)> {
        let mut v: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let m = e.metadata().unwrap();
                (e.file_name().to_string_lossy().into_owned(), m.len(), m.modified().unwrap())
            })
            .collect();
        v.sort();
        v
    };
    let before = listing(dir.path());
    let catalog = scan(dir.path());
    let runs = tempdir();
    let mut s = spec("iris", workbench::train::ModelKind::Logreg);
    s.epochs = 2;
    let out = train(catalog.get("iris").unwrap(), s, runs.path());
    assert!(matches!(out.last(), workbench::train::TrainMsg::Finished { .. }));
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn an_unknown_name_is_typed_and_lists_the_names_there_are() {
    let catalog = shipped_catalog();
    let e = catalog.require("nope").unwrap_err();
    assert_eq!(e.name, "nope");
    assert!(e.found.iter().any(|n| n == "iris"), "{e}");
    assert!(e.to_string().starts_with("no dataset named \"nope\" in "), "{e}");
    assert!(catalog.require("iris").is_ok());
    let empty = scan(&tempdir().path().join("nope"));
    assert!(empty.require("iris").unwrap_err().to_string().ends_with("datasets found: none"));
}
