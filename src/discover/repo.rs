//! Configuration repositories and named files (the pre-commit use case):
//! every file is classified by its content, not its name.
//!
//! - kubeadm `ClusterConfiguration`: what kubeadm *will generate* for the
//!   controller manager, the scheduler and local etcd (`extraArgs` as v1beta3
//!   maps or v1beta4 `{name, value}` lists, kubeadm's own values otherwise);
//! - `InitConfiguration`/`JoinConfiguration`: `nodeRegistration.kubeletExtraArgs`;
//! - `KubeletConfiguration`, `KubeProxyConfiguration`: the configuration of
//!   a component started with `--config` pointing at the document;
//! - static pod manifests; systemd units and drop-ins; kubelet environment files.
//!
//! Anything else is ignored.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use super::invocation::{self, ConfigDoc, Defaults, Parts};
use super::service::Configured;
use super::unjudged::Recognised;
use super::{staticpod, systemd};
use crate::model::{
    ArgsForm, ComponentSpec, DefaultMode, Invocation, Layout, Source, Version, VersionInfo,
    WrongArgsForm,
};
use crate::parse::envfile;
use crate::parse::flags::{self, Flag, Parsed, Word};
use crate::parse::words::{self, Mode};
use crate::parse::yaml::{self, Document, Kind, Node, Value};
use crate::source::{FileDb, Notice};
use crate::span::{FileId, Loc};

/// What the files of a repository start, and the version they target.
pub(crate) struct Discovered {
    pub(crate) invocations: Vec<Invocation>,
    pub(crate) version: Option<VersionInfo>,
}

enum Content {
    /// The typed documents, and what the `ConfigMap`s among them hold in
    /// literal blocks of `data` ([`config_maps`]).
    Yaml(Vec<Document>, ConfigMaps),
    /// Looks like a Kubernetes object but does not parse: where and why.
    BrokenYaml(usize, String),
    /// A layout promready recognises but does not judge.
    Recognised(Vec<Recognised>),
    Unit,
    EnvFile,
    Other,
}

fn classify(text: &str) -> Content {
    let mut headers = text
        .lines()
        .filter(|l| matches!(l.trim(), "[Unit]" | "[Service]" | "[Install]"));
    // systemd strips the indentation of a section header, but an indented
    // one in a file that is YAML is a unit embedded in a literal block (a
    // Butane config, a ConfigMap): the file is not a unit.
    let unit_header = match headers.next() {
        None => false,
        Some(first) => {
            std::iter::once(first)
                .chain(headers)
                .any(|l| !l.starts_with([' ', '\t']))
                || yaml::parse(text).is_err()
        }
    };
    if unit_header {
        return Content::Unit;
    }
    match yaml::parse(text) {
        Ok(docs) if docs.iter().any(|d| d.type_meta().is_some()) => {
            let typed: Vec<Document> = docs
                .into_iter()
                .flat_map(list_items)
                .filter(|d| d.type_meta().is_some())
                .collect();
            if !typed.is_empty() {
                let embedded = config_maps(text, &typed);
                return Content::Yaml(typed, embedded);
            }
        }
        Ok(docs) => {
            let recognised: Vec<Recognised> = docs
                .iter()
                .filter_map(|d| super::unjudged::untyped(text, d))
                .collect();
            if !recognised.is_empty() {
                return Content::Recognised(recognised);
            }
        }
        // Other broken YAML, and templates (Helm, Jinja) that only become
        // YAML when rendered, are not ours to judge.
        Err(e)
            if text.contains("apiVersion:")
                && text.contains("kind:")
                && !text.contains("{{")
                && !text.contains("{%") =>
        {
            return Content::BrokenYaml(e.offset, e.message);
        }
        Err(_) => {}
    }
    let assignments = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with(['#', ';']))
        .all(|l| {
            l.split_once('=')
                .is_some_and(|(k, _)| envfile::is_env_name(k.trim().trim_start_matches("export ")))
        });
    if assignments && text.contains("KUBELET_") {
        return Content::EnvFile;
    }
    Content::Other
}

/// The objects of a `v1` `List` (what `kubectl get -o yaml` prints for
/// several objects), each as a document; any other document as itself.
fn list_items(doc: Document) -> Vec<Document> {
    let is_list = doc.type_meta() == Some(("v1", "List"));
    match doc.root.get("items").map(|n| &n.kind) {
        Some(Kind::Seq(items)) if is_list => items
            .iter()
            .map(|item| Document { root: item.clone() })
            .collect(),
        _ => vec![doc],
    }
}

/// Whether the files hold kubeadm's own documents.
fn has_kubeadm_documents(classified: &[(FileId, Content)]) -> bool {
    classified.iter().any(|(_, c)| match c {
        Content::Yaml(docs, _) => docs.iter().any(|d| {
            d.type_meta().is_some_and(|(api, kind)| {
                api.starts_with("kubeadm.k8s.io/")
                    && matches!(
                        kind,
                        "InitConfiguration" | "JoinConfiguration" | "ClusterConfiguration"
                    )
            })
        }),
        _ => false,
    })
}

/// The files one unit is read from: the unit, its own drop-ins
/// (`NAME.service.d/*.conf` beside it), and the environment files it names
/// that sit beside it.
struct UnitGroup {
    files: Vec<FileId>,
    env: Vec<FileId>,
    /// `EnvironmentFile=` paths not found beside the unit.
    missing_env: Vec<String>,
}

