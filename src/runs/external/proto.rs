//! The protocol buffer messages of TensorBoard event files, as `prost` structs.
//!
//! Written once by hand from proto/tensorboard_event.proto and proto/tensorboard_hparams.proto
//! (subsets of TensorFlow's and TensorBoard's messages; where they come from is in proto/README.md),
//! so the build needs no `protoc`. Field numbers and types follow those files exactly; fields left
//! out are skipped by the decoder.

/// `tensorflow.Event`: one record of an event file.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Event {
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    #[prost(int64, tag = "2")]
    pub step: i64,
    #[prost(oneof = "event::What", tags = "3, 4, 5, 9")]
    pub what: ::core::option::Option<event::What>,
}

/// The `oneof what` of [`Event`].
pub mod event {
    /// What an [`Event`](super::Event) carries.
    #[derive(Clone, PartialEq, ::prost::Oneof)]
    pub enum What {
        /// `brain.Event:2`: the first record of every file.
        #[prost(string, tag = "3")]
        FileVersion(::prost::alloc::string::String),
        /// A serialized GraphDef (`add_graph`); not read.
        #[prost(bytes, tag = "4")]
        GraphDef(::prost::alloc::vec::Vec<u8>),
        /// Scalars, hparams and the other plugins' values.
        #[prost(message, tag = "5")]
        Summary(super::Summary),
        /// A serialized MetaGraphDef; not read.
        #[prost(bytes, tag = "9")]
        MetaGraphDef(::prost::alloc::vec::Vec<u8>),
    }
}

/// `tensorflow.SummaryMetadata`: which plugin a value belongs to.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct SummaryMetadata {
    #[prost(message, optional, tag = "1")]
    pub plugin_data: ::core::option::Option<summary_metadata::PluginData>,
    #[prost(string, tag = "2")]
    pub display_name: ::prost::alloc::string::String,
    #[prost(string, tag = "3")]
    pub summary_description: ::prost::alloc::string::String,
}

/// Nested messages of [`SummaryMetadata`].
pub mod summary_metadata {
    /// `tensorflow.SummaryMetadata.PluginData`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct PluginData {
        #[prost(string, tag = "1")]
        pub plugin_name: ::prost::alloc::string::String,
        #[prost(bytes = "vec", tag = "2")]
        pub content: ::prost::alloc::vec::Vec<u8>,
    }
}

/// `tensorflow.Summary`: the values logged at one step.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Summary {
    #[prost(message, repeated, tag = "1")]
    pub value: ::prost::alloc::vec::Vec<summary::Value>,
}

/// Nested messages of [`Summary`].
pub mod summary {
    /// `tensorflow.Summary.Value`: one tag's value.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Value {
        #[prost(string, tag = "7")]
        pub node_name: ::prost::alloc::string::String,
        #[prost(string, tag = "1")]
        pub tag: ::prost::alloc::string::String,
        #[prost(message, optional, tag = "9")]
        pub metadata: ::core::option::Option<super::SummaryMetadata>,
        #[prost(oneof = "value::Value", tags = "2, 3, 8")]
        pub value: ::core::option::Option<value::Value>,
    }

    /// The `oneof value` of [`Value`].
    pub mod value {
        /// The kinds of value the reader tells apart.
        #[derive(Clone, PartialEq, ::prost::Oneof)]
        pub enum Value {
            /// An old-style scalar (`add_scalar` before PyTorch 1.x's `new_style`).
            #[prost(float, tag = "2")]
            SimpleValue(f32),
            /// An old-style histogram; not read.
            #[prost(bytes, tag = "3")]
            ObsoleteOldStyleHistogram(::prost::alloc::vec::Vec<u8>),
            /// A tensor: a new-style scalar when its plugin is `scalars`.
            #[prost(message, tag = "8")]
            Tensor(super::super::TensorProto),
        }
    }
}

