//! What may go into a job file, and how: every path and `[cluster]` value that lands in an
//! `#SBATCH` line, a shell line or an HTCondor submit command passes through here, quoted the way
//! the reader of that line unquotes it, or refused with the reason.
//!
//! - `#SBATCH` lines are split by sbatch itself (`get_argument` in Slurm's source): whitespace
//!   ends an argument unless inside `"..."` or `'...'`, a backslash escapes the next character,
//!   and an unquoted `#` ends the line. sbatch also blanks out the words `packjob`/`hetjob`
//!   anywhere in the line. In `--output`/`--error` a `%` starts a filename pattern (`%%` is a
//!   literal `%`) and a backslash anywhere turns the patterns off (so `slurm-%j.out` would not
//!   name the job).
//! - Shell lines get POSIX single quotes ([`shell_quote`]).
//! - An HTCondor submit command's value is the rest of its line: no quoting exists, `$(...)` is
//!   a macro, a trailing backslash joins the next line, and `transfer_input_files` is split at
//!   commas and spaces.
//!
//! Nothing can make a line break safe in any of them: a value with a control character is refused.
use std::path::Path;

use super::ClusterError;

/// The Slurm job script, as errors name it.
pub(super) const SBATCH_FILE: &str = "Slurm job script (job.sbatch)";
/// The HTCondor submit description, as errors name it.
pub(super) const CONDOR_FILE: &str = "HTCondor submit file (job.sub)";

fn refuse(what: &str, value: &str, file: &'static str, reason: &str) -> ClusterError {
    ClusterError::UnsafeValue {
        what: what.to_string(),
        value: value.to_string(),
        file,
        reason: reason.to_string(),
    }
}

/// `value` if it holds no control character (a line break would start a new line).
pub(super) fn no_controls<'a>(
    what: &str,
    value: &'a str,
    file: &'static str,
) -> Result<&'a str, ClusterError> {
    if value.chars().any(char::is_control) {
        return Err(refuse(
            what,
            value,
            file,
            "it holds a control character (a line break would start a new line of the job file)",
        ));
    }
    Ok(value)
}

/// A path as text: UTF-8 and without control characters.
pub(super) fn path_text<'a>(what: &str, path: &'a Path, file: &'static str) -> Result<&'a str, ClusterError> {
    let text = path.to_str().ok_or_else(|| {
        refuse(what, &path.to_string_lossy(), file, "it is not valid UTF-8, which the job file can't carry")
    })?;
    no_controls(what, text, file)
}

/// A path for an `#SBATCH` line, checked: no backslash (it turns off Slurm's `%j`) and neither
/// `packjob` nor `hetjob` (sbatch blanks them out). Quote it with [`sbatch_quote`].
pub(super) fn sbatch_path<'a>(what: &str, path: &'a Path) -> Result<&'a str, ClusterError> {
    let text = path_text(what, path, SBATCH_FILE)?;
    if text.contains('\\') {
        return Err(refuse(
            what,
            text,
            SBATCH_FILE,
            "it holds a backslash, which makes Slurm ignore %j in the output file's name; rename the folder",
        ));
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("packjob") || lower.contains("hetjob") {
        return Err(refuse(
            what,
            text,
            SBATCH_FILE,
            "sbatch reads \"packjob\"/\"hetjob\" anywhere in an #SBATCH line as the start of another job; rename the folder",
        ));
    }
    Ok(text)
}

/// A literal text inside one of Slurm's filename patterns (`--output`, `--error`): `%` doubled.
pub(super) fn slurm_pattern_literal(text: &str) -> String {
    text.replace('%', "%%")
}

/// One `#SBATCH` argument: as it is when it is plain, else in double quotes with `"` and `\`
/// escaped, so whitespace, `#` and quotes stay part of it.
pub(super) fn sbatch_quote(value: &str) -> String {
    let plain = !value.is_empty() && !value.chars().any(|c| c.is_whitespace() || "#\"'\\".contains(c));
    if plain {
        value.to_string()
    } else {
        format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// A name that stands alone in an `#SBATCH --opt=NAME` line (a partition, the job's name): letters,
/// digits and `- _ . , + : @ =`, not starting with `-`.
pub(super) fn sbatch_word<'a>(what: &str, value: &'a str) -> Result<&'a str, ClusterError> {
    let ok = !value.is_empty()
        && !value.starts_with('-')
        && value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.,+:@=".contains(c));
    if ok {
        Ok(value)
    } else {
        Err(refuse(
            what,
            value,
            SBATCH_FILE,
            "it may hold only letters, digits and - _ . , + : @ = (and may not start with -)",
        ))
    }
}

