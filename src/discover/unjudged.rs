//! Layouts promready recognises but does not judge. A component started or
//! configured this way gets a note naming the layout and what promready
//! would need to read, never silence, and never findings read from the
//! wrong words (a `docker run` line is not the kubelet's command line).
//!
//! - a systemd unit whose command is a container runtime's `run` (Typhoon's
//!   and Flatcar's kubelet under `docker run`/`podman run`, rkt's
//!   `kubelet-wrapper` era images): the flags, files and mounts are the
//!   container's;
//! - Ignition configs (`ignition.version`, coreos.github.io/ignition
//!   "Configuration specification": `systemd.units[]`, `storage.files[]`)
//!   and Butane configs (`variant` and `version`, coreos.github.io/butane
//!   "Configuration specifications") that carry a component's unit or
//!   files, and cloud-init user data (`#cloud-config`, `write_files[].path`,
//!   `runcmd`) that writes kubeadm's or the kubelet's files or runs kubeadm;
//! - Talos machine configurations (`version: v1alpha1` with `machine` and
//!   `cluster`, talos.dev "Configuration reference": `machine.kubelet`,
//!   `cluster.controllerManager`, `cluster.scheduler`, `cluster.proxy`,
//!   `cluster.etcd`), RKE1 `cluster.yml` (`nodes[]` and `services`, with
//!   `kube-controller`, `scheduler`, `kubelet`, `kubeproxy`, `etcd`) and
//!   kubespray inventory variables (`kube_controller_manager_bind_address`,
//!   `kube_scheduler_bind_address`, `kube_proxy_metrics_bind_address`,
//!   `etcd_metrics_port`, … from kubespray's `roles/*/defaults`);
//! - typed objects of other cluster builders: k0s (`k0s.k0sproject.io`),
//!   k0sctl (`k0sctl.k0sproject.io`), kops (`kops.k8s.io`), eksctl
//!   (`eksctl.io`), and Cluster API control-plane and bootstrap providers
//!   other than kubeadm (`KThreesControlPlane`, `RKE2ControlPlane`,
//!   `TalosControlPlane`, their `*Config`/`*ConfigTemplate`).

use crate::model::ComponentSpec;
use crate::parse::flags::Word;
use crate::parse::yaml::{Document, Kind, Node};

/// Container runtimes' command-line tools whose `run` starts a program in a
/// container.
const CONTAINER_RUNNERS: &[&str] = &[
    "docker",
    "podman",
    "nerdctl",
    "ctr",
    "rkt",
    "systemd-nspawn",
];

/// The component a unit starts inside a container, when its command is a
/// container runtime: the first argument that names a component's binary,
/// as a path (`/usr/local/bin/kubelet`) or an image (`quay.io/poseidon/
/// kubelet:v1.30.3`, `registry.k8s.io/kube-proxy:v1.30.0`). Returns the
/// component and the word that names it.
pub(crate) fn in_container<'a>(
    exe: &str,
    args: &[Word],
    components: &[&'a ComponentSpec],
) -> Option<(&'a ComponentSpec, String)> {
    if !is_container_runner(exe) {
        return None;
    }
    let names = |w: &Word| {
        let word = w.text.as_str();
        // Options, `NAME=value` and mounts (`/host:/container`) are not
        // the image or the command.
        if word.starts_with('-') || word.contains('=') || word.contains(":/") {
            return None;
        }
        let name = word.rsplit('/').next().unwrap_or(word);
        let name = name.split(['@', ':']).next().unwrap_or(name);
        components
            .iter()
            .find(|c| c.binaries.iter().any(|b| b == name))
            .map(|c| (*c, word.to_owned()))
    };
    // An image or a path names the component more surely than a bare word
    // (the value of `--name kubelet`).
    args.iter()
        .filter(|w| w.text.as_str().contains('/'))
        .find_map(names)
        .or_else(|| args.iter().find_map(names))
}