/// `tensorflow.DataType`: only the values the reader tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ::prost::Enumeration)]
#[repr(i32)]
pub enum DataType {
    /// Not set.
    DtInvalid = 0,
    /// 32-bit float.
    DtFloat = 1,
    /// 64-bit float.
    DtDouble = 2,
}

/// `tensorflow.TensorShapeProto`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct TensorShapeProto {
    #[prost(message, repeated, tag = "2")]
    pub dim: ::prost::alloc::vec::Vec<tensor_shape_proto::Dim>,
    #[prost(bool, tag = "3")]
    pub unknown_rank: bool,
}

/// Nested messages of [`TensorShapeProto`].
pub mod tensor_shape_proto {
    /// `tensorflow.TensorShapeProto.Dim`.
    #[derive(Clone, PartialEq, ::prost::Message)]
    pub struct Dim {
        #[prost(int64, tag = "1")]
        pub size: i64,
        #[prost(string, tag = "2")]
        pub name: ::prost::alloc::string::String,
    }
}

/// `tensorflow.TensorProto`: the fields a float or double tensor uses.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct TensorProto {
    #[prost(enumeration = "DataType", tag = "1")]
    pub dtype: i32,
    #[prost(message, optional, tag = "2")]
    pub tensor_shape: ::core::option::Option<TensorShapeProto>,
    #[prost(int32, tag = "3")]
    pub version_number: i32,
    #[prost(bytes = "vec", tag = "4")]
    pub tensor_content: ::prost::alloc::vec::Vec<u8>,
    #[prost(float, repeated, tag = "5")]
    pub float_val: ::prost::alloc::vec::Vec<f32>,
    #[prost(double, repeated, tag = "6")]
    pub double_val: ::prost::alloc::vec::Vec<f64>,
}

/// `tensorboard.hparams.HParamsPluginData`: the content of an `hparams` plugin value.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct HParamsPluginData {
    #[prost(int32, tag = "1")]
    pub version: i32,
    #[prost(oneof = "h_params_plugin_data::Data", tags = "3")]
    pub data: ::core::option::Option<h_params_plugin_data::Data>,
}

/// The `oneof data` of [`HParamsPluginData`].
pub mod h_params_plugin_data {
    /// What an hparams plugin value carries (the experiment and session end are skipped).
    #[derive(Clone, PartialEq, ::prost::Oneof)]
    pub enum Data {
        /// The run's hyperparameters (`_hparams_/session_start_info`).
        #[prost(message, tag = "3")]
        SessionStartInfo(super::SessionStartInfo),
    }
}

/// `tensorboard.hparams.SessionStartInfo`.
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct SessionStartInfo {
    #[prost(map = "string, message", tag = "1")]
    pub hparams: ::std::collections::HashMap<::prost::alloc::string::String, Value>,
    #[prost(string, tag = "2")]
    pub model_uri: ::prost::alloc::string::String,
    #[prost(string, tag = "3")]
    pub monitor_url: ::prost::alloc::string::String,
    #[prost(string, tag = "4")]
    pub group_name: ::prost::alloc::string::String,
    #[prost(double, tag = "5")]
    pub start_time_secs: f64,
}

/// `google.protobuf.Value` (the kinds hparams use).
#[derive(Clone, PartialEq, ::prost::Message)]
pub struct Value {
    #[prost(oneof = "value::Kind", tags = "1, 2, 3, 4")]
    pub kind: ::core::option::Option<value::Kind>,
}

/// The `oneof kind` of [`Value`].
pub mod value {
    /// One hyperparameter's value.
    #[derive(Clone, PartialEq, ::prost::Oneof)]
    pub enum Kind {
        /// `null`.
        #[prost(int32, tag = "1")]
        NullValue(i32),
        /// A number (every number is a double).
        #[prost(double, tag = "2")]
        NumberValue(f64),
        /// A string.
        #[prost(string, tag = "3")]
        StringValue(::prost::alloc::string::String),
        /// A boolean.
        #[prost(bool, tag = "4")]
        BoolValue(bool),
    }
}
