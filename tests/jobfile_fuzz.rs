//! Property tests for the job-file writers: arbitrary run-folder paths, run ids, partitions and
//! `[cluster]` values never add a line, an `#SBATCH` option or a submit command to the job file.
//! Either a value is quoted so that sbatch (its own `#SBATCH` line splitter, re-implemented
//! below from Slurm's `get_argument`) reads it back whole, or the writer refuses it with an
//! error that names the key.
// Test code may unwrap and panic: a failure names its line (lints: Cargo.toml).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use proptest::prelude::*;
use workbench::cluster::config::{CondorConfig, SlurmConfig};
use workbench::cluster::{condor, slurm, JobSpec, Resources, Scheduler};

/// Characters that mean something to sbatch, the shell or HTCondor's submit language, and a few
/// plain ones; now and then any character at all.
fn nasty_text(max: usize) -> impl Strategy<Value = String> {
    const CHARS: &[char] = &[
        'a', 'b', '1', '/', '.', '-', '_', ' ', '\t', '\n', '\r', '#', '%', '\'', '"', '\\', '$', '(', ')',
        ',', '=', ';', '&', '|', '`', '*', 'é', '\u{1b}', '\u{85}', '\u{2028}',
    ];
    let one = prop_oneof![8 => proptest::sample::select(CHARS), 1 => any::<char>()];
    proptest::collection::vec(one, 0..max).prop_map(|v| v.into_iter().collect())
}

fn spec(scheduler: Scheduler, runs: &str, run_id: &str, partition: Option<String>) -> JobSpec {
    let runs_dir = PathBuf::from(format!("/shared/{runs}"));
    JobSpec {
        scheduler,
        run_id: run_id.to_string(),
        run_dir: runs_dir.join(run_id),
        binary: PathBuf::from("/shared/bin/workbench"),
        config: Some(PathBuf::from("/shared/me/config.toml")),
        datasets_dir: PathBuf::from("/shared/me/datasets"),
        runs_dir,
        dataset_path: PathBuf::from("/shared/me/datasets/iris.csv"),
        resources: Resources { gpus: 1, cpus: 2, time_s: Some(3600), mem_mib: Some(1024), partition },
        command: false,
    }
}

/// sbatch's reading of the rest of an `#SBATCH` line (Slurm's `get_argument`, in a loop):
/// whitespace separates arguments unless quoted, `\` escapes, an unquoted `#` ends the line.
/// `None` for an unmatched quote (sbatch exits with "Unmatched").
fn sbatch_arguments(rest: &str) -> Option<Vec<String>> {
    let mut args = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Some(args);
        }
        let (mut arg, mut quote, mut escaped, mut comment) = (String::new(), None, false, false);
        while let Some(&c) = chars.peek() {
            if quote.is_none() && c.is_ascii_whitespace() {
                break;
            }
            chars.next();
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
                continue;
            } else if let Some(q) = quote {
                if c == q {
                    quote = None;
                    continue;
                }
            } else if c == '"' || c == '\'' {
                quote = Some(c);
                continue;
            } else if c == '#' {
                comment = true;
                break;
            }
            arg.push(c);
        }
        if quote.is_some() {
            return None;
        }
        if !arg.is_empty() {
            args.push(arg);
        }
        if comment {
            return Some(args);
        }
    }
}