pub(crate) fn is_container_runner(exe: &str) -> bool {
    let base = exe.rsplit('/').next().unwrap_or(exe);
    CONTAINER_RUNNERS.contains(&base)
}

/// The note for a component a unit starts in a container.
pub(crate) fn container_note(unit: &str, runner: &str, component: &str, word: &str) -> String {
    format!(
        "{unit} starts {component} in a container (`{runner} … {word}`): its flags, configuration files and mounts are the container's, which promready does not read, so {component}'s settings there are not judged"
    )
}

/// A layout of a file promready recognises but does not judge: the byte
/// offset the note points at and what it says.
pub(crate) struct Recognised {
    pub(crate) offset: usize,
    pub(crate) message: String,
}

/// Component names, and the words that mark each in embedded text.
const MARKERS: &[(&str, &[&str])] = &[
    ("kubelet", &["kubelet"]),
    ("kube-proxy", &["kube-proxy"]),
    ("kube-controller-manager", &["kube-controller-manager"]),
    ("kube-scheduler", &["kube-scheduler"]),
    ("etcd", &["etcd"]),
    ("kubeadm", &["kubeadm"]),
];

/// The components a text mentions, in [`MARKERS`] order.
fn mentioned(texts: &[&str]) -> Vec<&'static str> {
    MARKERS
        .iter()
        .filter(|(_, words)| {
            words
                .iter()
                .any(|w| texts.iter().any(|t| contains_word(t, w)))
        })
        .map(|(name, _)| *name)
        .collect()
}

/// `word` in `text` with no letter, digit or `-` on either side (`kubelet`
/// in `/usr/bin/kubelet --v=2`, not in `kubelet-plugins`).
fn contains_word(text: &str, word: &str) -> bool {
    let bytes = text.as_bytes();
    text.match_indices(word).any(|(i, _)| {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + word.len()).copied();
        let part = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-');
        !part(before) && !part(after)
    })
}

/// Every scalar under `node`, in file order.
fn scalars<'a>(node: &'a Node, out: &mut Vec<&'a str>) {
    match &node.kind {
        Kind::Scalar(s) => out.push(s.text.as_str()),
        Kind::Seq(items) => items.iter().for_each(|n| scalars(n, out)),
        Kind::Map(entries) => entries.iter().for_each(|(k, v)| {
            scalars(k, out);
            scalars(v, out);
        }),
    }
}

