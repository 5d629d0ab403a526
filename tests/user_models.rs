//! Models of the user's own: a layer stack from config that learns the shipped shapes, a wrong
//! stack refused before training with the layer and the shapes named, and a stack run stopped,
//! resumed and reloaded from its checkpoint; a TorchScript run keeps its own copy of the module.
// Test code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use common::*;
use workbench::config::{ConfigFile, Settings};
use workbench::device;
use workbench::models::StackConfig;
use workbench::runs::load_run;
use workbench::train::models::load_checkpoint;
use workbench::train::process::run_in_folder;
use workbench::train::resume::check_resumable;
use workbench::train::{plan, ModelChoice, ModelKind, RunFolder, RunRequest, TrainMsg};

fn layers(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Settings whose config.toml defines `models`, with runs going to `runs`.
fn settings(models: &[(&str, Vec<String>)], runs: &Path) -> Settings {
    let stacks = models.iter().map(|(n, l)| (n.to_string(), StackConfig { layers: l.clone() })).collect();
    let file = ConfigFile { models: stacks, ..ConfigFile::default() };
    let mut s = Settings::from_file(file, &repo(), None);
    s.datasets_dir = shipped_datasets();
    s.runs_dir = runs.to_path_buf();
    s.cache_dir = runs.join("cache");
    s
}

fn custom_spec(dataset: &str, name: &str) -> workbench::train::TrainSpec {
    let mut s = spec(dataset, ModelKind::Mlp);
    s.model = ModelChoice::Custom(name.into());
    s.threads = 1;
    s
}

/// libtorch has one random generator per process. The workbench seeds it under a lock before each
/// draw of its own (split, init, batch order), but a dropout layer draws from it mid-step, so two
/// runs training at once in one test process would change each other's batch order. Run
/// processes never share a process; here, the tests train one run at a time.
static ONE_RUN_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_run_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_RUN_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// [`common::run_until`], one run at a time (see [`ONE_RUN_AT_A_TIME`]).
fn run_until(request: RunRequest, folder: RunFolder, stop_after: Option<u32>) -> Vec<TrainMsg> {
    let _one = one_run_at_a_time();
    common::run_until(request, folder, stop_after)
}

#[test]
fn a_layer_stack_from_config_learns_the_shipped_shapes() {
    let runs = tempdir();
    let cnn = layers(&[
        "conv 8 3 pad=1",
        "relu",
        "maxpool 2",
        "conv 16 3 pad=1",
        "relu",
        "maxpool 2",
        "flatten",
        "dropout 0.25",
        "linear 32",
        "relu",
        "linear",
    ]);
    let settings = settings(&[("small-cnn", cnn.clone())], runs.path());
    let catalog = shipped_catalog();
    let mut s = custom_spec("shapes", "small-cnn");
    s.epochs = 8;
    let planned = plan(&settings, &s, &catalog, &device::probe()).unwrap();
    assert_eq!(planned.spec.layers, cnn, "the plan fills in the stack's layers");
    let out = {
        let _one = one_run_at_a_time();
        train_request(planned)
    };
    assert!(matches!(out.last(), TrainMsg::Finished { .. }), "{:?}", out.last());
    let epochs = out.epochs();
    let acc = epochs.last().and_then(|e| e.val_metric).unwrap();
    assert!(acc >= 0.9, "validation accuracy {acc} after {} epochs", epochs.len());
    let record = load_run(&out.run_dir()).unwrap();
    assert_eq!(record.meta.hyperparameters.model, ModelChoice::Custom("small-cnn".into()));
    assert_eq!(record.meta.hyperparameters.layers, cnn, "run.toml records the layers");
    let text = std::fs::read_to_string(out.run_dir().join("run.toml")).unwrap();
    assert!(text.contains("model = \"small-cnn\""), "{text}");
}

#[test]
fn a_wrong_stack_is_refused_before_training_naming_the_layer_and_the_shapes() {
    let runs = tempdir();
    let bad = layers(&["conv 8 3 pad=1", "relu", "maxpool 4", "relu", "linear 16", "linear"]);
    let settings = settings(&[("bad", bad)], runs.path());
    let catalog = shipped_catalog();
    let e =
        plan(&settings, &custom_spec("shapes", "bad"), &catalog, &device::probe()).unwrap_err().to_string();
    assert!(
        e.contains("layer 5 `linear 16`: expects a flat input, got [8, 7, 7]; add `flatten` before it"),
        "{e}"
    );
    // A conv on a table: the layer, and that tables need linear.
    let settings2 = self::settings(&[("c", layers(&["conv 4 3", "flatten", "linear"]))], runs.path());
    let e = plan(&settings2, &custom_spec("iris", "c"), &catalog, &device::probe()).unwrap_err().to_string();
    assert!(e.contains("layer 1 `conv 4 3`") && e.contains("got the flat input [4]"), "{e}");
    // An unknown name lists the models there are.
    let e =
        plan(&settings2, &custom_spec("iris", "nope"), &catalog, &device::probe()).unwrap_err().to_string();
    assert!(e.contains("no model named \"nope\"") && e.contains("mlp") && e.contains(", c"), "{e}");
}

#[test]
fn a_stack_run_resumes_with_the_same_curve_and_its_checkpoint_reloads() {
    let stack = layers(&["linear 16", "batchnorm", "relu", "residual [", "linear 16", "tanh", "]", "linear"]);
    let catalog = shipped_catalog();
    let runs = tempdir();
    let settings = settings(&[("res", stack.clone())], runs.path());
    let mut s = custom_spec("iris", "res");
    s.epochs = 4;
    let req = || plan(&settings, &s, &catalog, &device::probe()).unwrap();
    let whole = final_dir(&run_until(req(), RunFolder::New, None));
    let stopped = final_dir(&run_until(req(), RunFolder::New, Some(2)));
    check_resumable(&stopped).unwrap();
    // Resume rebuilds the stack from run.toml alone: a plan without the config's [models].
    let bare = self::settings(&[], runs.path());
    let record = load_run(&stopped).unwrap();
    let resumed = plan(&bare, &record.meta.hyperparameters, &catalog, &device::probe()).unwrap();
    let out = run_until(resumed, RunFolder::Resume(stopped.clone()), None);
    assert!(matches!(out.last(), Some(TrainMsg::Finished { .. })), "{:?}", out.last());
    let (a, b) = (load_run(&whole).unwrap().epochs, load_run(&stopped).unwrap().epochs);
    assert_eq!(a.len(), 4);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert!(
            (x.train_loss - y.train_loss).abs() < 1e-5,
            "epoch {}: {} vs {}",
            x.epoch,
            x.train_loss,
            y.train_loss
        );
    }
    // The checkpoint carries nn.Sequential's names, batch norm's running statistics included.
    let learner = load_checkpoint(&load_run(&whole).unwrap(), tch::Device::Cpu).unwrap();
    let names: BTreeMap<String, Vec<i64>> =
        learner.var_store().variables().into_iter().map(|(n, t)| (n, t.size())).collect();
    assert_eq!(names["0.weight"], [16, 4]);
    assert_eq!(names["1.running_mean"], [16]);
    assert_eq!(names["3.body.0.weight"], [16, 16]);
    assert_eq!(names["4.weight"], [3, 16]);
}

