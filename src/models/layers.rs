//! The layer-stack syntax: one string per layer, parsed into [`Layer`]s.
//!
//! | text                         | layer                                                     |
//! |------------------------------|-----------------------------------------------------------|
//! | `linear N` / `linear`        | fully connected, N outputs; bare: the task's output size (last layer only) |
//! | `conv OUT K [stride=S] [pad=P]` | convolution; 1-d on `[C, L]`, 2-d on `[C, H, W]` (`conv1d`/`conv2d` force one) |
//! | `maxpool K [stride=S]`       | max pooling (stride defaults to K); `maxpool1d`/`maxpool2d` |
//! | `avgpool K [stride=S]`       | average pooling; `avgpool1d`/`avgpool2d`                  |
//! | `batchnorm`                  | batch norm over channels (features for flat input)        |
//! | `layernorm`                  | layer norm over every dimension of a sample               |
//! | `dropout P`                  | dropout with rate P (0 ≤ P < 1)                           |
//! | `flatten`                    | `[C, H, W]` → `[C·H·W]`                                   |
//! | `relu`, `gelu`, `tanh`, `sigmoid` | activations                                          |
//! | `residual [` … `]`           | a block whose output is added to its input (same shape)   |
//!
//! `residual [` and `]` are entries of their own; blocks nest.
use std::fmt;

/// How many dimensions a convolution, pooling or batch norm works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dims {
    /// Chosen from the input: 1-d for `[C, L]`, 2-d for `[C, H, W]`.
    Infer,
    /// 1-d, on `[C, L]` samples.
    One,
    /// 2-d, on `[C, H, W]` samples.
    Two,
}

/// Max or average pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// Max pooling.
    Max,
    /// Average pooling.
    Avg,
}

/// An element-wise activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// max(0, x).
    Relu,
    /// Gaussian error linear unit.
    Gelu,
    /// Hyperbolic tangent.
    Tanh,
    /// Logistic sigmoid.
    Sigmoid,
}

/// One layer of a stack.
#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    /// Fully connected; `None`: as many outputs as the task needs.
    Linear { out: Option<i64> },
    /// Convolution with `out` channels, a `kernel`×`kernel` window, `stride` and zero `pad`.
    Conv { dims: Dims, out: i64, kernel: i64, stride: i64, pad: i64 },
    /// Pooling over a `kernel` window with `stride`.
    Pool { kind: Pool, dims: Dims, kernel: i64, stride: i64 },
    /// Batch normalisation (affine, with running statistics).
    BatchNorm,
    /// Layer normalisation over a whole sample (affine).
    LayerNorm,
    /// Dropout with this rate during training.
    Dropout(f64),
    /// Samples to flat vectors.
    Flatten,
    /// An activation.
    Act(Activation),
    /// `x + block(x)`.
    Residual(Vec<Entry>),
}

/// A parsed layer with the entry it came from, for messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// 1-based position in the `layers` list.
    pub index: usize,
    /// The entry as written.
    pub text: String,
    /// What it means.
    pub layer: Layer,
}

/// A layer's text that doesn't parse: which entry, the text, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("layer {index} `{text}`: {why}")]
pub struct LayerError {
    /// 1-based position in the `layers` list.
    pub index: usize,
    /// The entry as written.
    pub text: String,
    /// What is wrong and what to write instead.
    pub why: String,
}

