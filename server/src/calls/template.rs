//! `--call-url-template`: the link every call invitation carries, made by
//! putting the call's id where the template says `{call_id}`. Checked once,
//! at startup: a template that cannot make an http(s) link for every call
//! stops the server with the reason, instead of sending broken links.

use heartlink_protocol::CallId;

/// What stands for the call's id in a template.
pub const PLACEHOLDER: &str = "{call_id}";
/// The default: a Jitsi Meet room per call, needing no account.
pub const DEFAULT: &str = "https://meet.jit.si/heartlink-{call_id}";
/// The longest template accepted: the link goes out with every invitation.
pub const MAX_BYTES: usize = 1024;

/// Why a template was refused.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("the call URL template must contain {PLACEHOLDER} (e.g. {DEFAULT})")]
    NoPlaceholder,
    #[error("the call URL template is longer than {MAX_BYTES} bytes")]
    TooLong,
    #[error("the call URL template does not make a valid URL")]
    NotAUrl(#[source] url::ParseError),
    #[error("the call URL template must make an http:// or https:// URL with a host, not {scheme}:")]
    NotHttp { scheme: String },
}

/// A checked template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallUrlTemplate(String);

impl CallUrlTemplate {
    /// Checks `template`: it names `{call_id}`, and with an id put in it is an
    /// absolute http(s) URL with a host.
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        if template.len() > MAX_BYTES {
            return Err(TemplateError::TooLong);
        }
        if !template.contains(PLACEHOLDER) {
            return Err(TemplateError::NoPlaceholder);
        }
        let checked = Self(template.to_owned());
        let sample = url::Url::parse(&checked.url(CallId::from_bytes([0x5a; 16]))).map_err(TemplateError::NotAUrl)?;
        if !matches!(sample.scheme(), "http" | "https") || sample.host_str().is_none_or(str::is_empty) {
            return Err(TemplateError::NotHttp { scheme: sample.scheme().to_owned() });
        }
        Ok(checked)
    }

    /// The link of call `call_id`.
    pub fn url(&self, call_id: CallId) -> String {
        self.0.replace(PLACEHOLDER, &call_id.to_string())
    }
}

impl Default for CallUrlTemplate {
    fn default() -> Self {
        Self(DEFAULT.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_and_other_http_templates_make_links() {
        let id = CallId::from_bytes([1; 16]);
        assert_eq!(CallUrlTemplate::default().url(id), format!("https://meet.jit.si/heartlink-{id}"));
        assert_eq!(CallUrlTemplate::parse(DEFAULT).unwrap(), CallUrlTemplate::default());
        let own = CallUrlTemplate::parse("http://calls.example.org:8443/r/{call_id}?x={call_id}").unwrap();
        assert_eq!(own.url(id), format!("http://calls.example.org:8443/r/{id}?x={id}"));
    }

    #[test]
    fn templates_that_cannot_make_an_http_link_are_refused() {
        assert!(matches!(CallUrlTemplate::parse("https://meet.jit.si/heartlink"), Err(TemplateError::NoPlaceholder)));
        assert!(matches!(CallUrlTemplate::parse("javascript:alert({call_id})"), Err(TemplateError::NotHttp { .. })));
        assert!(matches!(CallUrlTemplate::parse("file:///tmp/{call_id}"), Err(TemplateError::NotHttp { .. })));
        assert!(matches!(CallUrlTemplate::parse("meet/{call_id}"), Err(TemplateError::NotAUrl(_))));
        assert!(matches!(CallUrlTemplate::parse("https://{call_id}:x"), Err(TemplateError::NotAUrl(_))));
        let long = format!("https://example.org/{}/{{call_id}}", "a".repeat(MAX_BYTES));
        assert!(matches!(CallUrlTemplate::parse(&long), Err(TemplateError::TooLong)));
        let message = CallUrlTemplate::parse("https://x.org/").unwrap_err().to_string();
        assert!(message.contains("{call_id}"), "{message}");
    }
}
