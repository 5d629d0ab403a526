//! Writing event records: for tests, the benchmark and fixtures only (the workbench never writes
//! into the folders it watches).
use prost::Message;

use super::proto::{self, summary, summary_metadata, DataType, TensorProto};
use super::record::encode_record;

/// How a scalar is stored in an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    /// `simple_value` (older writers).
    Simple,
    /// A 0-dim DT_FLOAT tensor in `float_val` with the `scalars` plugin (PyTorch's `new_style`).
    TensorFloat,
    /// A 0-dim DT_DOUBLE tensor in `tensor_content` with the `scalars` plugin.
    TensorDoubleContent,
}

/// Append one framed event record holding one scalar to `out`.
pub fn encode_scalar_event(
    tag: &str,
    step: i64,
    wall_time: f64,
    value: f64,
    style: ScalarStyle,
    out: &mut Vec<u8>,
) {
    let scalars_plugin = || {
        Some(proto::SummaryMetadata {
            plugin_data: Some(summary_metadata::PluginData {
                plugin_name: "scalars".into(),
                content: Vec::new(),
            }),
            ..Default::default()
        })
    };
    let (metadata, v) = match style {
        ScalarStyle::Simple => (None, summary::value::Value::SimpleValue(value as f32)),
        ScalarStyle::TensorFloat => (
            scalars_plugin(),
            summary::value::Value::Tensor(TensorProto {
                dtype: DataType::DtFloat as i32,
                tensor_shape: Some(Default::default()),
                float_val: vec![value as f32],
                ..Default::default()
            }),
        ),
        ScalarStyle::TensorDoubleContent => (
            scalars_plugin(),
            summary::value::Value::Tensor(TensorProto {
                dtype: DataType::DtDouble as i32,
                tensor_shape: Some(Default::default()),
                tensor_content: value.to_le_bytes().to_vec(),
                ..Default::default()
            }),
        ),
    };
    let event = proto::Event {
        wall_time,
        step,
        what: Some(proto::event::What::Summary(proto::Summary {
            value: vec![summary::Value { tag: tag.into(), metadata, value: Some(v), ..Default::default() }],
        })),
    };
    encode_record(&event.encode_to_vec(), out);
}

/// Append the `brain.Event:2` record every event file starts with.
pub fn encode_file_version(wall_time: f64, out: &mut Vec<u8>) {
    let event = proto::Event {
        wall_time,
        step: 0,
        what: Some(proto::event::What::FileVersion("brain.Event:2".into())),
    };
    encode_record(&event.encode_to_vec(), out);
}
