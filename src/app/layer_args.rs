//! A layer stack's numeric arguments as form fields: `linear 128` gives a width field,
//! `dropout 0.25` a rate field, `conv 32 3 pad=1` fields for channels, kernel and pad. An edit
//! rewrites that word of the layer's text (for this run only: config.toml is not touched) and is
//! refused, naming the layer, when the new layer doesn't parse.
use super::form::RefusedValue;
use crate::models::parse_layer;

/// Every numeric word of `layers`: (layer index, word index).
pub fn numeric_args(layers: &[String]) -> Vec<(u16, u8)> {
    let mut out = Vec::new();
    for (i, text) in layers.iter().enumerate().take(usize::from(u16::MAX)) {
        for (j, word) in text.split_whitespace().enumerate().skip(1).take(usize::from(u8::MAX)) {
            let value = word.split_once('=').map_or(word, |(_, v)| v);
            if value.parse::<f64>().is_ok() {
                out.push((i as u16, j as u8));
            }
        }
    }
    out
}

fn word(layers: &[String], layer: u16, word: u8) -> Option<&str> {
    layers.get(usize::from(layer))?.split_whitespace().nth(usize::from(word))
}

/// `9 width` (layer 9 is `linear 64`), `1 pad`: the 1-based layer and what the number is.
pub fn label(layers: &[String], layer: u16, w: u8) -> String {
    let text = layers.get(usize::from(layer)).map(String::as_str).unwrap_or("");
    let name = text.split_whitespace().next().unwrap_or("?");
    let what = match word(layers, layer, w) {
        Some(word) if word.contains('=') => word.split('=').next().unwrap_or("").to_string(),
        _ => match (name, w) {
            ("dropout", _) => "rate".into(),
            (n, 1) if n.starts_with("conv") => "channels".into(),
            (n, 2) if n.starts_with("conv") => "kernel".into(),
            (n, _) if n.ends_with("pool") || n.contains("pool") => "window".into(),
            ("linear", _) => "width".into(),
            _ => format!("arg {w}"),
        },
    };
    // Short enough for the form's label column: `1 channels`, `8 rate`.
    format!("{} {what}", layer + 1)
}

/// The value as shown: the number alone (`1` for `pad=1`).
pub fn value(layers: &[String], layer: u16, w: u8) -> String {
    let word = word(layers, layer, w).unwrap_or("");
    word.split_once('=').map_or(word, |(_, v)| v).to_string()
}

/// `layers` with that argument set to `text`; the error names the layer.
pub fn set(layers: &[String], layer: u16, w: u8, text: &str) -> Result<Vec<String>, RefusedValue> {
    let mut out = layers.to_vec();
    let line = out.get_mut(usize::from(layer)).ok_or_else(|| RefusedValue("that layer is gone".into()))?;
    let mut words: Vec<String> = line.split_whitespace().map(String::from).collect();
    let slot = words.get_mut(usize::from(w)).ok_or_else(|| RefusedValue("that argument is gone".into()))?;
    let text = text.trim();
    if text.is_empty() || text.contains(char::is_whitespace) || text.contains('=') {
        return Err(RefusedValue(format!("layer {} `{line}`: type one number", layer + 1)));
    }
    *slot = match slot.split_once('=') {
        Some((k, _)) => format!("{k}={text}"),
        None => text.to_string(),
    };
    let new = words.join(" ");
    parse_layer(&new).map_err(|why| RefusedValue(format!("layer {} `{new}`: {why}", layer + 1)))?;
    *line = new;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_words_become_fields_and_edits_are_checked() {
        let layers: Vec<String> = ["conv 32 3 pad=1", "relu", "dropout 0.25", "linear 128", "linear"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(numeric_args(&layers), [(0, 1), (0, 2), (0, 3), (2, 1), (3, 1)]);
        assert_eq!(label(&layers, 0, 3), "1 pad");
        assert_eq!(label(&layers, 2, 1), "3 rate");
        assert_eq!(label(&layers, 3, 1), "4 width");
        assert_eq!(value(&layers, 0, 3), "1");
        let edited = set(&layers, 0, 3, "2").unwrap();
        assert_eq!(edited[0], "conv 32 3 pad=2");
        assert_eq!(set(&layers, 2, 1, "0.5").unwrap()[2], "dropout 0.5");
        let e = set(&layers, 2, 1, "1.5").unwrap_err().0;
        assert!(e.starts_with("layer 3 `dropout 1.5`: the rate"), "{e}");
        assert!(set(&layers, 3, 1, "abc").is_err());
    }
}
