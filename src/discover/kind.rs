//! kind cluster configurations (`kind.x-k8s.io/v1alpha4` `Cluster`).
//!
//! kind generates the kubeadm configuration of every node from its own
//! template (kubernetes-sigs/kind `pkg/cluster/internal/kubeadm/config.go`)
//! and merges the cluster's `kubeadmConfigPatches`, then each node's, into
//! the documents of the same `kind` (`pkg/internal/patch/kubeyaml.go`: a
//! patch without `apiVersion` matches on `kind` alone, and its `extraArgs`
//! maps are converted for a v1beta4 target, `kubeadm_merge.go`). kind's
//! template passes the controller manager only `enable-hostpath-provisioner`
//! and the scheduler nothing on an IPv4 cluster, and adds no
//! `metricsBindAddress` to kube-proxy's configuration, so unless a patch
//! says otherwise kubeadm binds their metrics to loopback as on any kubeadm
//! node. That is what this module predicts: the patches' `extraArgs` in
//! order (a later one wins), and kubeadm's values for what none sets; of a
//! node's own patches only those that node's kubeadm reads (see [`Scope`]).
//!
//! The version is the tag of the control-plane node's image
//! (`kindest/node:v1.30.0@sha256:…`). The control plane of an IPv6
//! cluster, which kind's template binds to `::` (controller manager) and
//! `::1` (scheduler) itself, is only judged where a patch sets it.

use std::collections::BTreeMap;

use super::invocation::{self, ConfigDoc, Defaults, Parts};
use super::json6902::{self, Effect};
use super::repo::{self, KubeadmDoc};
use crate::model::{ComponentSpec, DefaultMode, Invocation, Layout, Problem, Source, VersionInfo};
use crate::parse::flags::Parsed;
use crate::parse::yaml::{self, Document, Kind, Node};
use crate::source::{FileDb, Notice};
use crate::span::{FileId, Loc};

/// The `apiVersion` kind's own configuration has; also what a patch
/// without one is judged by (its `extraArgs` written as maps).
pub(crate) const API: &str = "kind.x-k8s.io/v1alpha4";

/// One patch: the document its literal block holds, where the block sits
/// (`kubeadmConfigPatches[0]`, `nodes[1].kubeadmConfigPatches[0]`).
struct Patch {
    doc: Document,
    at: String,
    /// For an RFC 6902 operation (`kubeadmConfigPatchesJSON6902`), what it
    /// does besides the document it amounts to; such a patch is not a
    /// place a fix can edit.
    effect: Option<Effect>,
}

/// Whose configuration a list of patches changes. kind merges the
/// cluster's patches, then a node's own, into the configuration of each
/// node (`pkg/cluster/internal/create/actions/config/config.go`). The
/// first control-plane node (kind's `BootstrapControlPlaneNode`: names
/// sorted, and it is the one without a number) runs `kubeadm init`, which
/// reads the `InitConfiguration`, the `ClusterConfiguration` and the
/// component configurations and stores them in the cluster; every other
/// node runs `kubeadm join`, which reads only its `JoinConfiguration`
/// (`documentMapToJoinConfiguration` in kubeadm's
/// `app/util/config/joinconfiguration.go`: "not interested in anything
/// other than `JoinConfiguration`") and takes the rest from the cluster.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Cluster,
    Bootstrap,
    Joining,
}

impl Scope {
    /// Why a patch of `kind` at this scope changes nothing, if it does not.
    fn ineffective(self, kind: &str) -> Option<&'static str> {
        match (self, kind) {
            (Scope::Bootstrap, "JoinConfiguration") => Some(
                "the first control-plane node runs kubeadm init, which does not read a JoinConfiguration",
            ),
            (
                Scope::Joining,
                "ClusterConfiguration"
                | "InitConfiguration"
                | "KubeletConfiguration"
                | "KubeProxyConfiguration",
            ) => Some(
                "this node runs kubeadm join, which reads only its JoinConfiguration and takes the cluster's configuration from what kubeadm init stored on the first control-plane node",
            ),
            _ => None,
        }
    }
}

impl Patch {
    fn kind(&self) -> Option<&str> {
        self.doc.root.get_str("kind")
    }

    fn api(&self) -> Option<&str> {
        self.doc.root.get_str("apiVersion")
    }

    /// A merge patch, which a fix can edit.
    fn editable(&self) -> bool {
        self.effect.is_none()
    }
}

fn is_cluster(doc: &Document) -> bool {
    doc.type_meta() == Some((API, "Cluster"))
}

