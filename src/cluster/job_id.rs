//! A scheduler's job id, checked once wherever it comes from.
//!
//! A job id ends up as an argument of `scancel`, `condor_rm`, `squeue` and `condor_q`. Read back
//! from a `job.toml` that anyone with write access to the runs folder may have edited, an id
//! like `-all` would make `condor_rm -all` remove every job of the user. So an id is only ever
//! held as a [`JobId`]: digits (Slurm) or `CLUSTER.PROC` (HTCondor), never starting with `-`.
use std::fmt;

use serde::{Deserialize, Serialize};

use super::Scheduler;

/// The longest id accepted: far beyond any real one, short enough to show in a message.
const MAX_LEN: usize = 41;

/// A job id: `1234` (Slurm) or `1234.0` (HTCondor's cluster.proc).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JobId(String);

/// Why a text is not a job id; the message quotes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a {what} job id ({form}); it is not passed to the scheduler")]
pub struct BadJobId {
    text: String,
    what: &'static str,
    form: &'static str,
}

impl JobId {
    /// Check `text` as an id of `scheduler`: digits for Slurm, `CLUSTER.PROC` for HTCondor.
    pub fn parse(scheduler: Scheduler, text: &str) -> Result<JobId, BadJobId> {
        let ok = match scheduler {
            Scheduler::Slurm => is_number(text),
            Scheduler::Condor => text.split_once('.').is_some_and(|(c, p)| is_number(c) && is_number(p)),
        };
        if ok && text.len() <= MAX_LEN {
            Ok(JobId(text.to_string()))
        } else {
            Err(bad(text, scheduler_name(scheduler), scheduler_form(scheduler)))
        }
    }

    /// Whether this id has the form of `scheduler`'s ids (a `job.toml` names both).
    pub fn fits(&self, scheduler: Scheduler) -> Result<(), BadJobId> {
        JobId::parse(scheduler, &self.0).map(|_| ())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn scheduler_name(scheduler: Scheduler) -> &'static str {
    match scheduler {
        Scheduler::Slurm => "Slurm",
        Scheduler::Condor => "HTCondor",
    }
}

fn scheduler_form(scheduler: Scheduler) -> &'static str {
    match scheduler {
        Scheduler::Slurm => "digits, like 1234",
        Scheduler::Condor => "CLUSTER.PROC, like 1234.0",
    }
}

fn bad(text: &str, what: &'static str, form: &'static str) -> BadJobId {
    // Only a bounded, visible part of a hostile id goes into the message.
    let shown: String = text.chars().take(MAX_LEN).collect();
    BadJobId { text: crate::text::clean(&shown).into_owned(), what, form }
}

/// Any scheduler's form; which one is checked against the record's scheduler ([`JobId::fits`]).
impl TryFrom<String> for JobId {
    type Error = BadJobId;

    fn try_from(text: String) -> Result<JobId, BadJobId> {
        JobId::parse(Scheduler::Slurm, &text)
            .or_else(|_| JobId::parse(Scheduler::Condor, &text))
            .map_err(|_| bad(&text, "Slurm or HTCondor", "digits, or CLUSTER.PROC"))
    }
}

impl From<JobId> for String {
    fn from(id: JobId) -> String {
        id.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for JobId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for JobId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_digits_or_cluster_proc_are_ids() {
        assert_eq!(JobId::parse(Scheduler::Slurm, "1234").unwrap().as_str(), "1234");
        assert_eq!(JobId::parse(Scheduler::Condor, "4711.0").unwrap().as_str(), "4711.0");
        for hostile in ["-all", "", "12 34", "1234;rm", "-1", "1.2.3", "12.", ".0", "1\n2", "１２"] {
            assert!(JobId::parse(Scheduler::Slurm, hostile).is_err(), "{hostile:?}");
            assert!(JobId::parse(Scheduler::Condor, hostile).is_err(), "{hostile:?}");
        }
        assert!(JobId::parse(Scheduler::Slurm, "12.0").is_err(), "a step, not a job");
        assert!(JobId::parse(Scheduler::Condor, "12").is_err());
        assert!(JobId::parse(Scheduler::Slurm, &"9".repeat(100)).is_err());
        let e = JobId::try_from("-all".to_string()).unwrap_err().to_string();
        assert!(e.contains("\"-all\"") && e.contains("not passed to the scheduler"), "{e}");
    }
}