/// The tensor names in a safetensors file, sorted, read from its JSON header (as Python's
/// `safetensors.safe_open(...).keys()` would list them), not through libtorch.
fn safetensors_keys(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + len]).unwrap();
    let mut keys: Vec<String> = header.into_iter().map(|(k, _)| k).filter(|k| k != "__metadata__").collect();
    keys.sort();
    keys
}

/// Settings whose models folder is `dir`.
fn settings_with_models_dir(dir: &Path, runs: &Path) -> Settings {
    let mut s = settings(&[], runs);
    s.models.dir = dir.to_path_buf();
    s
}

#[test]
fn the_shipped_torchscript_model_learns_iris_and_resumes() {
    let runs = tempdir();
    let settings = settings(&[], runs.path());
    assert_eq!(settings.models.dir, repo().join("models"));
    let catalog = shipped_catalog();
    let mut s = custom_spec("iris", "iris_mlp");
    s.epochs = 30;
    let req = || plan(&settings, &s, &catalog, &device::probe()).unwrap();
    let whole = run_until(req(), RunFolder::New, None);
    assert!(matches!(whole.last(), Some(TrainMsg::Finished { .. })), "{:?}", whole.last());
    let record = load_run(&final_dir(&whole)).unwrap();
    let acc = record.epochs.last().and_then(|e| e.val_metric).unwrap();
    assert!(acc >= 0.9, "validation accuracy {acc}");
    // Its parameters are the run's, held as `fc1_weight` (a VarStore name can't hold a `.`) ...
    let learner = load_checkpoint(&record, tch::Device::Cpu).unwrap();
    let names: Vec<String> = learner.var_store().variables().into_keys().collect();
    assert!(names.contains(&"fc1_weight".to_string()), "{names:?}");
    // ... and checkpointed under the module's own names, so the original PyTorch module's
    // load_state_dict takes model.safetensors as it is.
    let module = tch::CModule::load(repo().join("models/iris_mlp.pt")).unwrap();
    let mut wanted: Vec<String> = module.named_parameters().unwrap().into_iter().map(|(n, _)| n).collect();
    wanted.sort();
    assert!(wanted.contains(&"fc1.weight".to_string()), "{wanted:?}");
    assert_eq!(safetensors_keys(&record.dir.join("model.safetensors")), wanted);
    let state: Vec<String> = safetensors_keys(&record.dir.join("train_state.safetensors"))
        .into_iter()
        .filter_map(|k| k.strip_prefix("model.").map(str::to_string))
        .collect();
    assert_eq!(state, wanted, "the resume state's copy of the weights too");

    let stopped = final_dir(&run_until(req(), RunFolder::New, Some(10)));
    // A run checkpointed by an earlier version holds the VarStore's names (`fc1_weight`): it
    // still reloads and resumes.
    for file in ["model.safetensors", "train_state.safetensors"] {
        let path = stopped.join(file);
        let old: Vec<(String, tch::Tensor)> = tch::Tensor::read_safetensors(&path)
            .unwrap()
            .into_iter()
            .map(|(n, t)| match n.strip_prefix("model.") {
                Some(rest) => (format!("model.{}", rest.replace('.', "_")), t),
                None if file == "model.safetensors" => (n.replace('.', "_"), t),
                None => (n, t),
            })
            .collect();
        tch::Tensor::write_safetensors(&old, &path).unwrap();
    }
    assert!(safetensors_keys(&stopped.join("model.safetensors")).contains(&"fc1_weight".to_string()));
    load_checkpoint(&load_run(&stopped).unwrap(), tch::Device::Cpu).expect("an older checkpoint reloads");
    check_resumable(&stopped).unwrap();
    let out = run_until(req(), RunFolder::Resume(stopped.clone()), None);
    assert!(matches!(out.last(), Some(TrainMsg::Finished { .. })), "{:?}", out.last());
    let (a, b) = (record.epochs, load_run(&stopped).unwrap().epochs);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert!(
            (x.train_loss - y.train_loss).abs() < 1e-5,
            "epoch {}: {} vs {}",
            x.epoch,
            x.train_loss,
            y.train_loss
        );
    }
}