fn listed(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Kubespray inventory variables that decide where a component serves
/// `/metrics` (roles/kubernetes/control-plane/defaults/main/main.yml,
/// roles/kubernetes/node/defaults/main.yml, roles/etcd/defaults/main.yml).
const KUBESPRAY_VARIABLES: &[&str] = &[
    "kube_controller_manager_bind_address",
    "kube_scheduler_bind_address",
    "kube_proxy_metrics_bind_address",
    "kube_read_only_port",
    "kubelet_authentication_token_webhook",
    "kubelet_authorization_mode_webhook",
    "kube_kubeadm_controller_extra_args",
    "kube_kubeadm_scheduler_extra_args",
    "etcd_metrics_port",
    "etcd_listen_metrics_urls",
    "etcd_deployment_type",
];

/// API groups of other cluster builders' objects, with the builder.
const GROUPS: &[(&str, &str)] = &[
    ("k0s.k0sproject.io/", "k0s"),
    ("k0sctl.k0sproject.io/", "k0sctl"),
    ("kops.k8s.io/", "kops"),
    ("eksctl.io/", "eksctl"),
];

/// Cluster API providers' kinds that promready does not read (the kubeadm
/// provider's are read by `capi`).
const CAPI_KINDS: &[(&str, &str)] = &[
    ("KThreesControlPlane", "the Cluster API k3s provider"),
    (
        "KThreesControlPlaneTemplate",
        "the Cluster API k3s provider",
    ),
    ("KThreesConfig", "the Cluster API k3s provider"),
    ("KThreesConfigTemplate", "the Cluster API k3s provider"),
    ("RKE2ControlPlane", "the Cluster API RKE2 provider"),
    ("RKE2ControlPlaneTemplate", "the Cluster API RKE2 provider"),
    ("RKE2Config", "the Cluster API RKE2 provider"),
    ("RKE2ConfigTemplate", "the Cluster API RKE2 provider"),
    ("TalosControlPlane", "the Cluster API Talos provider"),
    ("TalosConfig", "the Cluster API Talos provider"),
    ("TalosConfigTemplate", "the Cluster API Talos provider"),
];

const NOT_JUDGED: &str = "promready does not read this layout, so the settings in it are not judged; scan the node image it builds instead";

/// What a typed document of another cluster builder is.
pub(crate) fn typed(doc: &Document) -> Option<Recognised> {
    let (api, kind) = doc.type_meta()?;
    let offset = doc
        .root
        .entry("kind")
        .map_or(doc.root.span.start, |(k, _)| k.span.start);
    if kind == "Cluster"
        && (api.starts_with("kind.x-k8s.io/") || api.starts_with("kind.sigs.k8s.io/"))
        && api != super::kind::API
    {
        // kind's `encoding.Parse` (pkg/internal/apis/config/encoding/load.go)
        // decodes kind.x-k8s.io/v1alpha4 only.
        return Some(Recognised {
            offset,
            message: format!(
                "a kind Cluster of {api}, which kind refuses (\"unknown apiVersion\": it reads {api4} only), so promready does not judge it; as {api4} it would be",
                api4 = super::kind::API
            ),
        });
    }
    let builder = GROUPS
        .iter()
        .find(|(group, _)| api.starts_with(group))
        .map(|(_, b)| (*b).to_owned())
        .or_else(|| {
            let capi = api.starts_with("controlplane.cluster.x-k8s.io/")
                || api.starts_with("bootstrap.cluster.x-k8s.io/");
            CAPI_KINDS
                .iter()
                .find(|(k, _)| capi && *k == kind)
                .map(|(_, b)| (*b).to_owned())
        })?;
    Some(Recognised {
        offset,
        message: format!("{kind} ({api}) configures a cluster built by {builder}; {NOT_JUDGED}"),
    })
}

/// What an untyped YAML or JSON document is, when it is a layout of
/// [`Recognised`] kind that starts or configures a component.
pub(crate) fn untyped(text: &str, doc: &Document) -> Option<Recognised> {
    let root = &doc.root;
    root.as_map()?;
    let at = |key: &str| {
        root.entry(key)
            .map_or(root.span.start, |(k, _)| k.span.start)
    };
    if let Some(version) = root
        .lookup("ignition.version")
        .and_then(|(_, v)| v.as_scalar())
    {
        return embedded(
            root,
            &format!("Ignition config (version {})", version.text.as_str()),
            at("ignition"),
        );
    }
    if let (Some(variant), Some(version)) = (root.get_str("variant"), root.get_str("version")) {
        return embedded(
            root,
            &format!("Butane config ({variant} {version})"),
            at("variant"),
        );
    }
    if text.trim_start().starts_with("#cloud-config") {
        let mut words = Vec::new();
        for key in ["write_files", "runcmd", "bootcmd"] {
            if let Some(v) = root.get(key) {
                scalars(v, &mut words);
            }
        }
        let found = mentioned(&words);
        let kubeish = words
            .iter()
            .any(|w| w.contains("/etc/kubernetes/") || w.contains("/var/lib/kubelet/"));
        if found.is_empty() && !kubeish {
            return None;
        }
        return Some(Recognised {
            offset: 0,
            message: format!(
                "cloud-init user data that writes or runs {}: promready does not read files written by cloud-init at boot, so their settings are not judged; scan the files themselves or the booted node",
                if found.is_empty() {
                    "Kubernetes node files".to_owned()
                } else {
                    listed(&found)
                }
            ),
        });
    }
    if root.get_str("version") == Some("v1alpha1")
        && root.get("machine").is_some()
        && root.get("cluster").is_some()
    {
        return Some(Recognised {
            offset: at("machine"),
            message: format!(
                "Talos machine configuration: Talos starts the kubelet and the control plane itself (machine.kubelet, cluster.controllerManager, cluster.scheduler, cluster.proxy, cluster.etcd); {NOT_JUDGED}"
            ),
        });
    }
    if let (Some(Kind::Seq(_)), Some(services)) =
        (root.get("nodes").map(|n| &n.kind), root.get("services"))
        && [
            "kube-controller",
            "scheduler",
            "kubelet",
            "kubeproxy",
            "etcd",
        ]
        .iter()
        .any(|k| services.get(k).is_some())
    {
        return Some(Recognised {
            offset: at("services"),
            message: format!(
                "RKE1 cluster.yml (services.kube-controller, scheduler, kubelet, kubeproxy, etcd); {NOT_JUDGED}"
            ),
        });
    }
    let variables: Vec<&str> = root
        .as_map()?
        .iter()
        .filter_map(|(k, _)| k.as_scalar().map(|s| s.text.as_str()))
        .filter(|k| KUBESPRAY_VARIABLES.contains(k))
        .collect();
    if let Some(first) = variables.first() {
        return Some(Recognised {
            offset: at(first),
            message: format!(
                "kubespray inventory variables ({}): kubespray renders them into kubeadm's configuration and the components' units; {NOT_JUDGED}",
                variables.join(", ")
            ),
        });
    }
    None
}

/// An Ignition or Butane config that carries a component's unit or files.
fn embedded(root: &Node, what: &str, offset: usize) -> Option<Recognised> {
    let mut words = Vec::new();
    for key in ["systemd", "storage"] {
        if let Some(v) = root.get(key) {
            scalars(v, &mut words);
        }
    }
    let found = mentioned(&words);
    if found.is_empty() {
        return None;
    }
    Some(Recognised {
        offset,
        message: format!(
            "{what} with units or files for {}: promready does not read units and files embedded in Ignition or Butane configs, so their settings are not judged; scan the files themselves or the node image",
            listed(&found)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<Word> {
        let id = crate::span::FileId::from_index(0);
        let mut out = Vec::new();
        let mut at = 0;
        for w in line.split(' ') {
            out.push(Word {
                text: crate::text::Cooked::verbatim(id, line, at..at + w.len()),
                via: None,
            });
            at += w.len() + 1;
        }
        out
    }

    #[test]
    fn the_image_or_the_command_names_the_component() {
        let specs = crate::model::load_components()
            .map_err(|e| e.2.message)
            .unwrap();
        let find = |exe: &str, line: &str| {
            in_container(exe, &words(line), &specs.values().collect::<Vec<_>>())
                .map(|(c, w)| (c.name.clone(), w))
        };
        assert_eq!(
            find(
                "/usr/bin/docker",
                "run --name kubelet -v /var/lib/kubelet:/var/lib/kubelet quay.io/poseidon/kubelet:v1.30.3 --v=2"
            ),
            Some((
                "kubelet".to_owned(),
                "quay.io/poseidon/kubelet:v1.30.3".to_owned()
            ))
        );
        assert_eq!(
            find(
                "podman",
                "run --rm registry.k8s.io/hyperkube:v1.17.0 /hyperkube kube-proxy"
            ),
            Some(("kube-proxy".to_owned(), "kube-proxy".to_owned()))
        );
        assert_eq!(
            find("docker", "run -e NAME=etcd --name=etcd registry:2"),
            None
        );
        assert_eq!(find("/usr/bin/kubelet", "--v=2 kubelet"), None);
    }

    #[test]
    fn words_are_whole() {
        assert!(contains_word("ExecStart=/usr/bin/kubelet --v=2", "kubelet"));
        assert!(contains_word("kubelet.service", "kubelet"));
        assert!(!contains_word("/opt/cni/kubelet-plugins", "kubelet"));
        assert!(!contains_word("etcdctl", "etcd"));
    }
}