/// A group for every unit or drop-in read on its own, and every file some
/// unit takes in (which is then not read on its own).
fn unit_groups(
    files: &FileDb,
    classified: &[(FileId, Content)],
) -> (
    HashMap<FileId, UnitGroup>,
    std::collections::HashSet<FileId>,
) {
    let unit_ids: std::collections::HashSet<FileId> = classified
        .iter()
        .filter(|(_, c)| matches!(c, Content::Unit))
        .map(|(id, _)| *id)
        .collect();
    let is_unit = |id: &FileId| unit_ids.contains(id);
    let env_candidates: Vec<FileId> = classified
        .iter()
        .filter(|(_, c)| matches!(c, Content::EnvFile | Content::Other))
        .map(|(e, _)| *e)
        .collect();
    let mut consumed: std::collections::HashSet<FileId> = std::collections::HashSet::new();
    let mut members: Vec<(FileId, Vec<FileId>)> = Vec::new();
    for (u, _) in classified
        .iter()
        .filter(|(id, c)| matches!(c, Content::Unit) && files.get(*id).path.ends_with(".service"))
    {
        let dir = format!("{}.d/", files.get(*u).path);
        let mut own: Vec<FileId> = classified
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| {
                is_unit(id)
                    && files
                        .get(*id)
                        .path
                        .strip_prefix(&dir)
                        .is_some_and(|name| !name.contains('/') && name.ends_with(".conf"))
            })
            .collect();
        own.sort_by(|a, b| files.get(*a).path.cmp(&files.get(*b).path));
        consumed.extend(own.iter().copied());
        let mut all = vec![*u];
        all.extend(own);
        members.push((*u, all));
    }
    // Drop-ins and other units whose unit is not beside them.
    let alone: Vec<FileId> = classified
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| is_unit(id) && !consumed.contains(id) && !members.iter().any(|(u, _)| u == id))
        .collect();
    members.extend(alone.into_iter().map(|id| (id, vec![id])));
    let mut groups = HashMap::new();
    for (first, all) in members {
        let merged = systemd::merge(files, &all);
        let (env, missing_env) = env_files_beside(files, first, &merged, &env_candidates);
        consumed.extend(env.iter().copied());
        groups.insert(
            first,
            UnitGroup {
                files: all,
                env,
                missing_env,
            },
        );
    }
    (groups, consumed)
}

/// Discovers the invocations in `ids`.
pub(crate) fn discover(
    files: &FileDb,
    ids: &[FileId],
    components: &BTreeMap<String, ComponentSpec>,
    forced: Option<&VersionInfo>,
    notices: &mut Vec<Notice>,
) -> Discovered {
    let classified: Vec<(FileId, Content)> = ids
        .iter()
        .map(|&id| (id, classify(&files.get(id).text)))
        .collect();
    let (version, own) = match forced {
        Some(v) => (Some(v.clone()), HashMap::new()),
        None => versions(files, &classified, notices),
    };
    let version_of = |id: &FileId| own.get(id).or(version.as_ref());
    // A KubeletConfiguration beside kubeadm's own documents is consumed by
    // kubeadm, which always starts the kubelet with a kubeconfig.
    let kubeadm_repo = has_kubeadm_documents(&classified);
    let (units, consumed) = unit_groups(files, &classified);
    // Where a unit's `--config-file` may be.
    let yaml_files: Vec<FileId> = classified
        .iter()
        .filter(|(_, c)| {
            matches!(
                c,
                Content::Yaml(..) | Content::BrokenYaml(..) | Content::Other
            )
        })
        .map(|(id, _)| *id)
        .collect();
    let mut out = super::k3s::from_files(files, ids, components, version.as_ref());
    for (id, content) in &classified {
        if consumed.contains(id) {
            continue;
        }
        match content {
            Content::Yaml(docs, embedded) => {
                for r in docs.iter().filter_map(super::unjudged::typed) {
                    notices.push(line_notice(files, *id, r.offset, &r.message));
                }
                out.extend(from_yaml(
                    files,
                    *id,
                    (docs, embedded),
                    components,
                    version_of(id),
                    kubeadm_repo,
                    notices,
                ));
            }
            Content::Unit => {
                if let Some(group) = units.get(id) {
                    out.extend(from_unit(
                        files,
                        group,
                        &yaml_files,
                        components,
                        version.as_ref(),
                        notices,
                    ));
                }
            }
            Content::EnvFile => {
                let text = &files.get(*id).text;
                let assignments = envfile::parse(*id, text);
                let cooked = assignments.iter().map(|a| a.value.len()).sum();
                if !crate::budget::hold_cooked(cooked, &files.get(*id).path) {
                    continue;
                }
                let env: HashMap<String, systemd::EnvValue> = assignments
                    .into_iter()
                    .map(|a| (a.name, systemd::EnvValue { value: a.value }))
                    .collect();
                out.extend(kubelet_fragment(
                    files,
                    *id,
                    &env,
                    components,
                    version.as_ref(),
                    Layout::EnvironmentFile,
                ));
            }
            Content::BrokenYaml(offset, message) => {
                let f = files.get(*id);
                let (line, col) = f.line_col(*offset);
                notices.push(Notice {
                    path: f.path.clone(),
                    message: format!("invalid YAML at {line}:{col}: {message}; kubeadm and the components would refuse this file"),
                });
            }
            Content::Recognised(found) => {
                for r in found {
                    notices.push(line_notice(files, *id, r.offset, &r.message));
                }
            }
            Content::Other => {}
        }
    }
    Discovered {
        invocations: out,
        version,
    }
}

