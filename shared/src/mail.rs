//! Outgoing mail: Amazon SES v2 in AWS; RFC 5322 `.eml` files in a directory locally, which
//! a person can open and a test can parse. A failure worth a retry is a 503, a refusal for
//! good a 502.

use std::path::PathBuf;

use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageHeader};

use crate::aws::Https;
use crate::config::CoreConfig;
use crate::config::{ConfigError, Env, Transport, var};
use crate::email::EmailAddress;
use crate::error::ApiError;
use crate::language::Language;

/// One plain-text message, in `language` (its `Content-Language`).
#[derive(Clone, Debug)]
pub struct Mail {
    pub to: EmailAddress,
    pub language: Language,
    pub subject: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailConfig {
    /// `endpoint`: `SES_ENDPOINT`, an endpoint instead of SES's (a stand-in).
    Ses {
        sender: EmailAddress,
        endpoint: Option<String>,
    },
    Directory {
        sender: EmailAddress,
        dir: PathBuf,
    },
}

impl MailConfig {
    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        let sender = EmailAddress::parse(&env.required(var::MAIL_SENDER)?)
            .map_err(|_| ConfigError::new(var::MAIL_SENDER, "is not an email address"))?;
        Ok(
            match env.transport(var::MAIL_TRANSPORT, "ses", var::MAIL_DIR)? {
                Transport::Service => Self::Ses {
                    sender,
                    endpoint: env.endpoint(var::SES_ENDPOINT)?,
                },
                Transport::Directory(dir) => Self::Directory { sender, dir },
            },
        )
    }
}

#[derive(Clone, Debug)]
pub enum Mailer {
    Ses {
        client: aws_sdk_sesv2::Client,
        sender: EmailAddress,
    },
    Directory {
        dir: PathBuf,
        sender: EmailAddress,
    },
}

impl Mailer {
    /// The mailer of a function, built once per cold start, for SES in the function's
    /// region over the function's `https`. A mail directory is created if it does not exist.
    pub fn connect(
        config: &MailConfig,
        core: &CoreConfig,
        https: &Https,
    ) -> Result<Self, ConfigError> {
        match config {
            MailConfig::Ses { sender, endpoint } => Ok(Self::Ses {
                client: aws_sdk_sesv2::Client::new(&crate::aws::sdk_config(
                    &core.region,
                    https,
                    endpoint.as_deref(),
                )),
                sender: sender.clone(),
            }),
            MailConfig::Directory { sender, dir } => Ok(Self::Directory {
                dir: crate::config::local_dir(var::MAIL_DIR, dir)?,
                sender: sender.clone(),
            }),
        }
    }

    pub async fn send(&self, mail: &Mail) -> Result<(), ApiError> {
        let result = self.deliver(mail).await;
        let counter = match result {
            Ok(()) => crate::metrics::names::MAILS_SENT,
            Err(_) => crate::metrics::names::MAILS_FAILED,
        };
        crate::metrics::count(counter, 1);
        result
    }

    async fn deliver(&self, mail: &Mail) -> Result<(), ApiError> {
        match self {
            Mailer::Ses { client, sender } => {
                let content = |text: &str| {
                    Content::builder()
                        .data(text)
                        .charset("UTF-8")
                        .build()
                        .map_err(|e| ApiError::internal(format!("SES content: {e}")))
                };
                let language = MessageHeader::builder()
                    .name("Content-Language")
                    .value(mail.language.tag())
                    .build()
                    .map_err(|e| ApiError::internal(format!("SES header: {e}")))?;
                let message = Message::builder()
                    .subject(content(&mail.subject)?)
                    .body(Body::builder().text(content(&mail.text)?).build())
                    .headers(language)
                    .build();
                client
                    .send_email()
                    .from_email_address(sender.as_str())
                    .destination(
                        Destination::builder()
                            .to_addresses(mail.to.as_str())
                            .build(),
                    )
                    .content(EmailContent::builder().simple(message).build())
                    .send()
                    .await
                    .map_err(ses_failure)?;
                Ok(())
            }
            Mailer::Directory { dir, sender } => {
                let name = format!(
                    "{}-{}.eml",
                    time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
                    uuid::Uuid::new_v4().simple()
                );
                crate::config::write_whole(dir, &name, rfc5322(sender, mail))
                    .await
                    .map_err(|e| ApiError::Unavailable {
                        cause: format!("writing mail to {}: {e}", dir.display()),
                    })
            }
        }
    }
}

/// Sorts an SES failure: throttling and transport faults are worth a retry (503); a
/// refusal of the message, the sender or the account is not (502 `mail-rejected`). The cause
/// holds the error code only: SES messages may quote the recipient's address, which is
/// personal data and stays out of the logs.
fn ses_failure<R>(error: SdkError<SendEmailError, R>) -> ApiError {
    match &error {
        SdkError::ServiceError(service) => {
            let failure = service.err();
            let code = failure.code().unwrap_or("unknown");
            let cause = format!("SES SendEmail: {code}");
            let retryable = failure.is_too_many_requests_exception()
                || failure.is_limit_exceeded_exception()
                || TRANSIENT_SES_CODES.contains(&code);
            if retryable {
                ApiError::Unavailable { cause }
            } else {
                ApiError::MailRejected { cause }
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ApiError::Unavailable {
                cause: "SES SendEmail: no answer".into(),
            }
        }
        _ => ApiError::internal("SES SendEmail: the request could not be built"),
    }
}

/// Codes of SES errors the SDK has no variant for that mean "try again later".
const TRANSIENT_SES_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "InternalFailure",
    "ServiceUnavailable",
];

