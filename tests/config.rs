//! Settings: the layers (defaults < config.toml < environment < flags) and errors that quote the value.
// Test and benchmark code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use common::*;
use workbench::config::{parse_config, CliOverrides, ConfigFile, Settings};
use workbench::train::{ModelKind, OptimizerKind};

fn load(config: &str, env: &[(&str, &str)], cli: CliOverrides) -> Result<Settings, String> {
    let dir = tempdir();
    let path = write(dir.path(), "config.toml", config);
    let env: HashMap<String, String> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let cli = CliOverrides { config: Some(path), ..cli };
    let settings = Settings::load_with_env(&cli, &|k| env.get(k).cloned()).map_err(|e| e.to_string());
    // Paths are relative to the config file's folder.
    if let Ok(s) = &settings {
        assert!(s.datasets_dir.is_absolute());
    }
    std::mem::forget(dir);
    settings
}

#[test]
fn the_shipped_config_parses_and_equals_the_documented_defaults_where_it_repeats_them() {
    let text = std::fs::read_to_string(repo().join("config.toml")).unwrap();
    let file = parse_config(&text).unwrap();
    let defaults = ConfigFile::default();
    assert_eq!(file.ui, defaults.ui);
    assert_eq!(file.images, defaults.images);
    assert_eq!(file.train.model, ModelKind::Mlp);
    assert!(file.datasets.contains_key("iris-binary"));
}

#[test]
fn layers_apply_in_order() {
    let s =
        load("[train]\ndevice = \"cpu\"\nepochs = 7\n[ui]\nfps = 5\n", &[], CliOverrides::default()).unwrap();
    assert_eq!((s.train.device.as_str(), s.train.epochs, s.ui.fps), ("cpu", 7, 5));
    assert_eq!(s.train.optimizer, OptimizerKind::Adam, "unset keys keep the built-in default");

    let s = load(
        "[train]\ndevice = \"cpu\"\n[ui]\nfps = 5\n",
        &[("WORKBENCH_DEVICE", "cuda:1"), ("WORKBENCH_FPS", "20")],
        CliOverrides::default(),
    )
    .unwrap();
    assert_eq!((s.train.device.as_str(), s.ui.fps), ("cuda:1", 20), "environment beats the file");

    let cli = CliOverrides { fps: Some(30), runs_dir: Some(PathBuf::from("/tmp/r")), ..Default::default() };
    let s = load(
        "[ui]\nfps = 5\n[paths]\nruns_dir = \"x\"\n",
        &[("WORKBENCH_FPS", "20"), ("WORKBENCH_RUNS_DIR", "/tmp/e")],
        cli,
    )
    .unwrap();
    assert_eq!(s.ui.fps, 30, "flags beat the environment");
    assert_eq!(s.runs_dir, PathBuf::from("/tmp/r"));
}

#[test]
fn paths_are_relative_to_the_config_file() {
    let dir = tempdir();
    let path = write(dir.path(), "config.toml", "[paths]\ndatasets_dir = \"data\"\n");
    let s = Settings::load_with_env(&CliOverrides { config: Some(path), ..Default::default() }, &|_| None)
        .unwrap();
    assert_eq!(s.datasets_dir, dir.path().join("data"));
    assert_eq!(s.runs_dir, dir.path().join("runs"));
}

#[test]
fn errors_name_the_key_and_quote_the_value() {
    let e = load("[train]\nlr = -0.5\n", &[], CliOverrides::default()).unwrap_err();
    assert!(
        e.ends_with("train.lr = -0.5 is not valid: the learning rate must be a positive number, e.g. 0.01"),
        "{e}"
    );
    let e = load("[train]\nmodel = \"res net\"\n", &[], CliOverrides::default()).unwrap_err();
    assert!(e.contains("line 2") && e.contains("res net") && e.contains("mlp"), "{e}");
    // A well-formed name that is neither built in nor defined in [models] or models/.
    let e = load("[train]\nmodel = \"resnet\"\n", &[], CliOverrides::default()).unwrap_err();
    assert!(e.contains("train.model = \"resnet\" is not valid: no such model") && e.contains("mlp"), "{e}");
    let ok = "[train]\nmodel = \"net\"\n[models.net]\nlayers = [\"linear\"]\n";
    assert!(load(ok, &[], CliOverrides::default()).is_ok());
    let e = load("[train]\ndevice = \"tpu\"\n", &[], CliOverrides::default()).unwrap_err();
    assert!(e.contains("train.device = \"tpu\" is not valid"), "{e}");
    let e = load("[ui]\nfps = 0\n", &[], CliOverrides::default()).unwrap_err();
    assert!(e.contains("ui.fps = 0 is not valid: use 1 to 60"), "{e}");
    let e = load("[ui]\n", &[("WORKBENCH_FPS", "fast")], CliOverrides::default()).unwrap_err();
    assert!(e.contains("WORKBENCH_FPS = \"fast\" is not valid"), "{e}");
    let e = load("[datasets.x]\nclasses = [\"a\"]\n", &[], CliOverrides::default()).unwrap_err();
    assert!(e.contains("datasets.x.classes = [\"a\"] is not valid: list at least two classes"), "{e}");
    let e = load("not toml at all [", &[], CliOverrides::default()).unwrap_err();
    assert!(e.contains("is invalid: line 1, column "), "{e}");
    assert!(!e.contains('\n') && !e.contains('^'), "one line, no caret drawing: {e}");
}

#[test]
fn a_parse_error_is_typed_with_its_line_column_and_quoted_line() {
    let e = parse_config("[train]\nepochs = \"ten\"\n").unwrap_err();
    assert_eq!(e.place.map(|(line, _)| line), Some(2), "{e}");
    assert_eq!(e.quoted, "epochs = \"ten\"");
    assert!(e.to_string().starts_with("line 2, column "), "{e}");
    assert!(e.to_string().ends_with("(`epochs = \"ten\"`)"), "{e}");
}