/// The Kubernetes version each YAML file declares (a `ClusterConfiguration`'s
/// `kubernetesVersion`, a kind node image tag, a Cluster API `spec.version`).
/// When every declaration agrees it is the repository's version. When they
/// differ, a file that declares one version is judged with it, every other
/// file with none, and a notice lists them all: no file is judged with a
/// version another file chose.
fn versions(
    files: &FileDb,
    classified: &[(FileId, Content)],
    notices: &mut Vec<Notice>,
) -> (Option<VersionInfo>, HashMap<FileId, VersionInfo>) {
    let declared: Vec<(FileId, VersionInfo)> = classified
        .iter()
        .flat_map(|(id, c)| {
            let docs: Vec<&Document> = match c {
                Content::Yaml(docs, embedded) => docs
                    .iter()
                    .chain(embedded.docs.iter().map(|e| &e.doc))
                    .collect(),
                _ => Vec::new(),
            };
            docs.into_iter()
                .filter_map(|d| declared_version(files, *id, d))
                .map(|v| (*id, v))
                .collect::<Vec<_>>()
        })
        .collect();
    let Some((_, first)) = declared.first() else {
        return (None, HashMap::new());
    };
    if declared.iter().all(|(_, v)| v.version == first.version) {
        return (Some(first.clone()), HashMap::new());
    }
    let mut own: HashMap<FileId, VersionInfo> = HashMap::new();
    let mut split = Vec::new();
    for (id, v) in &declared {
        if declared
            .iter()
            .all(|(other, w)| other != id || w.version == v.version)
        {
            own.entry(*id).or_insert_with(|| v.clone());
        } else if !split.contains(id) {
            split.push(*id);
        }
    }
    let listed: Vec<String> = declared
        .iter()
        .map(|(_, v)| format!("{} ({})", v.version, v.source))
        .collect();
    let mut message = format!(
        "the files target different Kubernetes versions: {}; each file that declares one version is judged with it, every other file with none (give the version with --kubernetes-version)",
        listed.join(", ")
    );
    if !split.is_empty() {
        let paths: Vec<&str> = split
            .iter()
            .map(|id| files.get(*id).path.as_str())
            .collect();
        let verb = if paths.len() == 1 {
            "declares"
        } else {
            "declare"
        };
        let _ = write!(
            message,
            "; {} {verb} more than one and so {} judged with none",
            paths.join(", "),
            if paths.len() == 1 { "is" } else { "are" }
        );
    }
    notices.push(Notice {
        path: files.get(declared[0].0).path.clone(),
        message,
    });
    (None, own)
}

/// The version one document declares, and where.
fn declared_version(files: &FileDb, id: FileId, d: &Document) -> Option<VersionInfo> {
    let (api, kind) = d.type_meta()?;
    let (text, key) = if api.starts_with("kubeadm.k8s.io/") && kind == "ClusterConfiguration" {
        (d.root.get_str("kubernetesVersion")?, "kubernetesVersion")
    } else if let Some(tag) = super::kind::version(d) {
        (tag, "the control-plane node's image tag")
    } else {
        super::capi::version(api, kind, &d.root)?
    };
    Some(VersionInfo {
        version: Version::parse(text)?,
        source: format!("{key} in {}", files.get(id).path),
    })
}

/// What the documents of one YAML file start: its own documents, the
/// configuration its `ConfigMap`s hold, and its static pods.
fn from_yaml(
    files: &FileDb,
    id: FileId,
    (docs, embedded): (&[Document], &ConfigMaps),
    components: &BTreeMap<String, ComponentSpec>,
    version: Option<&VersionInfo>,
    kubeadm_repo: bool,
    notices: &mut Vec<Notice>,
) -> Vec<Invocation> {
    let mut out = Vec::new();
    for doc in docs {
        out.extend(super::kind::from_cluster(
            files, id, doc, components, version, notices,
        ));
        let mut found = from_document(files, id, doc, components, version);
        if kubeadm_repo {
            for inv in &mut found {
                kubeadm_starts_the_kubelet(inv, components);
            }
        }
        out.extend(found);
    }
    for e in &embedded.docs {
        let mut found = from_document(files, id, &e.doc, components, version);
        for inv in &mut found {
            inv.layout = Layout::ConfigMap;
            // kubeadm's `kubelet-config` ConfigMap is what it writes to
            // every node it starts with its drop-in.
            if e.kubeadm_kubelet {
                kubeadm_starts_the_kubelet(inv, components);
            }
        }
        out.extend(found);
    }
    for (offset, message) in &embedded.problems {
        notices.push(line_notice(files, id, *offset, message));
    }
    out.extend(staticpod::from_file(files, id, docs, components, version));
    out
}

/// A component's configuration document held in a `ConfigMap`.
struct Embedded {
    doc: Document,
    /// In kubeadm's `kube-system/kubelet-config` (`kubelet-config-1.NN`
    /// before 1.24), the `KubeletConfiguration` kubeadm gives every node.
    kubeadm_kubelet: bool,
}

/// The `data` entries of a `ConfigMap` document, with its name.
fn config_map_data(doc: &Document) -> Option<(&str, &[(Node, Node)])> {
    let (api, kind) = doc.type_meta()?;
    if api != "v1" || kind != "ConfigMap" {
        return None;
    }
    let name = doc
        .root
        .lookup("metadata.name")
        .and_then(|(_, v)| v.as_scalar())
        .map_or("", |s| s.text.as_str());
    Some((name, doc.root.get("data")?.as_map()?))
}

/// What the `ConfigMap`s of a file hold.
#[derive(Default)]
struct ConfigMaps {
    docs: Vec<Embedded>,
    /// Entries that look like a Kubernetes object but are not read (invalid
    /// YAML, or a folded or quoted string instead of a literal block): the
    /// offset and why.
    problems: Vec<(usize, String)>,
}

