//! Issue 20's hostile files, each as small as a shared lab folder can hold: they give a one-line
//! problem on the dataset, model or run they belong to; nothing aborts, panics or buffers without
//! bound, and the rest keeps working.
// Test code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::io::Write;

use common::*;
use crossterm::event::KeyCode;
use prost::Message;
use workbench::data::readers::npy;
use workbench::runs::external::proto::{self, summary, summary_metadata, tensor_shape_proto};
use workbench::runs::external::{encode_file_version, encode_record, masked_crc32c, MAX_RECORD_LEN};

/// A project folder: config.toml (with `extra` appended), datasets/ holding iris, an empty runs/.
fn project(extra: &str) -> tempfile::TempDir {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("datasets")).unwrap();
    std::fs::copy(shipped_datasets().join("iris.csv"), dir.path().join("datasets/iris.csv")).unwrap();
    let config = std::fs::read_to_string(repo().join("config.toml")).unwrap();
    std::fs::write(dir.path().join("config.toml"), config + extra).unwrap();
    dir
}

/// The listing's line for `name`.
fn line<'a>(stdout: &'a str, name: &str) -> &'a str {
    stdout.lines().find(|l| l.split_whitespace().next() == Some(name)).unwrap_or_else(|| panic!("{stdout}"))
}

