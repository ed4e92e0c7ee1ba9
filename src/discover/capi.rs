//! Cluster API: kubeadm's configuration kept inside other objects.
//!
//! A `KubeadmControlPlane` holds the control plane's
//! `spec.kubeadmConfigSpec`; a `KubeadmConfigTemplate` the workers'
//! `spec.template.spec`; a `KubeadmConfig` (one machine's, written by the
//! controllers) its `spec`; a `KubeadmControlPlaneTemplate` (`ClusterClass`)
//! `spec.template.spec.kubeadmConfigSpec`. Each such `KubeadmConfigSpec`
//! has `clusterConfiguration`, `initConfiguration` and
//! `joinConfiguration`, kubeadm's types without `apiVersion` and `kind`
//! (cluster-api `api/bootstrap/kubeadm/v1beta{1,2}/kubeadm_types.go`,
//! `api/controlplane/kubeadm/*/kubeadm_control_plane_types.go`): Cluster
//! API writes them into kubeadm's configuration file on the machine, so
//! they are read as kubeadm documents whose `extraArgs` are written in the
//! Cluster API version's form (see [`ArgsForm::wanted_by`]).
//!
//! The Kubernetes version is the `KubeadmControlPlane`'s `spec.version`
//! (a `MachineDeployment`'s `spec.template.spec.version` for workers, a
//! `Cluster`'s `spec.topology.version` with a `ClusterClass`).
//!
//! [`ArgsForm::wanted_by`]: crate::model::ArgsForm::wanted_by

use super::repo::KubeadmDoc;
use crate::model::Layout;
use crate::parse::yaml::Node;
use crate::span::{FileId, Loc};

const CONTROL_PLANE: &str = "controlplane.cluster.x-k8s.io/";
const BOOTSTRAP: &str = "bootstrap.cluster.x-k8s.io/";
const CORE: &str = "cluster.x-k8s.io/";

/// Where an object of `kind` keeps its `KubeadmConfigSpec`.
fn config_spec_path(api: &str, kind: &str) -> Option<&'static str> {
    match kind {
        "KubeadmControlPlane" if api.starts_with(CONTROL_PLANE) => Some("spec.kubeadmConfigSpec"),
        "KubeadmControlPlaneTemplate" if api.starts_with(CONTROL_PLANE) => {
            Some("spec.template.spec.kubeadmConfigSpec")
        }
        "KubeadmConfig" if api.starts_with(BOOTSTRAP) => Some("spec"),
        "KubeadmConfigTemplate" if api.starts_with(BOOTSTRAP) => Some("spec.template.spec"),
        _ => None,
    }
}

/// The kubeadm configurations inside a Cluster API object (none for any
/// other object).
pub(crate) fn kubeadm_docs<'a>(
    id: FileId,
    api: &'a str,
    kind: &str,
    root: &'a Node,
) -> Vec<KubeadmDoc<'a>> {
    let Some(path) = config_spec_path(api, kind) else {
        return Vec::new();
    };
    let Some((_, spec)) = root.lookup(path) else {
        return Vec::new();
    };
    [
        ("clusterConfiguration", "ClusterConfiguration"),
        ("initConfiguration", "InitConfiguration"),
        ("joinConfiguration", "JoinConfiguration"),
    ]
    .into_iter()
    .filter_map(|(key, kubeadm_kind)| {
        let (k, v) = spec.entry(key)?;
        v.as_map()?;
        Some(KubeadmDoc {
            api,
            kind: kubeadm_kind,
            root: v,
            prefix: format!("{path}.{key}."),
            at: Loc::new(id, k.span.clone()),
            layout: Layout::ClusterApi,
        })
    })
    .collect()
}

/// The Kubernetes version a Cluster API object names, and the key that
/// names it.
pub(crate) fn version<'a>(
    api: &str,
    kind: &str,
    root: &'a Node,
) -> Option<(&'a str, &'static str)> {
    let key = match kind {
        "KubeadmControlPlane" if api.starts_with(CONTROL_PLANE) => "spec.version",
        "MachineDeployment" | "MachineSet" | "MachinePool" if api.starts_with(CORE) => {
            "spec.template.spec.version"
        }
        "Machine" if api.starts_with(CORE) => "spec.version",
        "Cluster" if api.starts_with(CORE) => "spec.topology.version",
        _ => return None,
    };
    let (_, v) = root.lookup(key)?;
    Some((v.as_scalar()?.text.as_str(), key))
}
