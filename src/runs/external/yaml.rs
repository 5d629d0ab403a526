//! A small reader for the flat YAML of Lightning's `hparams.yaml` (`key: value` lines; nested
//! maps are flattened to `outer.inner`, lists kept as written). Not a YAML parser: anything it
//! does not understand is kept as text, never an error.

/// The `key: value` pairs of `text`, in file order.
pub fn read_flat_yaml(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    // (indent, key) of the maps the current line is nested in.
    let mut parents: Vec<(usize, String)> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim_end();
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') || body == "---" || body == "..." {
            continue;
        }
        let indent = line.len() - body.len();
        if let Some(item) = body.strip_prefix("- ").or(if body == "-" { Some("") } else { None }) {
            // A list item belongs to the last key with an empty value at a smaller indent.
            if let Some(last) = out.last_mut() {
                let item = unquote(item.trim());
                last.1 = if last.1.is_empty() { format!("[{item}]") } else { list_push(&last.1, &item) };
            }
            continue;
        }
        let Some((key, value)) = split_key(body) else {
            continue;
        };
        while parents.last().is_some_and(|(i, _)| *i >= indent) {
            parents.pop();
        }
        let full =
            parents.iter().map(|(_, k)| k.as_str()).chain([key.as_str()]).collect::<Vec<_>>().join(".");
        let value = unquote(value);
        if value.is_empty() {
            parents.push((indent, key));
        }
        out.push((full, value));
    }
    // A key with an empty value that had nested keys is a map header, not a value.
    let headers: Vec<String> = out.iter().map(|(k, _)| format!("{k}.")).collect();
    let mut kept = Vec::with_capacity(out.len());
    for (i, (k, v)) in out.iter().enumerate() {
        let is_header = v.is_empty() && out.iter().skip(i + 1).any(|(k2, _)| k2.starts_with(&headers[i]));
        if !is_header {
            kept.push((k.clone(), v.clone()));
        }
    }
    kept
}

fn list_push(list: &str, item: &str) -> String {
    match list.strip_suffix(']') {
        Some(open) => format!("{open}, {item}]"),
        None => format!("{list}, {item}"),
    }
}

/// `key: value` with `key` unquoted; `None` for lines that are not a mapping.
fn split_key(body: &str) -> Option<(String, &str)> {
    let (key, value) = match body.find(": ") {
        Some(i) => (&body[..i], &body[i + 2..]),
        None => (body.strip_suffix(':')?, ""),
    };
    let key = unquote(key.trim());
    (!key.is_empty()).then_some((key, value.trim()))
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return s[1..s.len() - 1].to_string();
        }
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn flat_nested_lists_and_quotes() {
        let text = "# c\nlr: 0.001\nbatch_size: 32\nname: 'mlp'\noptim:\n  kind: adam\n  betas:\n  - 0.9\n  - 0.999\nlayers: [64, 32]\nempty:\n";
        assert_eq!(
            read_flat_yaml(text),
            pairs(&[
                ("lr", "0.001"),
                ("batch_size", "32"),
                ("name", "mlp"),
                ("optim.kind", "adam"),
                ("optim.betas", "[0.9, 0.999]"),
                ("layers", "[64, 32]"),
                ("empty", ""),
            ])
        );
    }

    #[test]
    fn garbage_is_never_an_error() {
        assert!(read_flat_yaml("\u{0}\u{1}: ::\n- -\n:\n  \n").len() <= 2);
        assert_eq!(read_flat_yaml(""), vec![]);
    }
}
