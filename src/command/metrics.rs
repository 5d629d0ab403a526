//! Metrics from a script that wasn't written for the workbench: one line of its stdout becomes
//! points when it is a JSON object (`{"step": 10, "loss": 0.31}`), a printed Python dict
//! (`{'loss': 0.31, 'epoch': 0.5}`, as Hugging Face's Trainer prints it), or carries `key=value`
//! or `key: value` pairs of numbers (`epoch 3 step=120 loss=0.312 acc: 0.91`).
//!
//! `step`, `global_step`, `iteration`/`iter` give the point's step and `epoch` its epoch; they are
//! not tags themselves. Text values, booleans and non-finite numbers are left out. Any bytes are
//! taken without a panic (see the property tests in tests/command_metrics.rs).

/// Keys that give a line's step, in order of preference.
const STEP_KEYS: [&str; 4] = ["step", "global_step", "iteration", "iter"];
/// The key that gives a line's epoch.
const EPOCH_KEY: &str = "epoch";
/// Lines longer than this are not looked at (a progress bar redrawn with `\r` for minutes).
const MAX_LINE: usize = 64 * 1024;
/// Tags longer than this are cut (a JSON key can be anything).
const MAX_TAG: usize = 128;

/// What one line of output says: its named numbers and where they sit on the x axis.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricLine {
    /// The step the line names (`step`, `global_step`, `iteration`, `iter`), if any.
    pub step: Option<i64>,
    /// The epoch the line names, if any (fractional for Hugging Face's Trainer).
    pub epoch: Option<f64>,
    /// Every other named number, in the order printed.
    pub values: Vec<(String, f64)>,
}

/// The metrics on one line of output, or `None` when it has no named number but its x keys.
pub fn parse_line(line: &[u8]) -> Option<MetricLine> {
    if line.len() > MAX_LINE {
        return None;
    }
    let text = String::from_utf8_lossy(line);
    // A `\r`-redrawn progress bar: only what was drawn last counts.
    let text = text.rsplit('\r').next().unwrap_or_default().trim();
    if text.is_empty() {
        return None;
    }
    let pairs = if text.starts_with('{') && text.ends_with('}') {
        json_pairs(text).or_else(|| dict_pairs(text)).unwrap_or_default()
    } else {
        text_pairs(text)
    };
    split_axes(pairs)
}

/// Take the x keys out of `pairs`; `None` when nothing else is left.
fn split_axes(pairs: Vec<(String, f64)>) -> Option<MetricLine> {
    let mut line = MetricLine { step: None, epoch: None, values: Vec::new() };
    let mut step_rank = usize::MAX;
    for (key, value) in pairs {
        let lower = key.to_ascii_lowercase();
        if let Some(rank) = STEP_KEYS.iter().position(|k| *k == lower) {
            if rank < step_rank && value.fract() == 0.0 && value.abs() < 9.0e15 {
                step_rank = rank;
                line.step = Some(value as i64);
            }
            continue;
        }
        if lower == EPOCH_KEY {
            line.epoch = Some(value);
            continue;
        }
        line.values.push((clean_tag(&key), value));
    }
    (!line.values.is_empty()).then_some(line)
}

/// A tag safe for one CSV field: no commas, quotes or control characters, at most [`MAX_TAG`].
fn clean_tag(key: &str) -> String {
    key.chars().take(MAX_TAG).map(|c| if c == ',' || c == '"' || c.is_control() { '_' } else { c }).collect()
}

/// A JSON object's top-level numbers.
fn json_pairs(text: &str) -> Option<Vec<(String, f64)>> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let object = value.as_object()?;
    Some(
        object
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_f64()?)))
            .filter(|(_, v)| v.is_finite())
            .collect(),
    )
}

/// A printed Python dict's numbers: `{'loss': 0.31, 'epoch': 1.0}`. Keys are quoted with `'` or
/// `"`; values that are not plain numbers (strings, lists, `True`) are skipped.
fn dict_pairs(text: &str) -> Option<Vec<(String, f64)>> {
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    let mut pairs = Vec::new();
    for item in split_top_level(inner) {
        let Some((key, value)) = item.split_once(':') else { continue };
        let key = key.trim();
        let quoted = key.len() >= 2
            && ((key.starts_with('\'') && key.ends_with('\''))
                || (key.starts_with('"') && key.ends_with('"')));
        if !quoted {
            continue;
        }
        if let Some(v) = number(value.trim()) {
            pairs.push((key[1..key.len() - 1].to_string(), v));
        }
    }
    Some(pairs)
}