/// Parse a whole stack; blocks opened with `residual [` must be closed with `]`.
pub fn parse_stack(lines: &[String]) -> Result<Vec<Entry>, LayerError> {
    // A stack of open blocks: the outermost list first, then each open residual's body.
    let mut open: Vec<(usize, Vec<Entry>)> = vec![(0, Vec::new())];
    for (i, text) in lines.iter().enumerate() {
        let index = i + 1;
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            ["residual", "["] | ["residual["] => open.push((index, Vec::new())),
            ["]"] => {
                if open.len() < 2 {
                    return Err(err(index, text, "`]` closes no `residual [`"));
                }
                let (_, body) = open.pop().unwrap_or_default();
                if body.is_empty() {
                    return Err(err(index, text, "this residual block is empty"));
                }
                if let Some((_, parent)) = open.last_mut() {
                    let opened = body_start(&body);
                    parent.push(Entry {
                        index: opened,
                        text: "residual [".into(),
                        layer: Layer::Residual(body),
                    });
                }
            }
            _ => {
                let layer = parse_layer(text).map_err(|why| err(index, text, &why.0))?;
                if let Some((_, current)) = open.last_mut() {
                    current.push(Entry { index, text: text.trim().to_string(), layer });
                }
            }
        }
    }
    if open.len() > 1 {
        let (index, _) = open[open.len() - 1];
        return Err(err(index, &lines[index - 1], "this `residual [` is never closed; add a `]` entry"));
    }
    let (_, layers) = open.pop().unwrap_or_default();
    if layers.is_empty() {
        return Err(LayerError { index: 0, text: String::new(), why: "the stack has no layers".into() });
    }
    Ok(layers)
}

/// The index of a residual block's `residual [` line: one before its first entry's, or that
/// entry's own block line when it opens a nested block.
fn body_start(body: &[Entry]) -> usize {
    body.first().map(|e| e.index.saturating_sub(1)).unwrap_or(0)
}

fn err(index: usize, text: &str, why: &str) -> LayerError {
    LayerError { index, text: text.to_string(), why: why.to_string() }
}

/// One entry's text that doesn't parse: what is wrong and what to write instead (without the
/// entry's position, which [`LayerError`] adds for a whole stack).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LayerSyntaxError(pub String);

/// Parse one entry (not `residual [` or `]`); the error says what to write.
pub fn parse_layer(text: &str) -> Result<Layer, LayerSyntaxError> {
    parse_entry(text).map_err(LayerSyntaxError)
}

fn parse_entry(text: &str) -> Result<Layer, String> {
    let mut words = text.split_whitespace();
    let name = words.next().ok_or("empty layer; write e.g. `linear 64` or `relu`")?.to_ascii_lowercase();
    let mut positional = Vec::new();
    let mut named = Vec::new();
    for w in words {
        match w.split_once('=') {
            Some((k, v)) => named.push((k.to_ascii_lowercase(), v.to_string())),
            None => positional.push(w.to_string()),
        }
    }
    let no_args = |layer: Layer| -> Result<Layer, String> {
        if positional.is_empty() && named.is_empty() {
            Ok(layer)
        } else {
            Err(format!("`{name}` takes no arguments"))
        }
    };
    let dims = |suffix: &str| match suffix {
        "" => Dims::Infer,
        "1d" => Dims::One,
        _ => Dims::Two,
    };
    match name.as_str() {
        "linear" => {
            check_named(&named, &[], &name)?;
            match positional.as_slice() {
                [] => Ok(Layer::Linear { out: None }),
                [n] => Ok(Layer::Linear { out: Some(positive(n, "the output size")?) }),
                _ => Err("write `linear N` (N outputs) or `linear` (the task's size)".into()),
            }
        }
        "conv" | "conv1d" | "conv2d" => {
            check_named(&named, &["stride", "pad"], &name)?;
            let [out, kernel] = positional.as_slice() else {
                return Err(format!(
                    "write `{name} OUT_CHANNELS KERNEL [stride=S] [pad=P]`, e.g. `{name} 32 3 pad=1`"
                ));
            };
            Ok(Layer::Conv {
                dims: dims(&name[4..]),
                out: positive(out, "the channel count")?,
                kernel: positive(kernel, "the kernel size")?,
                stride: named_int(&named, "stride", 1, 1)?,
                pad: named_int(&named, "pad", 0, 0)?,
            })
        }
        "maxpool" | "maxpool1d" | "maxpool2d" | "avgpool" | "avgpool1d" | "avgpool2d" => {
            check_named(&named, &["stride"], &name)?;
            let [kernel] = positional.as_slice() else {
                return Err(format!("write `{name} KERNEL [stride=S]`, e.g. `{name} 2`"));
            };
            let kernel = positive(kernel, "the window size")?;
            let kind = if name.starts_with("max") { Pool::Max } else { Pool::Avg };
            Ok(Layer::Pool {
                kind,
                dims: dims(&name[7..]),
                kernel,
                stride: named_int(&named, "stride", kernel, 1)?,
            })
        }
        "dropout" => {
            check_named(&named, &[], &name)?;
            let [p] = positional.as_slice() else {
                return Err("write `dropout P`, e.g. `dropout 0.25`".into());
            };
            match p.parse::<f64>() {
                Ok(p) if (0.0..1.0).contains(&p) => Ok(Layer::Dropout(p)),
                _ => Err(format!("the rate {p:?} must be a number from 0 up to, not including, 1")),
            }
        }
        "batchnorm" | "batchnorm1d" | "batchnorm2d" => no_args(Layer::BatchNorm),
        "layernorm" => no_args(Layer::LayerNorm),
        "flatten" => no_args(Layer::Flatten),
        "relu" => no_args(Layer::Act(Activation::Relu)),
        "gelu" => no_args(Layer::Act(Activation::Gelu)),
        "tanh" => no_args(Layer::Act(Activation::Tanh)),
        "sigmoid" => no_args(Layer::Act(Activation::Sigmoid)),
        other => Err(format!(
            "unknown layer {other:?}; use linear, conv, conv1d, conv2d, maxpool, avgpool, batchnorm, \
             layernorm, dropout, flatten, relu, gelu, tanh, sigmoid, or `residual [` … `]`"
        )),
    }
}

