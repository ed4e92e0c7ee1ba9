//! Control-plane components run as static pods: the manifests the kubelet
//! reads from its `staticPodPath` (`--pod-manifest-path`).

use std::collections::BTreeMap;

use super::invocation::{self, Defaults, Parts};
use crate::model::{ComponentSpec, DefaultMode, Invocation, Layout, Source, Version, VersionInfo};
use crate::parse::flags::{self, Word};
use crate::parse::yaml::{self, Kind, Node};
use crate::source::FileDb;
use crate::span::{FileId, Loc};
use crate::text::Cooked;

/// Where kubeadm puts static pod manifests.
pub(crate) const KUBEADM_MANIFESTS: &str = "/etc/kubernetes/manifests";

/// A word of a command from a YAML sequence item, mapped to its bytes.
///
/// Plain and simply quoted scalars map byte for byte; a scalar whose
/// escapes change its length maps every character to the whole scalar.
pub(crate) fn scalar_word(file: FileId, text: &str, node: &Node) -> Option<Cooked> {
    let scalar = node.as_scalar()?;
    let raw = text.get(node.span.clone())?;
    let inner = if scalar.plain {
        raw
    } else {
        raw.get(1..raw.len().saturating_sub(1)).unwrap_or("")
    };
    let start = if scalar.plain {
        node.span.start
    } else {
        node.span.start + 1
    };
    if inner == scalar.text {
        return Some(Cooked::verbatim(file, text, start..start + inner.len()));
    }
    let mut c = Cooked::new();
    for ch in scalar.text.chars() {
        c.push(ch, file, node.span.clone());
    }
    Some(c)
}

/// The architecture suffixes of Kubernetes' per-architecture images
/// (`kube-scheduler-amd64`, used until 1.11).
const ARCH_SUFFIXES: &[&str] = &["-amd64", "-arm64", "-arm", "-ppc64le", "-s390x", "-386"];

/// The Kubernetes version in an image reference such as
/// `registry.k8s.io/kube-scheduler:v1.30.2`, when the image is the
/// component's own (`component`, with or without an architecture suffix,
/// or `hyperkube`, which held every component): a controller manager
/// started from a `kube-apiserver` image says nothing about its version.
pub(crate) fn image_version(image: &str, component: &str) -> Option<Version> {
    let image = image.split('@').next().unwrap_or(image);
    let (repo, tag) = image.rsplit_once(':').filter(|(_, t)| !t.contains('/'))?;
    let name = repo.rsplit('/').next().unwrap_or(repo);
    let name = ARCH_SUFFIXES
        .iter()
        .find_map(|s| name.strip_suffix(s))
        .unwrap_or(name);
    // etcd's tags carry etcd's own version, not Kubernetes'.
    if component == "etcd" || (name != component && name != "hyperkube") {
        return None;
    }
    Version::parse(tag)
}