/// The message as an RFC 5322 text with CRLF line ends.
fn rfc5322(sender: &EmailAddress, mail: &Mail) -> String {
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    let body = mail.text.replace("\r\n", "\n").replace('\n', "\r\n");
    format!(
        "From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n\
         Message-ID: <{id}@accounts.invalid>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\
         Content-Language: {language}\r\n\r\n{body}\r\n",
        to = mail.to,
        subject = encoded_words(&mail.subject),
        language = mail.language.tag(),
        id = uuid::Uuid::new_v4(),
    )
}

/// A header text as RFC 2047 encoded words where it is not plain ASCII (a subject in
/// German or Japanese): base64 of at most 39 bytes each (64 characters a word), cut between
/// characters, folded one to a line, so that no line, `Subject: ` included, passes the 76
/// characters RFC 2047 allows a line with encoded words.
fn encoded_words(text: &str) -> String {
    if text.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return text.to_owned();
    }
    let mut words = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut end = rest.len().min(39);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let (chunk, tail) = rest.split_at(end);
        words.push(format!(
            "=?UTF-8?B?{}?=",
            <base64ct::Base64 as base64ct::Encoding>::encode_string(chunk.as_bytes())
        ));
        rest = tail;
    }
    words.join("\r\n ")
}

#[cfg(test)]
mod tests {
    use aws_sdk_sesv2::types::error::{MessageRejected, TooManyRequestsException};
    use aws_smithy_runtime_api::http::{Response, StatusCode};
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn refusal(error: SendEmailError) -> ApiError {
        let raw = Response::new(StatusCode::try_from(400).unwrap(), SdkBody::empty());
        ses_failure(SdkError::service_error(error, raw))
    }

    #[test]
    fn ses_takes_an_endpoint_of_its_own_when_one_is_named() {
        let load = |vars: &[(&str, &str)]| {
            let mut all = vec![
                (var::MAIL_TRANSPORT, "ses"),
                (var::MAIL_SENDER, "no-reply@example.com"),
            ];
            all.extend_from_slice(vars);
            let all: &[(&str, &str)] = &all;
            MailConfig::load(&Env::new(&all))
        };
        let sender = EmailAddress::parse("no-reply@example.com").unwrap();
        assert_eq!(
            load(&[]).unwrap(),
            MailConfig::Ses {
                sender: sender.clone(),
                endpoint: None
            }
        );
        assert_eq!(
            load(&[(var::SES_ENDPOINT, "http://127.0.0.1:4566")]).unwrap(),
            MailConfig::Ses {
                sender,
                endpoint: Some("http://127.0.0.1:4566".to_owned())
            }
        );
        let refused = load(&[(var::SES_ENDPOINT, "ftp://x")]).unwrap_err();
        assert_eq!(refused.name, var::SES_ENDPOINT);
    }

    #[test]
    fn a_subject_that_is_not_ascii_is_sent_as_encoded_words() {
        use base64ct::{Base64, Encoding};
        assert_eq!(encoded_words("Confirm the address"), "Confirm the address");
        let subject = "アカウントのメールアドレスが変更されました（お知らせ）";
        let encoded = encoded_words(subject);
        let mut decoded = Vec::new();
        let header = format!("Subject: {encoded}");
        for line in header.split("\r\n") {
            assert!(line.len() <= 76, "{line}");
        }
        for line in encoded.split("\r\n") {
            let word = line.trim_start();
            let payload = word
                .strip_prefix("=?UTF-8?B?")
                .and_then(|w| w.strip_suffix("?="))
                .expect("an encoded word");
            decoded.extend(Base64::decode_vec(payload).expect("base64"));
        }
        assert!(encoded.contains("\r\n "), "folded: {encoded}");
        assert_eq!(String::from_utf8(decoded).expect("UTF-8"), subject);
    }

    #[test]
    fn a_refusal_for_good_is_a_502_and_throttling_a_503() {
        let rejected = refusal(SendEmailError::MessageRejected(
            MessageRejected::builder()
                .message("Email address is not verified: victim@example.com")
                .meta(
                    aws_sdk_sesv2::error::ErrorMetadata::builder()
                        .code("MessageRejected")
                        .message("Email address is not verified: victim@example.com")
                        .build(),
                )
                .build(),
        ));
        assert_eq!(rejected.status(), 502);
        assert_eq!(rejected.slug(), "mail-rejected");
        let response = rejected.to_response("/x");
        assert!(!response.headers().contains_key("retry-after"));
        assert!(
            !format!("{rejected} {rejected:?}").contains("victim@example.com"),
            "the recipient stays out of the logs"
        );

        let throttled = refusal(SendEmailError::TooManyRequestsException(
            TooManyRequestsException::builder().build(),
        ));
        assert_eq!(throttled.status(), 503);
    }
}
