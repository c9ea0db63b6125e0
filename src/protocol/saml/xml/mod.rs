//! The one parse and the one tree every received SAML message is read from: strict
//! parsing ([`parse`]), the tree ([`Document`]) and exclusive canonicalization ([`c14n`]).
pub mod c14n;
mod parse;
mod tree;

pub use parse::{Limits, is_ncname, parse, parse_with};
pub use tree::{Attribute, Document, Element, NamespaceDecl, NodeId, NodeKind};