/// The Kubernetes version of a kind cluster: its first control-plane
/// node's image tag.
pub(crate) fn version(doc: &Document) -> Option<&str> {
    if !is_cluster(doc) {
        return None;
    }
    let Some(Kind::Seq(nodes)) = doc.root.get("nodes").map(|n| &n.kind) else {
        return None;
    };
    let image = nodes
        .iter()
        .find(|n| n.get_str("role").is_none_or(|r| r == "control-plane"))?
        .get_str("image")?;
    let tag = image.split('@').next()?.rsplit_once(':')?.1;
    tag.starts_with('v').then_some(tag)
}

/// The patches of the cluster and of its nodes, in the order kind applies
/// them, each parsed once.
fn patches(
    files: &FileDb,
    id: FileId,
    root: &Node,
    version: Option<&VersionInfo>,
    notices: &mut Vec<Notice>,
) -> Vec<Patch> {
    // The cluster's patches, then each node's: at each level the merge
    // patches, then the RFC 6902 ones (`KubeYAML`).
    let mut levels: Vec<(String, &Node, Scope)> = vec![(String::new(), root, Scope::Cluster)];
    if let Some(Kind::Seq(nodes)) = root.get("nodes").map(|n| &n.kind) {
        let mut bootstrap_seen = false;
        for (i, node) in nodes.iter().enumerate() {
            let role = node.get_str("role").unwrap_or("control-plane");
            let scope = if role == "control-plane" && !bootstrap_seen {
                bootstrap_seen = true;
                Scope::Bootstrap
            } else {
                Scope::Joining
            };
            levels.push((format!("nodes[{i}]."), node, scope));
        }
    }
    let mut out = Vec::new();
    for (prefix, level, scope) in levels {
        if let Some(list) = level.get("kubeadmConfigPatches") {
            merge_patches(
                files,
                id,
                (&format!("{prefix}kubeadmConfigPatches"), list),
                scope,
                &mut out,
                notices,
            );
        }
        if let Some(list) = level.get("kubeadmConfigPatchesJSON6902") {
            let path = format!("{prefix}kubeadmConfigPatchesJSON6902");
            let ops = json6902::ops(
                files,
                id,
                (&path, list),
                version.map(|v| &v.version),
                notices,
            );
            for op in ops {
                let kind = op.doc.root.get_str("kind").unwrap_or_default().to_owned();
                if let Some(why) = scope.ineffective(&kind) {
                    notices.push(repo::line_notice(
                        files,
                        id,
                        op.doc.root.span.start,
                        &format!("{} patches the {kind}, which changes nothing: {why}", op.at),
                    ));
                    continue;
                }
                out.push(Patch {
                    doc: op.doc,
                    at: op.at,
                    effect: Some(op.effect),
                });
            }
        }
    }
    out
}

/// The merge patches of one `kubeadmConfigPatches` list, each parsed once.
fn merge_patches(
    files: &FileDb,
    id: FileId,
    (path, list): (&str, &Node),
    scope: Scope,
    out: &mut Vec<Patch>,
    notices: &mut Vec<Notice>,
) {
    let text = &files.get(id).text;
    {
        let Kind::Seq(items) = &list.kind else {
            return;
        };
        let path = path.to_owned();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            let Some(body) = yaml::literal_block(text, item) else {
                if item.as_scalar().is_some() {
                    notices.push(repo::line_notice(files, id, item.span.start, &format!(
                        "{at} is written as a folded or quoted string; promready reads kind's patches only from a literal block (`- |`), so it is not checked"
                    )));
                }
                continue;
            };
            match yaml::parse_within(text, body) {
                Ok(docs) => {
                    for doc in docs {
                        let why = doc
                            .root
                            .get_str("kind")
                            .and_then(|k| scope.ineffective(k).map(|why| (k, why)));
                        match why {
                            Some((kind, why)) => notices.push(repo::line_notice(
                                files,
                                id,
                                doc.root.span.start,
                                &format!("{at} patches the {kind}, which changes nothing: {why}"),
                            )),
                            None => out.push(Patch {
                                doc,
                                at: at.clone(),
                                effect: None,
                            }),
                        }
                    }
                }
                Err(e) => notices.push(repo::line_notice(
                    files,
                    id,
                    e.offset,
                    &format!(
                        "{at} is not valid YAML: {}; kind would refuse the configuration",
                        e.message
                    ),
                )),
            }
        }
    }
}

/// Where a patch's `kind:` line is, or its start.
fn kind_line(id: FileId, p: &Patch) -> Loc {
    match p.doc.root.entry("kind") {
        Some((k, v)) => Loc::new(id, k.span.start..v.span.end),
        None => Loc::new(id, p.doc.root.span.start..p.doc.root.span.start),
    }
}