/// Split on commas outside quotes and brackets.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0);
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[' | '(' | '{') => depth += 1,
            (None, ']' | ')' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A whole field that is a finite number (`0.31`, `5e-05`, `-3`, `12%` is not one).
fn number(field: &str) -> Option<f64> {
    let field = field.trim_end_matches(',');
    if field.is_empty() || !field.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) {
        return None;
    }
    field.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// `key=value` and `key: value` pairs of numbers anywhere in free text. A key starts with a
/// letter or `_` and holds letters, digits, `_`, `.`, `/` and `-`; the number must end at a space,
/// `,`, `;`, `|`, `)`, `]` or the line's end (so `eta: 0:01:02` and `at 12:30` are no pairs).
fn text_pairs(text: &str) -> Vec<(String, f64)> {
    let bytes = text.as_bytes();
    let mut pairs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_key =
            (bytes[i].is_ascii_alphabetic() || bytes[i] == b'_') && (i == 0 || !is_key_byte(bytes[i - 1]));
        if !starts_key {
            i += 1;
            continue;
        }
        let key_start = i;
        while i < bytes.len() && is_key_byte(bytes[i]) {
            i += 1;
        }
        let key_end = i;
        let mut j = i;
        while j < bytes.len() && bytes[j] == b' ' {
            j += 1;
        }
        if j >= bytes.len() || (bytes[j] != b'=' && bytes[j] != b':') {
            continue;
        }
        j += 1;
        while j < bytes.len() && bytes[j] == b' ' {
            j += 1;
        }
        let value_start = j;
        while j < bytes.len() && (bytes[j].is_ascii_digit() || b"+-.eE".contains(&bytes[j])) {
            j += 1;
        }
        let ends_well = j == bytes.len() || b" \t,;|)]".contains(&bytes[j]);
        if ends_well && j > value_start {
            // Both slices are ASCII runs, so these are char boundaries.
            if let Some(v) = number(&text[value_start..j]) {
                pairs.push((text[key_start..key_end].trim_end_matches(['.', '-', '/']).to_string(), v));
            }
        }
        i = j.max(key_end);
    }
    pairs
}

fn is_key_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_./-".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(line: &str) -> Vec<(String, f64)> {
        parse_line(line.as_bytes()).map(|l| l.values).unwrap_or_default()
    }

    #[test]
    fn free_text_pairs_with_equals_and_colons() {
        let line = parse_line(b"epoch 3 step=120 loss=0.312 acc: 0.91").unwrap();
        assert_eq!(line.step, Some(120));
        assert_eq!(line.epoch, None, "`epoch 3` has no `=` or `:`");
        assert_eq!(line.values, [("loss".to_string(), 0.312), ("acc".to_string(), 0.91)]);
    }

    #[test]
    fn json_and_python_dicts() {
        let line = parse_line(br#"{"step": 10, "loss": 0.31, "name": "x", "ok": true}"#).unwrap();
        assert_eq!((line.step, line.values), (Some(10), vec![("loss".to_string(), 0.31)]));
        let line = parse_line(b"{'loss': 0.31, 'learning_rate': 5e-05, 'epoch': 0.5}").unwrap();
        assert_eq!(line.epoch, Some(0.5));
        assert_eq!(line.values, [("loss".to_string(), 0.31), ("learning_rate".to_string(), 5e-05)]);
    }

    #[test]
    fn times_urls_and_prose_are_not_metrics() {
        for line in [
            "eta: 0:01:02",
            "Downloading https://example.com/x: 100%",
            "INFO: starting",
            "at 12:30 the loss was fine",
            "step=5",
            "",
            "loss=nan",
        ] {
            assert_eq!(values(line), [], "{line:?}");
        }
    }

    #[test]
    fn a_redrawn_progress_bar_counts_its_last_drawing() {
        let line = parse_line(b"it 1 loss=0.9\rit 2 loss=0.8").unwrap();
        assert_eq!(line.values, [("loss".to_string(), 0.8)]);
    }
}