/// The typed documents in the literal blocks of the `data` of the
/// `ConfigMap`s among `docs`, as kubeadm uploads them
/// (`kube-system/kubeadm-config`'s `ClusterConfiguration`, `kube-proxy`'s
/// `config.conf`, `kubelet-config`'s `kubelet`; kubeadm's `uploadconfig`
/// and `kubelet` phases): parsed where they stand, once, so findings and
/// fixes land on the `ConfigMap`'s lines.
fn config_maps(text: &str, docs: &[Document]) -> ConfigMaps {
    let mut out = ConfigMaps::default();
    for doc in docs {
        let Some((name, data)) = config_map_data(doc) else {
            continue;
        };
        let namespace = doc
            .root
            .lookup("metadata.namespace")
            .and_then(|(_, v)| v.as_scalar());
        let kubeadm_kubelet = namespace.is_none_or(|n| n.text == "kube-system")
            && (name == "kubelet-config" || name.starts_with("kubelet-config-1."));
        for (k, v) in data {
            // Only text that can be a Kubernetes object is parsed again.
            let Some(s) = v.as_scalar().filter(|s| s.text.contains("kind:")) else {
                continue;
            };
            let object = s.text.contains("apiVersion:");
            let shown = || {
                (
                    crate::escape::bounded(
                        &k.as_scalar().map_or(String::new(), |k| k.text.clone()),
                        80,
                    ),
                    crate::escape::bounded(name, 80),
                )
            };
            match yaml::literal_block(text, v).map(|body| yaml::parse_within(text, body)) {
                Some(Ok(found)) => {
                    let typed = found.into_iter().filter(|d| d.type_meta().is_some());
                    out.docs.extend(typed.map(|doc| Embedded {
                        doc,
                        kubeadm_kubelet,
                    }));
                }
                Some(Err(e)) if object => {
                    let (key, name) = shown();
                    out.problems.push((e.offset, format!("data.{key} of ConfigMap {name} is not valid YAML: {}; the component would refuse it", e.message)));
                }
                None if object => {
                    let (key, name) = shown();
                    out.problems.push((k.span.start, format!("data.{key} of ConfigMap {name} is written as a folded or quoted string; promready reads the configuration in a ConfigMap only from a literal block (`{key}: |`), so it is not checked")));
                }
                Some(Err(_)) | None => {}
            }
        }
    }
    out
}

/// The location of a document's `kind: X` line.
pub(crate) fn kind_loc(id: FileId, doc: &Document) -> Loc {
    match doc.root.entry("kind") {
        Some((k, v)) => Loc::new(id, k.span.start..v.span.end),
        None => Loc::new(id, doc.root.span.start..doc.root.span.start),
    }
}

/// kubeadm's configuration for one node or cluster: a document of its own
/// (`kubeadm.k8s.io/*`) or a field of a Cluster API object.
pub(crate) struct KubeadmDoc<'a> {
    /// The API version that decides how `extraArgs` are written: the
    /// document's, or the Cluster API object's.
    pub(crate) api: &'a str,
    /// `ClusterConfiguration`, `InitConfiguration` or `JoinConfiguration`.
    pub(crate) kind: &'static str,
    pub(crate) root: &'a Node,
    /// The key path of `root` in its document, ending in `.` (empty for a
    /// document of its own), for messages.
    pub(crate) prefix: String,
    /// Where a finding about the whole configuration points.
    pub(crate) at: Loc,
    pub(crate) layout: Layout,
}

fn from_document(
    files: &FileDb,
    id: FileId,
    doc: &Document,
    components: &BTreeMap<String, ComponentSpec>,
    version: Option<&VersionInfo>,
) -> Vec<Invocation> {
    let Some((api, kind)) = doc.type_meta() else {
        return Vec::new();
    };
    if let Some(kd) = kubeadm_doc(id, doc) {
        return from_kubeadm(files, id, &kd, components, version);
    }
    let embedded = super::capi::kubeadm_docs(id, api, kind, &doc.root);
    if !embedded.is_empty() {
        return embedded
            .iter()
            .flat_map(|kd| from_kubeadm(files, id, kd, components, version))
            .collect();
    }
    config_document(files, id, doc, api, kind, components, version)
}

/// A kubeadm document of its own.
fn kubeadm_doc(id: FileId, doc: &Document) -> Option<KubeadmDoc<'_>> {
    let (api, kind) = doc.type_meta()?;
    if !api.starts_with("kubeadm.k8s.io/") {
        return None;
    }
    let (kind, layout) = match kind {
        "ClusterConfiguration" => ("ClusterConfiguration", Layout::KubeadmClusterConfiguration),
        "InitConfiguration" => ("InitConfiguration", Layout::KubeadmNodeRegistration),
        "JoinConfiguration" => ("JoinConfiguration", Layout::KubeadmNodeRegistration),
        _ => return None,
    };
    Some(KubeadmDoc {
        api,
        kind,
        root: &doc.root,
        prefix: String::new(),
        at: kind_loc(id, doc),
        layout,
    })
}

/// What kubeadm starts from one of its configurations.
pub(crate) fn from_kubeadm(
    files: &FileDb,
    id: FileId,
    kd: &KubeadmDoc<'_>,
    components: &BTreeMap<String, ComponentSpec>,
    version: Option<&VersionInfo>,
) -> Vec<Invocation> {
    let path = &files.get(id).path;
    let forms = wrong_arg_forms(id, &files.get(id).text, kd);
    let mut found = match kd.kind {
        "ClusterConfiguration" => kubeadm_cluster(files, id, kd, components, version),
        _ => {
            let Some((key, args)) = kd.root.lookup("nodeRegistration.kubeletExtraArgs") else {
                return Vec::new();
            };
            let Some(spec) = components.get("kubelet") else {
                return Vec::new();
            };
            vec![invocation::build(Parts {
                spec,
                db: files,
                start: Loc::new(id, key.span.clone()),
                files: vec![id],
                args: Parsed {
                    flags: extra_args(id, args),
                    ..Parsed::default()
                },
                configs: Vec::new(),
                defaults: Defaults {
                    mode: DefaultMode::Unknown,
                    reason: format!(
                        "{}nodeRegistration.kubeletExtraArgs in {path} only add flags",
                        kd.prefix
                    ),
                },
                version: version.cloned(),
                layout: kd.layout,
                source: Source::KubeletExtraArgs {
                    file: id,
                    doc_start: kd.root.span.start,
                },
            })]
        }
    };
    // Every invocation of the document carries them; the scan keeps one
    // finding per key.
    for inv in &mut found {
        inv.wrong_arg_forms.clone_from(&forms);
    }
    found
}