/// What a kind cluster configuration starts.
pub(crate) fn from_cluster(
    files: &FileDb,
    id: FileId,
    doc: &Document,
    components: &BTreeMap<String, ComponentSpec>,
    version: Option<&VersionInfo>,
    notices: &mut Vec<Notice>,
) -> Vec<Invocation> {
    if !is_cluster(doc) {
        return Vec::new();
    }
    let cluster_at = repo::kind_loc(id, doc);
    // kind's template has its own addresses for an IPv6 cluster only
    // (`.IPv6` is `IPFamily == IPv6Family`; dual-stack keeps kubeadm's).
    let ipv6 = doc
        .root
        .lookup("networking.ipFamily")
        .and_then(|(_, v)| v.as_scalar())
        .is_some_and(|s| s.text == "ipv6");
    let all = patches(files, id, &doc.root, version, notices);
    let mut out = control_plane(
        files,
        id,
        &all,
        &cluster_at,
        ipv6,
        components,
        version,
        notices,
    );

    // kube-proxy, unless the cluster runs without it.
    let proxy_mode = doc
        .root
        .lookup("networking.kubeProxyMode")
        .and_then(|(_, v)| v.as_scalar())
        .map(|s| s.text.to_ascii_lowercase());
    if proxy_mode.as_deref() != Some("none")
        && let Some(inv) = config_patches(
            files,
            id,
            &all,
            "kube-proxy",
            "KubeProxyConfiguration",
            &cluster_at,
            components,
            version,
            true,
        )
    {
        out.push(inv);
    }
    // The kubelet: only what its patches set (kind's own settings for it
    // are kubeadm's secure defaults).
    if let Some(mut inv) = config_patches(
        files,
        id,
        &all,
        "kubelet",
        "KubeletConfiguration",
        &cluster_at,
        components,
        version,
        false,
    ) {
        repo::kubeadm_starts_the_kubelet(&mut inv, components);
        out.push(inv);
    }
    for p in &all {
        let kind = match p.kind() {
            Some("InitConfiguration") => "InitConfiguration",
            Some("JoinConfiguration") => "JoinConfiguration",
            _ => continue,
        };
        let kd = KubeadmDoc {
            api: p.api().unwrap_or(API),
            kind,
            root: &p.doc.root,
            prefix: format!("{}: ", p.at),
            at: kind_line(id, p),
            layout: Layout::Kind,
        };
        let mut found = repo::from_kubeadm(files, id, &kd, components, version);
        if p.api().is_none() {
            // kind converts a patch's maps itself.
            for inv in &mut found {
                inv.wrong_arg_forms.clear();
            }
        }
        out.extend(found);
    }
    out
}

/// The controller manager, the scheduler and etcd, as kubeadm generates
/// them from kind's `ClusterConfiguration` merged with the patches of
/// that kind (the cluster's and the control-plane nodes').
#[allow(clippy::too_many_arguments)]
fn control_plane(
    files: &FileDb,
    id: FileId,
    all: &[Patch],
    cluster_at: &Loc,
    ipv6: bool,
    components: &BTreeMap<String, ComponentSpec>,
    version: Option<&VersionInfo>,
    notices: &mut Vec<Notice>,
) -> Vec<Invocation> {
    let path = files.get(id).path.clone();
    let control: Vec<&Patch> = all.iter().collect();
    let cluster_patches: Vec<usize> = (0..control.len())
        .filter(|&i| control[i].kind() == Some("ClusterConfiguration"))
        .collect();
    let mut out = Vec::new();
    // The control plane, as kubeadm generates it from the merged
    // ClusterConfiguration.
    for &(key, component, section) in repo::CONTROL_PLANE {
        let Some(spec) = components.get(component) else {
            continue;
        };
        let (flags, cuts) = section_args(id, &control, &cluster_patches, section, component);
        // Edits go to the last merge patch that has the section, else the
        // last ClusterConfiguration merge patch.
        let with_section = cluster_patches
            .iter()
            .rev()
            .find(|&&i| control[i].editable() && control[i].doc.root.lookup(section).is_some());
        let set_by_a_patch = cluster_patches
            .iter()
            .any(|&i| control[i].doc.root.lookup(section).is_some());
        if ipv6 && !set_by_a_patch {
            // kind's template and kubeadm choose IPv6 addresses themselves
            // (`::`, `::1`, `[::1]:2381`), which promready does not model.
            notices.push(repo::line_notice(files, id, cluster_at.span.start, &format!(
                "an IPv6 kind cluster: kind and kubeadm choose {component}'s addresses themselves and no patch sets `{section}`, so it is not judged"
            )));
            continue;
        }
        let target = with_section
            .or_else(|| {
                cluster_patches
                    .iter()
                    .rev()
                    .find(|&&i| control[i].editable())
            })
            .map(|&i| &control[i]);
        let start = match target {
            Some(p) => p
                .doc
                .root
                .entry(key)
                .map_or_else(|| kind_line(id, p), |(k, _)| Loc::new(id, k.span.clone())),
            None => cluster_at.clone(),
        };
        let source = match target {
            Some(p) => Source::Kubeadm {
                file: id,
                doc_start: p.doc.root.span.start,
                section,
                api_version: p.api().unwrap_or(API).to_owned(),
            },
            None => Source::KindDefault {
                kind: "ClusterConfiguration",
            },
        };
        let mut inv = invocation::build(Parts {
            spec,
            db: files,
            start,
            files: vec![id],
            args: Parsed {
                flags,
                ..Parsed::default()
            },
            configs: Vec::new(),
            defaults: Defaults {
                mode: DefaultMode::Kubeadm,
                reason: format!(
                    "not set in the kubeadmConfigPatches of {path}, so kubeadm generates its own value"
                ),
            },
            version: version.cloned(),
            layout: Layout::Kind,
            source,
        });
        for &i in &cluster_patches {
            let p = &control[i];
            if let Some(api) = p.api() {
                inv.wrong_arg_forms.extend(repo::wrong_arg_forms(
                    id,
                    &files.get(id).text,
                    &KubeadmDoc {
                        api,
                        kind: "ClusterConfiguration",
                        root: &p.doc.root,
                        prefix: format!("{}: ", p.at),
                        at: kind_line(id, p),
                        layout: Layout::Kind,
                    },
                ));
            }
        }
        inv.notes.extend(cuts);
        out.push(inv);
    }

    out
}

