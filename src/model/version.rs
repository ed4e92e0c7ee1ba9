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
    pub(crate) version: Version,
    /// Where it came from: `--kubernetes-version`, `var/lib/dpkg/status`, …
    pub(crate) source: String,
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Version {
    /// Stands for an unknown version when judging: newer than any release.
    pub(crate) const NEWEST: Version = Version {
        major: u32::MAX,
        minor: u32::MAX,
        patch: None,
    };

    /// The minor release `major.minor` (no patch).
    pub(crate) fn minor_only(self) -> Version {
        Version {
            patch: None,
            ..self
        }
    }

    /// The minor release before this one (`1.10` → `1.9`), if any.
    pub(crate) fn previous_minor(self) -> Option<Version> {
        Some(Version {
            major: self.major,
            minor: self.minor.checked_sub(1)?,
            patch: None,
        })
    }

    fn key(self) -> (u32, u32) {
        (self.major, self.minor)
    }
}

/// One flag that bounds a component's version: the component accepts it
/// only from `from` and/or only before `before`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Bound {
    pub(crate) flag: String,
    pub(crate) from: Option<Version>,
    pub(crate) before: Option<Version>,
}

/// The minor versions a component can have, given the flags it is started
/// with: from the highest `introduced_in` (inclusive) to the lowest
/// `removed_in` (exclusive). Empty when no version accepts them all.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Window {
    pub(crate) from: Option<Version>,
    pub(crate) before: Option<Version>,
    /// The flags that bound it, in command-line order.
    pub(crate) bounds: Vec<Bound>,
}

impl Window {
    /// The window of a set of bounds.
    pub(crate) fn of(bounds: Vec<Bound>) -> Window {
        let from = bounds.iter().filter_map(|b| b.from).max_by_key(|v| v.key());
        let before = bounds
            .iter()
            .filter_map(|b| b.before)
            .min_by_key(|v| v.key());
        Window {
            from: from.map(Version::minor_only),
            before: before.map(Version::minor_only),
            bounds,
        }
    }

    /// Whether no version accepts every bounding flag.
    pub(crate) fn is_empty(&self) -> bool {
        matches!((self.from, self.before), (Some(f), Some(b)) if f.key() >= b.key())
    }

    /// Whether every version this window allows accepts `bound`.
    pub(crate) fn within(&self, bound: &Bound) -> bool {
        let key = |v: Version| (v.major, v.minor);
        let from_ok = match (bound.from, self.from) {
            (None, _) => true,
            (Some(b), Some(w)) => key(b) <= key(w),
            (Some(_), None) => false,
        };
        let before_ok = match (bound.before, self.before) {
            (None, _) => true,
            (Some(b), Some(w)) => key(w) <= key(b),
            (Some(_), None) => false,
        };
        from_ok && before_ok
    }

    /// Whether a version range `[from, before)` meets this window.
    pub(crate) fn meets(&self, from: Option<Version>, before: Option<Version>) -> bool {
        let lo = [self.from, from]
            .into_iter()
            .flatten()
            .max_by_key(|v| v.key());
        let hi = [self.before, before]
            .into_iter()
            .flatten()
            .min_by_key(|v| v.key());
        !matches!((lo, hi), (Some(l), Some(h)) if l.key() >= h.key())
    }

    /// The version a component is judged at: the detected one, else the
    /// newest the window allows, else the newest of all.
    pub(crate) fn judged(&self, detected: Option<Version>) -> Version {
        detected
            .or_else(|| self.newest())
            .unwrap_or(Version::NEWEST)
    }

    /// The newest version the window allows, or `None` when it is open
    /// upwards (or empty).
    pub(crate) fn newest(&self) -> Option<Version> {
        if self.is_empty() {
            return None;
        }
        self.before.and_then(Version::previous_minor)
    }

    /// `[1.8, 1.10)` as people read it: `1.8–1.9`, `1.28 or later`,
    /// `before 1.10`.
    pub(crate) fn describe(&self) -> String {
        match (self.from, self.newest()) {
            (Some(f), Some(n)) if f == n => format!("{f}"),
            (Some(f), Some(n)) => format!("{f}–{n}"),
            (Some(f), None) => format!("{f} or later"),
            (None, Some(_)) => format!(
                "before {}",
                self.before.map(|b| b.to_string()).unwrap_or_default()
            ),
            (None, None) => "any version".to_owned(),
        }
    }
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
