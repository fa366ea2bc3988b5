//! Why the service could not be reached, in words: the cause found in an HTTP error's
//! chain (connection refused, a name that does not resolve, the certificate problem, a
//! timeout), each with what to do about it.

use std::error::Error as StdError;

/// What went wrong on the way to the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    Refused,
    Dns,
    Tls,
    Timeout,
    Other,
}

impl Cause {
    /// What to do about it.
    pub fn hint(self) -> &'static str {
        match self {
            Cause::Refused => {
                "nothing listens there: is the service running, and are the host and port right?"
            }
            Cause::Dns => {
                "the host name does not resolve: check the URL (GATEKEEP_SERVER or `server:`)"
            }
            Cause::Tls => {
                "the service's certificate is not trusted here: fix the certificate, or set GATEKEEP_CA_CERT to the CA that signed it"
            }
            Cause::Timeout => {
                "the service did not answer in time: check the network and the service"
            }
            Cause::Other => "check the URL and that the service is running",
        }
    }

    /// The words that open the cause in a message (and by which `of_message` finds it
    /// again).
    fn opening(self) -> &'static str {
        match self {
            Cause::Refused => "connection refused",
            Cause::Dns => "cannot resolve the host name",
            Cause::Tls => "TLS handshake failed",
            Cause::Timeout => "timed out",
            Cause::Other => "",
        }
    }

    /// The cause of a message `describe` wrote.
    pub fn of_message(message: &str) -> Cause {
        [Cause::Refused, Cause::Dns, Cause::Tls, Cause::Timeout]
            .into_iter()
            .find(|c| message.contains(&format!(": {}", c.opening())))
            .unwrap_or(Cause::Other)
    }
}

/// One line for `error` on the way to `url`: "cannot reach the approval service at URL:
/// CAUSE (the chain of what each layer said)".
pub fn describe(url: &str, error: &reqwest::Error) -> String {
    let (cause, detail) = classify(error);
    let chain = chain(error);
    let mut text = format!("cannot reach the approval service at {url}");
    let opening = cause.opening();
    if !opening.is_empty() {
        text.push_str(": ");
        text.push_str(opening);
    }
    if let Some(detail) = detail {
        text.push_str(": ");
        text.push_str(&detail);
    }
    if !chain.is_empty() {
        if opening.is_empty() {
            text.push_str(": ");
            text.push_str(&chain);
        } else {
            text.push_str(&format!(" ({chain})"));
        }
    }
    text
}

/// Each layer's message, outermost first, without repeats (and without the URL reqwest
/// puts in its own).
fn chain(error: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let outer = error.to_string();
    let outer = match outer.split_once(" for url (") {
        Some((head, _)) => head.to_owned(),
        None => outer,
    };
    parts.push(outer);
    let mut next = error.source();
    while let Some(inner) = next {
        let text = inner.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = inner.source();
    }
    parts.join(": ")
}

/// The cause, and what the certificate check said, if that was it.
fn classify(error: &reqwest::Error) -> (Cause, Option<String>) {
    let mut next: Option<&(dyn StdError + 'static)> = Some(error);
    let mut dns = false;
    while let Some(inner) = next {
        if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
            return (Cause::Tls, Some(certificate_problem(tls)));
        }
        // An I/O error's `source` skips what it wraps: look inside, however deep.
        let mut io = inner.downcast_ref::<std::io::Error>();
        while let Some(error) = io {
            match error.kind() {
                std::io::ErrorKind::ConnectionRefused => return (Cause::Refused, None),
                std::io::ErrorKind::TimedOut => return (Cause::Timeout, None),
                _ => {}
            }
            let wrapped = error.get_ref();
            if let Some(tls) = wrapped.and_then(|e| e.downcast_ref::<rustls::Error>()) {
                return (Cause::Tls, Some(certificate_problem(tls)));
            }
            io = wrapped.and_then(|e| e.downcast_ref::<std::io::Error>());
        }
        // The connector names a failed lookup so; nothing typed says it.
        dns |= inner.to_string().starts_with("dns error");
        next = inner.source();
    }
    if dns {
        (Cause::Dns, None)
    } else if error.is_timeout() {
        (Cause::Timeout, None)
    } else {
        (Cause::Other, None)
    }
}

/// The certificate problem in words.
fn certificate_problem(error: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    match error {
        rustls::Error::InvalidCertificate(problem) => match problem {
            C::UnknownIssuer => "the certificate's issuer is unknown (self-signed, or a private CA not trusted here)".to_owned(),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "the certificate is not valid for this host name".to_owned()
            }
            C::Expired | C::ExpiredContext { .. } => "the certificate has expired".to_owned(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "the certificate is not valid yet".to_owned()
            }
            C::Revoked => "the certificate is revoked".to_owned(),
            other => format!("the certificate is invalid: {other:?}"),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_is_found_again_in_its_message() {
        for cause in [Cause::Refused, Cause::Dns, Cause::Tls, Cause::Timeout] {
            let message = format!(
                "cannot reach the approval service at https://gk.example: {}: more",
                cause.opening()
            );
            assert_eq!(Cause::of_message(&message), cause);
        }
        assert_eq!(
            Cause::of_message("cannot reach the approval service at https://gk.example: odd"),
            Cause::Other
        );
    }
}