fn check_named(named: &[(String, String)], allowed: &[&str], layer: &str) -> Result<(), String> {
    match named.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some((k, _)) if allowed.is_empty() => Err(format!("`{layer}` takes no option {k}=")),
        Some((k, _)) => Err(format!("`{layer}` has no option {k}=; it takes {}", allowed.join("=, ") + "=")),
    }
}

/// The largest number a layer takes (sizes, channels, kernels, strides, pads): far above any
/// real layer, and low enough that shapes and parameter counts stay countable.
pub const MAX_ARG: i64 = 1 << 24;

fn positive(text: &str, what: &str) -> Result<i64, String> {
    match text.parse::<i64>() {
        Ok(n) if (1..=MAX_ARG).contains(&n) => Ok(n),
        _ => Err(format!("{what} {text:?} must be a whole number from 1 to {MAX_ARG}")),
    }
}

fn named_int(named: &[(String, String)], key: &str, default: i64, min: i64) -> Result<i64, String> {
    match named.iter().find(|(k, _)| k == key) {
        None => Ok(default),
        Some((_, v)) => match v.parse::<i64>() {
            Ok(n) if (min..=MAX_ARG).contains(&n) => Ok(n),
            _ => Err(format!("{key}={v} must be a whole number from {min} to {MAX_ARG}")),
        },
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Activation::Relu => "relu",
            Activation::Gelu => "gelu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_layer_kind_parses() {
        assert_eq!(parse_layer("linear 128"), Ok(Layer::Linear { out: Some(128) }));
        assert_eq!(parse_layer("linear"), Ok(Layer::Linear { out: None }));
        assert_eq!(
            parse_layer("conv 32 3 pad=1"),
            Ok(Layer::Conv { dims: Dims::Infer, out: 32, kernel: 3, stride: 1, pad: 1 })
        );
        assert_eq!(
            parse_layer("conv1d 8 5 stride=2"),
            Ok(Layer::Conv { dims: Dims::One, out: 8, kernel: 5, stride: 2, pad: 0 })
        );
        assert_eq!(
            parse_layer("conv2d 4 3"),
            Ok(Layer::Conv { dims: Dims::Two, out: 4, kernel: 3, stride: 1, pad: 0 })
        );
        assert_eq!(
            parse_layer("maxpool 2"),
            Ok(Layer::Pool { kind: Pool::Max, dims: Dims::Infer, kernel: 2, stride: 2 })
        );
        assert_eq!(
            parse_layer("avgpool2d 3 stride=1"),
            Ok(Layer::Pool { kind: Pool::Avg, dims: Dims::Two, kernel: 3, stride: 1 })
        );
        assert_eq!(
            parse_layer("maxpool1d 2"),
            Ok(Layer::Pool { kind: Pool::Max, dims: Dims::One, kernel: 2, stride: 2 })
        );
        assert_eq!(parse_layer("batchnorm"), Ok(Layer::BatchNorm));
        assert_eq!(parse_layer("layernorm"), Ok(Layer::LayerNorm));
        assert_eq!(parse_layer("dropout 0.25"), Ok(Layer::Dropout(0.25)));
        assert_eq!(parse_layer("flatten"), Ok(Layer::Flatten));
        assert_eq!(parse_layer("relu"), Ok(Layer::Act(Activation::Relu)));
        assert_eq!(parse_layer("GELU"), Ok(Layer::Act(Activation::Gelu)));
        assert_eq!(parse_layer("tanh"), Ok(Layer::Act(Activation::Tanh)));
        assert_eq!(parse_layer("sigmoid"), Ok(Layer::Act(Activation::Sigmoid)));
        let stack =
            parse_stack(&lines(&["linear 8", "residual [", "linear 8", "relu", "]", "linear"])).unwrap();
        let Layer::Residual(body) = &stack[1].layer else { panic!("not a block: {:?}", stack[1]) };
        assert_eq!(stack[1].index, 2);
        let inner: Vec<&Layer> = body.iter().map(|e| &e.layer).collect();
        assert_eq!(inner, [&Layer::Linear { out: Some(8) }, &Layer::Act(Activation::Relu)]);
        assert_eq!((stack[2].index, stack[2].text.as_str()), (6, "linear"));
    }

    #[test]
    fn bad_entries_name_the_layer_and_what_to_write() {
        let e = parse_stack(&lines(&["linear 8", "relu", "dropout 1.5"])).unwrap_err();
        assert_eq!((e.index, e.text.as_str()), (3, "dropout 1.5"));
        assert!(e.to_string().starts_with("layer 3 `dropout 1.5`: the rate"), "{e}");
        let e = parse_stack(&lines(&["conv 32"])).unwrap_err();
        assert!(e.why.contains("conv OUT_CHANNELS KERNEL"), "{e}");
        let e = parse_stack(&lines(&["conv 3 3 padding=1"])).unwrap_err();
        assert!(e.why.contains("no option padding="), "{e}");
        let e = parse_stack(&lines(&["dense 4"])).unwrap_err();
        assert!(e.why.contains("unknown layer \"dense\""), "{e}");
        let e = parse_stack(&lines(&["relu", "residual [", "relu"])).unwrap_err();
        assert_eq!(e.index, 2, "{e}");
        let e = parse_stack(&lines(&["relu", "]"])).unwrap_err();
        assert_eq!(e.index, 2);
        assert!(parse_stack(&[]).is_err());
        assert!(parse_layer("relu 3").is_err());
        assert!(parse_layer("linear 0").is_err());
    }

    #[test]
    fn sizes_past_the_bound_name_the_layer_and_the_value() {
        let e = parse_stack(&lines(&["linear 9223372036854775807", "relu", "linear"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "layer 1 `linear 9223372036854775807`: the output size \"9223372036854775807\" must be a whole \
             number from 1 to 16777216"
        );
        assert!(parse_layer("linear 99999999999999999999").unwrap_err().0.contains("from 1 to 16777216"));
        assert!(parse_layer("conv 8 3 pad=16777217").unwrap_err().0.contains("pad=16777217 must be"));
        assert!(parse_layer("maxpool 2 stride=-1").is_err());
        assert_eq!(parse_layer("linear 16777216"), Ok(Layer::Linear { out: Some(MAX_ARG) }));
    }
}
