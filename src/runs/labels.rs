//! Names for runs drawn together: the settings that differ among them (`lr=0.1 seed=2`), so a
//! legend of three Iris runs that differ only in their learning rate says so, instead of three
//! folder names that differ only in their time.
use super::RunMeta;

/// A run's settings by name, in a fixed order: what a legend may pick from.
fn settings(meta: &RunMeta) -> Vec<(String, String)> {
    let mut out = vec![
        ("dataset".to_string(), meta.dataset.clone()),
        ("model".to_string(), meta.model.clone()),
        ("device".to_string(), meta.device.clone()),
    ];
    match &meta.command {
        // A command's own params are its settings; its hyperparameters table is only defaults.
        Some(command) => out.extend(command.params.iter().map(|(k, v)| (k.clone(), v.clone()))),
        // Every training parameter but those already named (model, device) and the layers
        // (a stack's whole text; its numbers differ within it).
        None => out.extend(
            meta.hyperparameters
                .flag_texts()
                .into_iter()
                .filter(|(name, _)| !matches!(*name, "model" | "device" | "layers"))
                .map(|(k, v)| (k.to_string(), v)),
        ),
    }
    out
}

/// `lr=0.1 seed=2` for each run: the settings whose values are not all the same. `None` (name
/// them by their ids) for fewer than two runs, a run without run.toml, or runs that differ in
/// nothing the settings show, or whose labels would not tell them apart.
pub fn differing_labels(metas: &[Option<&RunMeta>]) -> Option<Vec<String>> {
    if metas.len() < 2 {
        return None;
    }
    let all: Vec<Vec<(String, String)>> = metas.iter().map(|m| m.map(settings)).collect::<Option<_>>()?;
    let value =
        |run: &[(String, String)], name: &str| run.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut names: Vec<String> = Vec::new();
    for run in &all {
        for (name, _) in run {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
    }
    // A setting differs when the runs that have it don't all share its value; a run without it
    // (a command run has no `epochs`) just leaves it out of its name.
    let differing: Vec<&String> = names
        .iter()
        .filter(|name| {
            all.iter().filter_map(|run| value(run, name)).collect::<std::collections::BTreeSet<_>>().len() > 1
        })
        .collect();
    if differing.is_empty() {
        return None;
    }
    let labels: Vec<String> = all
        .iter()
        .map(|run| {
            let parts = differing.iter().filter_map(|name| Some(format!("{name}={}", value(run, name)?)));
            parts.collect::<Vec<_>>().join(" ")
        })
        .collect();
    let distinct: std::collections::BTreeSet<&String> = labels.iter().collect();
    (distinct.len() == labels.len()).then_some(labels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::RunKind;
    use crate::params::TrainSpec;

    fn meta(lr: f64, seed: u64) -> RunMeta {
        let spec = TrainSpec { lr, seed, dataset: "iris".into(), ..TrainSpec::default() };
        RunMeta::queued(RunKind::Train, "iris".into(), "mlp".into(), "cpu".into(), "CPU".into(), spec)
    }

    #[test]
    fn runs_are_named_by_what_differs() {
        let (a, b, c) = (meta(0.1, 1), meta(0.01, 1), meta(0.1, 2));
        let labels = differing_labels(&[Some(&a), Some(&b), Some(&c)]).unwrap();
        assert_eq!(labels, ["lr=0.1 seed=1", "lr=0.01 seed=1", "lr=0.1 seed=2"]);
        assert_eq!(differing_labels(&[Some(&a), Some(&b)]).unwrap(), ["lr=0.1", "lr=0.01"]);
    }

    #[test]
    fn ids_stay_when_nothing_tells_the_runs_apart() {
        let (a, b) = (meta(0.1, 1), meta(0.1, 1));
        assert_eq!(differing_labels(&[Some(&a), Some(&b)]), None, "the same settings twice");
        assert_eq!(differing_labels(&[Some(&a)]), None, "one run");
        assert_eq!(differing_labels(&[Some(&a), None]), None, "a run without run.toml");
    }

    #[test]
    fn a_command_run_is_named_by_its_params() {
        let mut a = meta(0.01, 42);
        a.kind = RunKind::Command;
        a.model = "train.py".into();
        a.command = Some(crate::command::CommandInfo {
            argv: vec!["python3".into(), "train.py".into()],
            cwd: "/w".into(),
            stop_grace_s: 10.0,
            stdout_metrics: true,
            name: None,
            git_commit: None,
            git_dirty: None,
            exit_code: None,
            signal: None,
            elapsed_s: None,
            env: Default::default(),
            params: [("lr".to_string(), "0.5".to_string())].into(),
        });
        let b = meta(0.01, 42);
        let labels = differing_labels(&[Some(&a), Some(&b)]).unwrap();
        assert_eq!(labels[0], "model=train.py lr=0.5");
        assert_eq!(labels[1], "model=mlp lr=0.01", "settings only one side has are left out");
    }
}