#[test]
fn a_pt_file_that_is_not_torchscript_is_refused_naming_the_file() {
    let dir = tempdir();
    write(dir.path(), "fake.pt", b"not a zip archive at all");
    let runs = tempdir();
    let settings = settings_with_models_dir(dir.path(), runs.path());
    let catalog = shipped_catalog();
    let planned = plan(&settings, &custom_spec("iris", "fake"), &catalog, &device::probe()).unwrap();
    let out = {
        let _one = one_run_at_a_time();
        train_request(planned)
    };
    let TrainMsg::Failed { error, .. } = out.last() else { panic!("{:?}", out.last()) };
    let text = error.to_string();
    assert!(text.contains("fake.pt is not a TorchScript module"), "{text}");
    assert!(text.contains("torch.jit.script(model).save"), "{text}");
}

#[test]
fn a_torchscript_run_keeps_its_module_and_resumes_after_models_lost_it() {
    let models = tempdir();
    let module = models.path().join("mine.pt");
    std::fs::copy(repo().join("models/iris_mlp.pt"), &module).unwrap();
    let runs = tempdir();
    let settings = settings_with_models_dir(models.path(), runs.path());
    let mut s = custom_spec("iris", "mine");
    s.epochs = 20;
    let planned = plan(&settings, &s, &shipped_catalog(), &device::probe()).unwrap();
    let stopped = final_dir(&run_until(planned, RunFolder::New, Some(8)));
    let copy = stopped.join(workbench::train::script_net::RUN_COPY);
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&module).unwrap(), "the run keeps its module");

    // The student overwrites models/mine.pt, then resumes: the run's own copy is trained.
    std::fs::write(&module, b"not the model any more").unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let end = {
        let _one = one_run_at_a_time();
        run_in_folder(&settings, &stopped, true, &device::probe(), flag, &mut |_| {}).unwrap()
    };
    assert!(matches!(end, TrainMsg::Finished { .. }), "{end:?}");
    let record = load_run(&stopped).unwrap();
    assert_eq!(record.epochs.len(), 20);
    let named = format!("torchscript {}", module.display());
    assert_eq!(record.meta.hyperparameters.layers, vec![named], "run.toml still names the original");
    load_checkpoint(&record, tch::Device::Cpu).expect("the checkpoint reloads with the run's copy");
}

#[test]
fn a_torchscript_module_with_nothing_to_train_is_refused_saying_why() {
    let runs = tempdir();
    let settings = settings_with_models_dir(&repo().join("tests/fixtures/torchscript"), runs.path());
    let catalog = shipped_catalog();
    for (name, frozen) in [("no_params", None), ("frozen", Some("(2 tensors have requires_grad off)"))] {
        let planned = plan(&settings, &custom_spec("iris", name), &catalog, &device::probe()).unwrap();
        let out = {
            let _one = one_run_at_a_time();
            train_request(planned)
        };
        let TrainMsg::Failed { error, .. } = out.last() else { panic!("{:?}", out.last()) };
        let text = error.to_string();
        assert!(text.contains(&format!("model {name}: nothing to train")), "{text}");
        assert!(!text.contains("torch.cat"), "no bare libtorch error: {text}");
        if let Some(frozen) = frozen {
            assert!(text.contains(frozen), "{text}");
        }
    }
}
