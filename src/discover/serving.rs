//! Serving certificates an image carries where the component reuses them:
//! the kubelet's `kubelet.crt`/`kubelet.key` or `kubelet-server-current.pem`
//! in its certificate directory (`serving_files` of the component), or the
//! files its `tlsCertFile`/`tlsPrivateKeyFile` name. A kubelet that finds a
//! readable pair at start serves it and makes no certificate of its own, so
//! every node built from the image serves one private key, under the name
//! of the host that built it (PR023).

use std::fmt::Write as _;

use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;

use crate::model::{CertificateFacts, ComponentSpec, Invocation, ShippedCertificate};
use crate::source::{FileDb, Image, InputError, Loaded, join};
use crate::span::{FileId, Loc};

/// A private key file is at most this large (a PEM RSA 8192-bit key is
/// about 6.5 KiB).
const MAX_KEY_SIZE: u64 = 64 << 10;

/// The serving certificate and key `inv` would reuse from the image.
pub(crate) fn shipped(
    image: &mut Image,
    spec: &ComponentSpec,
    inv: &Invocation,
) -> Result<Vec<ShippedCertificate>, InputError> {
    let Some(files) = &spec.serving_files else {
        return Ok(Vec::new());
    };
    let explicit = |name: &str| {
        inv.setting(name)
            .filter(|s| s.origin.is_explicit())
            .and_then(|s| s.value.clone())
            .filter(|v| v.starts_with('/'))
    };
    // A configured certificate is the one served; the directory's files
    // are then unused.
    let mut pairs: Vec<(String, String, Option<String>)> = Vec::new();
    if let Some(cert) = explicit("tlsCertFile") {
        let key = explicit("tlsPrivateKeyFile").unwrap_or_else(|| cert.clone());
        pairs.push((cert, key, Some("tlsCertFile".to_owned())));
    } else if let Some(dir) = inv
        .setting(&files.dir_setting)
        .and_then(|s| s.value.clone())
        .filter(|d| d.starts_with('/'))
    {
        for (cert, key) in &files.pairs {
            pairs.push((join(&dir, cert), join(&dir, key), None));
        }
    }
    let mut out: Vec<ShippedCertificate> = Vec::new();
    for (cert, key, configured) in pairs {
        let Loaded::File(cert_id) = image.load(&cert)? else {
            continue;
        };
        // A link to a file already reported (`kubelet-server-current.pem`).
        if out.iter().any(|s| s.loc.file == cert_id) {
            continue;
        }
        // Without its key the kubelet cannot use the certificate and makes
        // a new pair: nothing is shared. The key is read as bytes, not kept
        // as a file of the scan, so no report shows a line of it.
        let same = key == cert;
        let has_key = if same {
            image.files.get(cert_id).text.contains("PRIVATE KEY-----")
        } else {
            image
                .read_raw(&key, MAX_KEY_SIZE, "private keys")?
                .is_some_and(|b| String::from_utf8_lossy(&b).contains("PRIVATE KEY-----"))
        };
        if !has_key {
            continue;
        }
        let loc = certificate_line(&image.files, cert_id);
        out.push(ShippedCertificate {
            loc,
            key: (!same).then(|| key.trim_start_matches('/').to_owned()),
            read: facts(image.files.get(cert_id).text.as_bytes()),
            configured,
        });
    }
    Ok(out)
}

/// The first `-----BEGIN CERTIFICATE-----` line of file `id`, else its
/// start.
fn certificate_line(files: &FileDb, id: FileId) -> Loc {
    let text = &files.get(id).text;
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed == "-----BEGIN CERTIFICATE-----" {
            return Loc::new(id, start..start + trimmed.len());
        }
        start += line.len();
    }
    Loc::new(id, 0..0)
}

/// What the first certificate of a PEM file says.
fn facts(pem: &[u8]) -> Result<CertificateFacts, String> {
    for block in Pem::iter_from_buffer(pem) {
        let block = block.map_err(|e| format!("not a PEM file ({e})"))?;
        if block.label != "CERTIFICATE" {
            continue;
        }
        let cert = block
            .parse_x509()
            .map_err(|e| format!("the certificate does not parse ({e})"))?;
        let mut sans = Vec::new();
        if let Ok(Some(ext)) = cert.subject_alternative_name() {
            for name in &ext.value.general_names {
                match name {
                    GeneralName::DNSName(d) => sans.push(format!("DNS:{d}")),
                    GeneralName::IPAddress(ip) => sans.push(format!("IP:{}", ip_text(ip))),
                    _ => {}
                }
            }
        }
        return Ok(CertificateFacts {
            subject: cert.subject().to_string(),
            self_signed: cert.subject() == cert.issuer(),
            sans,
            not_after: utc(cert.validity().not_after.timestamp()),
        });
    }
    Err("no certificate in the file".to_owned())
}

fn ip_text(raw: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(raw) {
        return std::net::Ipv4Addr::from(v4).to_string();
    }
    if let Ok(v6) = <[u8; 16]>::try_from(raw) {
        return std::net::Ipv6Addr::from(v6).to_string();
    }
    raw.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// `YYYY-MM-DD HH:MM:SS UTC` of a Unix time (days to the civil date as in
/// Howard Hinnant's `civil_from_days`).
fn utc(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_are_civil_utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_796_608_799), "2026-12-07 01:59:59 UTC");
        assert_eq!(utc(-1), "1969-12-31 23:59:59 UTC");
    }

    #[test]
    fn ip_sans_are_written_as_addresses() {
        assert_eq!(ip_text(&[10, 0, 0, 11]), "10.0.0.11");
        let mut v6 = [0u8; 16];
        v6[15] = 1;
        assert_eq!(ip_text(&v6), "::1");
    }

    #[test]
    fn a_file_without_a_certificate_says_so() {
        assert_eq!(
            facts(b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"),
            Err("no certificate in the file".to_owned())
        );
        assert!(facts(b"garbage").is_err());
    }
}