/// A component configuration document, as if passed with `--config`.
fn config_document(
    files: &FileDb,
    id: FileId,
    doc: &Document,
    api: &str,
    kind: &str,
    components: &BTreeMap<String, ComponentSpec>,
    version: Option<&VersionInfo>,
) -> Vec<Invocation> {
    let path = &files.get(id).path;
    let Some(spec) = components.values().find(|c| {
        c.config_kind
            .as_ref()
            .is_some_and(|k| k.kind == kind && k.api_version == api)
    }) else {
        return Vec::new();
    };
    vec![invocation::build(Parts {
        spec,
        db: files,
        start: kind_loc(id, doc),
        files: vec![id],
        args: Parsed::default(),
        configs: vec![ConfigDoc {
            file: id,
            root: doc.root.clone(),
        }],
        defaults: Defaults {
            mode: DefaultMode::Config,
            reason: format!("not set in {path}, so the {api} default applies"),
        },
        version: version.cloned(),
        layout: Layout::ComponentConfig,
        source: Source::ConfigDoc {
            file: id,
            doc_start: doc.root.span.start,
        },
    })]
}

/// `extraArgs` as flags: a v1beta3 map or a v1beta4 list of `{name, value}`.
pub(crate) fn extra_args(id: FileId, node: &Node) -> Vec<Flag> {
    let flag = |name: &Node, value: Option<&Node>, whole: std::ops::Range<usize>| -> Option<Flag> {
        let name = flags::normalize(&name.as_scalar()?.text);
        let value_node = value?;
        let value = value_node
            .as_scalar()
            .map(|s| s.value().to_flag_text().unwrap_or_default())?;
        Some(Flag {
            name,
            value,
            loc: Some(Loc::new(id, whole)),
            value_loc: Some(Loc::new(id, value_node.span.clone())),
            separate_value: false,
            via: None,
        })
    };
    match &node.kind {
        Kind::Map(entries) => entries
            .iter()
            .filter_map(|(k, v)| flag(k, Some(v), k.span.start..v.span.end))
            .collect(),
        Kind::Seq(items) => items
            .iter()
            .filter_map(|item| {
                let (nk, _) = item.entry("name")?;
                let name = item.get("name")?;
                let _ = nk;
                flag(name, item.get("value"), item.span.clone())
            })
            .collect(),
        Kind::Scalar(_) => Vec::new(),
    }
}

/// How `node` writes extra arguments; `None` when it holds nothing
/// (`extraArgs:`, `extraArgs: null`), which every version accepts.
pub(crate) fn args_form(node: &Node) -> Option<ArgsForm> {
    match &node.kind {
        Kind::Map(_) => Some(ArgsForm::Map),
        Kind::Seq(_) => Some(ArgsForm::List),
        Kind::Scalar(s) if s.value() == Value::Null => None,
        Kind::Scalar(_) => Some(ArgsForm::Scalar),
    }
}

/// The extra-argument keys of a kubeadm document of `kind`.
fn extra_args_paths(kind: &str) -> &'static [&'static str] {
    match kind {
        "ClusterConfiguration" => &[
            "apiServer.extraArgs",
            "controllerManager.extraArgs",
            "scheduler.extraArgs",
            "etcd.local.extraArgs",
        ],
        "InitConfiguration" | "JoinConfiguration" => &["nodeRegistration.kubeletExtraArgs"],
        _ => &[],
    }
}

/// The extra arguments of a kubeadm document written in the form its API
/// version does not decode (a v1beta3 map in v1beta4, or the reverse):
/// kubeadm refuses the whole file.
pub(crate) fn wrong_arg_forms(id: FileId, text: &str, kd: &KubeadmDoc<'_>) -> Vec<WrongArgsForm> {
    let Some(wants) = ArgsForm::wanted_by(kd.api) else {
        return Vec::new();
    };
    extra_args_paths(kd.kind)
        .iter()
        .filter_map(|path| {
            let (key, node) = kd.root.lookup(path)?;
            let found = args_form(node).filter(|f| *f != wants)?;
            Some(WrongArgsForm {
                key: Loc::new(id, key.span.clone()),
                path: format!("{}{path}", kd.prefix),
                api_version: kd.api.to_owned(),
                refused: if kd.layout == Layout::ClusterApi {
                    "the API server refuses this object (Cluster API's schema)"
                } else {
                    "kubeadm refuses this file"
                },
                found,
                wants,
                example: args_example(text, node, wants),
            })
        })
        .collect()
}

/// One line in the form `wants`, made from the first entry of `node`
/// (`bind-address: 127.0.0.1` becomes `- {name: bind-address, value:
/// 127.0.0.1}`), or from `v: "2"` when it has none to show.
fn args_example(text: &str, node: &Node, wants: ArgsForm) -> String {
    // A one-line scalar, as written (quoted when it goes into a flow item
    // and holds flow punctuation).
    let written = |n: &Node| -> Option<String> {
        let s = n.as_scalar()?;
        let src = text.get(n.span.clone())?;
        if src.is_empty() || src.contains(['\n', '\r']) {
            return None;
        }
        if wants == ArgsForm::List && s.plain && src.contains([',', '[', ']', '{', '}']) {
            return Some(format!(
                "\"{}\"",
                s.text.replace('\\', "\\\\").replace('"', "\\\"")
            ));
        }
        Some(src.to_owned())
    };
    let first = match &node.kind {
        Kind::Map(entries) => entries
            .first()
            .and_then(|(k, v)| Some((written(k)?, written(v)?))),
        Kind::Seq(items) => items
            .first()
            .and_then(|i| Some((written(i.get("name")?)?, written(i.get("value")?)?))),
        Kind::Scalar(_) => None,
    };
    let (name, value) = first.unwrap_or_else(|| ("v".to_owned(), "\"2\"".to_owned()));
    match wants {
        ArgsForm::List => format!("`- {{name: {name}, value: {value}}}`"),
        ArgsForm::Map | ArgsForm::Scalar => format!("`{name}: {value}`"),
    }
}

