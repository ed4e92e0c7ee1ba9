//! kind's `kubeadmConfigPatchesJSON6902`: RFC 6902 operations on the
//! kubeadm documents kind generates, read as the merge patches they amount
//! to.
//!
//! kind applies them to every document whose `kind` matches and whose
//! group (and version, when the patch names one) match the document's
//! `apiVersion` (`resource.matches` in kind's `pkg/internal/patch`), after
//! the merge patches of the same list (the cluster's, then the node's;
//! `KubeYAML` in `kubeyaml.go`). An `add` or `replace` of a value at a path
//! of mapping keys is what a merge patch holding that value at that path
//! does, except that it replaces a whole mapping or list rather than
//! merging into it; a `remove` drops the value. Other operations (`move`,
//! `copy`, `test`) and list indices are not read: a note says so.

use std::ops::Range;

use crate::model::Version;
use crate::parse::yaml::{self, Document, Kind, Node, Scalar};
use crate::source::{FileDb, Notice};
use crate::span::FileId;

/// What one operation does besides the merge document it amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Sets a scalar value (the document holds it).
    Set,
    /// Replaces the mapping or list at this dotted path (the document
    /// holds the new one): what earlier patches put there is gone.
    Replace(String),
    /// Removes the value at this dotted path (the document is empty).
    Remove(String),
}

/// One operation as a merge document of `kind`.
pub(crate) struct Op {
    pub(crate) doc: Document,
    pub(crate) effect: Effect,
    /// `kubeadmConfigPatchesJSON6902[0].patch[1]`.
    pub(crate) at: String,
}

/// The `apiVersion` kind generates a document of `kind` with, for the
/// Kubernetes version it runs (`Config` in kind's
/// `pkg/cluster/internal/kubeadm/config.go`: v1beta2 before 1.23, v1beta3
/// before 1.36, v1beta4 from 1.36).
pub(crate) fn generated_api(kind: &str, version: &Version) -> Option<String> {
    let kubeadm = match (version.major, version.minor) {
        (1, m) if m < 23 => "v1beta2",
        (1, m) if m < 36 => "v1beta3",
        _ => "v1beta4",
    };
    Some(match kind {
        "ClusterConfiguration" | "InitConfiguration" | "JoinConfiguration" => {
            format!("kubeadm.k8s.io/{kubeadm}")
        }
        "KubeletConfiguration" => "kubelet.config.k8s.io/v1beta1".to_owned(),
        "KubeProxyConfiguration" => "kubeproxy.config.k8s.io/v1alpha1".to_owned(),
        _ => return None,
    })
}

/// The operations of the `kubeadmConfigPatchesJSON6902` list `list`
/// (named `path`) that kind applies, each as a merge document, in order.
pub(crate) fn ops(
    files: &FileDb,
    id: FileId,
    (path, list): (&str, &Node),
    version: Option<&Version>,
    notices: &mut Vec<Notice>,
) -> Vec<Op> {
    let text = &files.get(id).text;
    let mut note = |at: usize, message: String| {
        notices.push(super::repo::line_notice(files, id, at, &message));
    };
    let Kind::Seq(entries) = &list.kind else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let Some((kind_key, kind_node)) = entry.entry("kind") else {
            continue;
        };
        let Some(kind) = kind_node.as_scalar().map(|s| s.text.clone()) else {
            continue;
        };
        let group = entry.get_str("group").unwrap_or("");
        let patch_version = entry.get_str("version").unwrap_or("");
        if let Some(v) = version
            && let Some(api) = generated_api(&kind, v)
        {
            let (g, gv) = api.rsplit_once('/').unwrap_or(("", &api));
            if !(group.is_empty() && patch_version.is_empty())
                && (group != g || !(patch_version.is_empty() || patch_version == gv))
            {
                note(
                    entry.span.start,
                    format!(
                        "{at} is for {group}/{patch_version} {kind}, but kind generates {api} for Kubernetes {v}: it patches nothing"
                    ),
                );
                continue;
            }
        }
        let Some(operations) = entry.get("patch") else {
            continue;
        };
        let Some(body) = yaml::literal_block(text, operations) else {
            note(
                operations.span.start,
                format!(
                    "{at}.patch is not a literal block (`patch: |`); promready reads the operations only from one, so this patch is not applied here"
                ),
            );
            continue;
        };
        let docs = match yaml::parse_within(text, body) {
            Ok(docs) => docs,
            Err(e) => {
                note(
                    e.offset,
                    format!(
                        "{at}.patch is not valid YAML: {}; kind would refuse the configuration",
                        e.message
                    ),
                );
                continue;
            }
        };
        let Some(Kind::Seq(items)) = docs.first().map(|d| &d.root.kind) else {
            continue;
        };
        let kind_loc = kind_key.span.start..kind_node.span.end;
        for (j, item) in items.iter().enumerate() {
            let at = format!("{at}.patch[{j}]");
            match op(item, &kind, &kind_loc) {
                Ok(docs) => out.extend(docs.into_iter().map(|(doc, effect)| Op {
                    doc,
                    effect,
                    at: at.clone(),
                })),
                Err(why) if touches_judged(item, &kind) => note(
                    item.span.start,
                    format!("{at}: {why}; findings are judged without it"),
                ),
                Err(_) => {}
            }
        }
    }
    out
}

