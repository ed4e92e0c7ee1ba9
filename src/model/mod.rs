//! Components, their settings and each setting's effective value with its
//! provenance.
//!
//! Which settings a component has, their flags, config keys, types and
//! defaults are data (`rules/components/*.yaml`), so rules name
//! `authorization.mode` and never a file format.

mod spec;
pub(crate) mod version;

use std::collections::BTreeMap;

pub(crate) use spec::{
    ComponentSpec, ConfigKind, FlagsWithConfig, Refusal, SettingSpec, SettingType, load_components,
};
pub(crate) use version::{Bound, Constraint, Version, VersionInfo, Window};

use crate::parse::flags::Flag;
use crate::source::FileDb;
use crate::span::{FileId, Loc};

/// Which set of defaults applies to settings nobody set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum DefaultMode {
    /// The kubelet runs without `--config`: the legacy flag defaults.
    Flags,
    /// The kubelet runs with `--config`: the config file API's defaults.
    Config,
    /// Predicted from a kubeadm configuration: what kubeadm generates.
    Kubeadm,
    /// A k3s server or agent: what k3s passes to the component it embeds.
    K3s,
    /// An RKE2 server or agent: what RKE2 passes to the component it runs.
    Rke2,
    /// Only part of the configuration is known (a lone environment file):
    /// settings nobody set have no known value.
    Unknown,
}

/// Why a setting has the value it has.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    /// A command-line flag (possibly from an environment variable).
    Flag(Flag),
    /// A scalar in a configuration file.
    Config { key: Loc, value: Loc },
    /// Nobody set it; the default applies.
    Default { mode: DefaultMode, reason: String },
    /// Nobody set it and it has no default.
    Unset,
}

impl Origin {
    /// Whether a flag or a file set the value explicitly.
    pub(crate) fn is_explicit(&self) -> bool {
        matches!(self, Origin::Flag(_) | Origin::Config { .. })
    }

    /// The bytes that decided the value, if any.
    pub(crate) fn loc(&self) -> Option<&Loc> {
        match self {
            Origin::Flag(f) => f.loc.as_ref(),
            Origin::Config { value, .. } => Some(value),
            Origin::Default { .. } | Origin::Unset => None,
        }
    }

    /// A short phrase for messages: `flag default`, `set in etc/x:3`.
    pub(crate) fn describe(&self, files: &FileDb) -> String {
        match self {
            Origin::Flag(_) | Origin::Config { .. } => match self.loc() {
                Some(loc) => {
                    let f = files.get(loc.file);
                    format!("set in {}:{}", f.path, f.line_col(loc.span.start).0)
                }
                None => "set on the command line".to_owned(),
            },
            Origin::Default { mode, .. } => match mode {
                DefaultMode::Flags => "flag default",
                DefaultMode::Config => "config-file default",
                DefaultMode::Kubeadm => "kubeadm default",
                DefaultMode::K3s => "k3s default",
                DefaultMode::Rke2 => "RKE2 default",
                DefaultMode::Unknown => "not set",
            }
            .to_owned(),
            Origin::Unset => "not set".to_owned(),
        }
    }
}

/// Something that would make a component (or systemd) refuse to start it,
/// found while reading its configuration. Reported as a notice.
#[derive(Debug, Clone)]
pub(crate) struct Problem {
    pub(crate) loc: Option<Loc>,
    pub(crate) message: String,
}

/// A setting's effective value.
#[derive(Debug, Clone)]
pub(crate) struct Setting {
    /// `None` when unset without a default.
    pub(crate) value: Option<String>,
    pub(crate) origin: Origin,
}

/// Where an invocation's settings are written, which decides how `fix`
/// adds a setting that is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// Flags in text: a unit, a drop-in, an environment file.
    CommandLine,
    /// A static pod container: flags are items of a YAML list; `last` is
    /// the list's last item.
    StaticPod { last: Loc },
    /// Predicted from a kubeadm `ClusterConfiguration`: the configuration
    /// (by the start offset of its mapping: a document's root, or the
    /// `clusterConfiguration` of a Cluster API object), the section
    /// (`controllerManager`, `etcd.local`) and the API version that decides
    /// how its `extraArgs` are written.
    Kubeadm {
        file: FileId,
        doc_start: usize,
        section: &'static str,
        api_version: String,
    },
    /// A component configuration document (`KubeletConfiguration`, …).
    ConfigDoc { file: FileId, doc_start: usize },
    /// `nodeRegistration.kubeletExtraArgs` of a kubeadm document.
    KubeletExtraArgs { file: FileId, doc_start: usize },
    /// A component embedded in k3s (or started by RKE2, which reads its
    /// configuration the same way): its flags are the items of the k3s
    /// option `option` (`kube-controller-manager-arg`). `files` are the
    /// k3s configuration files in merge order (`config.yaml`, then
    /// `config.yaml.d/*.yaml`), those that exist; `config` is where a new
    /// option goes (`config.yaml` when it exists), and `command` the
    /// `server`/`agent` word of `ExecStart=`, after which a flag goes
    /// when there is no configuration file.
    /// Predicted from kind's own kubeadm configuration, which no patch of
    /// this `kind` (`ClusterConfiguration`, `KubeProxyConfiguration`)
    /// changes: a fix has to add a patch.
    KindDefault { kind: &'static str },
    K3s {
        option: &'static str,
        files: Vec<FileId>,
        config: Option<FileId>,
        command: Loc,
    },
}