/// The `extraArgs` of a control-plane `section` as the patches leave
/// them, in order, and a note for each RFC 6902 operation that takes some
/// of them out.
fn section_args(
    id: FileId,
    control: &[&Patch],
    cluster_patches: &[usize],
    section: &str,
    component: &str,
) -> (Vec<crate::parse::flags::Flag>, Vec<Problem>) {
    let args_key = format!("{section}.extraArgs");
    let mut flags = Vec::new();
    let mut cuts = Vec::new();
    for &i in cluster_patches {
        let p = &control[i];
        let cut = match &p.effect {
            Some(Effect::Replace(path) | Effect::Remove(path)) => Some(path.as_str()),
            _ => None,
        };
        if let Some(path) = cut {
            // What the operation replaces or removes is gone: the
            // whole `extraArgs` (or the section), or one flag of it.
            let before = flags.len();
            if args_key == path || args_key.starts_with(&format!("{path}.")) {
                flags.clear();
            } else if let Some(name) = path.strip_prefix(&format!("{args_key}.")) {
                flags.retain(|f: &crate::parse::flags::Flag| f.name != name);
            }
            if flags.len() < before {
                cuts.push(Problem {
                    loc: Some(Loc::new(id, p.doc.root.span.clone())),
                    message: format!(
                        "{} takes `{path}` out of the {component} arguments the patches before it set (kind applies it after them)",
                        p.at
                    ),
                });
            }
        }
        if let Some((_, n)) = p.doc.root.lookup(&args_key) {
            flags.extend(repo::extra_args(id, n));
        }
    }
    (flags, cuts)
}

/// A component configured by kind's generated `kind` document and the
/// patches of that kind, merged in order; `None` when nothing is to be
/// judged (no patch, and kind's own document is not `judged_unpatched`).
#[allow(clippy::too_many_arguments)]
fn config_patches(
    files: &FileDb,
    id: FileId,
    patches: &[Patch],
    component: &str,
    kind: &'static str,
    cluster_at: &Loc,
    components: &BTreeMap<String, ComponentSpec>,
    version: Option<&VersionInfo>,
    judged_unpatched: bool,
) -> Option<Invocation> {
    let spec = components.get(component)?;
    let mine: Vec<&Patch> = patches.iter().filter(|p| p.kind() == Some(kind)).collect();
    if mine.is_empty() && !judged_unpatched {
        return None;
    }
    let path = &files.get(id).path;
    let last = mine.last();
    // Edits go into the last merge patch of this kind.
    let target = mine.iter().rev().find(|p| p.editable());
    Some(invocation::build(Parts {
        spec,
        db: files,
        start: last.map_or_else(|| cluster_at.clone(), |p| kind_line(id, p)),
        files: vec![id],
        args: Parsed::default(),
        configs: mine
            .iter()
            .map(|p| ConfigDoc {
                file: id,
                root: p.doc.root.clone(),
            })
            .collect(),
        defaults: Defaults {
            mode: DefaultMode::Config,
            reason: format!(
                "not set in the {kind} patches of {path}, so the default of kind's {kind} applies"
            ),
        },
        version: version.cloned(),
        layout: Layout::Kind,
        source: match target {
            Some(p) => Source::ConfigDoc {
                file: id,
                doc_start: p.doc.root.span.start,
            },
            None => Source::KindDefault { kind },
        },
    }))
}