/// The components kubeadm generates from a `ClusterConfiguration`: the
/// key of the section, the component, and the key path of its `extraArgs`'
/// parent.
pub(crate) const CONTROL_PLANE: &[(&str, &str, &str)] = &[
    (
        "controllerManager",
        "kube-controller-manager",
        "controllerManager",
    ),
    ("scheduler", "kube-scheduler", "scheduler"),
    ("etcd", "etcd", "etcd.local"),
];

/// A notice about `offset` of file `id`, naming its line.
pub(crate) fn line_notice(files: &FileDb, id: FileId, offset: usize, message: &str) -> Notice {
    let f = files.get(id);
    Notice {
        path: f.path.clone(),
        message: format!("line {}: {message}", f.line_col(offset).0),
    }
}

/// What kubeadm will generate from a `ClusterConfiguration`.
fn kubeadm_cluster(
    files: &FileDb,
    id: FileId,
    kd: &KubeadmDoc<'_>,
    components: &BTreeMap<String, ComponentSpec>,
    version: Option<&VersionInfo>,
) -> Vec<Invocation> {
    let root = kd.root;
    let path = &files.get(id).path;
    let mut out = Vec::new();
    for &(key, component, section_path) in CONTROL_PLANE {
        let Some(spec) = components.get(component) else {
            continue;
        };
        let section = root.entry(key);
        let args_node = if component == "etcd" {
            // External etcd is not generated by kubeadm.
            if root.lookup("etcd.external").is_some() {
                continue;
            }
            root.lookup("etcd.local.extraArgs").map(|(_, v)| v)
        } else {
            section.and_then(|(_, v)| v.get("extraArgs"))
        };
        let start = section.map_or_else(|| kd.at.clone(), |(k, _)| Loc::new(id, k.span.clone()));
        out.push(invocation::build(Parts {
            spec,
            db: files,
            start,
            files: vec![id],
            args: Parsed {
                flags: args_node.map(|n| extra_args(id, n)).unwrap_or_default(),
                ..Parsed::default()
            },
            configs: Vec::new(),
            defaults: Defaults {
                mode: DefaultMode::Kubeadm,
                reason: format!(
                    "not set in the {} of {path}, so kubeadm generates its own value",
                    if kd.prefix.is_empty() {
                        "extraArgs".to_owned()
                    } else {
                        format!("{}{section_path}.extraArgs", kd.prefix)
                    }
                ),
            },
            version: version.cloned(),
            layout: kd.layout,
            source: Source::Kubeadm {
                file: id,
                doc_start: root.span.start,
                section: section_path,
                api_version: kd.api.to_owned(),
            },
        }));
    }
    out
}

/// kubeadm starts the kubelet of a `KubeletConfiguration` it consumes with
/// its drop-in, `10-kubeadm.conf`, whose flags are the settings'
/// `kubeadm_dropin` values (`--kubeconfig=/etc/kubernetes/kubelet.conf`, so
/// Webhook authentication has a client).
pub(crate) fn kubeadm_starts_the_kubelet(
    inv: &mut Invocation,
    components: &BTreeMap<String, ComponentSpec>,
) {
    if !matches!(inv.source, Source::ConfigDoc { .. }) {
        return;
    }
    let Some(spec) = components.get(&inv.component) else {
        return;
    };
    for s in &spec.settings {
        let (Some(value), Some(flag)) = (&s.kubeadm_dropin, &s.flag) else {
            continue;
        };
        if let Some(setting) = inv.settings.get_mut(&s.name)
            && !setting.origin.is_explicit()
        {
            *setting = crate::model::Setting {
                value: Some(value.clone()),
                origin: crate::model::Origin::Default {
                    mode: DefaultMode::Kubeadm,
                    reason: format!(
                        "kubeadm starts the {} with --{flag}={value} (10-kubeadm.conf)",
                        spec.name
                    ),
                },
            };
        }
    }
}

/// A unit file or drop-in in a repository: its own `ExecStart=` if it has
/// one, else the kubelet flags its `KUBELET_*` variables carry.
/// The environment files a unit names that sit beside it in the scanned
/// files (same name, same directory), and the ones that do not.
fn env_files_beside(
    files: &FileDb,
    unit: FileId,
    merged: &systemd::Merged,
    candidates: &[FileId],
) -> (Vec<FileId>, Vec<String>) {
    let (mut found, mut missing) = (Vec::new(), Vec::new());
    let path = &files.get(unit).path;
    let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
    for (file, _) in &merged.env_files {
        let name = file.as_str().rsplit('/').next().unwrap_or_default();
        let beside = if dir.is_empty() {
            name.to_owned()
        } else {
            format!("{dir}/{name}")
        };
        match candidates.iter().find(|&&c| files.get(c).path == beside) {
            // Each file once, at its last place (a later file overrides),
            // so that one named many times is parsed once.
            Some(&env) => {
                found.retain(|&f| f != env);
                found.push(env);
            }
            None => missing.push(file.as_str().to_owned()),
        }
    }
    (found, missing)
}