/// The job file's lines in the form that matters: `#SBATCH` lines by their option, other lines
/// by their first word (or `=`-assignment name).
fn shape(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| match l.strip_prefix("#SBATCH") {
            Some(rest) => format!("#SBATCH {}", rest.trim_start().split('=').next().unwrap_or("")),
            None => l.split([' ', '=', '(']).next().unwrap_or("").to_string(),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_slurm_script_never_gains_a_line_or_an_option(
        runs in nasty_text(24),
        partition in proptest::option::of(nasty_text(12)),
    ) {
        let cfg = SlurmConfig::default();
        let baseline = slurm::script(&spec(Scheduler::Slurm, "runs", "run-1", Some("gpu".into())), &cfg).unwrap();
        let job = spec(Scheduler::Slurm, &runs, "run-1", partition.clone());
        match slurm::script(&job, &cfg) {
            Ok(text) => {
                let want = if partition.is_some() { shape(&baseline) } else {
                    shape(&baseline).into_iter().filter(|l| l != "#SBATCH --partition").collect()
                };
                prop_assert_eq!(shape(&text), want, "{}", text);
                let dir = job.run_dir.to_str().unwrap();
                for line in text.lines().filter(|l| l.starts_with("#SBATCH")) {
                    let args = sbatch_arguments(&line["#SBATCH".len()..]);
                    let args = args.unwrap_or_else(|| panic!("unmatched quote in {line:?}"));
                    prop_assert_eq!(args.len(), 1, "one option per line: {:?}", line);
                    let (option, value) = args[0].split_once('=').unwrap_or((&args[0], ""));
                    match option {
                        "--output" => prop_assert_eq!(value, format!("{}/slurm-%j.out", dir.replace('%', "%%"))),
                        "--error" => prop_assert_eq!(value, format!("{}/slurm-%j.err", dir.replace('%', "%%"))),
                        "--chdir" => prop_assert_eq!(value, dir),
                        "--partition" => prop_assert_eq!(Some(value), partition.as_deref()),
                        _ => {}
                    }
                }
            }
            Err(e) => {
                let e = e.to_string();
                prop_assert!(
                    e.starts_with("the run folder ") || e.starts_with("the partition ") || e.starts_with("the runs folder "),
                    "{}", e
                );
            }
        }
    }

    #[test]
    fn a_condor_submit_file_never_gains_a_command(
        runs in nasty_text(24),
        length in nasty_text(8),
        extra_value in nasty_text(8),
    ) {
        let mut extra = BTreeMap::new();
        extra.insert("+ProjectName".to_string(), extra_value);
        let cfg = CondorConfig { gpu_job_length: Some(length), extra, ..CondorConfig::default() };
        let plain = CondorConfig {
            gpu_job_length: Some("short".into()),
            extra: [("+ProjectName".to_string(), "x".to_string())].into(),
            ..CondorConfig::default()
        };
        let baseline = condor::submit_description(&spec(Scheduler::Condor, "runs", "run-1", None), &plain).unwrap();
        let job = spec(Scheduler::Condor, &runs, "run-1", None);
        match condor::submit_description(&job, &cfg) {
            Ok(text) => {
                let keys = |t: &str| t.lines().map(|l| l.split(" = ").next().unwrap_or("").to_string()).collect::<Vec<_>>();
                prop_assert_eq!(keys(&text), keys(&baseline), "{}", text);
                prop_assert!(!text.contains('\r'), "{}", text);
                // A line ending in a backslash would be joined with the next submit command.
                prop_assert!(!text.lines().any(|l| l.trim_end().ends_with('\\')), "{}", text);
                let wrapper = condor::wrapper(&job, &cfg).unwrap();
                prop_assert_eq!(wrapper.lines().count(), condor::wrapper(&spec(Scheduler::Condor, "runs", "run-1", None), &plain).unwrap().lines().count());
            }
            Err(e) => {
                let e = e.to_string();
                prop_assert!(e.contains("can't be written into the HTCondor submit file"), "{}", e);
                prop_assert!(
                    e.starts_with("the run folder ") || e.starts_with("the runs folder ") || e.starts_with("[cluster.condor] "),
                    "{}", e
                );
            }
        }
    }
}

#[test]
fn the_sbatch_reader_here_reads_like_sbatch() {
    assert_eq!(sbatch_arguments(" --output=/a b").unwrap(), ["--output=/a", "b"]);
    assert_eq!(sbatch_arguments(" --output=\"/a b\"").unwrap(), ["--output=/a b"]);
    assert_eq!(sbatch_arguments(" --x=a#b").unwrap(), ["--x=a"]);
    assert_eq!(sbatch_arguments(" --x='a#b'").unwrap(), ["--x=a#b"]);
    assert_eq!(sbatch_arguments(" --x=\"a\\\"b\"").unwrap(), ["--x=a\"b"]);
    assert!(sbatch_arguments(" --x=\"ab").is_none());
}
