//! Kubernetes versions and where promready learned them.

use std::fmt;

/// A Kubernetes version (`1.30` or `1.30.2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Version {
    pub(crate) major: u32,
    pub(crate) minor: u32,
    pub(crate) patch: Option<u32>,
}

impl Version {
    /// Parses `v1.30.2`, `1.30`, and package versions such as `1.10.13-00`
    /// or `1.30.2-1.1`.
    pub(crate) fn parse(s: &str) -> Option<Version> {
        let s = s.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        let core = s.split(['-', '+', '~']).next()?;
        let mut parts = core.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = match parts.next() {
            Some(p) => Some(p.parse().ok()?),
            None => None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Version {
            major,
            minor,
            patch,
        })
    }

    /// Whether `self` satisfies a constraint such as `>=1.12` or `<1.24`.
    pub(crate) fn satisfies(self, constraint: &Constraint) -> bool {
        let me = (self.major, self.minor, self.patch.unwrap_or(0));
        let other = (
            constraint.version.major,
            constraint.version.minor,
            constraint.version.patch.unwrap_or(0),
        );
        match constraint.op {
            Op::Ge => me >= other,
            Op::Gt => me > other,
            Op::Le => me <= other,
            Op::Lt => me < other,
            Op::Eq => me == other,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.patch {
            Some(p) => write!(f, "{}.{}.{}", self.major, self.minor, p),
            None => write!(f, "{}.{}", self.major, self.minor),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
}

/// A version constraint: `>=1.12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Constraint {
    pub(crate) op: Op,
    pub(crate) version: Version,
}

impl Constraint {
    pub(crate) fn parse(s: &str) -> Option<Constraint> {
        let s = s.trim();
        let (op, rest) = [
            (">=", Op::Ge),
            ("<=", Op::Le),
            (">", Op::Gt),
            ("<", Op::Lt),
            ("==", Op::Eq),
            ("=", Op::Eq),
        ]
        .into_iter()
        .find_map(|(p, op)| s.strip_prefix(p).map(|r| (op, r)))?;
        Some(Constraint {
            op,
            version: Version::parse(rest)?,
        })
    }
}

/// The version assumed for a scan and the evidence for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct VersionInfo {
    #[serde(serialize_with = "ser_version")]
    pub(crate) version: Version,
    /// Where it came from: `--kubernetes-version`, `var/lib/dpkg/status`, …
    pub(crate) source: String,
}

fn ser_version<S: serde::Serializer>(v: &Version, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_found_in_images() {
        assert_eq!(
            Version::parse("v1.30.2").map(|v| v.to_string()).as_deref(),
            Some("1.30.2")
        );
        assert_eq!(
            Version::parse("1.10.13-00")
                .map(|v| v.to_string())
                .as_deref(),
            Some("1.10.13")
        );
        assert_eq!(
            Version::parse("1.30.2-1.1")
                .map(|v| v.to_string())
                .as_deref(),
            Some("1.30.2")
        );
        assert_eq!(
            Version::parse("1.29").map(|v| v.to_string()).as_deref(),
            Some("1.29")
        );
        assert_eq!(Version::parse("stable-1"), None);
        let v = Version::parse("1.12.0").unwrap();
        assert!(v.satisfies(&Constraint::parse(">=1.12").unwrap()));
        assert!(!v.satisfies(&Constraint::parse("<1.12").unwrap()));
    }
}