/// The invocations in the static pod manifests of one YAML file.
pub(crate) fn from_file(
    files: &FileDb,
    id: FileId,
    docs: &[yaml::Document],
    components: &BTreeMap<String, ComponentSpec>,
    version: Option<&VersionInfo>,
) -> Vec<Invocation> {
    let text = &files.get(id).text;
    let mut out = Vec::new();
    for doc in docs {
        if doc.root.get_str("kind") != Some("Pod") {
            continue;
        }
        let Some(Kind::Seq(containers)) = doc.root.lookup("spec.containers").map(|(_, v)| &v.kind)
        else {
            continue;
        };
        for c in containers {
            let seq = |key: &str| -> Vec<&Node> {
                match c.get(key).map(|n| &n.kind) {
                    Some(Kind::Seq(items)) => items.iter().collect(),
                    _ => Vec::new(),
                }
            };
            let command = seq("command");
            let args = seq("args");
            let image_ref = c.get_str("image").unwrap_or("");
            // The executable: command[0], or the image's entrypoint when the
            // manifest only gives args.
            let (exe_node, exe_name, rest): (Option<&Node>, String, Vec<&Node>) =
                match command.split_first() {
                    Some((first, more)) => (
                        Some(*first),
                        first
                            .as_scalar()
                            .map(|s| s.text.clone())
                            .unwrap_or_default(),
                        more.iter().copied().chain(args.iter().copied()).collect(),
                    ),
                    None => {
                        let repo = image_ref.rsplit_once(':').map_or(image_ref, |(r, _)| r);
                        (
                            None,
                            repo.rsplit('/').next().unwrap_or(repo).to_owned(),
                            args.clone(),
                        )
                    }
                };
            let Some(spec) = components.values().find(|s| s.runs(&exe_name)) else {
                continue;
            };
            // New flags go after the last item of the list that holds them.
            let Some(last_item) = args.last().or(command.last()).copied() else {
                continue;
            };
            let start_node = exe_node
                .or_else(|| c.entry("image").map(|(k, _)| k))
                .unwrap_or(c);
            let start = Loc::new(id, start_node.span.clone());
            let words: Vec<Word> = rest
                .iter()
                .filter_map(|n| scalar_word(id, text, n))
                .map(|text| Word { text, via: None })
                .collect();
            let parsed = flags::parse(&words, &spec.bool_flags);
            let own = image_version(image_ref, &spec.name).map(|v| VersionInfo {
                version: v,
                source: format!("image {image_ref} in {}", files.get(id).path),
            });
            out.push(invocation::build(Parts {
                spec,
                db: files,
                start,
                files: vec![id],
                args: parsed,
                configs: Vec::new(),
                defaults: Defaults {
                    mode: DefaultMode::Flags,
                    reason: format!(
                        "not set in the manifest, so {}'s own default applies",
                        spec.name
                    ),
                },
                version: own.or_else(|| version.cloned()),
                layout: Layout::StaticPod,
                source: Source::StaticPod {
                    last: Loc::new(id, last_item.span.clone()),
                },
            }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_the_components_own_image_only() {
        let v = |s: &str, c: &str| image_version(s, c).map(|v| v.to_string());
        assert_eq!(
            v("registry.k8s.io/kube-scheduler:v1.30.2", "kube-scheduler").as_deref(),
            Some("1.30.2")
        );
        assert_eq!(
            v(
                "k8s.gcr.io/kube-controller-manager-amd64:v1.10.13",
                "kube-controller-manager"
            )
            .as_deref(),
            Some("1.10.13")
        );
        assert_eq!(
            v("k8s.gcr.io/hyperkube:v1.11.2", "kube-scheduler").as_deref(),
            Some("1.11.2")
        );
        assert_eq!(
            v(
                "registry.k8s.io/kube-scheduler:v1.30.2@sha256:0123abcd",
                "kube-scheduler"
            )
            .as_deref(),
            Some("1.30.2")
        );
        // Another component's image is no evidence.
        assert_eq!(
            v(
                "gcr.io/google_containers/kube-apiserver-amd64:v1.6.0",
                "kube-controller-manager"
            ),
            None
        );
        assert_eq!(v("registry.k8s.io/etcd:3.5.12-0", "etcd"), None);
        assert_eq!(v("localhost:5000/kube-proxy", "kube-proxy"), None);
    }

    #[test]
    fn quoted_items_map_to_their_bytes() {
        let text = "command:\n- kube-scheduler\n- \"--bind-address=127.0.0.1\"\n- '--x=\\n'\n";
        let docs = yaml::parse(text).unwrap();
        let Kind::Seq(items) = &docs[0].root.get("command").unwrap().kind else {
            panic!()
        };
        let w = scalar_word(FileId::TEST, text, &items[1]).unwrap();
        assert_eq!(&text[w.loc().unwrap().span], "--bind-address=127.0.0.1");
        let w = scalar_word(FileId::TEST, text, &items[2]).unwrap();
        assert_eq!(w.as_str(), "--x=\\n");
    }
}