/// Whether an operation promready does not read may change a judged
/// setting: one under kubeadm's sections of the components promready
/// judges (not `apiServer`, `networking`, …), or anywhere in a component
/// configuration.
fn touches_judged(item: &Node, kind: &str) -> bool {
    if is_component_config(kind) {
        return true;
    }
    if item.get_str("path").is_none() {
        return true;
    }
    ["path", "from"].iter().any(|key| {
        item.get_str(key).is_some_and(|p| {
            let first = p
                .trim_start_matches('/')
                .split('/')
                .next()
                .unwrap_or_default();
            matches!(
                first,
                "" | "controllerManager" | "scheduler" | "etcd" | "nodeRegistration"
            )
        })
    })
}

/// Whether `kind` is a component configuration, whose documents are
/// merged as JSON merge patches (a `null` resets a field to its default).
fn is_component_config(kind: &str) -> bool {
    matches!(kind, "KubeletConfiguration" | "KubeProxyConfiguration")
}

/// One operation as the merge documents it amounts to (none for `test`),
/// or why it is not read. For a component configuration a removal is a
/// `null` at the path, and the replacement of a mapping or list a `null`
/// followed by the new value; for kubeadm's documents the [`Effect`] says
/// what goes.
fn op(item: &Node, kind: &str, kind_loc: &Range<usize>) -> Result<Vec<(Document, Effect)>, String> {
    let name = item.get_str("op").ok_or("an operation without `op`")?;
    let pointer = item.get_str("path").ok_or("an operation without `path`")?;
    let mut tokens = pointer_tokens(pointer).ok_or_else(|| {
        format!("`{pointer}` is not a JSON pointer (RFC 6901: it starts with `/`)")
    })?;
    if tokens.is_empty() {
        return Err(format!("`{name}` of the whole document is not read"));
    }
    let dotted = tokens.join(".");
    let effect = match name {
        "add" | "replace" => {
            let value = item
                .get("value")
                .ok_or_else(|| format!("`{name}` without a `value`"))?;
            let last = tokens.last().cloned().unwrap_or_default();
            let value = if last == "-" || last.bytes().all(|b| b.is_ascii_digit()) {
                // An item of a list: only an `{name, value}` appended to
                // `extraArgs` (kubeadm v1beta4) is read.
                let args = tokens.len() >= 2
                    && matches!(
                        tokens[tokens.len() - 2].as_str(),
                        "extraArgs" | "kubeletExtraArgs"
                    );
                if !(args && last == "-" && name == "add") {
                    return Err(format!(
                        "`{name}` at the list index `{pointer}` is not read (only `add` of an `extraArgs` item at `/-`)"
                    ));
                }
                tokens.pop();
                Node {
                    span: value.span.clone(),
                    kind: Kind::Seq(vec![value.clone()]),
                }
            } else {
                value.clone()
            };
            let effect = match value.kind {
                Kind::Scalar(_) => Effect::Set,
                _ if last.as_str() == "-" => Effect::Set,
                _ => Effect::Replace(dotted),
            };
            let mut out = Vec::new();
            if is_component_config(kind) && matches!(effect, Effect::Replace(_)) {
                out.push((
                    document(kind, kind_loc, item, &tokens, Some(null(item))),
                    effect.clone(),
                ));
            }
            out.push((document(kind, kind_loc, item, &tokens, Some(value)), effect));
            return Ok(out);
        }
        "remove" => Effect::Remove(dotted),
        "test" => return Ok(Vec::new()),
        other => {
            return Err(format!(
                "the `{other}` operation is not read (only `add`, `replace` and `remove`)"
            ));
        }
    };
    let value = is_component_config(kind).then(|| null(item));
    Ok(vec![(
        document(kind, kind_loc, item, &tokens, value),
        effect,
    )])
}

