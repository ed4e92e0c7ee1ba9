//! Span-keeping parsers for the file formats promready reads.
//!
//! They know the syntax (systemd units, environment files, command lines,
//! YAML) and nothing of Kubernetes: every value they produce is a
//! [`Cooked`](crate::text::Cooked) string or a node that remembers its bytes.

pub(crate) mod envfile;
pub(crate) mod flags;
pub(crate) mod unit;
pub(crate) mod words;
pub(crate) mod yaml;