/// How a kubeadm `extraArgs` (or `kubeletExtraArgs`) is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArgsForm {
    /// `flag: value` entries (`kubeadm.k8s.io/v1beta1` to `v1beta3`).
    Map,
    /// `{name, value}` items (`kubeadm.k8s.io/v1beta4`).
    List,
    /// Neither (a string, a number): no version accepts it.
    Scalar,
}

impl ArgsForm {
    /// The form a kubeadm API version decodes, for the versions promready knows.
    /// Cluster API's kubeadm types follow their own versions: `v1alpha3`
    /// to `v1beta1` maps, `v1beta2` lists of `Arg{name, value}` (`ExtraArgs []Arg` and
    /// `KubeletExtraArgs []Arg` in cluster-api's
    /// `api/bootstrap/kubeadm/v1beta2/kubeadm_types.go`), whichever kubeadm
    /// version the machine runs, since Cluster API converts them.
    pub(crate) fn wanted_by(api_version: &str) -> Option<Self> {
        if let Some(v) = api_version.strip_prefix("kubeadm.k8s.io/") {
            return match v {
                "v1beta1" | "v1beta2" | "v1beta3" => Some(ArgsForm::Map),
                "v1beta4" => Some(ArgsForm::List),
                _ => None,
            };
        }
        // A kind patch without `apiVersion`: kind converts its maps for a
        // v1beta4 target (`convertOldExtraArgsToNew`, kind's
        // `pkg/internal/patch/kubeadm_merge.go`), and a v1beta3 target
        // takes nothing else.
        if api_version == "kind.x-k8s.io/v1alpha4" {
            return Some(ArgsForm::Map);
        }
        let (group, v) = api_version.split_once('/')?;
        if !matches!(
            group,
            "controlplane.cluster.x-k8s.io" | "bootstrap.cluster.x-k8s.io"
        ) {
            return None;
        }
        match v {
            // v1alpha3 and v1alpha4 embedded kubeadm's v1beta1 types (maps).
            "v1alpha3" | "v1alpha4" | "v1beta1" => Some(ArgsForm::Map),
            "v1beta2" => Some(ArgsForm::List),
            _ => None,
        }
    }

    /// `a list of `{name, value}` items`, for messages.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            ArgsForm::Map => "a map of `flag: value` entries",
            ArgsForm::List => "a list of `{name, value}` items",
            ArgsForm::Scalar => "a scalar",
        }
    }
}

/// A kubeadm `extraArgs` written in a form its document's API version
/// rejects: kubeadm refuses the whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WrongArgsForm {
    /// The `extraArgs`/`kubeletExtraArgs` key.
    pub(crate) key: Loc,
    /// Its key path in the document (`controllerManager.extraArgs`).
    pub(crate) path: String,
    pub(crate) api_version: String,
    /// Who refuses it: kubeadm (its own document), or the API server (a
    /// Cluster API object, whose CRD schema declares the form).
    pub(crate) refused: &'static str,
    pub(crate) found: ArgsForm,
    pub(crate) wants: ArgsForm,
    /// One line in the wanted form, from the node's first entry when it has one.
    pub(crate) example: String,
}

