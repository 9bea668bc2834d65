//! Reading what the local transports write: the `.eml` files of the mail directory, and
//! the `PutEvents` entries of the local event bus.

use std::path::{Path, PathBuf};

use shared::email::{EmailAddress, EmailConfig};
use shared::limit::SlidingLimit;
use shared::mail::Mailer;

/// A fresh mail directory for one test.
pub fn mail_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mail-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("a mail directory");
    dir
}

/// The email change's settings in tests: links to `https://accounts.example.test`, a day
/// to confirm, and the given limit of confirmation mails.
pub fn email_config(confirmation_mails: SlidingLimit) -> EmailConfig {
    EmailConfig {
        confirmation_url_base: "https://accounts.example.test".into(),
        token_ttl_secs: 24 * 60 * 60,
        confirmation_mails,
    }
}

/// Mail written as `.eml` files into `dir`.
pub fn directory_mailer(dir: &Path) -> Mailer {
    Mailer::Directory {
        dir: dir.to_path_buf(),
        sender: EmailAddress::parse("no-reply@accounts.example.test").expect("a sender"),
    }
}

/// One confirmation mail as a person or a test reads it.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    pub to: String,
    /// Its `Content-Language`.
    pub language: String,
    pub subject: String,
    /// The body.
    pub text: String,
    /// The token of the body's confirmation link.
    pub token: String,
}

/// One message of any kind (a notice, say).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    /// Its `Content-Language`.
    pub language: String,
    pub subject: String,
    pub text: String,
}

/// The confirmation mails in `dir`, oldest first (file names start with the time of
/// sending). Their tokens become secrets that no log may show.
pub fn received_mails(dir: &Path) -> Vec<ReceivedMail> {
    messages(dir)
        .into_iter()
        .map(
            |Message {
                 to,
                 language,
                 subject,
                 text,
             }| {
                let token = text
                    .split_whitespace()
                    .find_map(|word| {
                        word.split_once("/email/confirmation?token=")
                            .map(|(_, token)| token)
                    })
                    .expect("a confirmation link")
                    .to_owned();
                crate::logs::register_token(&token);
                ReceivedMail {
                    to,
                    language,
                    subject,
                    text,
                    token,
                }
            },
        )
        .collect()
}

/// Every message in `dir`, oldest first.
pub fn messages(dir: &Path) -> Vec<Message> {
    files(dir, "eml")
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).expect("a mail");
            let (_, body) = text
                .split_once("\r\n\r\n")
                .expect("RFC 5322 header and body");
            // The header as a mail program reads it (encoded words decoded), by a parser
            // that is not ours.
            let parsed = mail_parser::MessageParser::default()
                .parse(text.as_bytes())
                .expect("a MIME message");
            let header = |name: &str| {
                parsed
                    .header_raw(name)
                    .unwrap_or_default()
                    .trim()
                    .to_owned()
            };
            Message {
                to: header("To"),
                language: header("Content-Language"),
                subject: parsed.subject().unwrap_or_default().to_owned(),
                text: body.to_owned(),
            }
        })
        .collect()
}

/// The files of `dir` named `*.ext`, sorted by name; none while `dir` does not exist.
pub fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|entry| entry.expect("a directory entry").path())
                .filter(|path| path.extension().is_some_and(|e| e == ext))
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    paths
}

/// The `PutEvents` entries the local bus wrote into `dir`, in stream order (their names
/// start with the record's sequence number).
pub fn event_entries(dir: &Path) -> Vec<serde_json::Value> {
    json_files(dir)
}

/// The JSON files of `dir`, parsed, in the order of their names (none if `dir` is missing):
/// what the local stand-ins write, one file per call.
pub fn json_files(dir: &Path) -> Vec<serde_json::Value> {
    files(dir, "json")
        .iter()
        .map(|path| {
            serde_json::from_str(&std::fs::read_to_string(path).expect("a JSON file"))
                .expect("JSON")
        })
        .collect()
}