/// A `null` spanning the operation.
fn null(item: &Node) -> Node {
    Node {
        span: item.span.clone(),
        kind: Kind::Scalar(Scalar {
            text: "null".to_owned(),
            plain: true,
            tag: None,
        }),
    }
}

/// The tokens of a JSON pointer (`/a/b~1c` → `a`, `b/c`).
fn pointer_tokens(pointer: &str) -> Option<Vec<String>> {
    let rest = pointer.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

/// `{kind: KIND, t0: {t1: … value}}`; every node made here spans the
/// operation (so a finding on a key, and a removal, take the whole
/// operation), the value keeps its own span.
fn document(
    kind: &str,
    kind_loc: &Range<usize>,
    item: &Node,
    tokens: &[String],
    value: Option<Node>,
) -> Document {
    let scalar = |text: &str, span: Range<usize>| Node {
        span,
        kind: Kind::Scalar(Scalar {
            text: text.to_owned(),
            plain: true,
            tag: None,
        }),
    };
    let mut entries = vec![(
        scalar("kind", kind_loc.clone()),
        scalar(kind, kind_loc.clone()),
    )];
    if let Some(mut node) = value {
        for (i, token) in tokens.iter().enumerate().rev() {
            if i == 0 {
                entries.push((scalar(token, item.span.clone()), node));
                break;
            }
            node = Node {
                span: item.span.clone(),
                kind: Kind::Map(vec![(scalar(token, item.span.clone()), node)]),
            };
        }
    }
    Document {
        root: Node {
            span: item.span.clone(),
            kind: Kind::Map(entries),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(ops: &str) -> Vec<(String, Effect, Option<String>)> {
        let indented: Vec<String> = ops.lines().map(|l| format!("  {l}")).collect();
        let text = format!("- |\n{}\n", indented.join("\n"));
        let docs = yaml::parse(&text).unwrap();
        let Kind::Seq(items) = &docs[0].root.kind else {
            panic!()
        };
        let body = yaml::literal_block(&text, &items[0]).unwrap();
        let inner = yaml::parse_within(&text, body).unwrap();
        let Kind::Seq(ops) = &inner[0].root.kind else {
            panic!()
        };
        ops.iter()
            .filter_map(|item| op(item, "ClusterConfiguration", &(0..0)).ok())
            .flatten()
            .map(|(doc, effect)| {
                let value = doc
                    .root
                    .lookup("controllerManager.extraArgs.bind-address")
                    .and_then(|(_, v)| v.as_scalar())
                    .map(|s| s.text.clone());
                (doc.root.get_str("kind").unwrap().to_owned(), effect, value)
            })
            .collect()
    }

    #[test]
    fn operations_become_merge_documents() {
        let got = parsed(
            "- op: add\n  path: /controllerManager/extraArgs/bind-address\n  value: 0.0.0.0\n- op: replace\n  path: /controllerManager/extraArgs\n  value: {bind-address: 127.0.0.1}\n- op: remove\n  path: /controllerManager/extraArgs/bind-address\n- op: move\n  from: /a\n  path: /b\n- op: add\n  path: /scheduler/extraArgs/0\n  value: {name: v, value: \"2\"}\n",
        );
        assert_eq!(
            got,
            [
                (
                    "ClusterConfiguration".to_owned(),
                    Effect::Set,
                    Some("0.0.0.0".to_owned())
                ),
                (
                    "ClusterConfiguration".to_owned(),
                    Effect::Replace("controllerManager.extraArgs".to_owned()),
                    Some("127.0.0.1".to_owned())
                ),
                (
                    "ClusterConfiguration".to_owned(),
                    Effect::Remove("controllerManager.extraArgs.bind-address".to_owned()),
                    None
                ),
            ]
        );
    }

    #[test]
    fn pointers_unescape() {
        assert_eq!(
            pointer_tokens("/evictionHard/a~1b~0c").unwrap(),
            ["evictionHard", "a/b~c"]
        );
        assert_eq!(pointer_tokens("no-slash"), None);
    }

    #[test]
    fn kind_generates_the_kubeadm_api_of_the_version() {
        let v = |minor| Version::parse(&format!("1.{minor}.0")).unwrap();
        assert_eq!(
            generated_api("ClusterConfiguration", &v(22)).unwrap(),
            "kubeadm.k8s.io/v1beta2"
        );
        assert_eq!(
            generated_api("JoinConfiguration", &v(35)).unwrap(),
            "kubeadm.k8s.io/v1beta3"
        );
        assert_eq!(
            generated_api("InitConfiguration", &v(36)).unwrap(),
            "kubeadm.k8s.io/v1beta4"
        );
        assert_eq!(generated_api("Cluster", &v(30)), None);
    }
}