/// One started component: a kubelet from a systemd unit, a static pod, …
#[derive(Debug, Clone)]
pub(crate) struct Invocation {
    pub(crate) component: String,
    /// The token that starts it (the executable on `ExecStart=`).
    pub(crate) start: Loc,
    /// Every file that contributed, in the order they apply.
    pub(crate) files: Vec<crate::span::FileId>,
    /// Every flag passed, in order (later ones win for settings, but each
    /// one must be accepted by the binary).
    pub(crate) flags: Vec<Flag>,
    /// The version detected for this component and the evidence (never a
    /// guess: `None` when nothing in the input says).
    pub(crate) version: Option<VersionInfo>,
    /// The versions its flags allow.
    pub(crate) window: Window,
    pub(crate) defaults: DefaultMode,
    pub(crate) settings: BTreeMap<String, Setting>,
    pub(crate) problems: Vec<Problem>,
    /// What the configuration makes of the command line that is not a
    /// reason to refuse it (a flag the configuration file overrides).
    pub(crate) notes: Vec<Problem>,
    pub(crate) source: Source,
    /// The main configuration document (`--config`), by file and start.
    pub(crate) config_doc: Option<(FileId, usize)>,
    /// Whether that file decides every setting it can hold, flags
    /// notwithstanding (kube-proxy with `--config`).
    pub(crate) config_decides: bool,
    /// For an invocation read from a kubeadm document: the document's
    /// `extraArgs` in a form its API version rejects (PR013).
    pub(crate) wrong_arg_forms: Vec<WrongArgsForm>,
    /// Serving certificates the image carries where the component reuses
    /// them at start (PR023).
    pub(crate) shipped: Vec<ShippedCertificate>,
    /// How the component is set up, which decides where its settings live.
    pub(crate) layout: Layout,
}

/// A serving certificate found in an image, where the component reuses it
/// instead of making or requesting its own.
#[derive(Debug, Clone)]
pub(crate) struct ShippedCertificate {
    /// The certificate's PEM block (else the start of its file).
    pub(crate) loc: Loc,
    /// The in-image path of its private key (the certificate's own file
    /// when it holds both); never read into the reports.
    pub(crate) key: Option<String>,
    /// What the certificate says, or why it could not be read.
    pub(crate) read: Result<CertificateFacts, String>,
    /// The setting that names the file (`tlsCertFile`), when the component
    /// is configured to serve it rather than finding it in its directory.
    pub(crate) configured: Option<String>,
}

/// The parts of a certificate a finding reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertificateFacts {
    pub(crate) subject: String,
    /// `DNS:name` and `IP:address` entries.
    pub(crate) sans: Vec<String>,
    /// The end of validity, `YYYY-MM-DD HH:MM:SS UTC`.
    pub(crate) not_after: String,
    pub(crate) self_signed: bool,
}

/// The ways of setting up a component that promready reads (JSON
/// `components[].layout`; README, Inputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Layout {
    /// A systemd unit with its drop-ins and environment files.
    SystemdUnit,
    /// `KUBELET_*` variables of an environment file read on its own.
    EnvironmentFile,
    /// A static pod manifest.
    StaticPod,
    /// What kubeadm generates from a `ClusterConfiguration`.
    KubeadmClusterConfiguration,
    /// `nodeRegistration.kubeletExtraArgs` of an `InitConfiguration` or
    /// `JoinConfiguration`.
    KubeadmNodeRegistration,
    /// A component configuration document read on its own
    /// (`KubeletConfiguration`, `KubeProxyConfiguration`).
    ComponentConfig,
    /// A component embedded in k3s, set by its configuration files and
    /// command line.
    K3s,
    /// A component RKE2 starts, set by its configuration files and command
    /// line.
    Rke2,
    /// kubeadm's configuration inside a Cluster API object
    /// (`KubeadmControlPlane`, `KubeadmConfigTemplate`, …).
    ClusterApi,
    /// kubeadm's configuration as kind generates it, with the cluster's
    /// `kubeadmConfigPatches`.
    Kind,
    /// A configuration document in a `ConfigMap` (kubeadm's
    /// `kube-system/kubeadm-config`, `kube-proxy`, `kubelet-config`).
    ConfigMap,
}

impl Invocation {
    pub(crate) fn setting(&self, name: &str) -> Option<&Setting> {
        self.settings.get(name)
    }

    /// The version this component is judged at ([`Window::judged`]).
    pub(crate) fn judged_version(&self) -> Version {
        self.window.judged(self.version.as_ref().map(|v| v.version))
    }
}

#[cfg(test)]
mod tests {
    use super::ArgsForm::{self, List, Map};

    #[test]
    fn each_api_version_wants_its_form_of_extra_args() {
        for (api, wants) in [
            ("kubeadm.k8s.io/v1beta3", Some(Map)),
            ("kubeadm.k8s.io/v1beta4", Some(List)),
            ("kubeadm.k8s.io/v1", None),
            ("controlplane.cluster.x-k8s.io/v1alpha3", Some(Map)),
            ("bootstrap.cluster.x-k8s.io/v1alpha4", Some(Map)),
            ("bootstrap.cluster.x-k8s.io/v1beta1", Some(Map)),
            ("controlplane.cluster.x-k8s.io/v1beta2", Some(List)),
            ("controlplane.cluster.x-k8s.io/v2", None),
            ("cluster.x-k8s.io/v1beta1", None),
            ("kind.x-k8s.io/v1alpha4", Some(Map)),
        ] {
            assert_eq!(ArgsForm::wanted_by(api), wants, "{api}");
        }
    }
}
