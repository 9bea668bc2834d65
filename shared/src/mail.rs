//! Outgoing mail: Amazon SES v2 in AWS; RFC 5322 `.eml` files in a directory locally, which
//! a person can open and a test can parse. Any failure to send is a 503.

use std::path::PathBuf;

use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::aws::AwsRegion;
use crate::config::{ConfigError, Env};
use crate::email::EmailAddress;
use crate::error::ApiError;

/// One plain-text message.
#[derive(Clone, Debug)]
pub struct Mail {
    pub to: EmailAddress,
    /// ASCII, so that no header encoding is needed.
    pub subject: &'static str,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailConfig {
    Ses { sender: EmailAddress },
    Directory { sender: EmailAddress, dir: PathBuf },
}

impl MailConfig {
    pub const TRANSPORT: &'static str = "MAIL_TRANSPORT";
    pub const SENDER: &'static str = "MAIL_SENDER";
    pub const DIR: &'static str = "MAIL_DIR";

    pub fn load(env: &Env<'_>) -> Result<Self, ConfigError> {
        let sender = EmailAddress::parse(&env.required(Self::SENDER)?)
            .map_err(|_| ConfigError::new(Self::SENDER, "is not an email address"))?;
        match env.required(Self::TRANSPORT)?.trim() {
            "ses" => Ok(Self::Ses { sender }),
            "directory" => Ok(Self::Directory {
                sender,
                dir: PathBuf::from(env.required(Self::DIR)?),
            }),
            other => Err(ConfigError::new(
                Self::TRANSPORT,
                format!("expected `ses` or `directory`, got {other:?}"),
            )),
        }
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
    /// `region`. A mail directory is created if it does not exist.
    pub async fn connect(config: &MailConfig, region: &AwsRegion) -> Result<Self, ConfigError> {
        match config {
            MailConfig::Ses { sender } => {
                let sdk = crate::aws::sdk_config(region)?;
                Ok(Self::Ses {
                    client: aws_sdk_sesv2::Client::new(&sdk),
                    sender: sender.clone(),
                })
            }
            MailConfig::Directory { sender, dir } => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    ConfigError::new(
                        MailConfig::DIR,
                        format!("cannot create {}: {e}", dir.display()),
                    )
                })?;
                Ok(Self::Directory {
                    dir: dir.clone(),
                    sender: sender.clone(),
                })
            }
        }
    }

    pub async fn send(&self, mail: &Mail) -> Result<(), ApiError> {
        match self {
            Mailer::Ses { client, sender } => {
                let content = |text: &str| {
                    Content::builder()
                        .data(text)
                        .charset("UTF-8")
                        .build()
                        .map_err(|e| ApiError::internal(format!("SES content: {e}")))
                };
                let message = Message::builder()
                    .subject(content(mail.subject)?)
                    .body(Body::builder().text(content(&mail.text)?).build())
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
                    .map_err(|e| ApiError::Unavailable {
                        cause: format!(
                            "SES SendEmail: {}",
                            aws_sdk_sesv2::error::DisplayErrorContext(&e)
                        ),
                    })?;
                Ok(())
            }
            Mailer::Directory { dir, sender } => {
                let name = format!(
                    "{}-{}.eml",
                    time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
                    uuid::Uuid::new_v4().simple()
                );
                let unavailable = |e: std::io::Error| ApiError::Unavailable {
                    cause: format!("writing mail to {}: {e}", dir.display()),
                };
                // Write then rename, so a reader never sees half a message.
                let partial = dir.join(format!(".{name}.partial"));
                tokio::fs::write(&partial, rfc5322(sender, mail))
                    .await
                    .map_err(unavailable)?;
                tokio::fs::rename(&partial, dir.join(&name))
                    .await
                    .map_err(unavailable)
            }
        }
    }
}

/// The message as an RFC 5322 text with CRLF line ends.
fn rfc5322(sender: &EmailAddress, mail: &Mail) -> String {
    let date = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    let body = mail.text.replace("\r\n", "\n").replace('\n', "\r\n");
    format!(
        "From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n\
         Message-ID: <{id}@accounts.invalid>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n",
        to = mail.to,
        subject = mail.subject,
        id = uuid::Uuid::new_v4(),
    )
}