fn from_unit(
    files: &FileDb,
    group: &UnitGroup,
    candidates: &[FileId],
    components: &BTreeMap<String, ComponentSpec>,
    version: Option<&VersionInfo>,
    notices: &mut Vec<Notice>,
) -> Vec<Invocation> {
    let id = group.files[0];
    let mut merged = systemd::merge(files, &group.files);
    let path = files.get(id).path.clone();
    let mut used = group.files.clone();
    let missing = &group.missing_env;
    for &env in &group.env {
        used.push(env);
        let assignments = envfile::parse(env, &files.get(env).text);
        let cooked = assignments.iter().map(|a| a.value.len()).sum();
        if !crate::budget::hold_cooked(cooked, &files.get(env).path) {
            continue;
        }
        for a in assignments {
            merged
                .env
                .insert(a.name, systemd::EnvValue { value: a.value });
        }
    }

    let Some(exec) = &merged.exec else {
        return kubelet_fragment(
            files,
            id,
            &merged.env,
            components,
            version,
            Layout::SystemdUnit,
        )
        .into_iter()
        .collect();
    };
    let mut problems = merged.problems.clone();
    let line = systemd::command_line(&exec.value, &merged.env, &mut problems);
    for p in &problems {
        notices.push(notice(files, &path, p));
    }
    let (exe, args) = match line {
        Ok(l) => l,
        Err(message) => {
            notices.push(Notice { path, message });
            return Vec::new();
        }
    };
    if let Some((spec, word)) = super::unjudged::in_container(
        exe.text.as_str(),
        &args,
        &components.values().collect::<Vec<_>>(),
    ) && let Some(start) = systemd::word_loc(&exe)
    {
        let unit = path.rsplit('/').next().unwrap_or(&path);
        let message = super::unjudged::container_note(unit, exe.text.as_str(), &spec.name, &word);
        notices.push(line_notice(files, start.file, start.span.start, &message));
        return Vec::new();
    }
    let Some(spec) = components.values().find(|c| c.runs(exe.text.as_str())) else {
        return Vec::new();
    };
    let Some(start) = systemd::word_loc(&exe) else {
        return Vec::new();
    };
    if !missing.is_empty() {
        notices.push(Notice {
            path: path.clone(),
            message: format!("EnvironmentFile={} is not beside the unit in the scanned files; variables it would set are taken as empty", missing.join(", EnvironmentFile=")),
        });
    }
    let mut parsed = flags::parse(&args, &spec.bool_flags);
    let found = unit_configuration(
        files,
        spec,
        (id, &merged),
        &mut parsed,
        used,
        candidates,
        notices,
    );
    let Configured {
        files: used,
        configs,
        defaults,
        problems,
    } = found;
    let mut inv = invocation::build(Parts {
        spec,
        db: files,
        start,
        files: used,
        args: parsed,
        configs,
        defaults,
        version: version.cloned(),
        layout: Layout::SystemdUnit,
        source: Source::CommandLine,
    });
    inv.problems.extend(problems);
    let env: Vec<&str> = merged.env.keys().map(String::as_str).collect();
    invocation::env_problems(&mut inv, spec, &env);
    vec![inv]
}

/// What a unit's component reads besides its command line: the `ETCD_*`
/// variables of its environment (etcd reads every flag the command line
/// leaves out from them) and etcd's `--config-file`, which decides every
/// setting, read where the repository keeps it.
fn unit_configuration(
    files: &FileDb,
    spec: &ComponentSpec,
    (id, merged): (FileId, &systemd::Merged),
    parsed: &mut Parsed,
    used: Vec<FileId>,
    candidates: &[FileId],
    notices: &mut Vec<Notice>,
) -> Configured {
    let path = &files.get(id).path;
    // etcd reads every flag the command line leaves out from `ETCD_*`.
    let (mut problems, mut env_notes) = (Vec::new(), Vec::new());
    if let Some(prefix) = &spec.env_prefix {
        let cooked = merged
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect();
        (problems, env_notes) = super::service::env_flags(spec, prefix, &cooked, parsed);
    }
    let config = spec
        .config_kind
        .as_ref()
        .and_then(|k| parsed.last(&k.flag))
        .is_some();
    let mut found = Configured {
        files: used,
        configs: Vec::new(),
        defaults: if config {
            Defaults {
                mode: DefaultMode::Config,
                reason: "started with a configuration file that is not in the scanned files; its defaults are assumed".to_owned(),
            }
        } else {
            Defaults {
                mode: DefaultMode::Flags,
                reason: format!(
                    "{} runs without a configuration file, so the command-line defaults apply",
                    spec.name
                ),
            }
        },
        problems,
    };
    // etcd's `--config-file` decides every setting: read it where the
    // repository keeps it.
    if let Some(flag) = spec
        .config_file_flag
        .as_ref()
        .and_then(|f| parsed.last(f).filter(|f| !f.value.is_empty()))
    {
        match config_file_in_repo(files, id, &flag.value, candidates) {
            Some(file) => {
                let text = &files.get(file).text;
                found.take_config_file(files, spec, file, yaml::parse(text));
            }
            None => {
                let message = found.config_file_missing(spec, flag, &flag.value, "scanned files");
                let (file, at) = flag
                    .loc
                    .as_ref()
                    .map_or((id, 0), |l| (l.file, l.span.start));
                notices.push(line_notice(files, file, at, &message));
            }
        }
    }
    for p in &env_notes {
        notices.push(notice(files, path, p));
    }
    found
}

/// The file a unit's `--config-file=PATH` names, among the scanned files:
/// at `PATH` in the tree the unit is part of (a repository that keeps a
/// node's files as they lie in the image: `node/etc/etcd/etcd.conf.yml` for
/// `node/etc/systemd/system/etcd.service`), else under the scanned root,
/// else its name beside the unit (as for `EnvironmentFile=`).
fn config_file_in_repo(
    files: &FileDb,
    unit: FileId,
    path: &str,
    candidates: &[FileId],
) -> Option<FileId> {
    let find = |want: &str| {
        candidates
            .iter()
            .copied()
            .find(|&c| files.get(c).path == want)
    };
    let rooted = crate::source::normalize(path);
    let rooted = rooted.trim_start_matches('/');
    let name = rooted.rsplit('/').next().unwrap_or_default();
    let unit_path = &files.get(unit).path;
    let beside = match unit_path.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{name}"),
        None => name.to_owned(),
    };
    let in_tree = tree_root(unit_path).map(|root| format!("{root}{rooted}"));
    in_tree
        .and_then(|p| find(&p))
        .or_else(|| find(rooted))
        .or_else(|| find(&beside))
}