/// A path for a shell line of a job script: checked, then single-quoted.
pub(super) fn shell_path(what: &str, path: &Path, file: &'static str) -> Result<String, ClusterError> {
    path_text(what, path, file).map(shell_quote)
}

/// Quote a string for a POSIX shell (single quotes).
pub(crate) fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A path for an HTCondor submit command. The submit language can't quote, so a path with
/// whitespace, a comma, `$`, a quote, `#` or a backslash is refused.
pub(super) fn condor_path<'a>(what: &str, path: &'a Path) -> Result<&'a str, ClusterError> {
    let text = path_text(what, path, CONDOR_FILE)?;
    if text.chars().any(|c| c.is_whitespace() || ",$\"'#\\".contains(c)) {
        return Err(refuse(
            what,
            text,
            CONDOR_FILE,
            "HTCondor's submit language has no quoting for whitespace , $ ' \" # or \\ in a path \
             (file lists are split at commas and spaces, $(...) is a macro); use a folder whose path has none",
        ));
    }
    Ok(text)
}

/// A `[cluster.condor]` value written as the rest of a submit command's line.
pub(super) fn condor_value<'a>(what: &str, value: &'a str) -> Result<&'a str, ClusterError> {
    let value = no_controls(what, value, CONDOR_FILE)?;
    // HTCondor reads a line that ends in a backslash as continued on the next one, which would
    // join this value with the submit command after it.
    if value.trim_end().ends_with('\\') {
        return Err(refuse(
            what,
            value,
            CONDOR_FILE,
            "it may not end in \\ (HTCondor would join it with the next line)",
        ));
    }
    Ok(value)
}

/// A value written inside `"..."` in a submit command (a ClassAd string): no quote or backslash.
pub(super) fn condor_string<'a>(what: &str, value: &'a str) -> Result<&'a str, ClusterError> {
    let value = condor_value(what, value)?;
    if value.contains(['"', '\\']) {
        return Err(refuse(
            what,
            value,
            CONDOR_FILE,
            "it is written inside \"...\" and may not hold \" or \\",
        ));
    }
    Ok(value)
}

/// A submit command's name from `[cluster.condor] extra`: `request_xyz`, `+Attribute`, `MY.Attribute`.
pub(super) fn condor_key<'a>(what: &str, key: &'a str) -> Result<&'a str, ClusterError> {
    let name = key.strip_prefix('+').unwrap_or(key);
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if ok {
        Ok(key)
    } else {
        Err(refuse(
            what,
            key,
            CONDOR_FILE,
            "a submit command's name is letters, digits, _ and . (with + in front for a job attribute)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sbatch_arguments_are_quoted_the_way_sbatch_unquotes_them() {
        assert_eq!(sbatch_quote("/shared/runs/x/slurm-%j.out"), "/shared/runs/x/slurm-%j.out");
        assert_eq!(sbatch_quote("/shared/my runs/x"), "\"/shared/my runs/x\"");
        assert_eq!(sbatch_quote("/a#b"), "\"/a#b\"");
        assert_eq!(sbatch_quote("/it's \"x\""), "\"/it's \\\"x\\\"\"");
        assert_eq!(slurm_pattern_literal("/runs/100%/x"), "/runs/100%%/x");
    }

    #[test]
    fn what_no_quoting_can_carry_is_refused_with_the_reason() {
        let e = sbatch_path("the run folder", Path::new("/shared/a\nb")).unwrap_err().to_string();
        assert!(e.contains("the run folder \"/shared/a\\nb\"") && e.contains("line break"), "{e}");
        assert!(sbatch_path("x", Path::new("/a\\b")).unwrap_err().to_string().contains("backslash"));
        assert!(sbatch_path("x", Path::new("/runs/hetjob")).is_err());
        let e = sbatch_word("the partition (--partition)", "gpu --qos=high").unwrap_err().to_string();
        assert!(e.contains("the partition (--partition) \"gpu --qos=high\"") && e.contains("letters"), "{e}");
        assert!(sbatch_word("p", "-all").is_err());
        assert_eq!(sbatch_word("p", "gpu,debug").unwrap(), "gpu,debug");
        assert!(condor_path("the runs folder", Path::new("/home/me/my runs")).is_err());
        assert!(condor_path("x", Path::new("/home/$(Owner)")).is_err());
        assert_eq!(condor_path("x", Path::new("/home/me/runs")).unwrap(), "/home/me/runs");
        assert!(condor_string("x", "short\"\nqueue").is_err());
        assert!(condor_key("x", "+WantGPULab").is_ok() && condor_key("x", "MY.Thing").is_ok());
        assert!(condor_key("x", "queue\nexecutable").is_err() && condor_key("x", "").is_err());
    }
}