#[test]
fn a_200_byte_npy_pair_declaring_terabytes_lists_with_a_problem_and_iris_still_lists() {
    let dir = project("");
    let datasets = dir.path().join("datasets");
    // x declares 2 × 10^12 float32s and holds none; y is a real pair of labels.
    let x = npy::write_raw("<f4", &[2, 1_000_000_000_000], Vec::new());
    let y = npy::write_raw("|u1", &[2], vec![0, 1]);
    assert!(x.len() + y.len() <= 260, "about the issue's 200 bytes: {}", x.len() + y.len());
    write(&datasets, "huge_x.npy", &x);
    write(&datasets, "huge_y.npy", &y);
    let out = workbench(dir.path(), &["datasets", "--datasets-dir", &datasets.to_string_lossy()]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "no abort: {stderr}");
    let huge = line(&stdout, "huge");
    assert!(
        huge.contains("problem:")
            && huge.contains("huge_x.npy")
            && huge.contains(
                "declares float32 [2, 1000000000000] (8000000000000 bytes of values), but only 0 bytes"
            )
            && huge.contains("truncated or its header is damaged"),
        "{huge}"
    );
    assert!(line(&stdout, "iris").contains("150"), "{stdout}");
    // The same pair in an .npz: the zip's directory declares the entry's real size.
    let npz = zip_bytes(&[("x.npy".to_string(), x), ("y.npy".to_string(), y)]);
    write(&datasets, "packed.npz", npz);
    let out = workbench(dir.path(), &["datasets", "--datasets-dir", &datasets.to_string_lossy()]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let packed = line(&stdout, "packed");
    assert!(packed.contains("entry x.npy: declares float32 [2, 1000000000000]"), "{packed}");
}

#[test]
fn npz_entries_go_through_the_zip_checks() {
    let dir = project("");
    std::fs::write(dir.path().join("config.toml"), "[images]\nmax_total_bytes = 4096\n").unwrap();
    let datasets = dir.path().join("datasets");
    let y = npy::write_raw("|u1", &[2], vec![0, 1]);
    // An entry named to escape the archive's folder: refused as image archives' are.
    let escaping = zip_bytes(&[("../x.npy".to_string(), y.clone()), ("y.npy".to_string(), y.clone())]);
    write(&datasets, "slip.npz", escaping);
    // 8 KiB of zeros: it compresses to a few bytes, but unpacks past max_total_bytes.
    let x = npy::write_f32(&[2, 1024], &[0.0; 2048]);
    let bomb = zip_bytes(&[("x.npy".to_string(), x), ("y.npy".to_string(), y)]);
    write(&datasets, "bomb.npz", bomb);
    let out = workbench(dir.path(), &["datasets"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(line(&stdout, "slip").contains("zip-slip"), "{stdout}");
    let bomb = line(&stdout, "bomb");
    assert!(bomb.contains("over the limit of 4096") && bomb.contains("possible zip bomb"), "{bomb}");
}

#[test]
fn an_image_whose_header_declares_a_huge_size_is_refused_before_a_buffer_is_sized() {
    let dir = project("");
    let folder = dir.path().join("datasets/giant");
    std::fs::create_dir_all(folder.join("a")).unwrap();
    std::fs::create_dir_all(folder.join("b")).unwrap();
    // A 1×1 PNG whose IHDR says 100000×100000 (the CRC fixed up): 10^10 bytes once decoded.
    let mut png = png_gray(1, 1, 0);
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&png[12..29]);
    png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    std::fs::write(folder.join("a/1.png"), &png).unwrap();
    std::fs::write(folder.join("b/1.png"), &png).unwrap();
    let out = workbench(dir.path(), &["datasets"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let giant = line(&stdout, "giant");
    assert!(
        giant
            .contains("is 100000×100000 pixels (10000000000 bytes once decoded), over the limit of 67108864"),
        "{giant}"
    );
}

#[test]
fn a_layer_size_past_the_bound_is_an_error_naming_the_layer_in_config_toml() {
    let dir = project("\n[models.bad]\nlayers = [\"linear 9223372036854775807\", \"relu\", \"linear\"]\n");
    let out = workbench(dir.path(), &["models", "bad", "--dataset", "iris"]);
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(!stderr.contains("internal error"), "{stderr}");
    assert!(
        stderr.contains(
            "layer 1 `linear 9223372036854775807`: the output size \"9223372036854775807\" must be a whole number \
             from 1 to 16777216"
        ),
        "{stderr}"
    );
}

#[test]
fn a_layer_size_past_the_bound_typed_in_the_tui_is_refused_and_the_tui_keeps_drawing() {
    use workbench::app::form::Field;
    use workbench::train::ModelChoice;
    let runs = tempdir();
    let mut s = common::tui::settings(runs.path());
    s.cache_dir = runs.path().join("cache");
    let layers = ["linear 64", "relu", "linear"].map(String::from).to_vec();
    s.models.stacks.insert("net".into(), workbench::models::StackConfig { layers: layers.clone() });
    let catalog = workbench::data::Catalog::scan_settings(&s);
    let mut app = workbench::app::App::new(s, false);
    app.update(workbench::app::Event::Catalog(catalog));
    app.update(workbench::app::Event::Devices(common::tui::devices(0)));
    // Into the form, with our stack chosen.
    common::tui::press(&mut app, &[common::tui::key(KeyCode::Tab)]);
    app.form.set_choice(ModelChoice::Custom("net".into()));
    assert_eq!(app.form.values.layers, layers);
    // Down to the first layer's width and type i64::MAX over it.
    let width = Field::LayerArg { layer: 0, word: 1 };
    for _ in 0..40 {
        if app.form.fields()[app.form.selected] == width {
            break;
        }
        common::tui::press(&mut app, &[common::tui::ch('j')]);
    }
    assert_eq!(app.form.fields()[app.form.selected], width);
    let mut keys = vec![common::tui::key(KeyCode::Enter)];
    keys.extend((0..4).map(|_| common::tui::key(KeyCode::Backspace)));
    keys.extend("9223372036854775807".chars().map(common::tui::ch));
    keys.push(common::tui::key(KeyCode::Enter));
    common::tui::press(&mut app, &keys);
    let error = app.form.error.clone().unwrap_or_default();
    assert!(
        error.contains("layer 1 `linear 9223372036854775807`: the output size") && error.contains("16777216"),
        "{error}"
    );
    assert_eq!(app.form.values.layers, layers, "the stack is unchanged");
    let screen = common::tui::screen(&app, 140, 45);
    assert!(screen.contains("linear 64"), "the form still draws its summary: {screen}");
}

/// An event file: the version record, then `value` at step 1 as the only value of a summary.
fn event_file(value: summary::Value) -> Vec<u8> {
    let mut bytes = Vec::new();
    encode_file_version(1.0, &mut bytes);
    let event = proto::Event {
        wall_time: 2.0,
        step: 1,
        what: Some(proto::event::What::Summary(proto::Summary { value: vec![value] })),
    };
    encode_record(&event.encode_to_vec(), &mut bytes);
    bytes
}

/// A project with `logs/exp/events.out.tfevents.1.h.1.0` holding `bytes`.
fn logdir_with(bytes: &[u8]) -> tempfile::TempDir {
    let dir = project("");
    let run = dir.path().join("logs/exp");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(run.join("events.out.tfevents.1.h.1.0"), bytes).unwrap();
    dir
}

#[test]
fn an_event_tensor_declaring_dims_of_2_to_the_62_times_8_is_skipped_not_multiplied() {
    let tensor = proto::TensorProto {
        dtype: proto::DataType::DtFloat as i32,
        tensor_shape: Some(proto::TensorShapeProto {
            dim: [1i64 << 62, 8]
                .iter()
                .map(|&size| tensor_shape_proto::Dim { size, name: String::new() })
                .collect(),
            unknown_rank: false,
        }),
        float_val: vec![1.0],
        ..Default::default()
    };
    let value = summary::Value {
        tag: "loss".into(),
        metadata: Some(proto::SummaryMetadata {
            plugin_data: Some(summary_metadata::PluginData {
                plugin_name: "scalars".into(),
                content: Vec::new(),
            }),
            ..Default::default()
        }),
        value: Some(summary::value::Value::Tensor(tensor)),
        ..Default::default()
    };
    let dir = logdir_with(&event_file(value));
    let out = workbench(dir.path(), &["runs", "--logdir", "logs"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("internal error"), "{stderr}");
    assert!(line(&stdout, "exp").contains("tensorboard"), "{stdout}");
}

#[test]
fn an_event_record_declaring_a_huge_length_is_a_problem_naming_the_file_and_offset() {
    let mut bytes = Vec::new();
    encode_file_version(1.0, &mut bytes);
    let at = bytes.len();
    let len = (MAX_RECORD_LEN + 1).to_le_bytes();
    bytes.extend_from_slice(&len);
    bytes.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    bytes.extend_from_slice(&[0; 64]);
    let dir = logdir_with(&bytes);
    let out = workbench(dir.path(), &["runs", "--logdir", "logs"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let exp = line(&stdout, "exp");
    assert!(
        exp.contains(&format!(
            "events.out.tfevents.1.h.1.0: damaged from byte {at} on: a record declares 268435457 bytes of data, \
             over the 268435456 this reader accepts; read up to there"
        )),
        "{exp}"
    );
}

#[test]
fn a_lightning_csv_without_a_final_newline_is_not_buffered_without_bound() {
    use workbench::runs::external::CsvMetricsReader;
    let tmp = tempdir();
    let csv = tmp.path().join("metrics.csv");
    std::fs::write(&csv, "epoch,step,loss\n0,0,1.5\n0,1,1.").unwrap();
    let mut reader = CsvMetricsReader::new(&csv);
    assert_eq!(reader.read_new().unwrap()["loss"].len(), 1, "the cut line waits");
    let offset = reader.offset();
    assert!(reader.read_new().unwrap().is_empty());
    assert_eq!(reader.offset(), offset);
    // 2 MiB without a newline: refused with the file and where the line starts, every time.
    let mut f = std::fs::OpenOptions::new().append(true).open(&csv).unwrap();
    f.write_all(&vec![b'7'; 2 << 20]).unwrap();
    for _ in 0..2 {
        let err = reader.read_new().unwrap_err().to_string();
        assert!(
            err.contains(&format!("metrics.csv: the line at byte {offset} runs past 1048576 bytes")),
            "{err}"
        );
    }
    assert_eq!(reader.offset(), offset);
    // Rows before such a line in the same read are kept; the error follows.
    let mut bytes = b"epoch,step,loss\n0,0,1.5\n".to_vec();
    bytes.extend(vec![b'7'; 2 << 20]);
    std::fs::write(&csv, bytes).unwrap();
    let mut reader = CsvMetricsReader::new(&csv);
    assert_eq!(reader.read_new().unwrap()["loss"].len(), 1);
    assert!(reader.read_new().unwrap_err().to_string().contains("runs past 1048576 bytes"));
}