/// The directory a unit's image tree starts at, when the unit lies where
/// systemd looks for it (`node/` for `node/etc/systemd/system/x.service`).
fn tree_root(unit_path: &str) -> Option<&str> {
    ["etc/systemd/", "usr/lib/systemd/", "lib/systemd/"]
        .iter()
        .find_map(|dir| {
            unit_path
                .match_indices(dir)
                .find(|(at, _)| *at == 0 || unit_path.as_bytes()[at - 1] == b'/')
                .map(|(at, _)| &unit_path[..at])
        })
}

/// A problem as a notice naming the file and line.
pub(crate) fn notice(files: &FileDb, fallback: &str, p: &crate::model::Problem) -> Notice {
    match &p.loc {
        Some(loc) => {
            let f = files.get(loc.file);
            Notice {
                path: f.path.clone(),
                message: format!("line {}: {}", f.line_col(loc.span.start).0, p.message),
            }
        }
        None => Notice {
            path: fallback.to_owned(),
            message: p.message.clone(),
        },
    }
}

/// The kubelet flags carried by `KUBELET_*` variables, on their own: only
/// what they set explicitly is known.
fn kubelet_fragment(
    files: &FileDb,
    id: FileId,
    env: &HashMap<String, systemd::EnvValue>,
    components: &BTreeMap<String, ComponentSpec>,
    version: Option<&VersionInfo>,
    layout: Layout,
) -> Option<Invocation> {
    let spec = components.get("kubelet")?;
    let mut names: Vec<&String> = env.keys().filter(|k| k.starts_with("KUBELET_")).collect();
    names.sort();
    let words: Vec<Word> = names
        .iter()
        .flat_map(|n| words::split(&env[*n].value, Mode::Value).words)
        .map(|text| Word { text, via: None })
        .collect();
    if words.is_empty() {
        return None;
    }
    let start = words[0].text.loc()?;
    Some(invocation::build(Parts {
        spec,
        db: files,
        start,
        files: vec![id],
        args: flags::parse(&words, &spec.bool_flags),
        configs: Vec::new(),
        defaults: Defaults {
            mode: DefaultMode::Unknown,
            reason: format!("{} only adds flags", files.get(id).path),
        },
        version: version.cloned(),
        layout,
        source: Source::CommandLine,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_tree_starts_where_systemd_looks() {
        assert_eq!(
            tree_root("node/etc/systemd/system/etcd.service"),
            Some("node/")
        );
        assert_eq!(tree_root("etc/systemd/system/etcd.service"), Some(""));
        assert_eq!(
            tree_root("a/usr/lib/systemd/system/etcd.service"),
            Some("a/")
        );
        assert_eq!(
            tree_root("roles/etcd/lib/systemd/system/etcd.service"),
            Some("roles/etcd/")
        );
        assert_eq!(tree_root("myetc/systemd/etcd.service"), None);
        assert_eq!(tree_root("etcd.service"), None);
    }

    #[test]
    fn classification_is_by_content() {
        assert!(matches!(
            classify("[Service]\nEnvironment=A=1\n"),
            Content::Unit
        ));
        assert!(matches!(
            classify("apiVersion: v1\nkind: Pod\n"),
            Content::Yaml(..)
        ));
        assert!(matches!(
            classify("KUBELET_EXTRA_ARGS=--a=1\n# c\n"),
            Content::EnvFile
        ));
        assert!(matches!(classify("name: ci\non: push\n"), Content::Other));
        assert!(matches!(classify("FOO=1\n"), Content::Other));
        assert!(matches!(classify("just text\n"), Content::Other));
    }

    fn forms(text: &str) -> Vec<(String, ArgsForm, ArgsForm, String)> {
        yaml::parse(text)
            .unwrap()
            .iter()
            .filter_map(|d| kubeadm_doc(FileId::TEST, d))
            .flat_map(|kd| wrong_arg_forms(FileId::TEST, text, &kd))
            .map(|w| {
                assert_eq!(
                    &text[w.key.span.clone()],
                    w.path.rsplit('.').next().unwrap()
                );
                (w.path, w.found, w.wants, w.example)
            })
            .collect()
    }

    #[test]
    fn extra_args_in_the_form_the_api_version_rejects() {
        use ArgsForm::{List, Map, Scalar};
        let text = "apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n    enable-admission-plugins: NodeRestriction,PodSecurity\ncontrollerManager:\n  extraArgs: [{name: bind-address, value: 0.0.0.0}]\nscheduler: {extraArgs: {}}\netcd:\n  local:\n    extraArgs:\n---\napiVersion: kubeadm.k8s.io/v1beta3\nkind: JoinConfiguration\nnodeRegistration:\n  kubeletExtraArgs:\n  - name: node-ip\n    value: \"10.0.0.5\"\n---\napiVersion: kubeadm.k8s.io/v1beta2\nkind: InitConfiguration\nnodeRegistration: {kubeletExtraArgs: node-ip=10.0.0.5}\n---\napiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\ncontrollerManager: {extraArgs: {bind-address: 0.0.0.0}}\n---\napiVersion: kubeadm.k8s.io/v1\nkind: ClusterConfiguration\nscheduler: {extraArgs: {v: \"2\"}}\n";
        assert_eq!(
            forms(text),
            [
                (
                    "apiServer.extraArgs".to_owned(),
                    Map,
                    List,
                    "`- {name: enable-admission-plugins, value: \"NodeRestriction,PodSecurity\"}`"
                        .to_owned()
                ),
                (
                    "scheduler.extraArgs".to_owned(),
                    Map,
                    List,
                    "`- {name: v, value: \"2\"}`".to_owned()
                ),
                (
                    "nodeRegistration.kubeletExtraArgs".to_owned(),
                    List,
                    Map,
                    "`node-ip: \"10.0.0.5\"`".to_owned()
                ),
                (
                    "nodeRegistration.kubeletExtraArgs".to_owned(),
                    Scalar,
                    Map,
                    "`v: \"2\"`".to_owned()
                ),
            ]
        );
    }
}
